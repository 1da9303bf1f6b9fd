"""IFEval: instruction following, checked by lm-evaluation-harness's maintained IFEval checkers.

The response is checked after its thinking. Strict accuracy needs every instruction followed by the
response as it is; loose accuracy also accepts it with the first or last line dropped or `*` removed
(Zhou et al., 2023), as lm-eval reports them.
"""

from __future__ import annotations

import contextlib
import functools
import io
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from mi_search.errors import UserError
from mi_search.evaluation.grading import Grade, final_answer_text
from mi_search.evaluation.samples import Question

# Checkers that split text with NLTK's punkt tokenizer, whose data NLTK downloads on first use.
NEEDS_PUNKT = frozenset({"length_constraints:number_sentences", "change_case:capital_word_frequency"})


@functools.cache
def _checkers() -> tuple[ModuleType, ModuleType]:
    """lm-eval's IFEval modules; importing them tries to download punkt_tab and prints, so output is muted."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            from lm_eval.tasks.ifeval import instructions_registry, utils
    except ImportError:
        raise UserError('IFEval needs lm-eval\'s checkers; install them with pip install "mi-search[ifeval]"') from None
    return instructions_registry, utils


def has_punkt() -> bool:
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
    except LookupError:
        return False
    return True


def check_instructions(questions: list[Question], source: str) -> None:
    """Refuse instructions lm-eval does not know, or that need NLTK data this machine lacks, before any trial."""
    registry, _ = _checkers()
    used = {instruction["id"] for question in questions for instruction in question.instructions}
    unknown = sorted(used - registry.INSTRUCTION_DICT.keys())
    if unknown:
        raise UserError(f"{source}: unknown IFEval instruction {unknown[0]!r}; use the ids of google/IFEval")
    if used & NEEDS_PUNKT and not has_punkt():
        raise UserError(
            f"{source}: IFEval's sentence checks need NLTK's punkt_tab data, which is not installed; run "
            "`python -m nltk.downloader punkt_tab` (or copy nltk_data and set NLTK_DATA)"
        )


def ifeval_question(row: dict[str, Any], index: int) -> Question:
    """A google/IFEval row (key, prompt, instruction_id_list, kwargs) as a question; the prompt goes as it is."""
    ids, kwargs = row["instruction_id_list"], row["kwargs"]
    if not ids or len(ids) != len(kwargs):
        raise UserError(
            f"row {index} has {len(ids)} instruction ids but {len(kwargs)} kwargs; give one kwargs entry per id"
        )
    instructions = tuple(
        {"id": instruction_id, "kwargs": {k: v for k, v in (arguments or {}).items() if v is not None}}
        for instruction_id, arguments in zip(ids, kwargs)
    )
    return Question(str(row.get("key", index)), row["prompt"], ", ".join(ids), instructions)


@dataclass(frozen=True)
class InstructionGold:
    prompt: str
    instructions: tuple[dict[str, Any], ...]

    def grade(self, response: str, *, truncated: bool) -> Grade:
        if truncated:
            return Grade(None, False, False)
        _, utils = _checkers()
        example = utils.InputExample(
            key=0,
            instruction_id_list=[i["id"] for i in self.instructions],
            prompt=self.prompt,
            kwargs=[i["kwargs"] for i in self.instructions],
        )
        answer = final_answer_text(response).strip()
        strict = utils.test_instruction_following_strict(example, answer)
        loose = utils.test_instruction_following_loose(example, answer)
        return Grade(None, strict.follow_all_instructions, loose.follow_all_instructions)


def instruction_gold(question: Question) -> InstructionGold | None:
    return InstructionGold(question.prompt, question.instructions) if question.instructions else None
