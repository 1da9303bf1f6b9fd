"""One row per trial, as the UI shows it (hover text, tables): scores with intervals, stage, feasibility, run name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mi_search.trial_row import TrialRow


def front_rows(rows: Sequence[TrialRow], run_names: dict[int, str], summaries: dict[int, str]) -> list[dict[str, Any]]:
    """Every completed trial with search and held-out scores (intervals where stored), stage and run name."""
    out = []
    for row in rows:
        search, tokens = row.interval("objective"), row.interval("mean_tokens")
        holdout = row.interval("holdout_objective") if row.holdout else None
        out.append(
            {
                "trial": row.trial,
                "run": run_names.get(row.trial, ""),
                "lambda": summaries.get(row.trial, f"mean λ={row.mean_lambda:.3g}"),
                "accuracy": row.objective,
                "accuracy_low": search.low if search else None,
                "accuracy_high": search.high if search else None,
                "mean_tokens": row.mean_tokens,
                "tokens_low": tokens.low if tokens else None,
                "tokens_high": tokens.high if tokens else None,
                "holdout_accuracy": row.holdout["objective"] if row.holdout else None,
                "holdout_accuracy_low": holdout.low if holdout else None,
                "holdout_accuracy_high": holdout.high if holdout else None,
                "holdout_tokens": row.holdout["mean_tokens"] if row.holdout else None,
                "stage": row.stage,
                "feasible": row.feasible,
                "full": row.full,
                "questions": row.questions,
                "on_front": row.on_front,
                "chosen": row.chosen,
            }
        )
    return out


def interval_text(value: float | None, low: float | None, high: float | None, digits: int) -> str:
    """`0.625 [0.51, 0.74]`, or the value alone without an interval, or `—`."""
    if value is None:
        return "—"
    if low is None or high is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
