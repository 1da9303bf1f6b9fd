"""Early stopping that saves: the most hypervolume a partly scored trial could still add to the front.

Halving by dominance alone (`paired.confidently_worse`) stops a trial only when one front point beats
it in both objectives with confidence. A sampler that works proposes near the front, where no single
point beats a proposal, so that rule stops almost nothing (on the simulated paper pair, only λ 0 and 1).
What a trial is for is the hypervolume it adds; this module bounds that from above.

The optimistic point. Against front point i, paired on the questions both scored at one-sided `level`:
accuracy `A_i + upper bound of (trial − i)` and tokens `T_i + lower bound of (trial − i)`, with A_i,
T_i i's scores on every search question. The trial is paired with one front point, the one whose
accuracy bound is tightest (its closest neighbour: the paired differences of neighbours vary least),
chosen before the gain is looked at: taking the least gain over every front point would pick whichever
partial-question sample happened to flatter a stop.

The rule. A trial stops when its optimistic gain is at most `min_gain` of the front's hypervolume:
even at its best case it would add less than that, so a stop gives up at most `min_gain` of the
hypervolume at `level`. `min_gain = 0` is the strict rule (its optimistic point adds nothing: it is
dominated by the front, the dominance rule's stops and more). Never stopped, whatever the gain: a trial
at least as good as some front point in both objectives on the same questions (paired means), which
would take that point's place on the front; and a trial sharing fewer than two questions with every
front point (no evidence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mi_search.evaluation.scores import AccuracyObjective
from mi_search.search.statistics.outcomes import QuestionOutcome, carries
from mi_search.search.statistics.paired import check_level, pair_outcomes, paired_difference
from mi_search.search.statistics.pareto import Point, hypervolume


@dataclass(frozen=True)
class Incumbent:
    """A fully scored feasible front point: its number, its scores on every search question, its outcomes."""

    number: int
    accuracy: float
    mean_tokens: float
    outcomes: Sequence[QuestionOutcome]

    @property
    def point(self) -> Point:
        return Point(self.accuracy, self.mean_tokens)


@dataclass(frozen=True)
class Gain:
    """The hypervolume the trial's optimistic point adds, as a share of the front's, and the point it is paired with."""

    share: float  # added hypervolume over the front's; 0: the optimistic point is dominated
    against: int  # the front point whose paired bounds gave it
    questions: int
    accuracy: float  # the optimistic accuracy (A_i + upper bound of trial − i)
    mean_tokens: float  # the optimistic tokens (T_i + lower bound of trial − i)


def at_least_as_good(
    challenger: Sequence[QuestionOutcome], incumbent: Sequence[QuestionOutcome], objective: AccuracyObjective
) -> bool:
    """On the questions both scored: mean accuracy no lower and mean tokens no higher than the incumbent's."""
    pairs = pair_outcomes(challenger, incumbent)
    if not pairs:
        return False
    accuracy = sum(a.value(objective) - b.value(objective) for a, b in pairs)
    tokens = sum(a.mean_tokens - b.mean_tokens for a, b in pairs)
    return accuracy >= 0 and tokens <= 0


def optimistic_gain(
    challenger: Sequence[QuestionOutcome],
    front: Sequence[Incumbent],
    budget: float,
    level: float = 0.95,
    *,
    objective: AccuracyObjective = "accuracy",
) -> Gain | None:
    """The hypervolume share the challenger's optimistic point adds to `front`; None: no evidence, or never stop.

    None when the front holds no hypervolume, when the challenger shares fewer than two questions with
    every front point (or lacks what `objective` needs), or when it is at least as good as a front point
    in both objectives on the same questions.
    """
    check_level(level)
    points = [i.point for i in front]
    base = hypervolume(points, budget) if points else 0.0
    if base <= 0 or not carries(challenger, objective):
        return None
    closest = None  # (half-width of the accuracy bound, incumbent, its accuracy bound)
    for incumbent in front:
        if not carries(incumbent.outcomes, objective) or len(pair_outcomes(challenger, incumbent.outcomes)) < 2:
            continue
        if at_least_as_good(challenger, incumbent.outcomes, objective):
            return None  # it would replace this front point: never stopped
        accuracy = paired_difference(challenger, incumbent.outcomes, metric=objective, side="upper", level=level)
        if closest is None or accuracy.bound - accuracy.mean_diff < closest[0]:
            closest = (accuracy.bound - accuracy.mean_diff, incumbent, accuracy)
    if closest is None:
        return None
    _, incumbent, accuracy = closest
    tokens = paired_difference(challenger, incumbent.outcomes, metric="tokens", side="lower", level=level)
    optimistic = Point(min(1.0, incumbent.accuracy + accuracy.bound), max(0.0, incumbent.mean_tokens + tokens.bound))
    share = max(0.0, hypervolume([*points, optimistic], budget) - base) / base
    return Gain(share, incumbent.number, accuracy.n, optimistic.accuracy, optimistic.mean_tokens)


def paired_estimate(
    challenger: Sequence[QuestionOutcome], incumbent: Incumbent, objective: AccuracyObjective = "accuracy"
) -> Point | None:
    """The challenger's scores on every question the incumbent scored: the incumbent's plus the mean paired
    difference on the questions both scored (None: none shared). Unbiased where the raw partial mean is not."""
    pairs = pair_outcomes(challenger, incumbent.outcomes)
    if not pairs or not (carries(challenger, objective) and carries(incumbent.outcomes, objective)):
        return None
    accuracy = sum(a.value(objective) - b.value(objective) for a, b in pairs) / len(pairs)
    tokens = sum(a.mean_tokens - b.mean_tokens for a, b in pairs) / len(pairs)
    return Point(min(1.0, max(0.0, incumbent.accuracy + accuracy)), max(0.0, incumbent.mean_tokens + tokens))
