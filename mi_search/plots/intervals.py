"""Confidence intervals as plain numbers, read defensively from a trial record: drawn when the record carries them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Bounds = tuple[float, float]


def record_intervals(record: Any, *, holdout: bool = False) -> tuple[Bounds, Bounds] | None:
    """(accuracy low, high) and (tokens low, high) of a record, or None when it stores no per-question outcomes.

    A record offers them as `intervals(holdout=...)` returning two objects with `low` and `high`.
    """
    method = getattr(record, "intervals", None)
    if not callable(method):
        return None
    try:
        found = method(holdout=holdout)
    except (TypeError, ValueError, KeyError):
        return None
    if not found:
        return None
    accuracy, tokens = found
    return (float(accuracy.low), float(accuracy.high)), (float(tokens.low), float(tokens.high))


def error_bars(centres: Sequence[float], bounds: Sequence[Bounds | None]) -> list[list[float]]:
    """Matplotlib's asymmetric error form (below, above) for `centres`; no bar where a bound is missing."""
    below = [c - b[0] if b else 0.0 for c, b in zip(centres, bounds)]
    above = [b[1] - c if b else 0.0 for c, b in zip(centres, bounds)]
    return [[max(0.0, v) for v in below], [max(0.0, v) for v in above]]
