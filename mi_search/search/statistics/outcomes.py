"""One trial's result per question, the unit every paired statistic compares (`statistics.paired`).

Accuracy per question is the study's accuracy objective (`QuestionOutcome.value`): Mean@k
(`accuracy`) is c/k, Pass@k the unbiased estimate from the question's samples, Vote@k whether its
majority answer is right.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mi_search.evaluation.metrics import closed_by_model, pass_at_k, vote_correct
from mi_search.evaluation.scores import AccuracyObjective

if TYPE_CHECKING:
    from mi_search.evaluation.samples import Sample

Metric = AccuracyObjective | Literal["tokens"]  # an accuracy objective's per-question value, or mean tokens


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
                think_fraction=sum(closed_by_model(s.response, s.forced_close) for s in row) / len(row),
                vote_correct=vote_correct([s.extracted for s in row], [s.correct for s in row]),
            )
        )
    return outcomes
