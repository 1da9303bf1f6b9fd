"""One finished trial as every view shows it: plain values only, so the lowest layer (plots) can take it.

`search.report.rows` builds the rows once from a study's records; the study folder (trials.csv,
pareto.json), the console table, the MLflow front page and the figures all read these fields and
never a trial record. The module imports nothing from mi_search, so any layer may use it without
importing upward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# The interval names a row may carry: the study's accuracy objective, Mean@k and mean tokens, on the
# search questions and (prefixed `holdout_`) on the held-out ones.
INTERVAL_NAMES = (
    "objective",
    "accuracy",
    "mean_tokens",
    "holdout_objective",
    "holdout_accuracy",
    "holdout_mean_tokens",
)


@dataclass(frozen=True)
class Span:
    """A two-sided confidence interval over `n` questions; infinite ends where `n` < 2 leaves nothing to say."""

    low: float
    high: float
    n: int

    @property
    def finite(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


@dataclass(frozen=True)
class TrialRow:
    """A finished trial: its λ, scores, place in the study and, where per-question outcomes were stored, intervals."""

    trial: int
    params: dict[str, Any]
    mean_lambda: float
    scores: dict[str, float]  # the scores as stored, by name (a task lacking a score has no key for it)
    objective: float  # the study's accuracy objective on the search questions (Mean@k unless stated)
    mean_tokens: float
    questions: int  # search questions scored
    full: bool  # scored on every search question (not stopped early)
    feasible: bool
    on_front: bool
    chosen: bool
    stage: int | None
    overthinking: bool
    generated_tokens: int
    repeat_of: int | None
    run_id: str | None
    stopped: str  # why successive halving stopped it, one line; "" when it ran to the end
    holdout: dict[str, float] | None  # held-out scores (`objective`, `accuracy`, `mean_tokens`, ...) once re-scored
    level: float  # the confidence of every interval below
    intervals: dict[str, Span] = field(default_factory=dict)  # by INTERVAL_NAMES, only those the outcomes give
    reused_from: str | None = None  # "<study>#<trial>": a stored evaluation taken at no token cost

    @property
    def think_ratio(self) -> float:
        return self.scores["think_ratio"]

    def interval(self, name: str) -> Span | None:
        """The interval `name` (one of INTERVAL_NAMES), or None where no per-question outcomes give it."""
        if name not in INTERVAL_NAMES:
            raise ValueError(f"unknown interval {name!r}; use one of {', '.join(INTERVAL_NAMES)}")
        return self.intervals.get(name)
