"""Multiple choice (GPQA): options shuffled with a fixed seed, the answer read as a letter."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from mi_search.evaluation.grading import Grade, final_answer_text
from mi_search.evaluation.samples import Question

CHOICE_PROMPT_SUFFIX = "\nPlease reason step by step, and put the letter of the correct option within \\boxed{}."
LETTERS = "ABCD"
SHUFFLE_SEED = 2510

# Where a response states its choice, most explicit first; the last match of the first pattern that matches wins.
_LETTER_PATTERNS = (
    re.compile(r"\\boxed\{\s*(?:\\text(?:bf)?\{)?\s*\(?([A-D])\)?\s*\}?\s*\}"),
    re.compile(r"(?i:answer)\s*(?:is|:)?\s*:?\s*\**\s*\(?([A-D])\)?(?![A-Za-z])"),
    re.compile(r"^\s*\(?([A-D])\)?[.)]?\s*$", re.MULTILINE),
)


def extract_letter(response: str) -> str | None:
    """The option letter a response gives after its thinking, or None when it names none."""
    text = final_answer_text(response)
    for pattern in _LETTER_PATTERNS:
        found = pattern.findall(text)
        if found:
            return found[-1]
    return None


def shuffled_options(question_id: str, correct: str, incorrect: list[str]) -> tuple[list[str], str]:
    """The four options in an order fixed by the question id alone, and the correct option's letter."""
    options = [correct, *incorrect]
    random.Random(f"{SHUFFLE_SEED}:{question_id}").shuffle(options)
    return options, LETTERS[options.index(correct)]


def choice_prompt(question: str, options: list[str]) -> str:
    lines = "\n".join(f"{letter}) {option}" for letter, option in zip(LETTERS, options))
    return f"{question}\n\n{lines}\n"


@dataclass(frozen=True)
class ChoiceGold:
    letter: str

    def grade(self, response: str, *, truncated: bool) -> Grade:
        extracted = extract_letter(response)
        return Grade(extracted, not truncated and extracted == self.letter)


def choice_gold(question: Question) -> ChoiceGold | None:
    return ChoiceGold(question.answer) if question.answer in LETTERS else None
