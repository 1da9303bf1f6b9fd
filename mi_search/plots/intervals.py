"""Confidence intervals as matplotlib error bars: drawn where a trial row carries them, none elsewhere."""

from __future__ import annotations

from collections.abc import Sequence

from mi_search.trial_row import Span


def error_bars(centres: Sequence[float], spans: Sequence[Span | None]) -> list[list[float]]:
    """Matplotlib's asymmetric error form (below, above) for `centres`; no bar where a span is missing or open-ended."""
    closed = [s if s is not None and s.finite else None for s in spans]
    below = [c - s.low if s else 0.0 for c, s in zip(centres, closed)]
    above = [s.high - c if s else 0.0 for c, s in zip(centres, closed)]
    return [[max(0.0, v) for v in below], [max(0.0, v) for v in above]]


def any_bar(spans: Sequence[Span | None]) -> bool:
    """Whether any span gives a bar (a closed interval)."""
    return any(s is not None and s.finite for s in spans)
