"""Paired statistics over per-question outcomes: early stopping, the cheapest-tied choice, report intervals.

A score is an estimate from a sample of questions. Trials are scored on the same questions with the
same seeds (common random numbers), so two trials are compared question by question: the spread of
question difficulty cancels in the differences, and a trial scored on a hard subset is compared with
the incumbent on that same subset, never with the incumbent's mean over all questions.

Conventions used throughout:

- `level` is a one-sided confidence level in (0, 1), e.g. 0.95; a decision claims "confidently"
  only when the one-sided bound at `level` excludes zero.
- A difference is always `a − b` over the questions both scored, matched by id in `a`'s order.
- The bound is a paired t bound on the per-question differences (or a paired bootstrap percentile,
  seeded, when asked for). With fewer than two shared questions nothing can be claimed: the bound
  is infinite and no difference is significant. For accuracy the standard error is never taken
  below the binomial noise of the per-question estimates themselves (c/k from k samples; a
  question's Pass@k or Vote@k is one 0/1 draw; smoothed so 0 % and 100 % count), with either
  method: with few questions, or differences that happen to be all equal (zero spread), the sample
  spread understates it and the bound would collapse onto the mean. Tokens have no such floor:
  sampled lengths vary, so zero spread in token differences means, in practice, identical trials,
  whose mean difference is 0 and never significant.
- Accuracy is the study's accuracy objective, paired per question as the study scores it
  (`outcomes.QuestionOutcome.value`): Mean@k (`accuracy`) is c/k, Pass@k the unbiased estimate from the
  question's samples, Vote@k whether its majority answer is right. Every decision takes it as
  `objective` (default Mean@k), so halving, the choice and the stage rule judge what the study maximizes.
- No shared question at all is an error for a statistic (`paired_difference`) and for the choice
  rule (`not_significantly_below`, `cheapest_tied`), which must compare on the same held-out
  questions; the early-stopping predicates answer False instead ("no evidence, keep going").

Intervals for reports live in `statistics.intervals`, the choice rule in `statistics.choice`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import stdtrit  # what scipy.stats' t.ppf calls, without scipy.stats' 0.6 s import

from mi_search.evaluation.scores import AccuracyObjective
from mi_search.search.statistics.outcomes import Metric, QuestionOutcome, carries

Side = Literal["lower", "upper"]
Method = Literal["t", "bootstrap"]


# --- pairing and the paired bound ------------------------------------------------------------------


def t_quantile(p: float, df: float) -> float:
    """The `p` quantile of Student's t with `df` degrees of freedom (scipy's exact inverse CDF, `stdtrit`)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"df must be positive, got {df}")
    return float(stdtrit(df, p))


def check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95; got {level}")


def _index(outcomes: Sequence[QuestionOutcome], name: str) -> dict[str, QuestionOutcome]:
    by_id: dict[str, QuestionOutcome] = {}
    for outcome in outcomes:
        if outcome.question_id in by_id:
            raise ValueError(f"{name} lists question {outcome.question_id} twice; each question once")
        by_id[outcome.question_id] = outcome
    return by_id


def pair_outcomes(
    a: Sequence[QuestionOutcome], b: Sequence[QuestionOutcome]
) -> list[tuple[QuestionOutcome, QuestionOutcome]]:
    """The questions both scored, matched by id, in `a`'s order (possibly empty)."""
    by_id = _index(b, "the second trial")
    _index(a, "the first trial")
    return [(x, by_id[x.question_id]) for x in a if x.question_id in by_id]


def without_decisive_question(
    challenger: Sequence[QuestionOutcome], incumbent: Sequence[QuestionOutcome], metric: AccuracyObjective
) -> list[QuestionOutcome]:
    """`challenger` without the question both scored that most favours a stop against `incumbent`: the lowest
    paired accuracy difference (challenger − incumbent), ties to the largest paired token difference. An early
    stop must still hold without it, or one question decided it.

    Why leave it out rather than answer the trial's worst question right in every sample (the rule before):
    on a rung of 2 samples of every question, that moved a 23-question mean by 4 points, more than those 2
    samples' own noise, and kept running points 14 points less accurate for 35 % more tokens on the same
    questions (the simulated paper pair, λ 0 against λ 0.5). Left out, no single question's answers carry
    the decision, which is what the rule asks; the bound over the rest still carries their noise.
    """
    pairs = pair_outcomes(challenger, incumbent)
    if not pairs:
        return list(challenger)
    def favour(pair: tuple[QuestionOutcome, QuestionOutcome]) -> tuple[float, float]:
        ours, theirs = pair
        return ours.value(metric) - theirs.value(metric), theirs.mean_tokens - ours.mean_tokens

    decisive, _ = min(pairs, key=favour)
    return [o for o in challenger if o is not decisive]


@dataclass(frozen=True)
class PairedDifference:
    """`a − b` on the shared questions: its mean and a one-sided bound at `level`.

    `side="lower"`: `bound` is a lower bound and `significant` means a > b with confidence.
    `side="upper"`: `bound` is an upper bound and `significant` means a < b with confidence.
    """

    metric: Metric
    n: int
    mean_diff: float
    bound: float
    side: Side
    level: float
    significant: bool


def _binomial_floor_se(pairs: Sequence[tuple[QuestionOutcome, QuestionOutcome]], metric: AccuracyObjective) -> float:
    """The standard error the per-question accuracy estimates alone carry (smoothed so 0 % and 100 % count)."""
    total = 0.0
    for x, y in pairs:
        for o in (x, y):
            successes, draws = o.draws(metric)
            p = (successes + 0.5) / (draws + 1.0)
            total += p * (1.0 - p) / draws
    return math.sqrt(total) / len(pairs)


def _t_bound(diffs: np.ndarray, side: Side, level: float, floor_se: float) -> float:
    n = len(diffs)
    se = max(float(np.std(diffs, ddof=1)) / math.sqrt(n), floor_se)
    half = t_quantile(level, n - 1) * se
    mean = float(np.mean(diffs))
    return mean - half if side == "lower" else mean + half


def _bootstrap_bound(diffs: np.ndarray, side: Side, level: float, resamples: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(diffs), size=(resamples, len(diffs)))
    means = diffs[picks].mean(axis=1)
    return float(np.quantile(means, 1.0 - level if side == "lower" else level))


def paired_difference(
    a: Sequence[QuestionOutcome],
    b: Sequence[QuestionOutcome],
    *,
    metric: Metric,
    side: Side,
    level: float = 0.95,
    method: Method = "t",
    resamples: int = 4000,
    seed: int = 0,
) -> PairedDifference:
    """Mean of per-question `a − b` in `metric` and its one-sided bound; no shared question is a ValueError."""
    check_level(level)
    pairs = pair_outcomes(a, b)
    if not pairs:
        raise ValueError("the two trials share no question; a paired comparison needs the same questions")
    diffs = np.array([x.value(metric) - y.value(metric) for x, y in pairs], dtype=float)
    mean = float(diffs.mean())
    if len(diffs) < 2:
        bound = -math.inf if side == "lower" else math.inf
    elif method == "bootstrap":
        bound = _bootstrap_bound(diffs, side, level, resamples, seed)
        if metric != "tokens":  # never tighter than the per-question estimates' own noise allows
            floored = _t_bound(np.full_like(diffs, mean), side, level, _binomial_floor_se(pairs, metric))
            bound = min(bound, floored) if side == "lower" else max(bound, floored)
    else:
        floor = _binomial_floor_se(pairs, metric) if metric != "tokens" else 0.0
        bound = _t_bound(diffs, side, level, floor)
    significant = bound > 0 if side == "lower" else bound < 0
    return PairedDifference(metric, len(diffs), mean, bound, side, level, bool(significant))


# --- decisions -------------------------------------------------------------------------------------


def confidently_worse(
    challenger: Sequence[QuestionOutcome],
    incumbent: Sequence[QuestionOutcome],
    level: float = 0.95,
    *,
    method: Method = "t",
    objective: AccuracyObjective = "accuracy",
) -> bool:
    """Whether `incumbent` (a front point) confidently dominates `challenger` on the questions both scored.

    The rule, both parts paired on the shared questions at one-sided `level`:
    1. accuracy (`objective`): the upper bound of (challenger − incumbent) is below 0, and
    2. tokens: the lower bound of (challenger − incumbent) is above 0.
    A challenger at least as good in either objective on the same questions can therefore never be
    stopped, nor one that is cheaper than the incumbent but not confidently so (it may be a new
    cheap end of the front). Near-ties in tokens are kept running: that costs tokens, never a front point.
    No shared question, or only one, gives False, and so do outcomes without what `objective` needs.
    """
    comparable = carries(challenger, objective) and carries(incumbent, objective)
    if not comparable or len(pair_outcomes(challenger, incumbent)) < 2:
        check_level(level)
        return False
    accuracy = paired_difference(challenger, incumbent, metric=objective, side="upper", level=level, method=method)
    if not accuracy.significant:
        return False
    tokens = paired_difference(challenger, incumbent, metric="tokens", side="lower", level=level, method=method)
    return tokens.significant


def confidently_dominated(
    challenger: Sequence[QuestionOutcome],
    front: Sequence[Sequence[QuestionOutcome]],
    level: float = 0.95,
    *,
    objective: AccuracyObjective = "accuracy",
) -> bool:
    """Whether any front point confidently dominates `challenger` (no correction for several front points)."""
    return any(confidently_worse(challenger, incumbent, level, objective=objective) for incumbent in front)
