"""Read a study back: every trial with its scores and stage, the feasible front, its hypervolume, the chosen point.

Judgements that could turn on one question's noise are paired over per-question outcomes, at the
study's `halving.level` and on its accuracy objective (`objectives.accuracy`: Mean@k, Pass@k or
Vote@k, per question): the stage-3 start, the overthinking flag (`PairedComparison`) and the choice
(`choose`). Trials stored without outcomes (or, for Vote@k, without votes) fall back to comparing
point estimates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import optuna

from mi_search.evaluation.scores import AccuracyObjective
from mi_search.evaluation.stages import StagePoint, Tolerance, label_stages, stage3_start, stage_beside
from mi_search.search.settings.config import ChoiceRule
from mi_search.search.report.rows import trial_rows
from mi_search.search.statistics.choice import best_candidate, cheapest_tied, not_significantly_below
from mi_search.search.statistics.outcomes import carries
from mi_search.search.statistics.paired import confidently_worse, paired_difference
from mi_search.search.statistics.pareto import hypervolume, pareto_front
from mi_search.search.store.trials import TrialRecord, completed, read_record
from mi_search.trial_row import TrialRow


@dataclass(frozen=True)
class Choice:
    """The chosen front point, the rule that chose it and by what margins (held-out, paired)."""

    number: int
    rule: ChoiceRule
    best: int  # the feasible re-scored front point with the best held-out accuracy
    level: float
    accuracy_diff: float | None = None  # chosen − best held-out accuracy objective, mean over the shared questions
    accuracy_bound: float | None = None  # its one-sided upper bound at `level`: ≥ 0 means "not significantly below"
    tokens_saved: float | None = None  # best's held-out mean tokens − chosen's

    def as_dict(self) -> dict[str, Any]:
        return {
            "trial": self.number,
            "rule": self.rule.value,
            "best_accuracy_trial": self.best,
            "level": self.level,
            "accuracy_diff": self.accuracy_diff,
            "accuracy_upper_bound": self.accuracy_bound,
            "tokens_saved": self.tokens_saved,
        }


@dataclass(frozen=True)
class StudyResult:
    name: str
    budget: int
    records: list[TrialRecord]  # every COMPLETE trial, by number
    front: list[int]  # trial numbers on the feasible front of fully scored trials, fewest tokens first
    hypervolume: float
    chosen: int | None  # the choice rule's pick among re-scored front points within the budget
    choice: Choice | None = None
    level: float = 0.95  # the confidence of every paired judgement and interval in this result

    def record(self, number: int) -> TrialRecord:
        return next(r for r in self.records if r.number == number)

    @cached_property
    def rows(self) -> tuple[TrialRow, ...]:
        """Every record as a plain row, built once: what the study folder, the tables, the front page and plots read."""
        return trial_rows(self.records, front=self.front, chosen=self.chosen, level=self.level)

    def row(self, number: int) -> TrialRow:
        return next(r for r in self.rows if r.trial == number)


def read_result(
    study: optuna.Study, budget: int, *, rule: ChoiceRule | None = None, level: float | None = None
) -> StudyResult:
    """The study as it stands; `rule` and `level` default to the study's stored `choose` and `halving.level`.

    Paired judgements use the study's stored accuracy objective (Mean@k for a study without one).
    """
    from mi_search.search.store.study import CONFIG_ATTR, stored_config

    config = stored_config(study) if CONFIG_ATTR in study.user_attrs else None
    rule = rule or (config.choose if config else ChoiceRule.CHEAPEST_TIED)
    level = level or (config.halving.level if config else 0.95)
    objective = config.objectives.accuracy if config else "accuracy"
    records = label(completed_records(study, objective), level, objective)
    full = [r for r in records if r.full]
    front = [full[i].number for i in pareto_front([r.point for r in full])]
    choice = choose(records, front, budget, rule, level, objective)
    return StudyResult(
        name=study.study_name,
        budget=budget,
        records=records,
        front=front,
        hypervolume=hypervolume([r.point for r in full], budget) if full else 0.0,
        chosen=choice.number if choice else None,
        choice=choice,
        level=level,
    )


def completed_records(study: optuna.Study, objective: AccuracyObjective = "accuracy") -> list[TrialRecord]:
    attrs = study.user_attrs
    return [read_record(trial, attrs, objective) for trial in completed(study)]


class PairedComparison:
    """The stage rule's judgements paired over per-question `objective` values; point estimates where
    outcomes (or what the objective needs of them) are missing."""

    def __init__(self, level: float, objective: AccuracyObjective = "accuracy") -> None:
        self.level, self.objective, self.fallback = level, objective, Tolerance()

    def _paired(self, point: StagePoint, best: StagePoint) -> bool:
        return carries(point.outcomes or (), self.objective) and carries(best.outcomes or (), self.objective)

    def tied(self, point: StagePoint, best: StagePoint) -> bool:
        if self._paired(point, best):
            return not_significantly_below(point.outcomes, best.outcomes, self.level, objective=self.objective)
        return self.fallback.tied(point, best)

    def beaten(self, point: StagePoint, best: StagePoint) -> bool:
        if self._paired(point, best):
            return confidently_worse(point.outcomes, best.outcomes, self.level, objective=self.objective)
        return self.fallback.beaten(point, best)


def _stage_point(record: TrialRecord) -> StagePoint:
    return StagePoint(
        record.mean_lambda, record.scores["think_ratio"], record.accuracy, record.mean_tokens, record.outcomes or None
    )


def label(
    records: list[TrialRecord], level: float = 0.95, objective: AccuracyObjective = "accuracy"
) -> list[TrialRecord]:
    """Stages labelled over the fully scored, distinct trials; partial estimates and repeats are placed beside them."""
    compare = PairedComparison(level, objective)
    reference = [r for r in records if r.full and r.repeat_of is None]
    points = [_stage_point(r) for r in reference]
    labels = {r.number: lab for r, lab in zip(reference, label_stages(points, compare))}
    start = stage3_start(points, compare)
    labelled = []
    for record in records:
        own = labels.get(record.number) or labels.get(record.repeat_of)
        if own is not None:
            labelled.append(replace(record, stage=own.stage, overthinking=own.overthinking))
        else:
            labelled.append(replace(record, stage=stage_beside(_stage_point(record), start)))
    return labelled


def choose(
    records: list[TrialRecord],
    front: list[int],
    budget: int,
    rule: ChoiceRule = ChoiceRule.CHEAPEST_TIED,
    level: float = 0.95,
    objective: AccuracyObjective = "accuracy",
) -> Choice | None:
    """Among re-scored front points within the budget on held-out questions: `best`, or the cheapest tied with it.

    cheapest-tied: the fewest held-out tokens among the points whose held-out accuracy (the study's
    `objective`, per question) is not significantly below the best one's, paired on the held-out
    questions (`paired.cheapest_tied`). Points re-scored before per-question outcomes (for Vote@k,
    votes) were kept can only be chosen by `best`.
    """
    by_number = {r.number: r for r in records}
    candidates = [by_number[n] for n in front if by_number[n].holdout and by_number[n].within(budget)]
    if not candidates:
        return None
    best = max(candidates, key=lambda r: (r.holdout["objective"], -r.holdout["mean_tokens"]))
    paired = {r.number: r.holdout_outcomes for r in candidates if carries(r.holdout_outcomes, objective)}
    if rule is ChoiceRule.BEST or len(paired) < len(candidates):
        return Choice(best.number, rule, best.number, level)
    top = by_number[best_candidate(paired, objective=objective)]  # cheapest_tied's best, first (fewest tokens) on ties
    chosen = by_number[cheapest_tied(paired, level, objective=objective)]
    diff = paired_difference(chosen.holdout_outcomes, top.holdout_outcomes, metric=objective, side="upper", level=level)
    return Choice(
        chosen.number,
        rule,
        top.number,
        level,
        accuracy_diff=diff.mean_diff,
        accuracy_bound=diff.bound,
        tokens_saved=top.tokens - chosen.tokens,
    )
