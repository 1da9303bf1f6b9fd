"""Math grading with math-verify: the gold parsed once, each response's final answer compared with it.

math-verify bounds its work with `signal.alarm`, which only the main thread may use; from any
other thread the timeouts are switched off instead of crashing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from math_verify import parse, verify

from mi_search.evaluation.grading import Grade, final_answer_text
from mi_search.evaluation.samples import Question


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
    return None if (parsed := parse_gold(question.answer)) is None else MathGold(parsed)
