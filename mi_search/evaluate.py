"""Evaluate the model as it is now: generate k samples per question, grade them, compute the paper's metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from mi_search import metrics
from mi_search.backends.base import Backend, DecodingParams
from mi_search.errors import UserError
from mi_search.scoring import Gold
from mi_search.tasks.base import Question


@dataclass(frozen=True)
class Sample:
    question_id: str
    prompt: str
    response: str
    num_tokens: int
    finish_reason: str
    extracted: str | None
    correct: bool
    correct_loose: bool | None = None  # IFEval's loose reading


@dataclass(frozen=True)
class Scores:
    """The paper's metrics for one model on one question set."""

    k: int
    accuracy: float  # Mean@k
    pass_at_k: float
    vote_at_k: float
    mean_tokens: float  # Token #N
    think_ratio: float  # Think #R
    truncation_rate: float
    loose_accuracy: float | None = None  # IFEval: Mean@k of the loose reading

    def as_dict(self) -> dict[str, float]:
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class Evaluation:
    scores: Scores
    samples: list[list[Sample]]  # per question, k samples


def gradable(
    questions: list[Question], grader: Callable[[Question], Gold | None]
) -> tuple[list[Question], list[Gold]]:
    """The questions `grader` can grade, with their golds."""
    kept, golds = [], []
    for question in questions:
        gold = grader(question)
        if gold is not None:
            kept.append(question)
            golds.append(gold)
    if not kept:
        raise UserError("no question has a gold answer this task can grade; check the answer column")
    return kept, golds


def evaluate(
    backend: Backend, questions: list[Question], *, k: int, params: DecodingParams, golds: list[Gold]
) -> Evaluation:
    """Generate `k` samples per question with `params` and grade them against `golds` (see `gradable`)."""
    completions = backend.generate([q.prompt for q in questions], k, params)
    samples = []
    for question, gold, outs in zip(questions, golds, completions):
        row = []
        for out in outs:
            graded = gold.grade(out.text, truncated=out.finish_reason == "length")
            row.append(
                Sample(
                    question.id,
                    question.prompt,
                    out.text,
                    out.num_tokens,
                    out.finish_reason,
                    graded.extracted,
                    graded.correct,
                    graded.loose,
                )
            )
        samples.append(row)
    return Evaluation(score_samples(samples, k), samples)


def score_samples(samples: list[list[Sample]], k: int) -> Scores:
    correct = [[s.correct for s in row] for row in samples]
    loose = [[bool(s.correct_loose) for s in row] for row in samples]
    has_loose = all(s.correct_loose is not None for row in samples for s in row)
    return Scores(
        k=k,
        accuracy=metrics.mean_at_k(correct),
        pass_at_k=metrics.mean_pass_at_k(correct, k),
        vote_at_k=metrics.vote_at_k([[s.extracted for s in row] for row in samples], correct),
        mean_tokens=metrics.mean_tokens([[s.num_tokens for s in row] for row in samples]),
        think_ratio=metrics.think_ratio([[s.response for s in row] for row in samples]),
        truncation_rate=metrics.truncation_rate([[s.finish_reason for s in row] for row in samples]),
        loose_accuracy=metrics.mean_at_k(loose) if has_loose else None,
    )
