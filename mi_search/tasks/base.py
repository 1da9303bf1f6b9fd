"""What every task shares: the prompt suffix of math questions (a task yields `evaluation.samples.Question`s)."""

from __future__ import annotations

MATH_PROMPT_SUFFIX = "\nPlease reason step by step, and put your final answer within \\boxed{}."
