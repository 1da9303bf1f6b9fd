"""What grading shares across tasks: a grade, the gold a question is graded against, where the answer is read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mi_search.evaluation.metrics import THINK_CLOSE


@dataclass(frozen=True)
class Grade:
    extracted: str | None  # the canonical extracted answer, None when nothing was found
    correct: bool
    loose: bool | None = None  # IFEval's loose reading; None for tasks that have only one


class Gold(Protocol):
    """One question's reference, ready to grade responses against."""

    def grade(self, response: str, *, truncated: bool) -> Grade: ...


def final_answer_text(response: str) -> str:
    """The part of a response after its thinking, where the answer belongs."""
    return response.rsplit(THINK_CLOSE, 1)[-1]
