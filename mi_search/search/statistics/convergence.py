"""When a study's front has converged: its last trials are shown to add almost nothing to its hypervolume.

The rule (`trials: auto`). Take the fully scored trials in trial order. The gain is the front's
hypervolume with every one of them minus its hypervolume without the last `window` of them. Trials
that successive halving stopped early are left out of the window: they add no point, cost little,
and a run of proposals the budget refuses says nothing about whether the feasible front is explored
(on a curve whose cheap end is the only feasible part they would stop a study after its seeds).

Stopping claims that more proposals like the last ones would add nothing that matters: an
equivalence, so it needs evidence, not a gain too small to tell from noise. The study has converged
when the one-sided 95 % upper bound of the gain, times the windows of trials the study may still
run (`remaining` / `window`, at least 1: what continuing at the last window's pace could add), is at
most `margin` (`stop_margin`, 1 %) of the front's hypervolume. Without that pace, a study of many λ
that climbs slowly and steadily (a 72-λ trust region's small steps) stopped at its first quiet
window, at 95 % of its true front where running on reached 97 %. The bound is a percentile bootstrap over the search questions: each resample draws
questions with replacement, the same draw for every trial (paired, as every trial was scored on the
same questions with the same seeds), recomputes each point's accuracy and mean tokens on it and the
gain from them. Paired, because the front's own hypervolume moves with the questions drawn far more
than the gain does (on 30 AIME-like questions its sd is a quarter of it). On few questions the bound
is wide, so a study of few questions runs to `max_trials` unless its last proposals add exactly
nothing in every resample (a proposal that repeats a front point's answers); that is the price of
not stopping on one question's noise.

Why our own and not `optuna.terminator`: its evaluators (regret bound, EMMR, best-value stagnation)
read one objective (`study.direction`, a RuntimeError on a two-objective study) and its error
evaluator expects cross-validation scores; a front's progress is its hypervolume, and its error is
the questions' sampling noise. The module is also deprecated since Optuna 4.9, to go in 6.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mi_search.evaluation.scores import AccuracyObjective
from mi_search.search.statistics.outcomes import QuestionOutcome

RESAMPLES = 400  # the 95th percentile then rests on the 20 largest resampled gains
WINDOW = 3  # the last proposals judged together: one unlucky proposal does not stop a study
LEVEL = 0.95  # one-sided confidence of the gain's upper bound


@dataclass(frozen=True)
class Convergence:
    """The evidence behind a stop: the last `window` trials' hypervolume gain and its paired upper bound."""

    hv: float
    gain: float
    upper: float  # the gain's one-sided LEVEL upper bound
    window: int
    questions: int
    full: int  # fully scored trials: more than `window` are needed to judge
    margin: float  # the share of the front's hypervolume the proposals to come may add and still count as converged
    remaining: int = 0  # trials the study may still run (to max_trials): at the last window's pace, what they add

    @property
    def pace(self) -> float:
        """How many windows the trials left make (at least one): a slow, steady climb is not a converged front."""
        return max(1.0, self.remaining / self.window)

    @property
    def converged(self) -> bool:
        return self.full > self.window and self.hv > 0 and self.upper * self.pace <= self.margin * self.hv

    def describe(self) -> str:
        verdict = "within" if self.converged else "not shown within"
        ahead = f", {self.remaining} more trials at that pace up to {self.upper * self.pace:.4f}" if self.pace > 1 else ""
        return (
            f"the last {self.window} fully scored trials raised the front's hypervolume by {self.gain:.4f} "
            f"({LEVEL:.0%} upper bound {self.upper:.4f}, paired bootstrap over {self.questions} questions{ahead}), "
            f"{verdict} {self.margin:g} of its hypervolume {self.hv:.4f}"
        )


def hypervolumes(accuracy: np.ndarray, tokens: np.ndarray, budget: float) -> np.ndarray:
    """`pareto.hypervolume` for many point sets at once: arrays (..., points) → (...).

    Along tokens ascending (accuracy descending on ties), each point adds its accuracy above the best
    seen so far times its distance to the budget; dominated points add nothing. Points at or past the
    budget add nothing.
    """
    if budget <= 0:
        raise ValueError(f"budget must be positive, got {budget}")
    accuracy, tokens = np.asarray(accuracy, float), np.asarray(tokens, float)
    if accuracy.shape[-1] == 0:
        return np.zeros(accuracy.shape[:-1])
    accuracy = np.where(tokens < budget, accuracy, 0.0)  # past the budget: nothing above the floor
    order = np.lexsort((-accuracy, tokens), axis=-1)
    acc = np.take_along_axis(accuracy, order, axis=-1)
    tok = np.take_along_axis(tokens, order, axis=-1)
    shifted = np.concatenate([np.zeros(acc.shape[:-1] + (1,)), acc[..., :-1]], axis=-1)  # the points before each
    best_before = np.maximum.accumulate(shifted, axis=-1)
    rise = np.clip(acc - np.maximum(best_before, 0.0), 0.0, None)
    return (rise * np.clip(budget - tok, 0.0, None)).sum(axis=-1) / budget


def _matrices(
    trials: Sequence[Sequence[QuestionOutcome]], objective: AccuracyObjective
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-question accuracy and tokens, (trials, questions), on the questions every trial scored."""
    shared = set.intersection(*(set(o.question_id for o in t) for t in trials)) if trials else set()
    ids = [o.question_id for o in trials[0] if o.question_id in shared] if trials else []
    if not ids:
        raise ValueError("the trials share no scored question: their fronts cannot be compared")
    accuracy = np.empty((len(trials), len(ids)))
    tokens = np.empty_like(accuracy)
    for row, outcomes in enumerate(trials):
        by_id = {o.question_id: o for o in outcomes}
        accuracy[row] = [by_id[q].value(objective) for q in ids]
        tokens[row] = [by_id[q].mean_tokens for q in ids]
    return accuracy, tokens, len(ids)


def convergence(
    finished: Sequence[Sequence[QuestionOutcome] | None],
    budget: float,
    *,
    margin: float,
    window: int = WINDOW,
    remaining: int = 0,
    objective: AccuracyObjective = "accuracy",
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Convergence:
    """The last `window` fully scored trials' gain and its upper bound; not converged before there are more
    than `window` of them (the gain of the first trials is the whole front).

    `finished` lists every finished trial in trial order: its per-question outcomes on the search
    questions when it was fully scored, None when it was stopped early (it adds no point, nor counts).
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    full = [t for t in finished if t]
    if not full:
        return Convergence(0.0, 0.0, 0.0, window, 0, 0, margin, remaining)
    accuracy, tokens, questions = _matrices(full, objective)
    earlier = np.arange(len(full)) < len(full) - window
    hv = float(hypervolumes(accuracy.mean(axis=1), tokens.mean(axis=1), budget))
    before = float(hypervolumes(accuracy[earlier].mean(axis=1), tokens[earlier].mean(axis=1), budget))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, questions, size=(resamples, questions))
    weights = np.zeros((resamples, questions))
    np.add.at(weights, (np.arange(resamples)[:, None], draws), 1.0 / questions)
    resampled_accuracy, resampled_tokens = weights @ accuracy.T, weights @ tokens.T  # (resamples, trials): paired
    gains = hypervolumes(resampled_accuracy, resampled_tokens, budget) - hypervolumes(
        resampled_accuracy[:, earlier], resampled_tokens[:, earlier], budget
    )
    upper = max(hv - before, float(np.quantile(gains, LEVEL)))  # never below what was measured
    return Convergence(hv, hv - before, upper, window, questions, len(full), margin, remaining)
