"""One trial: merge in place at the sampled λ vector, score on the search subset, stop early when hopeless.

Successive halving over questions: the trial is scored on the first rung of the search subset, and
goes on to the next rung only while an optimistic reading of its scores (accuracy + z·SE, tokens − z·SE)
is within the budget and not dominated by the front of fully scored trials. A trial stopped early is
still a COMPLETE Optuna trial with its partial estimates, so the sampler learns from it, but only
fully scored trials (`full` user attribute) can join the front.
"""

from __future__ import annotations

import math
import statistics
from typing import Protocol

import optuna

from mi_search.backends.base import Backend, Blender, DecodingParams
from mi_search.evaluate import Evaluation, Sample, Scores, evaluate, score_samples
from mi_search.scoring import Gold
from mi_search.search.config import HalvingConfig
from mi_search.search.pareto import Point, dominates
from mi_search.search.space import SearchSpace
from mi_search.spec import LambdaSpec
from mi_search.tasks.base import Question

BUDGET_CONSTRAINT = "tokens_over_budget"
# Trial user attributes written here and read by `mi_search.search.results`.
SCORES, QUESTIONS, FULL, GENERATED_TOKENS, MEAN_LAMBDA, REPEAT_OF = (
    "scores",
    "questions",
    "full",
    "generated_tokens",
    "mean_lambda",
    "repeat_of",
)


class TrialObserver(Protocol):
    """Follows trials as they run: progress bars, experiment tracking."""

    def trial_started(self, trial: optuna.Trial, spec: LambdaSpec, params: DecodingParams) -> None: ...

    def rung_scored(self, trial: optuna.Trial, scored: int, total: int) -> None: ...

    def trial_finished(self, trial: optuna.Trial, evaluation: Evaluation) -> None: ...

    def trial_failed(self, trial: optuna.Trial) -> None: ...


class Observers:
    """Several observers followed as one, in order."""

    def __init__(self, *observers: TrialObserver) -> None:
        self.observers = observers

    def trial_started(self, trial: optuna.Trial, spec: LambdaSpec, params: DecodingParams) -> None:
        for observer in self.observers:
            observer.trial_started(trial, spec, params)

    def rung_scored(self, trial: optuna.Trial, scored: int, total: int) -> None:
        for observer in self.observers:
            observer.rung_scored(trial, scored, total)

    def trial_finished(self, trial: optuna.Trial, evaluation: Evaluation) -> None:
        for observer in self.observers:
            observer.trial_finished(trial, evaluation)

    def trial_failed(self, trial: optuna.Trial) -> None:
        for observer in self.observers:
            observer.trial_failed(trial)


def front_points(study: optuna.Study) -> list[Point]:
    """(accuracy objective, mean tokens) of the fully scored feasible trials so far, from any worker."""
    points = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if trial.user_attrs.get(FULL) and all(c <= 0 for c in trial.constraints.values()):
            points.append(Point(trial.values[0], trial.values[1]))
    return points


class TrialRunner:
    """The Optuna objective: (accuracy ↑, mean response tokens ↓) of one λ vector and decoding setting."""

    def __init__(
        self,
        *,
        pair: Blender,
        backend: Backend,
        questions: list[Question],
        golds: list[Gold],
        space: SearchSpace,
        decoding: DecodingParams,
        k: int,
        budget: int,
        halving: HalvingConfig,
        accuracy_key: str = "accuracy",
        observer: TrialObserver | None = None,
    ) -> None:
        self.pair, self.backend, self.space, self.decoding = pair, backend, space, decoding
        self.questions, self.golds, self.k, self.budget = questions, golds, k, budget
        self.halving, self.accuracy_key = halving, accuracy_key
        self.observer = observer
        total = len(questions)
        self.rung_sizes = sorted({max(1, math.ceil(f * total)) for f in halving.rungs})

    def __call__(self, trial: optuna.Trial) -> tuple[float, float]:
        try:
            return self._run(trial)
        except BaseException:  # KeyboardInterrupt included: the trial's run must not stay open
            if self.observer is not None:
                self.observer.trial_failed(trial)
            raise

    def _run(self, trial: optuna.Trial) -> tuple[float, float]:
        spec, params = self.space.suggest(trial, self.decoding)
        twin = _finished_twin(trial)
        if twin is not None:
            return self._repeat(trial, twin, spec, params)
        if self.observer is not None:
            self.observer.trial_started(trial, spec, params)
        self.pair.merge(spec)
        trial.set_user_attr(MEAN_LAMBDA, self.pair.plan.mean_lambda(spec))
        samples: list[list[Sample]] = []
        for size in self.rung_sizes:
            start = len(samples)
            part = evaluate(
                self.backend, self.questions[start:size], k=self.k, params=params, golds=self.golds[start:size]
            )
            samples += part.samples
            scores = score_samples(samples, self.k)
            if self.observer is not None:
                self.observer.rung_scored(trial, len(samples), len(self.questions))
            if size < len(self.questions) and not self.may_reach_front(trial.study, samples, scores):
                break
        accuracy = scores.as_dict()[self.accuracy_key]
        trial.set_user_attr(SCORES, scores.as_dict())
        trial.set_user_attr(QUESTIONS, len(samples))
        trial.set_user_attr(FULL, len(samples) == len(self.questions))
        trial.set_user_attr(GENERATED_TOKENS, sum(s.num_tokens for row in samples for s in row))
        trial.set_constraint(BUDGET_CONSTRAINT, scores.mean_tokens - self.budget)
        if self.observer is not None:
            self.observer.trial_finished(trial, Evaluation(scores, samples))
        return accuracy, scores.mean_tokens

    def _repeat(
        self, trial: optuna.Trial, twin: optuna.trial.FrozenTrial, spec: LambdaSpec, params: DecodingParams
    ) -> tuple[float, float]:
        """Decoding is seeded, so the same parameters give the same samples: reuse them at no token cost."""
        if self.observer is not None:
            self.observer.trial_started(trial, spec, params)
        for key in (SCORES, QUESTIONS, FULL, MEAN_LAMBDA):
            trial.set_user_attr(key, twin.user_attrs[key])
        trial.set_user_attr(GENERATED_TOKENS, 0)
        trial.set_user_attr(REPEAT_OF, twin.number)
        trial.set_constraint(BUDGET_CONSTRAINT, twin.constraints[BUDGET_CONSTRAINT])
        if self.observer is not None:
            self.observer.trial_finished(trial, Evaluation(Scores(**twin.user_attrs[SCORES]), []))
        return twin.values[0], twin.values[1]

    def may_reach_front(self, study: optuna.Study, samples: list[list[Sample]], scores: Scores) -> bool:
        """Whether the optimistic reading of a partly scored trial could still be feasible and undominated."""
        n, z = len(samples), self.halving.z
        accuracy = scores.as_dict()[self.accuracy_key]
        p = min(max(accuracy, 0.5 / n), 1 - 0.5 / n)  # keeps the SE above zero at 0 % and 100 %
        per_question = [statistics.fmean(s.num_tokens for s in row) for row in samples]
        token_se = statistics.stdev(per_question) / math.sqrt(n) if n > 1 else 0.0
        hopeful = Point(accuracy + z * math.sqrt(p * (1 - p) / n), scores.mean_tokens - z * token_se)
        if hopeful.mean_tokens > self.budget:
            return False
        return not any(dominates(point, hopeful) for point in front_points(study))


def _finished_twin(trial: optuna.Trial) -> optuna.trial.FrozenTrial | None:
    """An earlier finished trial with exactly these parameters (samplers do propose the bounds again)."""
    for other in trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if other.params == trial.params and REPEAT_OF not in other.user_attrs:
            return other
    return None
