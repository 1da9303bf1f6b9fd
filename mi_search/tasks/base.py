"""What every task yields: questions with a prompt and a gold answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MATH_PROMPT_SUFFIX = "\nPlease reason step by step, and put your final answer within \\boxed{}."


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str  # the user message; the backend applies the model's chat template
    answer: str  # the gold as text: a number or expression, an option letter, IFEval's instruction ids
    # IFEval only: the instructions the response must follow, as {"id": ..., "kwargs": {...}}
    instructions: tuple[dict[str, Any], ...] = ()
