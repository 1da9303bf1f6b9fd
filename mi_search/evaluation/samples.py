"""The records an evaluation passes along: a question asked, and one graded answer to it.

They sit apart from `evaluate.py` so that scores, tasks and statistics can read them without
importing the generate-and-grade loop (and without a circle through it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str  # the user message; the backend applies the model's chat template
    answer: str  # the gold as text: a number or expression, an option letter, IFEval's instruction ids
    # IFEval only: the instructions the response must follow, as {"id": ..., "kwargs": {...}}
    instructions: tuple[dict[str, Any], ...] = ()


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
    forced_close: bool = False  # its thought reached the thinking budget and was closed for it
