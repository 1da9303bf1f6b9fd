"""Trial records to plain rows (`mi_search.trial_row.TrialRow`): built once per read, for every view of a study."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mi_search.search.statistics.intervals import Interval
from mi_search.search.store.trials import TrialRecord
from mi_search.trial_row import Span, TrialRow


def _span(interval: Interval | None) -> Span | None:
    return None if interval is None else Span(interval.low, interval.high, interval.n)


def _intervals(record: TrialRecord, level: float) -> dict[str, Span]:
    """The study's objective, Mean@k and mean tokens with their intervals, search and held-out, where outcomes give them."""
    found: dict[str, Span | None] = {}
    for prefix, holdout in (("", False), ("holdout_", True)):
        objective = record.intervals(level, holdout=holdout)
        mean_at_k = record.intervals(level, holdout=holdout, objective="accuracy")
        found[f"{prefix}objective"] = _span(objective[0] if objective else None)
        found[f"{prefix}accuracy"] = _span(mean_at_k[0] if mean_at_k else None)
        found[f"{prefix}mean_tokens"] = _span(mean_at_k[1] if mean_at_k else None)
    return {name: span for name, span in found.items() if span is not None}


def stop_line(stop: dict[str, Any] | None) -> str:
    """Why halving stopped a trial, e.g. `rung 50: dominated by 3 (accuracy margin -0.041, tokens margin 12.0)`;
    a rung of samples reads `rung 23 × 2 samples` (every question, 2 of its k samples)."""
    if not stop:
        return ""
    rung = f"rung {stop['rung']}" + (f" × {stop['samples']} samples" if "samples" in stop else "")
    if stop["reason"] == "over_budget":
        return f"{rung}: over budget by >= {stop['tokens_margin']:.0f} tokens"
    if stop["reason"] == "no_gain":
        return (
            f"{rung}: adds at most {stop['gain']:.2%} hypervolume (paired with {stop['against']}: "
            f"at best {stop['optimistic_accuracy']:.3f} at {stop['optimistic_tokens']:.0f} tokens)"
        )
    return (
        f"{rung}: dominated by {stop['against']} "
        f"(accuracy margin {stop['accuracy_margin']:.3f}, tokens margin {stop['tokens_margin']:.1f})"
    )


def trial_rows(
    records: Sequence[TrialRecord], *, front: Sequence[int], chosen: int | None, level: float
) -> tuple[TrialRow, ...]:
    """One row per record, in the records' order; intervals two-sided at `level`."""
    on_front = set(front)
    return tuple(
        TrialRow(
            trial=r.number,
            params=dict(r.params),
            mean_lambda=r.mean_lambda,
            scores=dict(r.scores),
            objective=r.accuracy,
            mean_tokens=r.mean_tokens,
            questions=r.questions,
            full=r.full,
            feasible=r.feasible,
            on_front=r.number in on_front,
            chosen=r.number == chosen,
            stage=r.stage,
            overthinking=r.overthinking,
            generated_tokens=r.generated_tokens,
            repeat_of=r.repeat_of,
            run_id=r.run_id,
            stopped=stop_line(r.stop),
            holdout=dict(r.holdout) if r.holdout else None,
            level=level,
            intervals=_intervals(r, level),
            reused_from=r.reused_from,
        )
        for r in records
    )
