"""One trial: merge in place at the sampled λ vector, score on the search subset, stop early when hopeless.

Successive halving over questions: the trial is scored on the first rung of the search subset, and
goes on to the next rung only while an optimistic reading of its scores (accuracy + z·SE, tokens − z·SE)
is within the budget and not dominated by the front of fully scored trials. A trial stopped early is
still a COMPLETE Optuna trial with its partial estimates, so the sampler learns from it, but only
fully scored trials can join the front.
"""

from __future__ import annotations

import math
import statistics
from typing import Protocol

import optuna

from mi_search.backends.base import Backend
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import Evaluation, Sample, evaluate
from mi_search.evaluation.scores import Scores, score_samples
from mi_search.merge.spec import LambdaSpec
from mi_search.search import trials
from mi_search.search.config import StudyConfig
from mi_search.search.inputs import QuestionSet
from mi_search.search.pareto import Point, dominates


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


class TrialRunner:
    """The Optuna objective: (accuracy ↑, mean response tokens ↓) of one λ vector and decoding setting."""

    def __init__(
        self, backend: Backend, search: QuestionSet, config: StudyConfig, decoding: DecodingParams, observer: TrialObserver
    ) -> None:
        self.backend, self.search, self.config, self.decoding, self.observer = backend, search, config, decoding, observer
        total = len(search.questions)
        self.rung_sizes = sorted({max(1, math.ceil(f * total)) for f in config.halving.rungs})

    def __call__(self, trial: optuna.Trial) -> tuple[float, float]:
        try:
            return self._run(trial)
        except BaseException:  # KeyboardInterrupt included: the trial's run must not stay open
            self.observer.trial_failed(trial)
            raise

    def _run(self, trial: optuna.Trial) -> tuple[float, float]:
        spec, params = self.config.space.suggest(trial, self.decoding)
        self.observer.trial_started(trial, spec, params)
        twin = trials.finished_twin(trial)
        if twin is not None:  # decoding is seeded: the same parameters give the same samples
            trials.store_repeat(trial, twin)
            self.observer.trial_finished(trial, Evaluation(trials.stored_scores(twin), []))
            return twin.values[0], twin.values[1]
        self.backend.merge(spec)
        trials.store_mean_lambda(trial, self.backend.plan.mean_lambda(spec))
        questions, golds, k = self.search.questions, self.search.golds, self.config.k
        samples: list[list[Sample]] = []
        generated = 0
        for size in self.rung_sizes:
            start = len(samples)
            part = evaluate(self.backend, questions[start:size], k=k, params=params, golds=golds[start:size])
            samples += part.samples
            generated += part.generated_tokens
            scores = score_samples(samples, k)
            self.observer.rung_scored(trial, len(samples), len(questions))
            if size < len(questions) and not self.may_reach_front(trial.study, samples, scores):
                break
        trials.store_scores(
            trial,
            scores,
            questions=len(samples),
            full=len(samples) == len(questions),
            generated=generated,
            budget=self.config.budget,
        )
        self.observer.trial_finished(trial, Evaluation(scores, samples, generated))
        return scores.as_dict()[self.config.objectives.accuracy], scores.mean_tokens

    def may_reach_front(self, study: optuna.Study, samples: list[list[Sample]], scores: Scores) -> bool:
        """Whether the optimistic reading of a partly scored trial could still be feasible and undominated."""
        n, z = len(samples), self.config.halving.z
        accuracy = scores.as_dict()[self.config.objectives.accuracy]
        p = min(max(accuracy, 0.5 / n), 1 - 0.5 / n)  # keeps the SE above zero at 0 % and 100 %
        per_question = [statistics.fmean(s.num_tokens for s in row) for row in samples]
        token_se = statistics.stdev(per_question) / math.sqrt(n) if n > 1 else 0.0
        hopeful = Point(accuracy + z * math.sqrt(p * (1 - p) / n), scores.mean_tokens - z * token_se)
        if hopeful.mean_tokens > self.config.budget:
            return False
        return not any(dominates(point, hopeful) for point in trials.front_points(study))
