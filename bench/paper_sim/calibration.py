"""How close the simulation comes to the paper: the calibration table and the true fronts, as printed.

Kept apart because it only reports: it scores the model at the table's λ and prints the comparison and
the fronts' hypervolumes (`python -m bench.paper_sim`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mi_search.evaluation.metrics import mean_pass_at_k
from mi_search.merge.spec import LambdaSpec
from mi_search.search.settings.space import SearchSpace

from .curve import PAPER_PASS_AT_64, PAPER_TABLE, TableRow
from .fronts import front_hypervolume, true_front
from .model import PaperModel

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
