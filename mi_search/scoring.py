"""What grading shares across tasks, and math grading with math-verify.

math-verify bounds its work with `signal.alarm`, which only the main thread may use; from any
other thread the timeouts are switched off instead of crashing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from math_verify import parse, verify

from mi_search.metrics import THINK_CLOSE
from mi_search.tasks.base import Question


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


def _timeout(seconds: int) -> int | None:
    return seconds if threading.current_thread() is threading.main_thread() else None


def parse_gold(answer: str) -> list | None:
    """The parsed gold answer, or None when math-verify cannot read it (counted apart, never as wrong)."""
    parsed = parse(answer, parsing_timeout=_timeout(5))
    return parsed or None


def grade(response: str, gold: list, *, truncated: bool) -> Grade:
    """Extract the final answer and compare it with the parsed gold; a truncated response is wrong."""
    parsed = parse(final_answer_text(response), parsing_timeout=_timeout(5))
    extracted = str(parsed[0]) if parsed else None
    if truncated or not parsed:
        return Grade(extracted, False)
    return Grade(extracted, bool(verify(gold, parsed, timeout_seconds=_timeout(5))))


@dataclass(frozen=True)
class MathGold:
    parsed: list

    def grade(self, response: str, *, truncated: bool) -> Grade:
        return grade(response, self.parsed, truncated=truncated)


def math_gold(question: Question) -> MathGold | None:
    parsed = parse_gold(question.answer)
    return None if parsed is None else MathGold(parsed)
