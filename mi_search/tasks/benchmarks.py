"""The paper's benchmarks: where each is published, the columns of its schema, how a row becomes a question.

Each loads from its hub id, or from a local JSONL/JSON/CSV/parquet file with the same columns
(`data_files`), for machines without hub access.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mi_search.errors import UserError
from mi_search.evaluation.grading import Gold
from mi_search.tasks.math import math_gold
from mi_search.evaluation.samples import Question
from mi_search.tasks.base import MATH_PROMPT_SUFFIX
from mi_search.tasks.choice import CHOICE_PROMPT_SUFFIX, choice_gold, choice_prompt, shuffled_options
from mi_search.tasks.files import load_rows, require_columns
from mi_search.tasks.ifeval import check_instructions, ifeval_question, instruction_gold

GPQA_OPTIONS = ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


@dataclass(frozen=True)
class Benchmark:
    name: str
    hub_id: str
    config: str | None
    split: str
    columns: tuple[str, ...]  # every row must have these
    question: Callable[[dict[str, Any], int], Question]  # the prompt without its suffix
    grader: Callable[[Question], Gold | None]
    prompt_suffix: str
    check: Callable[[list[Question], str], None] | None = None  # what must hold before any trial

    def load(
        self, data_files: str | None = None, limit: int | None = None, prompt_suffix: str | None = None
    ) -> list[Question]:
        """Questions from the hub, or from `data_files`; a missing column or a bad row is refused in one line.

        Every prompt ends with the benchmark's instruction (`prompt_suffix` replaces it).
        """
        source = data_files or self.hub_id
        rows = load_rows(source, split=self.split, config=self.config)
        schema = f"{self.name} reads {self.hub_id}'s schema: {', '.join(self.columns)}"
        require_columns(source, rows, self.columns, schema)
        try:
            questions = [self.question(row, index) for index, row in enumerate(rows[:limit])]
        except UserError as exc:
            raise UserError(f"{source}: {exc}") from None
        suffix = self.prompt_suffix if prompt_suffix is None else prompt_suffix
        questions = [replace(q, prompt=q.prompt + suffix) for q in questions]
        if self.check is not None:
            self.check(questions, source)
        return questions


def _required(row: dict[str, Any], column: str, index: int) -> str:
    value = row.get(column)
    if value is None or not str(value).strip():
        raise UserError(f"row {index} has an empty {column!r}; fill or remove the row")
    return str(value).strip()


def _math(id_column: str) -> Callable[[dict[str, Any], int], Question]:
    """A problem/answer row as a question, named by its `id_column` (the row number when it is empty)."""

    def build(row: dict[str, Any], index: int) -> Question:
        question_id = str(row[id_column]) if row.get(id_column) is not None else str(index)
        return Question(question_id, _required(row, "problem", index), _required(row, "answer", index))

    return build


def gsm8k_gold_text(solution: str, index: int) -> str:
    """The number after GSM8K's `####` marker, thousands separators dropped."""
    if "####" not in solution:
        raise UserError(f"row {index} has no '####' before its final answer; give the published solution text")
    return solution.rsplit("####", 1)[1].strip().replace(",", "")


def _gsm8k(row: dict[str, Any], index: int) -> Question:
    gold = gsm8k_gold_text(_required(row, "answer", index), index)
    return Question(str(index), _required(row, "question", index), gold)


def _gpqa(row: dict[str, Any], index: int) -> Question:
    question_id = str(row.get("Record ID") or index)
    correct, *incorrect = (_required(row, column, index) for column in GPQA_OPTIONS)
    options, letter = shuffled_options(question_id, correct, incorrect)
    return Question(question_id, choice_prompt(_required(row, "Question", index), options), letter)


BENCHMARKS = {
    b.name: b
    for b in (
        Benchmark(
            "aime25",
            "math-ai/aime25",
            None,
            "test",
            ("problem", "answer"),
            _math("id"),
            math_gold,
            MATH_PROMPT_SUFFIX,
        ),
        Benchmark(
            "math500",
            "HuggingFaceH4/MATH-500",
            None,
            "test",
            ("problem", "answer"),
            _math("unique_id"),
            math_gold,
            MATH_PROMPT_SUFFIX,
        ),
        Benchmark(
            "gsm8k", "openai/gsm8k", "main", "test", ("question", "answer"), _gsm8k, math_gold, MATH_PROMPT_SUFFIX
        ),
        Benchmark(
            "gpqa-diamond",
            "Idavidrein/gpqa",
            "gpqa_diamond",
            "train",
            ("Question", *GPQA_OPTIONS),
            _gpqa,
            choice_gold,
            CHOICE_PROMPT_SUFFIX,
        ),
        Benchmark(
            "ifeval",
            "google/IFEval",
            None,
            "train",
            ("prompt", "instruction_id_list", "kwargs"),
            ifeval_question,
            instruction_gold,
            "",  # IFEval's prompts carry their own instructions
            check_instructions,
        ),
    )
}
