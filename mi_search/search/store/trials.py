"""What a trial stores and how it is read back: the one module that knows a trial's user attributes.

A trial stores its scores, how many search questions they cover, whether that is all of them, the
tokens it generated, its mean λ, the budget constraint (mean tokens − budget), the trial it repeats
(if any) and its MLflow run. Feasibility is read from the stored constraint, never recomputed.
It also stores its per-question outcomes (correct of k, mean tokens, Think share, whether the
majority vote is right, by question id), so that any two trials can be compared on the questions
both scored, and, when halving stopped it, why (rung, reason, the front point and the margins).
Outcomes stored before votes were kept read back with no vote (`QuestionOutcome.vote_correct` None).
Held-out scores and per-question outcomes of front points are study user attributes, written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from mi_search.evaluation.scores import AccuracyObjective, Scores
from mi_search.search.store.owner import ProcessId
from mi_search.search.statistics.intervals import Interval, accuracy_interval, tokens_interval
from mi_search.search.statistics.outcomes import QuestionOutcome, carries
from mi_search.search.statistics.pareto import Point, pareto_front

BUDGET_CONSTRAINT = "tokens_over_budget"
_SCORES, _QUESTIONS, _FULL, _GENERATED, _MEAN_LAMBDA, _REPEAT_OF, _RUN_ID = (
    "scores",
    "questions",
    "full",
    "generated_tokens",
    "mean_lambda",
    "repeat_of",
    "mlflow_run_id",
)
_OUTCOMES, _STOP = "outcomes", "stopped"
_REUSED = "reused_from"  # "<study>#<trial>": the stored evaluation this trial took, at no token cost
_HOLDOUT = "holdout:{number}"  # study user attribute: held-out scores of one front trial
_HOLDOUT_OUTCOMES = "holdout_outcomes:{number}"  # study user attribute: its held-out per-question outcomes


@dataclass(frozen=True)
class TrialRecord:
    """A finished trial as reports show it; `stage` and `overthinking` are filled in across the study."""

    number: int
    params: dict[str, Any]
    scores: dict[str, float]
    accuracy: float  # the accuracy objective (Mean@k unless the study says otherwise)
    mean_tokens: float
    questions: int
    full: bool  # scored on every search question (not stopped early)
    feasible: bool
    mean_lambda: float
    generated_tokens: int
    repeat_of: int | None
    holdout: dict[str, float] | None
    run_id: str | None
    stage: int | None = None
    reused_from: str | None = None  # the evaluation store's entry it took, measured by that study's trial
    overthinking: bool = False
    outcomes: tuple[QuestionOutcome, ...] = ()  # per search question scored, in the study's question order
    holdout_outcomes: tuple[QuestionOutcome, ...] = ()
    stop: dict[str, Any] | None = None  # why successive halving stopped it early, when it did
    objective: AccuracyObjective = "accuracy"  # which accuracy `accuracy` is: the study's objective

    @property
    def point(self) -> Point:
        return Point(self.accuracy, self.mean_tokens, self.feasible)

    @property
    def tokens(self) -> float:
        """Mean tokens as best known: held-out once re-scored there, else on the search questions."""
        return self.holdout["mean_tokens"] if self.holdout else self.mean_tokens

    def intervals(
        self, level: float = 0.95, *, holdout: bool = False, objective: AccuracyObjective | None = None
    ) -> tuple[Interval, Interval] | None:
        """The accuracy `objective` (default: the study's) and mean tokens with two-sided t intervals over
        the questions (search or held-out), if the outcomes stored carry it."""
        outcomes = self.holdout_outcomes if holdout else self.outcomes
        objective = objective or self.objective
        if not carries(outcomes, objective):
            return None
        return accuracy_interval(outcomes, level, objective=objective), tokens_interval(outcomes, level)

    @property
    def pooled_tokens(self) -> float:
        """Mean tokens over every question the point was scored on: search and, once re-scored, held-out.

        Both parts are samples of one task, so together they estimate its mean tokens more closely than
        either: on the paper's curve the 30 held-out questions ran 11 % longer than the 23 search ones at
        every λ, so held-out tokens alone refused a blend within the budget (and search tokens alone
        took blends past it). Records stored without held-out outcomes fall back to held-out tokens.
        """
        held = len(self.holdout_outcomes)
        if not self.holdout or not held:
            return self.tokens
        return pooled_mean(self.mean_tokens, self.questions, self.holdout["mean_tokens"], held)

    def within(self, budget: int) -> bool:
        """Within `budget` on every question scored (`pooled_tokens`): search and, once re-scored, held-out."""
        return self.pooled_tokens <= budget


def pooled_mean(mean: float, n: int, other_mean: float, other_n: int) -> float:
    """The mean over two samples of one population, from their means and sizes."""
    return (mean * n + other_mean * other_n) / (n + other_n)


def store_mean_lambda(trial: optuna.Trial, mean_lambda: float) -> None:
    trial.set_user_attr(_MEAN_LAMBDA, mean_lambda)


def store_scores(trial: optuna.Trial, scores: Scores, *, questions: int, full: bool, generated: int, budget: int) -> None:
    """A scored trial's record, and its budget constraint for Optuna's constrained samplers."""
    trial.set_user_attr(_SCORES, scores.as_dict())
    trial.set_user_attr(_QUESTIONS, questions)
    trial.set_user_attr(_FULL, full)
    trial.set_user_attr(_GENERATED, generated)
    trial.set_constraint(BUDGET_CONSTRAINT, scores.mean_tokens - budget)


def store_repeat(trial: optuna.Trial, twin: FrozenTrial) -> None:
    """A trial whose parameters an earlier trial ran: its record, at no token cost."""
    for key in (_SCORES, _QUESTIONS, _FULL, _MEAN_LAMBDA, _OUTCOMES, _STOP, _REUSED):
        if key in twin.user_attrs:
            trial.set_user_attr(key, twin.user_attrs[key])
    trial.set_user_attr(_GENERATED, 0)
    trial.set_user_attr(_REPEAT_OF, twin.number)
    trial.set_constraint(BUDGET_CONSTRAINT, twin.constraints[BUDGET_CONSTRAINT])


def reused_record(
    scores: dict[str, float],
    outcomes: dict[str, list],
    *,
    questions: int,
    mean_lambda: float,
    origin: str,
    budget: int,
    stop: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """The user attributes and constraints of a trial that takes a stored evaluation: free, marked reused.

    The budget constraint is recomputed for this study's budget; the evaluation itself does not depend on it.
    `stop`: the evaluation was stopped early, over a budget at least this one (a partial estimate, as it was).
    """
    attrs = {
        _SCORES: scores,
        _QUESTIONS: questions,
        _FULL: stop is None,
        **({_STOP: stop} if stop is not None else {}),
        _GENERATED: 0,
        _MEAN_LAMBDA: mean_lambda,
        _OUTCOMES: outcomes,
        _REUSED: origin,
    }
    return attrs, {BUDGET_CONSTRAINT: scores["mean_tokens"] - budget}


def store_reused(trial: optuna.Trial, attrs: dict[str, Any], constraints: dict[str, float]) -> None:
    """A running trial whose blend the evaluation store already holds: its record, at no token cost."""
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    for key, value in constraints.items():
        trial.set_constraint(key, value)


def reused_from(trial: optuna.Trial | FrozenTrial) -> str | None:
    return trial.user_attrs.get(_REUSED)


def measured(trial: FrozenTrial) -> dict[str, Any] | None:
    """What a trial measured itself (not repeated, not reused): what the evaluation store keeps.

    A trial stopped early is kept only when it stopped over the budget: it is over any smaller budget
    too, so a study with a smaller budget takes it as it stands. One stopped as dominated is not kept:
    that verdict depends on the front of the study that stopped it.
    """
    attrs = trial.user_attrs
    if _REPEAT_OF in attrs or _REUSED in attrs or _OUTCOMES not in attrs:
        return None
    stop = attrs.get(_STOP)
    if not attrs.get(_FULL) and not (isinstance(stop, dict) and stop.get("reason") == "over_budget"):
        return None
    return {
        "stop": None if attrs.get(_FULL) else stop,
        "scores": attrs[_SCORES],
        "outcomes": attrs[_OUTCOMES],
        "questions": attrs[_QUESTIONS],
        "mean_lambda": attrs[_MEAN_LAMBDA],
        "generated_tokens": attrs[_GENERATED],
    }


def pack_outcomes(outcomes: list[QuestionOutcome]) -> dict[str, list]:
    return _pack(outcomes)


def unpack_outcomes(packed: dict[str, list]) -> tuple[QuestionOutcome, ...]:
    return _unpack(packed)


def _pack(outcomes: list[QuestionOutcome]) -> dict[str, list]:
    """Outcomes as columns: a compact JSON attribute even for hundreds of questions (votes as 0/1)."""
    packed = {
        "ids": [o.question_id for o in outcomes],
        "correct": [o.correct for o in outcomes],
        "samples": [o.samples for o in outcomes],
        "tokens": [round(o.mean_tokens, 3) for o in outcomes],
        "think": [round(o.think_fraction, 6) for o in outcomes],
    }
    if all(o.vote_correct is not None for o in outcomes):
        packed["vote"] = [int(o.vote_correct) for o in outcomes]
    return packed


def _unpack(packed: dict[str, list] | None) -> tuple[QuestionOutcome, ...]:
    """Outcomes from their columns; a record from before votes were kept has no `vote` column."""
    if not packed:
        return ()
    votes = [bool(v) for v in packed["vote"]] if "vote" in packed else [None] * len(packed["ids"])
    columns = zip(packed["ids"], packed["correct"], packed["samples"], packed["tokens"], packed["think"], votes)
    return tuple(QuestionOutcome(*row) for row in columns)


def store_outcomes(trial: optuna.Trial, outcomes: list[QuestionOutcome]) -> None:
    trial.set_user_attr(_OUTCOMES, _pack(outcomes))


def outcomes_of(trial: FrozenTrial) -> tuple[QuestionOutcome, ...]:
    """The trial's per-question outcomes; empty for a trial stored before outcomes were kept."""
    return _unpack(trial.user_attrs.get(_OUTCOMES))


def store_stop(trial: optuna.Trial, stop: dict[str, Any]) -> None:
    """Why halving stopped the trial: rung (questions scored), reason, the front point and the margins."""
    trial.set_user_attr(_STOP, stop)


def stored_scores(trial: FrozenTrial) -> Scores:
    return Scores(**trial.user_attrs[_SCORES])


def store_run_id(trial: optuna.Trial, run_id: str) -> None:
    trial.set_user_attr(_RUN_ID, run_id)


def run_id_of(trial: optuna.Trial | FrozenTrial) -> str | None:
    return trial.user_attrs.get(_RUN_ID)


def is_feasible(trial: FrozenTrial) -> bool:
    """Within the budget, as the trial's stored constraint says."""
    return all(value <= 0 for value in trial.constraints.values())


def is_full(trial: FrozenTrial) -> bool:
    return bool(trial.user_attrs.get(_FULL))


def completed(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def finished_twin(trial: optuna.Trial) -> FrozenTrial | None:
    """An earlier finished trial with exactly these parameters (samplers do propose the bounds again)."""
    for other in completed(trial.study):
        if other.params == trial.params and _REPEAT_OF not in other.user_attrs:
            return other
    return None


def front_points(study: optuna.Study) -> list[Point]:
    """(accuracy objective, mean tokens) of the fully scored feasible trials so far, from any worker."""
    return [Point(t.values[0], t.values[1]) for t in completed(study) if is_full(t) and is_feasible(t)]


def front_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The fully scored feasible trials with per-question outcomes so far, from any worker, that no other dominates.

    These are the incumbents a challenger is compared with, question by question.
    """
    scored = [t for t in completed(study) if is_full(t) and is_feasible(t) and _OUTCOMES in t.user_attrs]
    return [scored[i] for i in pareto_front([Point(t.values[0], t.values[1]) for t in scored])]


def read_record(
    trial: FrozenTrial, study_attrs: dict[str, Any], objective: AccuracyObjective = "accuracy"
) -> TrialRecord:
    """A COMPLETE trial's record, with its held-out scores when it has been re-scored; `objective`
    names the study's accuracy objective (what `accuracy` holds and the paired tests pair on)."""
    attrs = trial.user_attrs
    return TrialRecord(
        number=trial.number,
        params=dict(trial.params),
        scores=attrs[_SCORES],
        accuracy=trial.values[0],
        mean_tokens=trial.values[1],
        questions=attrs[_QUESTIONS],
        full=attrs[_FULL],
        feasible=is_feasible(trial),
        mean_lambda=attrs[_MEAN_LAMBDA],
        generated_tokens=attrs[_GENERATED],
        repeat_of=attrs.get(_REPEAT_OF),
        holdout=study_attrs.get(_HOLDOUT.format(number=trial.number)),
        run_id=attrs.get(_RUN_ID),
        outcomes=_unpack(attrs.get(_OUTCOMES)),
        holdout_outcomes=_unpack(study_attrs.get(_HOLDOUT_OUTCOMES.format(number=trial.number))),
        stop=attrs.get(_STOP),
        objective=objective,
        reused_from=attrs.get(_REUSED),
    )


def record_problem(trial: FrozenTrial) -> str | None:
    """What keeps `read_record` from reading a COMPLETE trial (a record `store_scores` did not write), or None."""
    attrs = trial.user_attrs
    missing = [key for key in (_SCORES, _QUESTIONS, _FULL, _MEAN_LAMBDA, _GENERATED) if key not in attrs]
    if missing:
        return f"lacks {missing[0]!r}, which every scored trial has"
    kinds = {_QUESTIONS: int, _FULL: bool, _MEAN_LAMBDA: (int, float), _GENERATED: (int, float)}
    for key, kind in kinds.items():
        value = attrs[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            return f"has {key} {value!r}, not the number or flag every scored trial has"
    scores = attrs[_SCORES]
    if not isinstance(scores, dict):
        return f"has scores {str(scores)[:80]} that are not the score columns"
    try:
        Scores(**scores)
    except TypeError:
        return f"has scores {str(scores)[:80]} that are not the score columns"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores.values()):
        return f"has scores {str(scores)[:80]} that are not all numbers"
    return None


def has_holdout(study: optuna.Study, number: int) -> bool:
    return _HOLDOUT.format(number=number) in study.user_attrs


def holdout_tokens(study: optuna.Study, number: int) -> float | None:
    """A front point's held-out mean tokens, once re-scored (by any process)."""
    stored = study.user_attrs.get(_HOLDOUT.format(number=number))
    return stored["mean_tokens"] if stored else None


def store_holdout(
    study: optuna.Study,
    number: int,
    scores: Scores,
    *,
    objective: str,
    generated: int,
    outcomes: list[QuestionOutcome],
) -> None:
    """A front point's held-out scores and per-question outcomes; `objective` names the study's accuracy objective."""
    study.set_user_attr(_HOLDOUT_OUTCOMES.format(number=number), _pack(outcomes))
    values = scores.as_dict()
    study.set_user_attr(
        _HOLDOUT.format(number=number), {**values, "objective": values[objective], "generated_tokens": generated}
    )


# --- Which process runs a trial: written first thing in the objective, read when a study is opened. ---
_OWNER = "owner"  # {"host", "pid", "started", "trial"}: "trial" tells a record from one copied into a retry


def store_owner(trial: optuna.Trial, owner: ProcessId) -> None:
    trial.set_user_attr(_OWNER, {**owner.as_dict(), "trial": trial.number})


def owner_of(trial: FrozenTrial) -> ProcessId | None:
    """The process that recorded itself running this trial; None when none did (a retry carries its
    original's record, which names another trial number, so it counts as none)."""
    raw = trial.user_attrs.get(_OWNER)
    if not isinstance(raw, dict) or raw.get("trial") != trial.number:
        return None
    return ProcessId.from_dict(raw)


def still_running(study: optuna.Study, trial: optuna.Trial) -> bool:
    """Whether the storage still holds `trial` as RUNNING (another process may have reaped it)."""
    return study._storage.get_trial(trial._trial_id).state is TrialState.RUNNING


def running_twin(trial: optuna.Trial) -> FrozenTrial | None:
    """Another RUNNING trial with exactly these parameters: a concurrent process proposed the same point."""
    for other in running(trial.study):
        if other._trial_id != trial._trial_id and other.params and other.params == trial.params:
            return other
    return None


def running(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
