"""The choice among feasible front points: the best held-out accuracy, the cheapest shown to be within a
margin of it (non-inferiority), or the cheapest not significantly below it; and the front's knee.

Every comparison is paired on the held-out questions both points scored (`statistics.paired`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from mi_search.evaluation.scores import AccuracyObjective
from mi_search.search.statistics.outcomes import Metric, QuestionOutcome
from mi_search.search.statistics.paired import check_level, pair_outcomes, paired_difference, t_quantile

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


@dataclass(frozen=True)
class Loss:
    """What a candidate gives up against the best: (best − candidate) accuracy, paired, and its upper bound."""

    mean: float
    upper: float  # one-sided upper confidence bound at the level asked for
    n: int  # shared questions

    def within(self, margin: float) -> bool:
        """Shown to give up less than `margin`: the evidence of non-inferiority, not the absence of a difference."""
        return self.upper < margin


def accuracy_loss(
    candidate: Sequence[QuestionOutcome],
    best: Sequence[QuestionOutcome],
    level: float = 0.95,
    *,
    objective: AccuracyObjective = "accuracy",
) -> Loss:
    """(best − candidate) in `objective` on the shared questions, with a one-sided upper bound at `level`.

    The bound is the paired t bound on the per-question differences, but never below the mean plus
    −ln(1 − level)/n: with n questions, a loss confined to the ~3 questions (at 95 %) that a sample of
    n can miss entirely cannot be ruled out (the rule of three), whatever the observed spread. So
    identical outcomes on 20 questions show no equivalence within 0.01 (the floor is 0.15), while on
    1,000 questions a point 0.5 points worse is shown within 0.01. (The binomial floor of
    `paired_difference` ignores the pairing and is far wider; it suits the significance tests, not this.)
    """
    check_level(level)
    pairs = pair_outcomes(best, candidate)
    if not pairs:
        raise ValueError("the two points share no held-out question; a paired comparison needs the same questions")
    diffs = [b.value(objective) - c.value(objective) for b, c in pairs]
    n = len(diffs)
    mean = statistics.fmean(diffs)
    if n < 2:
        return Loss(mean, math.inf, n)
    half = t_quantile(level, n - 1) * statistics.stdev(diffs) / math.sqrt(n)
    return Loss(mean, max(mean + half, mean - math.log(1.0 - level) / n), n)


def cheapest_within(
    candidates: Mapping[K, Sequence[QuestionOutcome]],
    margin: float,
    level: float = 0.95,
    *,
    objective: AccuracyObjective = "accuracy",
) -> K:
    """The cheapest candidate shown to give up less than `margin` held-out accuracy against the best one.

    Best = `best_candidate`; it is always eligible, so with too few questions to show anything the
    rule falls back to it. Cheapest = fewest held-out mean tokens (higher accuracy, then first given, on ties).
    """
    if not candidates:
        raise ValueError("no candidates to choose from; pass at least one feasible front point")
    keys = list(candidates)
    best = best_candidate(candidates, objective=objective)
    eligible = [
        key
        for key in keys
        if key == best or accuracy_loss(candidates[key], candidates[best], level, objective=objective).within(margin)
    ]
    return min(
        eligible,
        key=lambda key: (_mean(candidates[key], "tokens"), -_mean(candidates[key], objective), keys.index(key)),
    )


def knee(points: Mapping[K, tuple[float, float]]) -> K | None:
    """The front's knee: the point farthest above the chord from its cheapest to its most accurate point.

    `points` maps each front point to (accuracy, tokens); both axes are scaled to [0, 1] over the
    points, so the knee does not depend on units. None with fewer than three points or a flat front.
    """
    if len(points) < 3:
        return None
    keys = sorted(points, key=lambda key: points[key][1])
    accuracies = [points[key][0] for key in keys]
    tokens = [points[key][1] for key in keys]
    span_a, span_t = max(accuracies) - min(accuracies), max(tokens) - min(tokens)
    if span_a <= 0 or span_t <= 0:
        return None
    scaled = [((a - min(accuracies)) / span_a, (t - min(tokens)) / span_t) for a, t in zip(accuracies, tokens)]
    top_accuracy = max(range(len(keys)), key=lambda i: scaled[i][0])
    if top_accuracy == 0:  # the cheapest point is also the most accurate (on held-out questions): no bend
        return None
    (a0, t0), (a1, t1) = scaled[0], scaled[top_accuracy]

    def height(point: tuple[float, float]) -> float:  # above the chord, in scaled units
        a, t = point
        return ((t1 - t0) * (a - a0) - (a1 - a0) * (t - t0)) / math.hypot(t1 - t0, a1 - a0)
    heights = [height(point) for point in scaled]
    top = max(range(len(keys)), key=lambda i: heights[i])
    return keys[top] if heights[top] > 0 else None
