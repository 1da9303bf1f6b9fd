"""Means over questions with t intervals for reports and tables, and the one-sided token budget test.

Questions are weighted equally; with fewer than two values a bound is infinite (nothing can be said).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from mi_search.evaluation.scores import AccuracyObjective
from mi_search.search.statistics.outcomes import QuestionOutcome
from mi_search.search.statistics.paired import Side, check_level, t_quantile


@dataclass(frozen=True)
class Interval:
    """A mean over questions with a two-sided confidence interval at `level`."""

    mean: float
    low: float
    high: float
    n: int
    level: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.half_width:.2g}"


def _one_sided_bound(values: Sequence[float], side: Side, level: float) -> float:
    """One-sample t bound on the mean of `values`; infinite with fewer than two values."""
    n = len(values)
    if n < 2:
        return -math.inf if side == "lower" else math.inf
    half = t_quantile(level, n - 1) * statistics.stdev(values) / math.sqrt(n)
    mean = statistics.fmean(values)
    return mean - half if side == "lower" else mean + half


def over_budget_margin(outcomes: Sequence[QuestionOutcome], budget: float, level: float = 0.95) -> float:
    """The lower confidence bound of mean tokens per question minus `budget` (−inf with < 2 questions)."""
    check_level(level)
    return _one_sided_bound([o.mean_tokens for o in outcomes], "lower", level) - budget


def confidently_over_budget(outcomes: Sequence[QuestionOutcome], budget: float, level: float = 0.95) -> bool:
    """Whether the lower confidence bound of mean tokens per question exceeds `budget` (False with < 2 questions)."""
    return over_budget_margin(outcomes, budget, level) > 0


def mean_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean of per-question values with a two-sided t interval; infinite with one value, an error with none."""
    check_level(level)
    if not values:
        raise ValueError("no values to average; pass at least one question's value")
    two_sided = 1.0 - (1.0 - level) / 2.0
    mean = statistics.fmean(values)
    low = _one_sided_bound(values, "lower", two_sided)
    high = _one_sided_bound(values, "upper", two_sided)
    return Interval(mean, low, high, len(values), level)


def accuracy_interval(
    outcomes: Sequence[QuestionOutcome], level: float = 0.95, *, objective: AccuracyObjective = "accuracy"
) -> Interval:
    """The accuracy `objective` (Mean@k by default) with a t interval over per-question values, clipped to [0, 1]."""
    interval = mean_interval([o.value(objective) for o in outcomes], level)
    return Interval(interval.mean, max(0.0, interval.low), min(1.0, interval.high), interval.n, level)


def tokens_interval(outcomes: Sequence[QuestionOutcome], level: float = 0.95) -> Interval:
    """Mean tokens (questions weighted equally) with a t interval over per-question means, clipped at 0."""
    interval = mean_interval([o.mean_tokens for o in outcomes], level)
    return Interval(interval.mean, max(0.0, interval.low), interval.high, interval.n, level)
