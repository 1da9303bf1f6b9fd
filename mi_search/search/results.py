"""Read a study back: every trial with its scores and stage, the feasible front, its hypervolume, the chosen point."""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from mi_search.search.objective import FULL, GENERATED_TOKENS, MEAN_LAMBDA, QUESTIONS, SCORES
from mi_search.search.pareto import Point, hypervolume, pareto_front
from mi_search.stages import StagePoint, label_stages

HOLDOUT_ATTR = "holdout:{number}"  # study user attribute: held-out scores of one front trial
RUN_ID_ATTR = "mlflow_run_id"  # trial user attribute: the trial's MLflow run, when tracked


@dataclass(frozen=True)
class TrialRecord:
    """A finished trial as the report shows it; `stage` is labelled across all finished trials by mean λ."""

    number: int
    params: dict[str, float | int]
    scores: dict[str, float]
    accuracy: float  # the accuracy objective (Mean@k unless the study says otherwise)
    mean_tokens: float
    questions: int
    full: bool
    feasible: bool
    mean_lambda: float
    generated_tokens: int
    stage: int
    overthinking: bool
    holdout: dict[str, float] | None
    run_id: str | None


@dataclass(frozen=True)
class StudyResult:
    name: str
    budget: int
    records: list[TrialRecord]  # every COMPLETE trial, by number
    front: list[int]  # trial numbers on the feasible front of fully scored trials, fewest tokens first
    hypervolume: float
    chosen: int | None  # best held-out accuracy within the budget among re-scored front points

    def record(self, number: int) -> TrialRecord:
        return next(r for r in self.records if r.number == number)


def read_result(study: optuna.Study, budget: int) -> StudyResult:
    trials = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
    labels = label_stages(
        [
            StagePoint(t.user_attrs[MEAN_LAMBDA], t.user_attrs[SCORES]["think_ratio"], t.values[0], t.values[1])
            for t in trials
        ]
    )
    records = [
        TrialRecord(
            number=t.number,
            params=dict(t.params),
            scores=t.user_attrs[SCORES],
            accuracy=t.values[0],
            mean_tokens=t.values[1],
            questions=t.user_attrs[QUESTIONS],
            full=t.user_attrs[FULL],
            feasible=all(c <= 0 for c in t.constraints.values()),
            mean_lambda=t.user_attrs[MEAN_LAMBDA],
            generated_tokens=t.user_attrs[GENERATED_TOKENS],
            stage=label.stage,
            overthinking=label.overthinking,
            holdout=study.user_attrs.get(HOLDOUT_ATTR.format(number=t.number)),
            run_id=t.user_attrs.get(RUN_ID_ATTR),
        )
        for t, label in zip(trials, labels)
    ]
    full = [r for r in records if r.full]
    points = [Point(r.accuracy, r.mean_tokens, r.feasible) for r in full]
    front = [full[i].number for i in pareto_front(points)]
    return StudyResult(
        name=study.study_name,
        budget=budget,
        records=records,
        front=front,
        hypervolume=hypervolume(points, budget) if points else 0.0,
        chosen=choose(records, front, budget),
    )


def choose(records: list[TrialRecord], front: list[int], budget: int) -> int | None:
    """The front point with the best held-out accuracy whose held-out mean tokens stay within the budget."""
    by_number = {r.number: r for r in records}
    candidates = [by_number[n] for n in front if by_number[n].holdout and by_number[n].holdout["mean_tokens"] <= budget]
    if not candidates:
        return None
    best = max(candidates, key=lambda r: (r.holdout["objective"], -r.holdout["mean_tokens"]))
    return best.number
