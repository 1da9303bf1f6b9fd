"""A SIMULATED Instruct/Thinking pair shaped like the paper's Qwen3-4B on AIME'25: a simulation, not a model.

Run: python -m bench.paper_sim    (from the repo root; prints the calibration table and the true fronts'
hypervolumes)

Why a simulation: this machine has no GPU and no 4B checkpoints, yet a benchmark of the search must
run at the paper's scale (30 questions, 64 samples, responses of ~11k-23k tokens) against a front
that is known exactly. Nothing here runs a network. The simulation plugs into mi-search's real
machinery as a `Blender` (`SimulatedPair`: a real `MergePlan` over Qwen3-4B's tensor names and
sizes) and a `Backend` (`SimulatedBackend`: completions that the real math grader scores), so
studies, halving, held-out re-scoring and reports run unchanged; only generation is replaced.

The calibrated global curve. Wu et al. (arXiv 2510.10977), Table 2, give Mean@64, mean tokens and
Think #R at nine λ (`PAPER_TABLE`, the same numbers as shared/data/paper_qwen3-4b_aime25.csv).
Between the table's λ each is interpolated by a monotone cubic (PCHIP): A(λ), M(λ), T(λ).

Questions. Question q has a difficulty d_q (normal quantiles, sd 6 logits, in a fixed shuffled
order; the wide spread reproduces the paper's Pass@64 of 77 % at λ=0 and ~90 % at λ≥0.55) and a
length scale g_q = exp(0.25·z_q) normalised to mean 1 (harder questions run longer).

The response surface. From the per-tensor λ (`plan.lambdas(spec)`) two effective λ are formed,
each a weighted mean of the tensors' λ (size-weighted within one module of one layer; embeddings,
norms and the head weigh nothing):

    λ_T (thinking) = Σ_l [0.85·λ_mlp(l) + 0.15·λ_attn(l)] · p_T(l)      p_T = 0.1, 1.0, 1.0
    λ_Q (quality)  = Σ_l [0.75·λ_attn(l) + 0.25·λ_mlp(l)] · p_Q(l)      p_Q = 0.3, 1.0, 0.8

where p(l) is the weight of layer l's third (early, middle, late), normalised to sum to 1 over the
layers. So the MLPs of the later two-thirds of the layers drive thinking and attention drives
quality, the middle and late layers mattering most (the paper's ablations). Then

    Think #R        = T(λ_T)
    mean tokens     = M(λ_T)                                  (thinking and its length)
    λ_A             = λ_T + w·(λ_Q − λ_T),  w = 0.4           (accuracy's λ)
    logit P(correct | q) = a(A(λ_A)) − ρ·(λ_Q − λ_T)² − d_q,  ρ = 6

a(·) is solved so that the mean over the questions of sigmoid(a − d_q) equals its argument: with
one λ everywhere, λ_T = λ_Q = λ_A = λ and the expected Mean@k, tokens and Think #R are exactly the
calibrated curve. Pulling attention towards Thinking while the MLPs stay near the token-cheapest
λ buys accuracy at no token cost, and the mismatch penalty ρ bounds that gain: the best blends
beat the global front by about 7 accuracy points at 11.2k tokens, 5 at 12k, 4 at 14k, 1 at 16k
and none from 18k up: a hypervolume ratio (global / best) of 0.95 at a 16k budget and 0.98 at 24k
(`true_front`, printed by `python -m bench.paper_sim`). Because the surface has two effective λ,
the `modules` space (attention, MLP) already reaches nearly all of the best front; block spaces
add little. Effective λ are clamped to [0, 1].

Sampling, with common random numbers. Sample j of question q under decoding seed s draws fixed
uniforms u(s, q, j, stream) from a counter-based hash (question keyed by the CRC32 of its id), the
same for every λ: it is correct iff u₀ < P(correct), thinks iff u₁ < Think #R, and its length is
M(λ_T)·g_q·exp(0.35·z − 0.35²/2) with z normal from u₂, u₃. A length over `max_new_tokens` is
truncated (finish "length", no answer, no closing think tag). Other decoding parameters
(temperature, top_p, top_k) change nothing here.

Budget forcing (`decoding.thinking_budget`) is an ASSUMPTION, not calibrated: a thought longer than
the budget is cut, closed and answered at a log-linear share of the thought's gain in logit over a
no-thought answer (Qwen3 technical report's thinking-budget curves, shape only; `budget`).

Layout: `curve` (the paper's table and its interpolation), `surface` (Qwen3-4B's plan and the two
effective λ), `model` (the calibrated model and its common random numbers), `backend` (the `Blender`
and `Backend`), `budget` (budget forcing), `fronts` (the true fronts), `calibration` (the printed comparison), `__main__` (the
command). Everything public is re-exported here: `from bench.paper_sim import simulated_pair, ...`.
"""

from __future__ import annotations

from mi_search.tasks.base import MATH_PROMPT_SUFFIX  # the prompts' suffix, which bench/search_efficiency.py strips

from .backend import SimulatedBackend, SimulatedPair, simulated_pair
from .calibration import CalibrationRow, calibrate, print_calibration, print_fronts
from .curve import COLUMNS, PAPER_PASS_AT_64, PAPER_TABLE, CurveError, Pchip, TableRow, read_table
from .fronts import (
    FrontPoint,
    front_hypervolume,
    global_curve,
    per_group_generators,
    space_generators,
    true_front,
)
from . import budget
from .model import Draws, PaperModel, hashed_uniforms, question_key
from .surface import QWEN3_4B, Effective, Surface, qwen3_4b_plan, qwen3_4b_sizes

__all__ = [
    "COLUMNS",
    "CalibrationRow",
    "CurveError",
    "Draws",
    "Effective",
    "FrontPoint",
    "MATH_PROMPT_SUFFIX",
    "PAPER_PASS_AT_64",
    "PAPER_TABLE",
    "PaperModel",
    "Pchip",
    "QWEN3_4B",
    "SimulatedBackend",
    "SimulatedPair",
    "Surface",
    "TableRow",
    "calibrate",
    "front_hypervolume",
    "global_curve",
    "hashed_uniforms",
    "per_group_generators",
    "print_calibration",
    "print_fronts",
    "qwen3_4b_plan",
    "qwen3_4b_sizes",
    "question_key",
    "read_table",
    "simulated_pair",
    "space_generators",
    "true_front",
]
