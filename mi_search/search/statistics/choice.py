"""The choice among feasible front points: the best held-out accuracy, or the cheapest not significantly below it.

Every comparison is paired on the held-out questions both points scored (`statistics.paired`).
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

from mi_search.evaluation.scores import AccuracyObjective
from mi_search.search.statistics.outcomes import Metric, QuestionOutcome
from mi_search.search.statistics.paired import paired_difference

K = TypeVar("K", bound=Hashable)


def not_significantly_below(
    candidate: Sequence[QuestionOutcome],
    best: Sequence[QuestionOutcome],
    level: float = 0.95,
    *,
    objective: AccuracyObjective = "accuracy",
) -> bool:
    """Whether `candidate`'s held-out `objective` is not confidently below `best`'s, paired on shared questions.

    True unless the upper bound of (candidate − best) accuracy is below 0; a single shared question
    cannot show a difference (True). No shared question is a ValueError: the choice must compare.
    """
    return not paired_difference(candidate, best, metric=objective, side="upper", level=level).significant


def _mean(outcomes: Sequence[QuestionOutcome], metric: Metric) -> float:
    if not outcomes:
        raise ValueError("a candidate has no held-out outcomes")
    return statistics.fmean(o.value(metric) for o in outcomes)


def best_candidate(
    candidates: Mapping[K, Sequence[QuestionOutcome]], *, objective: AccuracyObjective = "accuracy"
) -> K:
    """The candidate with the highest held-out accuracy (`objective`), the first given on ties."""
    keys = list(candidates)
    return max(keys, key=lambda key: (_mean(candidates[key], objective), -keys.index(key)))


def cheapest_tied(
    candidates: Mapping[K, Sequence[QuestionOutcome]], level: float = 0.95, *, objective: AccuracyObjective = "accuracy"
) -> K:
    """The cheapest candidate whose held-out accuracy (`objective`) is not significantly below the best one's.

    `candidates` are the feasible front points' held-out outcomes (the caller decides feasibility).
    Best = `best_candidate` (highest held-out `objective`, first on ties); cheapest = fewest held-out
    mean tokens among those tied with it (higher accuracy, then first given, on ties).
    """
    if not candidates:
        raise ValueError("no candidates to choose from; pass at least one feasible front point")
    keys = list(candidates)
    best = best_candidate(candidates, objective=objective)
    tied = [
        key for key in keys if not_significantly_below(candidates[key], candidates[best], level, objective=objective)
    ]
    return min(
        tied,
        key=lambda key: (_mean(candidates[key], "tokens"), -_mean(candidates[key], objective), keys.index(key)),
    )
