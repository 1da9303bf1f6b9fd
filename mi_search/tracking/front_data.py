"""One row per trial, as the UI shows it (hover text, tables): scores with intervals, stage, feasibility, run name."""

from __future__ import annotations

from typing import Any

from mi_search.plots.intervals import record_intervals
from mi_search.search.report.results import StudyResult


def trial_rows(result: StudyResult, run_names: dict[int, str], summaries: dict[int, str]) -> list[dict[str, Any]]:
    """Every completed trial with search and held-out scores (intervals where stored), stage and run name."""
    rows = []
    for record in result.records:
        search = record_intervals(record)
        holdout = record_intervals(record, holdout=True) if record.holdout else None
        rows.append(
            {
                "trial": record.number,
                "run": run_names.get(record.number, ""),
                "lambda": summaries.get(record.number, f"mean λ={record.mean_lambda:.3g}"),
                "accuracy": record.accuracy,
                "accuracy_low": search[0][0] if search else None,
                "accuracy_high": search[0][1] if search else None,
                "mean_tokens": record.mean_tokens,
                "tokens_low": search[1][0] if search else None,
                "tokens_high": search[1][1] if search else None,
                "holdout_accuracy": record.holdout["objective"] if record.holdout else None,
                "holdout_accuracy_low": holdout[0][0] if holdout else None,
                "holdout_accuracy_high": holdout[0][1] if holdout else None,
                "holdout_tokens": record.holdout["mean_tokens"] if record.holdout else None,
                "stage": record.stage,
                "feasible": record.feasible,
                "full": record.full,
                "questions": record.questions,
                "on_front": record.number in result.front,
                "chosen": record.number == result.chosen,
            }
        )
    return rows


def interval_text(value: float | None, low: float | None, high: float | None, digits: int) -> str:
    """`0.625 [0.51, 0.74]`, or the value alone without an interval, or `—`."""
    if value is None:
        return "—"
    if low is None or high is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
