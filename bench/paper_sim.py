"""A SIMULATED Instruct/Thinking pair shaped like the paper's Qwen3-4B on AIME'25: a simulation, not a model.

Run: python bench/paper_sim.py    (prints the calibration table and the true fronts' hypervolumes)

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
(`true_front`, printed by `python bench/paper_sim.py`). Because the surface has two effective λ,
the `modules` space (attention, MLP) already reaches nearly all of the best front; block spaces
add little. Effective λ are clamped to [0, 1].

Sampling, with common random numbers. Sample j of question q under decoding seed s draws fixed
uniforms u(s, q, j, stream) from a counter-based hash (question keyed by the CRC32 of its id), the
same for every λ: it is correct iff u₀ < P(correct), thinks iff u₁ < Think #R, and its length is
M(λ_T)·g_q·exp(0.35·z − 0.35²/2) with z normal from u₂, u₃. A length over `max_new_tokens` is
truncated (finish "length", no answer, no closing think tag). Other decoding parameters
(temperature, top_p, top_k) change nothing here.
"""

from __future__ import annotations

import argparse
import csv
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np

from mi_search.merge.architectures import Module, table_for
from mi_search.evaluation.decoding import Completion, DecodingParams
from mi_search.evaluation.metrics import mean_pass_at_k
from mi_search.evaluation.seeds import question_seed
from mi_search.merge.plan import MergePlan
from mi_search.search.paired import QuestionOutcome
from mi_search.search.pareto import Point, hypervolume, pareto_front
from mi_search.search.space import SearchSpace
from mi_search.merge.spec import LambdaSpec
from mi_search.tasks.base import MATH_PROMPT_SUFFIX, Question

# --- the paper's curve ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRow:
    lam: float
    accuracy: float  # Mean@64 as a fraction
    mean_tokens: float
    think_ratio: float  # Think #R as a fraction


# Wu et al. 2025, Table 2: Qwen3-4B Instruct-2507 / Thinking-2507 on AIME'25 (30 problems, 64 samples).
PAPER_TABLE: tuple[TableRow, ...] = (
    TableRow(0.0, 0.466, 15097, 0.0),
    TableRow(0.2, 0.522, 16794, 0.0),
    TableRow(0.4, 0.558, 12448, 0.014),
    TableRow(0.45, 0.585, 11290, 0.144),
    TableRow(0.5, 0.625, 11189, 0.596),
    TableRow(0.55, 0.676, 11634, 0.916),
    TableRow(0.6, 0.710, 12681, 1.0),
    TableRow(0.8, 0.805, 17574, 0.999),
    TableRow(1.0, 0.804, 22813, 0.999),
)
PAPER_PASS_AT_64 = {0.0: 0.767, 0.55: 0.900, 0.6: 0.900, 0.8: 0.933, 1.0: 0.900}


def read_table(path: Path) -> tuple[TableRow, ...]:
    """The table from its CSV (lambda, mean_at_64_pct, mean_tokens, think_ratio_pct), as fractions."""
    with path.open(newline="") as handle:
        return tuple(
            TableRow(
                float(row["lambda"]),
                float(row["mean_at_64_pct"]) / 100,
                float(row["mean_tokens"]),
                float(row["think_ratio_pct"]) / 100,
            )
            for row in csv.DictReader(handle)
        )


class Pchip:
    """Monotone piecewise-cubic interpolation (Fritsch-Carlson): no overshoot between the table's points."""

    def __init__(self, x: Sequence[float], y: Sequence[float]) -> None:
        self.x, self.y = np.asarray(x, float), np.asarray(y, float)
        h, delta = np.diff(self.x), np.diff(self.y) / np.diff(self.x)
        slopes = np.zeros_like(self.y)
        for i in range(1, len(self.x) - 1):
            if delta[i - 1] * delta[i] > 0:
                w1, w2 = 2 * h[i] + h[i - 1], h[i] + 2 * h[i - 1]
                slopes[i] = (w1 + w2) / (w1 / delta[i - 1] + w2 / delta[i])
        slopes[0], slopes[-1] = self._end(h[0], h[1], delta[0], delta[1]), self._end(h[-1], h[-2], delta[-1], delta[-2])
        self.slopes, self.h = slopes, h

    @staticmethod
    def _end(h0: float, h1: float, d0: float, d1: float) -> float:
        slope = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
        if np.sign(slope) != np.sign(d0):
            return 0.0
        if np.sign(d0) != np.sign(d1) and abs(slope) > abs(3 * d0):
            return 3 * d0
        return slope

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        x = np.clip(np.asarray(x, float), self.x[0], self.x[-1])
        i = np.clip(np.searchsorted(self.x, x, side="right") - 1, 0, len(self.x) - 2)
        h, t = self.h[i], (x - self.x[i]) / self.h[i]
        h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, -2 * t**3 + 3 * t**2, t**3 - t**2
        return h00 * self.y[i] + h10 * h * self.slopes[i] + h01 * self.y[i + 1] + h11 * h * self.slopes[i + 1]


# --- the Qwen3-4B plan ---------------------------------------------------------------------------

QWEN3_4B = dict(layers=36, hidden=2560, intermediate=9728, q_heads=32, kv_heads=8, head_dim=128, vocab=151936)


def qwen3_4b_sizes() -> dict[str, int]:
    """Element counts of Qwen3-4B's tensors under their HF names (tied embeddings: no lm_head)."""
    c = QWEN3_4B
    hidden, inner = c["hidden"], c["intermediate"]
    q_out, kv_out = c["q_heads"] * c["head_dim"], c["kv_heads"] * c["head_dim"]
    sizes = {"model.embed_tokens.weight": c["vocab"] * hidden, "model.norm.weight": hidden}
    for layer in range(c["layers"]):
        p = f"model.layers.{layer}."
        sizes |= {
            p + "self_attn.q_proj.weight": q_out * hidden,
            p + "self_attn.k_proj.weight": kv_out * hidden,
            p + "self_attn.v_proj.weight": kv_out * hidden,
            p + "self_attn.o_proj.weight": hidden * q_out,
            p + "self_attn.q_norm.weight": c["head_dim"],
            p + "self_attn.k_norm.weight": c["head_dim"],
            p + "mlp.gate_proj.weight": inner * hidden,
            p + "mlp.up_proj.weight": inner * hidden,
            p + "mlp.down_proj.weight": hidden * inner,
            p + "input_layernorm.weight": hidden,
            p + "post_attention_layernorm.weight": hidden,
        }
    return sizes


def qwen3_4b_plan() -> MergePlan:
    return MergePlan(qwen3_4b_sizes(), table_for("Qwen3ForCausalLM"), QWEN3_4B["layers"])


# --- the response surface ------------------------------------------------------------------------


@dataclass(frozen=True)
class Surface:
    """Weights of the response surface (see the module docstring for the formula)."""

    think_mlp_share: float = 0.85
    think_profile: tuple[float, float, float] = (0.1, 1.0, 1.0)  # early, middle, late third
    quality_attention_share: float = 0.75
    quality_profile: tuple[float, float, float] = (0.3, 1.0, 0.8)
    quality_pull: float = 0.4  # w: how far attention's λ moves accuracy's λ
    mismatch_penalty: float = 6.0  # ρ, logits per unit² of (λ_Q − λ_T)

    def coefficients(self, plan: MergePlan) -> tuple[dict[str, float], dict[str, float]]:
        """Per-tensor weights of λ_T and λ_Q; each set sums to 1, so one λ everywhere gives that λ."""
        groups: dict[tuple[str, int], float] = {}
        for name, role in plan.roles.items():
            family = _family(role.module)
            if family is not None and role.layer is not None:
                groups[(family, role.layer)] = groups.get((family, role.layer), 0.0) + plan.sizes[name]
        third = {layer: layer * 3 // plan.num_layers for _, layer in groups}
        think = _group_weights(groups, third, self.think_profile, "mlp", self.think_mlp_share)
        quality = _group_weights(groups, third, self.quality_profile, "attention", self.quality_attention_share)
        think_coef, quality_coef = {}, {}
        for name, role in plan.roles.items():
            key = (_family(role.module), role.layer)
            if key in groups:
                think_coef[name] = think[key] * plan.sizes[name] / groups[key]
                quality_coef[name] = quality[key] * plan.sizes[name] / groups[key]
        return think_coef, quality_coef


def _group_weights(
    groups: Mapping[tuple[str, int], float],
    third: Mapping[int, int],
    profile: tuple[float, float, float],
    main: str,
    main_share: float,
) -> dict[tuple[str, int], float]:
    """Weight of each (family, layer): the family's share times its layer third's profile, summing to 1."""
    total = sum(profile[third[layer]] for layer in {layer for _, layer in groups})
    share = {main: main_share, ("attention" if main == "mlp" else "mlp"): 1.0 - main_share}
    return {(family, layer): share[family] * profile[third[layer]] / total for family, layer in groups}


def _family(module: Module) -> str | None:
    if module is Module.ATTENTION:
        return "attention"
    if module in (Module.MLP, Module.EXPERTS, Module.ROUTER):
        return "mlp"
    return None


@dataclass(frozen=True)
class Effective:
    """The two effective λ a blend reduces to."""

    think: float
    quality: float


# --- the calibrated model ------------------------------------------------------------------------

_STREAM_CORRECT, _STREAM_THINK, _STREAM_LEN_A, _STREAM_LEN_B, _STREAM_WRONG = range(5)
_MASK64 = (1 << 64) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hashed_uniforms(seed: int, question_key: int, k: int, stream: int) -> np.ndarray:
    """Uniforms in (0, 1) for samples 0..k-1 of one question: a pure function of (seed, question, j, stream)."""
    with np.errstate(over="ignore"):
        h = _mix(np.array([seed & _MASK64], dtype=np.uint64))
        h = _mix(h ^ np.uint64(question_key & _MASK64))
        h = _mix(h ^ np.arange(k, dtype=np.uint64))
        h = _mix(h ^ np.uint64(stream))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def question_key(question_id: str) -> int:
    return zlib.crc32(question_id.encode())


@dataclass(frozen=True)
class Draws:
    """One question's k samples: correctness, thinking, length before truncation, the wrong answer offered."""

    correct: np.ndarray
    thinks: np.ndarray
    tokens: np.ndarray
    wrong_answers: np.ndarray


class PaperModel:
    """The calibrated curve, the questions and the response surface; everything but text."""

    def __init__(
        self,
        n_questions: int = 30,
        *,
        table: Sequence[TableRow] = PAPER_TABLE,
        difficulty_sd: float = 6.0,
        length_by_difficulty: float = 0.25,
        length_sd: float = 0.35,
        surface: Surface = Surface(),
        plan: MergePlan | None = None,
    ) -> None:
        lams = [row.lam for row in table]
        self.accuracy_curve = Pchip(lams, [row.accuracy for row in table])
        self.tokens_curve = Pchip(lams, [row.mean_tokens for row in table])
        self.think_curve = Pchip(lams, [row.think_ratio for row in table])
        self.surface, self.length_sd = surface, length_sd
        self.plan = plan or qwen3_4b_plan()
        self.think_coef, self.quality_coef = surface.coefficients(self.plan)
        quantiles = [NormalDist(0.0, difficulty_sd).inv_cdf((i + 0.5) / n_questions) for i in range(n_questions)]
        order = np.random.default_rng(2510_10977).permutation(n_questions)  # fixed, not sorted by difficulty
        self.difficulty = np.asarray(quantiles)[order]
        z = self.difficulty / difficulty_sd
        scale = np.exp(length_by_difficulty * z)
        self.length_scale = scale / scale.mean()
        self.questions = [_question(i) for i in range(n_questions)]
        self._index = {q.prompt: i for i, q in enumerate(self.questions)}
        self._p_cache: dict[Effective, np.ndarray] = {}

    # the global curve and the ability that reproduces it
    def ability(self, accuracy: np.ndarray | float) -> np.ndarray:
        """The logit offset a with mean_q sigmoid(a − d_q) = accuracy (vectorised bisection)."""
        target = np.clip(np.asarray(accuracy, float), 1e-9, 1 - 1e-9)
        lo, hi = np.full(target.shape, -60.0), np.full(target.shape, 60.0)
        for _ in range(90):
            mid = (lo + hi) / 2
            mean = _sigmoid(mid[..., None] - self.difficulty).mean(axis=-1)
            lo, hi = np.where(mean < target, mid, lo), np.where(mean < target, hi, mid)
        return (lo + hi) / 2

    def effective(self, lambdas: Mapping[str, float]) -> Effective:
        """λ_T and λ_Q of a per-tensor λ dict (`plan.lambdas(spec)`), clamped to [0, 1]."""
        think = sum(w * lambdas[name] for name, w in self.think_coef.items())
        quality = sum(w * lambdas[name] for name, w in self.quality_coef.items())
        return Effective(min(1.0, max(0.0, think)), min(1.0, max(0.0, quality)))

    def effective_of(self, spec: LambdaSpec) -> Effective:
        return self.effective(self.plan.lambdas(spec))

    def logits(self, think: np.ndarray | float, quality: np.ndarray | float) -> np.ndarray:
        """Per-question logit of a correct sample, shape (..., questions)."""
        think, quality = np.asarray(think, float), np.asarray(quality, float)
        gap = quality - think
        lam_a = np.clip(think + self.surface.quality_pull * gap, 0.0, 1.0)
        offset = self.ability(self.accuracy_curve(lam_a)) - self.surface.mismatch_penalty * gap**2
        return offset[..., None] - self.difficulty

    def p_correct(self, state: Effective) -> np.ndarray:
        """P(correct) per question; cached, since every generate call of one merge asks again."""
        if state not in self._p_cache:
            if len(self._p_cache) > 256:
                self._p_cache.clear()
            self._p_cache[state] = _sigmoid(self.logits(state.think, state.quality))
        return self._p_cache[state]

    def expected(self, state: Effective) -> tuple[float, float, float]:
        """Noise-free (Mean@k, mean tokens, Think #R) of a blend, before any truncation."""
        return (
            float(self.p_correct(state).mean()),
            float(self.tokens_curve(state.think)),
            float(np.clip(self.think_curve(state.think), 0.0, 1.0)),
        )

    # sampling
    def question_for(self, prompt: str) -> int:
        if prompt not in self._index:
            raise ValueError("the simulated pair only answers its own questions; pass PaperModel.questions' prompts")
        return self._index[prompt]

    def draws(self, state: Effective, index: int, k: int, seed: int) -> Draws:
        """The k samples of question `index` under `state`: common random numbers across every λ."""
        key = question_key(self.questions[index].id)
        u = [hashed_uniforms(seed, key, k, s) for s in range(5)]
        p = float(self.p_correct(state)[index])
        think_rate = float(np.clip(self.think_curve(state.think), 0.0, 1.0))
        normal = np.sqrt(-2.0 * np.log(u[_STREAM_LEN_A])) * np.cos(2.0 * np.pi * u[_STREAM_LEN_B])
        noise = np.exp(self.length_sd * normal - self.length_sd**2 / 2)
        tokens = np.maximum(1, np.rint(float(self.tokens_curve(state.think)) * self.length_scale[index] * noise))
        answer = int(self.questions[index].answer)
        wrong = (answer + 1 + np.floor(u[_STREAM_WRONG] * 998).astype(int)) % 1000
        return Draws(u[_STREAM_CORRECT] < p, u[_STREAM_THINK] < think_rate, tokens.astype(int), wrong)

    def outcomes(
        self, state: Effective, *, k: int, seed: int, max_new_tokens: int | None = None, study_seed: int = 0
    ) -> list[QuestionOutcome]:
        """Per-question outcomes without text or grading: the fast path a benchmark can use.

        Seeded per question as `evaluation.evaluate` seeds a backend, so both paths give the same samples.
        """
        result = []
        for index, question in enumerate(self.questions):
            d = self.draws(state, index, k, question_seed(study_seed, seed, question.id))
            truncated = d.tokens > max_new_tokens if max_new_tokens is not None else np.zeros(k, bool)
            tokens = np.minimum(d.tokens, max_new_tokens) if max_new_tokens is not None else d.tokens
            correct = d.correct & ~truncated
            thinks = d.thinks & ~truncated
            result.append(
                QuestionOutcome(question.id, int(correct.sum()), k, float(tokens.mean()), float(thinks.mean()))
            )
        return result


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _question(index: int) -> Question:
    answer = (137 * index + 71) % 1000  # AIME answers are integers 0-999
    number = index + 1
    prompt = f"[simulated AIME'25 problem {number}] Find the integer answer of problem {number}." + MATH_PROMPT_SUFFIX
    return Question(id=f"sim-aime25-{index + 1:02d}", prompt=prompt, answer=str(answer))


# --- the Blender and the Backend -----------------------------------------------------------------


class SimulatedPair:
    """A `Blender`: the real Qwen3-4B merge plan, with merging reduced to the response surface's two λ."""

    def __init__(self, model: PaperModel | None = None) -> None:
        self.model = model or PaperModel()
        self.instruct_dir = Path("simulated/Qwen3-4B-Instruct-2507")
        self.thinking_dir = Path("simulated/Qwen3-4B-Thinking-2507")
        self.state = Effective(0.0, 0.0)
        self.merges = 0

    @property
    def plan(self) -> MergePlan:
        return self.model.plan

    def merge(self, spec: LambdaSpec) -> None:
        self.state = self.model.effective(self.plan.lambdas(spec))
        self.merges += 1


class SimulatedBackend:
    """A `Backend` answering the simulated questions as the pair's current blend would, graded by the real grader."""

    def __init__(self, pair: SimulatedPair) -> None:
        self.pair = pair
        self.instruct_dir, self.thinking_dir = pair.instruct_dir, pair.thinking_dir

    @property
    def plan(self) -> MergePlan:
        return self.pair.plan

    def merge(self, spec: LambdaSpec) -> None:
        self.pair.merge(spec)

    def generate(
        self, prompts: list[str], k: int, params: DecodingParams, *, seeds: Sequence[int] | None = None
    ) -> list[list[Completion]]:
        """k completions per prompt; prompt i's samples draw from `seeds[i]` (else the decoding seed)."""
        model, state = self.pair.model, self.pair.state
        out = []
        for i, prompt in enumerate(prompts):
            index = model.question_for(prompt)
            d = model.draws(state, index, k, seeds[i] if seeds is not None else params.seed)
            answer = model.questions[index].answer
            row = []
            for j in range(k):
                given = answer if d.correct[j] else str(int(d.wrong_answers[j]))
                row.append(_completion(bool(d.thinks[j]), given, int(d.tokens[j]), params.max_new_tokens))
            out.append(row)
        return out


def _completion(thinks: bool, answer: str, tokens: int, limit: int) -> Completion:
    if tokens > limit:  # cut off: no closing tag, no answer
        text = "<think>\nsimulated reasoning, cut off" if thinks else "simulated solution, cut off"
        return Completion(text, limit, "length")
    head = "<think>\nsimulated reasoning\n</think>\n\n" if thinks else "simulated solution. "
    return Completion(f"{head}The answer is \\boxed{{{answer}}}.", tokens, "stop")


def simulated_pair(n_questions: int = 30) -> tuple[SimulatedPair, SimulatedBackend, list[Question]]:
    """The pair, its backend and its questions, ready for a Workbench."""
    pair = SimulatedPair(PaperModel(n_questions))
    return pair, SimulatedBackend(pair), list(pair.model.questions)


# --- the true fronts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrontPoint:
    accuracy: float
    mean_tokens: float
    think_lam: float
    quality_lam: float

    def point(self) -> Point:
        return Point(self.accuracy, self.mean_tokens)


def global_curve(model: PaperModel, grid: int = 201) -> list[FrontPoint]:
    """Expected (noise-free) accuracy and tokens of one λ everywhere, on a fine grid of [0, 1]."""
    lams = np.linspace(0.0, 1.0, grid)
    accuracy = _sigmoid(model.logits(lams, lams)).mean(axis=-1)
    return [FrontPoint(float(a), float(model.tokens_curve(x)), float(x), float(x)) for a, x in zip(accuracy, lams)]


def _pareto(points: Sequence[FrontPoint]) -> list[FrontPoint]:
    return [points[i] for i in pareto_front([p.point() for p in points])]


def space_generators(model: PaperModel, space: SearchSpace) -> np.ndarray:
    """(λ_T, λ_Q) contributed by each of the space's λ at 1 with the rest at 0: both are linear in them."""
    names = space.lambda_names()
    rows = []
    for name in names:
        spec = space.spec_for({other: float(other == name) for other in names})
        lambdas = model.plan.lambdas(spec)
        rows.append((sum(w * lambdas[n] for n, w in model.think_coef.items()),
                     sum(w * lambdas[n] for n, w in model.quality_coef.items())))
    return np.asarray(rows)


def per_group_generators(model: PaperModel) -> np.ndarray:
    """Generators when every module of every layer may take its own λ: the bound over any λ vector."""
    totals: dict[tuple[str | None, int | None], list[float]] = {}
    for name, role in model.plan.roles.items():
        if name in model.think_coef:
            pair = totals.setdefault((_family(role.module), role.layer), [0.0, 0.0])
            pair[0] += model.think_coef[name]
            pair[1] += model.quality_coef[name]
    return np.asarray(list(totals.values()))


def _chain(generators: np.ndarray, upper: bool) -> tuple[np.ndarray, np.ndarray]:
    """The upper (or lower) edge of the zonotope the generators span, as λ_Q over λ_T."""
    slope = np.where(generators[:, 0] > 0, generators[:, 1] / np.maximum(generators[:, 0], 1e-300), np.inf)
    order = np.argsort(-slope if upper else slope, kind="stable")
    points = np.vstack([[0.0, 0.0], np.cumsum(generators[order], axis=0)])
    xs, ys = [], []
    for x, y in points:  # a vertical step keeps the highest (upper) or lowest (lower) λ_Q at that λ_T
        if xs and abs(x - xs[-1]) < 1e-12:
            ys[-1] = max(ys[-1], y) if upper else ys[-1]
        else:
            xs.append(x)
            ys.append(y)
    return np.asarray(xs), np.asarray(ys)


def true_front(
    model: PaperModel, space: SearchSpace | None = None, *, any_vector: bool = False, grid: int = 401
) -> list[FrontPoint]:
    """The expected Pareto front: of one global λ (default), of `space`'s λ vectors, or of any λ vector.

    For a vector space this is exact up to the grid: tokens depend on λ_T alone, so for each λ_T on
    the grid the best λ_Q is found by a fine scan over the λ_Q the space can reach at that λ_T (the
    zonotope its generators span, see `space_generators`).
    """
    if space is None and not any_vector:
        return _pareto(global_curve(model, grid))
    generators = per_group_generators(model) if any_vector else space_generators(model, space)
    upper, lower = _chain(generators, True), _chain(generators, False)
    think = np.linspace(0.0, 1.0, grid)
    hi, lo = np.interp(think, *upper), np.interp(think, *lower)
    quality = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, 201)[None, :]
    accuracy = _sigmoid(model.logits(np.broadcast_to(think[:, None], quality.shape), quality)).mean(axis=-1)
    best = accuracy.argmax(axis=1)
    tokens = model.tokens_curve(think)
    points = [
        FrontPoint(float(accuracy[i, best[i]]), float(tokens[i]), float(think[i]), float(quality[i, best[i]]))
        for i in range(grid)
    ]
    return _pareto(points)


def front_hypervolume(points: Sequence[FrontPoint], budget: float) -> float:
    return hypervolume([p.point() for p in points], budget)


# --- the calibration table -----------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationRow:
    lam: float
    accuracy: float
    mean_tokens: float
    think_ratio: float
    pass_at_k: float
    paper: TableRow


def calibrate(model: PaperModel, *, k: int = 64, seed: int = 0) -> list[CalibrationRow]:
    """Simulated scores at each table λ with k samples per question (no truncation)."""
    rows = []
    for paper in PAPER_TABLE:
        state = model.effective_of(LambdaSpec(lam=paper.lam))
        outcomes = model.outcomes(state, k=k, seed=seed)
        correct = [[j < o.correct for j in range(k)] for o in outcomes]
        rows.append(
            CalibrationRow(
                paper.lam,
                float(np.mean([o.accuracy for o in outcomes])),
                float(np.mean([o.mean_tokens for o in outcomes])),
                float(np.mean([o.think_fraction for o in outcomes])),
                mean_pass_at_k(correct, k),
                paper,
            )
        )
    return rows


def print_calibration(rows: Sequence[CalibrationRow]) -> None:
    print("simulated (30 questions, k=64, seed 0) vs Wu et al. Table 2 — a SIMULATION")
    print(f"{'λ':>5} {'acc %':>7} {'paper':>6} {'Δpt':>5} | {'tokens':>7} {'paper':>6} {'Δ%':>6} | "
          f"{'think %':>7} {'paper':>6} | {'pass@64':>7} {'paper':>6}")
    for r in rows:
        paper_pass = PAPER_PASS_AT_64.get(r.lam)
        acc_gap, tok_gap = 100 * (r.accuracy - r.paper.accuracy), 100 * (r.mean_tokens / r.paper.mean_tokens - 1)
        print(
            f"{r.lam:5.2f} {100 * r.accuracy:7.1f} {100 * r.paper.accuracy:6.1f} {acc_gap:+5.1f} | "
            f"{r.mean_tokens:7.0f} {r.paper.mean_tokens:6.0f} {tok_gap:+6.1f} | "
            f"{100 * r.think_ratio:7.1f} {100 * r.paper.think_ratio:6.1f} | {100 * r.pass_at_k:7.1f} "
            + (f"{100 * paper_pass:6.1f}" if paper_pass is not None else f"{'':>6}")
        )
    acc_err = np.mean([abs(r.accuracy - r.paper.accuracy) for r in rows]) * 100
    tok_err = np.mean([abs(r.mean_tokens / r.paper.mean_tokens - 1) for r in rows]) * 100
    print(f"mean |Δ accuracy| = {acc_err:.2f} points, mean |Δ tokens| = {tok_err:.2f} %")


def print_fronts(model: PaperModel, budgets: Sequence[float]) -> None:
    fronts = {
        "global λ": true_front(model),
        "modules (attention, mlp)": true_front(model, SearchSpace(kind="modules")),
        "blocks (3)": true_front(model, SearchSpace(kind="blocks", blocks=3)),
        "any λ vector": true_front(model, any_vector=True),
    }
    print("expected fronts (noise-free): hypervolume at each budget, and the best accuracy at ≤ 12k tokens")
    for name, front in fronts.items():
        hvs = "  ".join(f"hv@{b:.0f}={front_hypervolume(front, b):.4f}" for b in budgets)
        cheap = max((p.accuracy for p in front if p.mean_tokens <= 12000), default=float("nan"))
        print(f"  {name:26s} {hvs}  acc@12k={100 * cheap:.1f}%  ({len(front)} points)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=64)
    args = parser.parse_args()
    model = PaperModel()
    print_calibration(calibrate(model, k=args.k, seed=args.seed))
    print()
    print_fronts(model, budgets=(16000, 24000))


if __name__ == "__main__":
    main()
