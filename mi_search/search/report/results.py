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
from mi_search.evaluation.stages import ACCURACY_TOLERANCE, StagePoint, Tolerance, label_stages, stage3_start, stage_beside
from mi_search.search.settings.config import ChoiceConfig, ChoiceRule
from mi_search.search.report.rows import trial_rows
from mi_search.search.statistics.choice import (
    accuracy_loss,
    best_candidate,
    cheapest_tied,
    cheapest_within,
    knee,
)
from mi_search.search.statistics.intervals import tokens_interval
from mi_search.search.statistics.outcomes import carries
from mi_search.search.statistics.paired import confidently_worse, paired_difference
from mi_search.search.statistics.pareto import hypervolume, pareto_front
from mi_search.search.store.trials import TrialRecord, completed, read_record
from mi_search.trial_row import TrialRow


@dataclass(frozen=True)
class Alternative:
    """A feasible re-scored front point the user may prefer, with the numbers a choice between them rests on."""

    name: str  # best, cheapest-within, knee
    trial: int
    accuracy: float  # held-out accuracy objective
    tokens: float  # held-out mean tokens
    tokens_interval: tuple[float, float] | None  # its two-sided interval at the result's level
    loss: float | None = None  # (best − this) held-out accuracy, paired; None for the best itself
    loss_bound: float | None = None  # its one-sided upper bound

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trial": self.trial,
            "holdout_accuracy": self.accuracy,
            "holdout_mean_tokens": self.tokens,
            "holdout_tokens_interval": list(self.tokens_interval) if self.tokens_interval else None,
            "accuracy_loss": self.loss,
            "accuracy_loss_upper_bound": self.loss_bound,
        }


@dataclass(frozen=True)
class Choice:
    """The chosen front point, the rule that chose it and by what margins (held-out, paired), and the alternatives."""

    number: int
    rule: ChoiceRule
    best: int  # the feasible re-scored front point with the best held-out accuracy
    level: float
    accuracy_diff: float | None = None  # chosen − best held-out accuracy objective, mean over the shared questions
    accuracy_bound: float | None = None  # cheapest-tied: its one-sided upper bound at `level` (≥ 0: not significantly below)
    tokens_saved: float | None = None  # best's held-out mean tokens − chosen's
    margin: float | None = None  # cheapest-within: the accuracy the chosen point was shown to give up less than
    loss_bound: float | None = None  # cheapest-within: upper bound of (best − chosen), below `margin`
    alternatives: tuple[Alternative, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "trial": self.number,
            "rule": self.rule.value,
            "best_accuracy_trial": self.best,
            "level": self.level,
            "accuracy_diff": self.accuracy_diff,
            "accuracy_upper_bound": self.accuracy_bound,
            "margin": self.margin,
            "accuracy_loss_upper_bound": self.loss_bound,
            "tokens_saved": self.tokens_saved,
            "alternatives": [alternative.as_dict() for alternative in self.alternatives],
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
    study: optuna.Study, budget: int, *, rule: ChoiceConfig | None = None, level: float | None = None
) -> StudyResult:
    """The study as it stands; `rule` and `level` default to the study's stored `choose` and `halving.level`.

    Paired judgements use the study's stored accuracy objective (Mean@k for a study without one).
    """
    from mi_search.search.store.study import CONFIG_ATTR, stored_config

    config = stored_config(study) if CONFIG_ATTR in study.user_attrs else None
    rule = rule or (config.choose if config else ChoiceConfig())
    level = level or (config.halving.level if config else 0.95)
    objective = config.objectives.accuracy if config else "accuracy"
    return result_of(study.study_name, completed_records(study, objective), budget, rule, level, objective)


def result_of(
    name: str,
    records: list[TrialRecord],
    budget: int,
    rule: ChoiceConfig,
    level: float,
    objective: AccuracyObjective,
) -> StudyResult:
    """Stages, the feasible front, its hypervolume and the chosen point of `records` under `budget`."""
    records = label(records, level, objective)
    full = [r for r in records if r.full]
    front = [full[i].number for i in pareto_front([r.point for r in full])]
    choice = choose(records, front, budget, rule, level, objective)
    return StudyResult(
        name=name,
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

    def __init__(self, level: float = 0.95, objective: AccuracyObjective = "accuracy") -> None:
        self.level, self.objective, self.fallback = level, objective, Tolerance()

    def _paired(self, point: StagePoint, best: StagePoint) -> bool:
        return carries(point.outcomes or (), self.objective) and carries(best.outcomes or (), self.objective)

    def tied(self, point: StagePoint, best: StagePoint) -> bool:
        """Shown equivalent: the paired upper bound of the accuracy `point` gives up against the plateau is
        below ACCURACY_TOLERANCE (non-inferiority, as the choice's margin), so with few questions stage 3
        starts at the plateau itself rather than wherever a difference could not be seen."""
        if self._paired(point, best):
            loss = accuracy_loss(point.outcomes, best.outcomes, self.level, objective=self.objective)
            return loss.within(ACCURACY_TOLERANCE)
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
    rule: ChoiceConfig | ChoiceRule = ChoiceConfig(),
    level: float = 0.95,
    objective: AccuracyObjective = "accuracy",
) -> Choice | None:
    """Among re-scored points within the budget (on search and held-out questions together), the one `rule` picks.

    Re-scored points are the front's, and those re-scored to find where the budget binds (which may be
    off the search front, tied there with a cheaper point) or left behind by a front that moved on.

    best: the highest held-out accuracy (the study's `objective`), fewer tokens on ties.
    cheapest-within: the fewest held-out tokens among the points shown, paired on the held-out
    questions, to give up less than `margin` (`choice.cheapest_within`); with few questions, the best.
    cheapest-tied: the fewest held-out tokens among those not significantly below the best (weaker).
    Points re-scored before per-question outcomes (for Vote@k, votes) were kept can only be chosen by best.
    The alternatives (best, cheapest within the margin, the knee) come with the chosen point either way.
    """
    rule = rule if isinstance(rule, ChoiceConfig) else ChoiceConfig(rule=rule)
    by_number = {r.number: r for r in records}
    off_front = sorted((r for r in records if r.full and r.number not in front), key=lambda r: (r.mean_tokens, r.number))
    candidates = [r for r in [*(by_number[n] for n in front), *off_front] if r.holdout and r.within(budget)]
    if not candidates:
        return None
    best = max(candidates, key=lambda r: (r.holdout["objective"], -r.holdout["mean_tokens"]))
    paired = {r.number: r.holdout_outcomes for r in candidates if carries(r.holdout_outcomes, objective)}
    if len(paired) < len(candidates):
        return Choice(best.number, rule.rule, best.number, level)
    top = by_number[best_candidate(paired, objective=objective)]  # the best, first (fewest tokens) on ties
    within = by_number[cheapest_within(paired, rule.margin, level, objective=objective)]
    alternatives = _alternatives(top, within, candidates, rule.margin, level, objective)
    if rule.rule is ChoiceRule.BEST:
        return Choice(top.number, rule.rule, top.number, level, alternatives=alternatives)
    if rule.rule is ChoiceRule.CHEAPEST_WITHIN:
        loss = accuracy_loss(within.holdout_outcomes, top.holdout_outcomes, level, objective=objective)
        return Choice(
            within.number,
            rule.rule,
            top.number,
            level,
            accuracy_diff=-loss.mean,
            tokens_saved=top.tokens - within.tokens,
            margin=rule.margin,
            loss_bound=loss.upper if within.number != top.number else None,
            alternatives=alternatives,
        )
    chosen = by_number[cheapest_tied(paired, level, objective=objective)]
    diff = paired_difference(chosen.holdout_outcomes, top.holdout_outcomes, metric=objective, side="upper", level=level)
    return Choice(
        chosen.number,
        rule.rule,
        top.number,
        level,
        accuracy_diff=diff.mean_diff,
        accuracy_bound=diff.bound,
        tokens_saved=top.tokens - chosen.tokens,
        alternatives=alternatives,
    )


def _alternatives(
    top: TrialRecord,
    within: TrialRecord,
    candidates: list[TrialRecord],
    margin: float,
    level: float,
    objective: AccuracyObjective,
) -> tuple[Alternative, ...]:
    """The best, the cheapest within the margin, and the knee of the feasible re-scored front, each once."""
    bend = knee({r.number: (r.holdout["objective"], r.holdout["mean_tokens"]) for r in candidates})
    named = [("best", top), (f"cheapest-within-{margin:g}", within)]
    if bend is not None:
        named.append(("knee", next(r for r in candidates if r.number == bend)))
    out = []
    for name, record in named:
        loss = None if record is top else accuracy_loss(record.holdout_outcomes, top.holdout_outcomes, level, objective=objective)
        span = tokens_interval(record.holdout_outcomes, level) if len(record.holdout_outcomes) > 1 else None
        out.append(
            Alternative(
                name,
                record.number,
                record.holdout["objective"],
                record.holdout["mean_tokens"],
                (span.low, span.high) if span is not None else None,
                None if loss is None else loss.mean,
                None if loss is None else loss.upper,
            )
        )
    return tuple(out)


def unbound_budget_line(result: StudyResult) -> str | None:
    """One line when the budget excludes no trial, naming a budget inside the front's token range that would bind.

    A budget above every trial's spend leaves the choice to accuracy alone, which is rarely what a
    user who stated a budget meant (the toy pair's trials spend 57–126 tokens against a 4000 default).
    """
    if not result.records or any(r.mean_tokens > result.budget for r in result.records):
        return None
    most = max(result.records, key=lambda r: r.mean_tokens)
    line = (
        f"budget {result.budget} tokens does not bind: every trial fits under it "
        f"(the most, trial {most.number}, spent {most.mean_tokens:.1f} mean tokens)"
    )
    front = sorted(result.record(n).mean_tokens for n in result.front)
    if len(front) > 1 and front[-1] - front[0] >= 2:
        low, high = front[0], front[-1]
        line += (
            f"; a budget between {low:.0f} and {high:.0f} tokens (the front's range), "
            f"e.g. --budget {round((low + high) / 2)}tokens, would trade accuracy for tokens"
        )
    return line
