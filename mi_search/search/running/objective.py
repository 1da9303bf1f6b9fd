"""One trial: merge in place at the sampled λ vector, score on the search subset, stop early when confidently hopeless.

Common random numbers: every trial of a study scores the search questions in one order, shuffled
with the study seed (a file's order may put its hardest questions first), and samples question q's
j-th response from one seed (`evaluation.seeds`). Every trial stores its per-question outcomes.

Paired successive halving: a rung is a share of the k samples of every question (`halving.over:
samples`, the default, for Mean@k under sampled decoding) or of the questions (`questions`, and always
under greedy decoding or a Pass@k or Vote@k objective, which fewer samples bias). After each rung but
the last the trial stops only when, on what it has scored so far, it is over the budget with one-sided
confidence `halving.level`, some front point
beats it in both accuracy and tokens on those same questions, paired, at that level
(`paired.confidently_worse`), or its optimistic point adds at most `halving.min_gain` of the front's
hypervolume (`gain.optimistic_gain`), and the stop still holds without the question that most favours it (one
question's answers never stop a trial). A trial at least as good as a front point in both
objectives on the same questions is never stopped. Accuracy is the study's objective
(`objectives.accuracy`), paired per question as the study scores it. A partial score is never
compared with a full-subset mean. A stopped trial is still a COMPLETE Optuna trial with its partial
scores and the reason it stopped; the values the sampler learns are its scores on every question as
estimated paired with a front point (`gain.paired_estimate`), and only fully scored trials can join
the front.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

import optuna

from mi_search.backends.base import Backend
from mi_search.errors import UserError
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import Evaluation, evaluate
from mi_search.evaluation.samples import Sample
from mi_search.evaluation.scores import score_samples
from mi_search.merge.spec import LambdaSpec
from mi_search.search.store import trials
from mi_search.search.settings.config import StudyConfig
from mi_search.search.running.budget_edge import HOLDOUT_EDGE_ATTR
from mi_search.search.running.inputs import QuestionSet
from mi_search.search.running.reuse import Reuse
from mi_search.search.statistics.intervals import over_budget_margin
from mi_search.search.statistics.outcomes import QuestionOutcome, outcomes_from_samples
from mi_search.search.statistics.gain import Gain, Incumbent, at_least_as_good, optimistic_gain, paired_estimate
from mi_search.search.statistics.paired import confidently_worse, paired_difference, without_decisive_question
from mi_search.search.statistics.pareto import Point
from mi_search.search.running.twins import wait_for_running_twin


Scored = tuple[list[list[Sample]], int, dict[str, Any] | None]  # a trial's samples, tokens generated, its stop


def study_order(questions: QuestionSet, seed: int) -> QuestionSet:
    """The search questions in the study's one shuffled order: the same for every trial and worker."""
    order = list(range(len(questions.questions)))
    random.Random(f"mi-search question order {seed}").shuffle(order)
    return QuestionSet([questions.questions[i] for i in order], [questions.golds[i] for i in order])


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
        self,
        backend: Backend,
        search: QuestionSet,
        config: StudyConfig,
        decoding: DecodingParams,
        observer: TrialObserver,
        reuse: Reuse | None = None,
    ) -> None:
        self.backend, self.config, self.decoding, self.observer = backend, config, decoding, observer
        self.reuse = reuse  # the evaluation store: a blend measured before costs no tokens
        layers = config.space.layers
        if layers is not None and layers != backend.plan.num_layers:
            raise UserError(f"the study's space has {layers} layers, the model {backend.plan.num_layers}; start another study")
        self.search = study_order(search, config.seed)
        total = len(search.questions)
        self.rung_sizes = sorted({max(1, round(f * total)) for f in config.halving.rungs})

    def __call__(self, trial: optuna.Trial) -> tuple[float, float]:
        try:
            return self._run(trial)
        except BaseException:  # KeyboardInterrupt included: the trial's run must not stay open
            self.observer.trial_failed(trial)
            raise

    def _run(self, trial: optuna.Trial) -> tuple[float, float]:
        spec, params = self.config.space.suggest(trial, self.decoding)
        self.observer.trial_started(trial, spec, params)
        wait_for_running_twin(trial)  # another process scoring these parameters now: its scores are reused
        twin = trials.finished_twin(trial)
        if twin is not None:  # decoding is seeded: the same parameters give the same samples
            trials.store_repeat(trial, twin)
            self.observer.trial_finished(trial, Evaluation(trials.stored_scores(twin), []))
            return twin.values[0], twin.values[1]
        stored = self.reuse.lookup(spec, params) if self.reuse is not None else None
        if stored is not None:  # measured by another study, worker or sweep with the same fingerprints
            attrs, constraints = self.reuse.record(stored)
            trials.store_reused(trial, attrs, constraints)
            self.observer.trial_finished(trial, Evaluation(stored.score_values, []))
            return stored.scores[self.config.objectives.accuracy], stored.scores["mean_tokens"]
        self.backend.merge(spec)
        trials.store_mean_lambda(trial, self.backend.plan.mean_lambda(spec))
        questions, k = self.search.questions, self.config.k
        # Mean@k over fewer samples estimates Mean@k; Pass@k and Vote@k over fewer samples are biased (Pass@2 <= Pass@8)
        by_samples = self.config.halving.over == "samples" and not params.greedy and k > 1
        by_samples = by_samples and self.config.objectives.accuracy == "accuracy"
        samples, generated, stop = (self._rungs_of_samples if by_samples else self._rungs_of_questions)(trial, params)
        drawn = min(len(row) for row in samples)
        scores = score_samples(samples, drawn, budgeted=params.thinking_budget is not None)
        trials.store_outcomes(trial, outcomes_from_samples(samples))
        trials.store_scores(
            trial,
            scores,
            questions=len(samples),
            full=len(samples) == len(questions) and drawn == k,
            generated=generated,
            budget=self.config.budget,
        )
        if self.reuse is not None:
            self.reuse.keep_trial(trial, spec, params)
        self.observer.trial_finished(trial, Evaluation(scores, samples, generated))
        if stop is not None:  # the sampler learns what the trial would score on every question, not on the first rungs'
            estimate = self.full_estimate(trial.study, outcomes_from_samples(samples), stop)
            if estimate is not None:
                return estimate.accuracy, estimate.mean_tokens
        return scores.as_dict()[self.config.objectives.accuracy], scores.mean_tokens

    def _rungs_of_questions(self, trial: optuna.Trial, params: DecodingParams) -> Scored:
        """Rungs over questions: every sample of the first questions, then the next ones (`over: questions`, greedy
        decoding, Pass@k and Vote@k)."""
        questions, golds = self.search.questions, self.search.golds
        samples: list[list[Sample]] = []
        generated, stop = 0, None
        for size in self.rung_sizes:
            start = len(samples)
            part = evaluate(
                self.backend,
                questions[start:size],
                k=self.config.k,
                params=params,
                golds=golds[start:size],
                study_seed=self.config.seed,
            )
            samples += part.samples
            generated += part.generated_tokens
            self.observer.rung_scored(trial, len(samples), len(questions))
            if size < len(questions):
                stop = self._stop_here(trial, samples)
                if stop is not None:
                    break
        return samples, generated, stop

    def _rungs_of_samples(self, trial: optuna.Trial, params: DecodingParams) -> Scored:
        """Rungs over samples: the first samples of every question, then the rest. Why: a rung of a quarter of the
        questions bounds accuracy by few questions, and one question's answers are a large share of it; a quarter of
        the samples of every question is as many tokens, and per-question accuracy varies far more between questions
        than between one question's samples. Sample j is the same seed whichever rung draws it (common random
        numbers), so a trial that runs on scores exactly what one rung of k samples would have."""
        questions, golds, k = self.search.questions, self.search.golds, self.config.k
        counts = sorted({max(1, round(f * k)) for f in self.config.halving.rungs})
        samples: list[list[Sample]] = [[] for _ in questions]
        generated, stop, drawn = 0, None, 0
        for count in counts:
            part = evaluate(
                self.backend,
                questions,
                k=k,
                params=params,
                golds=golds,
                study_seed=self.config.seed,
                samples=range(drawn, count),
            )
            samples = [row + more for row, more in zip(samples, part.samples)]
            generated += part.generated_tokens
            drawn = count
            self.observer.rung_scored(trial, len(questions) * drawn // k, len(questions))
            if drawn < k:
                stop = self._stop_here(trial, samples, drawn)
                if stop is not None:
                    break
        return samples, generated, stop

    def _stop_here(self, trial: optuna.Trial, samples: list[list[Sample]], drawn: int | None = None) -> dict | None:
        """The stop for a trial scored this far (stored with the trial), or None to score on."""
        stop = self.stop_reason(trial.study, outcomes_from_samples(samples), edge=HOLDOUT_EDGE_ATTR in trial.user_attrs)
        if stop is not None:
            if drawn is not None:
                stop["samples"] = drawn  # a rung of samples: every question, `drawn` of its k samples
            trials.store_stop(trial, stop)
        return stop

    def full_estimate(self, study: optuna.Study, outcomes: list[QuestionOutcome], stop: dict[str, Any]) -> Point | None:
        """A stopped trial's scores on every search question, paired with the front point that stopped it (else the
        cheapest): the first rungs' questions may be easier or harder than the rest, and a sampler fed their raw
        means is drawn to (or from) wherever a trial happened to stop."""
        front = {t.number: t for t in trials.front_trials(study)}
        incumbent = front.get(stop.get("against")) or next(iter(front.values()), None)
        if incumbent is None:
            return None
        theirs = Incumbent(incumbent.number, incumbent.values[0], incumbent.values[1], trials.outcomes_of(incumbent))
        return paired_estimate(outcomes, theirs, self.config.objectives.accuracy)

    def stop_reason(
        self, study: optuna.Study, outcomes: list[QuestionOutcome], *, edge: bool = False
    ) -> dict[str, Any] | None:
        """Why a partly scored trial should stop (over budget, or the front point that beats it), or None.

        A trial run beside the choice (`edge`: the budget's edge or a peak, `budget_edge`) stops only over the
        budget: it is there to be re-scored, whatever it adds to the search front."""
        level = self.config.halving.level
        over = over_budget_margin(outcomes, self.config.budget, level)
        if over > 0:  # on tokens alone: their bound already carries every question's spread
            return {"rung": len(outcomes), "reason": "over_budget", "tokens_margin": over, "level": level}
        if edge:
            return None
        front = [Incumbent(t.number, t.values[0], t.values[1], trials.outcomes_of(t)) for t in trials.front_trials(study)]
        return self._stop_against(front, outcomes)

    def _stop_against(self, front: list[Incumbent], outcomes: list[QuestionOutcome]) -> dict[str, Any] | None:
        """The stop the front gives a trial with these outcomes (dominated, or no gain), or None.

        Each rule must also hold without the question most in its favour against the front point it pairs the
        trial with (`paired.without_decisive_question`): no single question's answers may carry a stop. Checked
        per front point, as a stop that one question carried against one point, and a second question against
        another, would otherwise pass."""
        level, objective = self.config.halving.level, self.config.objectives.accuracy
        if any(at_least_as_good(outcomes, incumbent.outcomes, objective) for incumbent in front):
            return None  # it would take that front point's place: never stopped
        for incumbent in front:
            theirs = incumbent.outcomes
            if confidently_worse(outcomes, theirs, level, objective=objective) and confidently_worse(
                without_decisive_question(outcomes, theirs, objective), theirs, level, objective=objective
            ):
                accuracy = paired_difference(outcomes, theirs, metric=objective, side="upper", level=level)
                tokens = paired_difference(outcomes, theirs, metric="tokens", side="lower", level=level)
                return {
                    "rung": len(outcomes),
                    "reason": "dominated",
                    "against": incumbent.number,
                    "questions": accuracy.n,
                    "accuracy_margin": -accuracy.bound,  # how far below 0 the upper bound of (ours − theirs) is
                    "tokens_margin": tokens.bound,  # how far above 0 the lower bound of (ours − theirs) is
                    "level": level,
                }
        gain = self._gain(front, outcomes)
        if gain is not None and gain.share <= self.config.halving.min_gain:
            paired_with = next(i for i in front if i.number == gain.against)
            rest = self._gain(front, without_decisive_question(outcomes, paired_with.outcomes, objective))
            if rest is None or rest.share > self.config.halving.min_gain:
                return None  # one question's answers decided it
            return {
                "rung": len(outcomes),
                "reason": "no_gain",
                "against": gain.against,  # the front point whose paired bounds gave the optimistic point
                "questions": gain.questions,
                "gain": gain.share,  # the most hypervolume it could add, over the front's
                "min_gain": self.config.halving.min_gain,
                "optimistic_accuracy": gain.accuracy,
                "optimistic_tokens": gain.mean_tokens,
                "level": level,
            }
        return None

    def _gain(self, front: list[Incumbent], outcomes: list[QuestionOutcome]) -> Gain | None:
        """The hypervolume the trial's optimistic point could add to the front (`gain.optimistic_gain`)."""
        level, objective = self.config.halving.level, self.config.objectives.accuracy
        return optimistic_gain(outcomes, front, self.config.budget, level, objective=objective)
