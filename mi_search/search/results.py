"""Read a study back: every trial with its scores and stage, the feasible front, its hypervolume, the chosen point."""

from __future__ import annotations

from dataclasses import dataclass, replace

import optuna

from mi_search.evaluation.stages import StagePoint, label_stages, stage3_start, stage_beside
from mi_search.search.pareto import hypervolume, pareto_front
from mi_search.search.trials import TrialRecord, completed, read_record


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
    records = label(completed_records(study))
    full = [r for r in records if r.full]
    front = [full[i].number for i in pareto_front([r.point for r in full])]
    return StudyResult(
        name=study.study_name,
        budget=budget,
        records=records,
        front=front,
        hypervolume=hypervolume([r.point for r in full], budget) if full else 0.0,
        chosen=choose(records, front, budget),
    )


def completed_records(study: optuna.Study) -> list[TrialRecord]:
    attrs = study.user_attrs
    return [read_record(trial, attrs) for trial in completed(study)]


def _stage_point(record: TrialRecord) -> StagePoint:
    return StagePoint(record.mean_lambda, record.scores["think_ratio"], record.accuracy, record.mean_tokens)


def label(records: list[TrialRecord]) -> list[TrialRecord]:
    """Stages labelled over the fully scored, distinct trials; partial estimates and repeats are placed beside them."""
    reference = [r for r in records if r.full and r.repeat_of is None]
    labels = {r.number: lab for r, lab in zip(reference, label_stages([_stage_point(r) for r in reference]))}
    start = stage3_start([_stage_point(r) for r in reference])
    labelled = []
    for record in records:
        own = labels.get(record.number) or labels.get(record.repeat_of)
        if own is not None:
            labelled.append(replace(record, stage=own.stage, overthinking=own.overthinking))
        else:
            labelled.append(replace(record, stage=stage_beside(_stage_point(record), start)))
    return labelled


def choose(records: list[TrialRecord], front: list[int], budget: int) -> int | None:
    """The front point with the best held-out accuracy whose held-out mean tokens stay within the budget."""
    by_number = {r.number: r for r in records}
    candidates = [by_number[n] for n in front if by_number[n].holdout and by_number[n].within(budget)]
    if not candidates:
        return None
    best = max(candidates, key=lambda r: (r.holdout["objective"], -r.holdout["mean_tokens"]))
    return best.number
