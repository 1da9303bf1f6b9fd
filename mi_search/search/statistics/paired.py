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
  (`QuestionOutcome.value`): Mean@k (`accuracy`) is c/k, Pass@k the unbiased estimate from the
  question's samples, Vote@k whether its majority answer is right. Every decision takes it as
  `objective` (default Mean@k), so halving, the choice and the stage rule judge what the study maximizes.
- No shared question at all is an error for a statistic (`paired_difference`) and for the choice
  rule (`not_significantly_below`, `cheapest_tied`), which must compare on the same held-out
  questions; the early-stopping predicates answer False instead ("no evidence, keep going").
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np

from mi_search.evaluation.metrics import THINK_CLOSE, pass_at_k, vote_correct
from mi_search.evaluation.scores import AccuracyObjective

if TYPE_CHECKING:
    from mi_search.evaluation.evaluate import Sample

Metric = AccuracyObjective | Literal["tokens"]  # an accuracy objective's per-question value, or mean tokens
Side = Literal["lower", "upper"]
Method = Literal["t", "bootstrap"]
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class QuestionOutcome:
    """One trial's result on one question: `correct` of `samples` right, their mean tokens and think share,
    and whether the majority vote over its answers is right (None: stored before votes were kept)."""

    question_id: str
    correct: int
    samples: int
    mean_tokens: float
    think_fraction: float = 0.0
    vote_correct: bool | None = None

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError(f"question {self.question_id}: samples must be at least 1, got {self.samples}")
        if not 0 <= self.correct <= self.samples:
            raise ValueError(
                f"question {self.question_id}: correct must be in [0, {self.samples}], got {self.correct}"
            )
        if self.mean_tokens < 0 or not math.isfinite(self.mean_tokens):
            raise ValueError(f"question {self.question_id}: mean_tokens must be finite and >= 0")
        if not 0.0 <= self.think_fraction <= 1.0:
            raise ValueError(f"question {self.question_id}: think_fraction must be in [0, 1]")

    @property
    def accuracy(self) -> float:
        return self.correct / self.samples

    def value(self, metric: Metric) -> float:
        """This question's share of `metric`; averaged over questions it is the study's score.

        Every question is scored from exactly k samples (a greedy sample is repeated k times), so
        Pass@k here is `pass_at_k(n=k, c, k)`, as `Scores.pass_at_k` averages it.
        """
        if metric == "tokens":
            return self.mean_tokens
        if metric == "accuracy":
            return self.accuracy
        if metric == "pass_at_k":
            return pass_at_k(self.samples, self.correct, self.samples)
        if metric == "vote_at_k":
            if self.vote_correct is None:
                raise ValueError(f"question {self.question_id} was stored without its vote; Vote@k cannot be paired")
            return float(self.vote_correct)
        raise ValueError(f"unknown metric {metric!r}; use accuracy, pass_at_k, vote_at_k or tokens")

    def draws(self, metric: AccuracyObjective) -> tuple[float, int]:
        """(successes, draws) behind this question's accuracy value: c of k for Mean@k, one 0/1 draw otherwise."""
        if metric == "accuracy":
            return self.correct, self.samples
        return self.value(metric), 1


def carries(outcomes: Sequence[QuestionOutcome], metric: Metric) -> bool:
    """Whether `outcomes` are stored and hold what `metric` needs (Vote@k: every question's vote)."""
    if not outcomes:
        return False
    return metric != "vote_at_k" or all(o.vote_correct is not None for o in outcomes)


def outcomes_from_samples(samples: Sequence[Sequence[Sample]]) -> list[QuestionOutcome]:
    """Per-question outcomes from `mi_search.evaluate.Evaluation.samples` (one row of Samples per question)."""
    outcomes = []
    for row in samples:
        if not row:
            raise ValueError("a question has no samples; every question needs at least one")
        outcomes.append(
            QuestionOutcome(
                question_id=row[0].question_id,
                correct=sum(bool(s.correct) for s in row),
                samples=len(row),
                mean_tokens=statistics.fmean(s.num_tokens for s in row),
                think_fraction=sum(THINK_CLOSE in s.response for s in row) / len(row),
                vote_correct=vote_correct([s.extracted for s in row], [s.correct for s in row]),
            )
        )
    return outcomes


# --- Student t quantile (scipy is not a dependency) ------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The `p` quantile of Student's t with `df` degrees of freedom (bisection on `t_cdf`)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"df must be positive, got {df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


# --- pairing and the paired bound ------------------------------------------------------------------


def _check_level(level: float) -> None:
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
    _check_level(level)
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
        _check_level(level)
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
    _check_level(level)
    return _one_sided_bound([o.mean_tokens for o in outcomes], "lower", level) - budget


def confidently_over_budget(outcomes: Sequence[QuestionOutcome], budget: float, level: float = 0.95) -> bool:
    """Whether the lower confidence bound of mean tokens per question exceeds `budget` (False with < 2 questions)."""
    return over_budget_margin(outcomes, budget, level) > 0


def mean_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean of per-question values with a two-sided t interval; infinite with one value, an error with none."""
    _check_level(level)
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
