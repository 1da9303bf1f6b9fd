"""Named tasks and their default decoding; `--data` turns any question/answer file into a math task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mi_search.backends.base import DecodingParams
from mi_search.errors import UserError
from mi_search.scoring import Gold, math_gold
from mi_search.tasks.base import MATH_PROMPT_SUFFIX, Question
from mi_search.tasks.benchmarks import BENCHMARKS
from mi_search.tasks.files import file_questions
from mi_search.tasks.toy import toy_questions


@dataclass(frozen=True)
class TaskSetup:
    name: str
    questions: list[Question]
    decoding: DecodingParams  # the task's default decoding, before CLI overrides
    grader: Callable[[Question], Gold | None]  # a question's gold, None when it cannot be graded


# The paper decodes with temperature 0.6 and top-p 0.95, and real thinking traces need long budgets.
PAPER_DECODING = DecodingParams(temperature=0.6, top_p=0.95, max_new_tokens=32768)
TOY_DECODING = DecodingParams(temperature=0.0, max_new_tokens=384)

KNOWN_TASKS = ("toy", *BENCHMARKS)


def default_decoding(name: str = "toy", data: str | None = None) -> DecodingParams:
    """The decoding a task is scored with unless told otherwise."""
    return TOY_DECODING if data is None and name == "toy" else PAPER_DECODING


def load_task(
    name: str = "toy",
    *,
    limit: int | None = None,
    data: str | None = None,
    data_files: str | None = None,
    prompt_suffix: str | None = None,
    question_column: str = "question",
    answer_column: str = "answer",
    split: str = "test",
) -> TaskSetup:
    """A named task (from its hub id, or from `data_files` in its schema), or the math questions in `data`."""
    if data is not None:
        questions = file_questions(
            data,
            question_column=question_column,
            answer_column=answer_column,
            split=split,
            limit=limit,
            prompt_suffix=MATH_PROMPT_SUFFIX if prompt_suffix is None else prompt_suffix,
        )
        return TaskSetup(data, questions, default_decoding(name, data), math_gold)
    if name == "toy":
        if data_files is not None or prompt_suffix is not None:
            raise UserError("the toy task has no data files or prompt suffix; drop them or name a benchmark with --task")
        return TaskSetup("toy", toy_questions(limit or 200), default_decoding(name), math_gold)
    benchmark = BENCHMARKS.get(name)
    if benchmark is None:
        raise UserError(f"unknown task {name!r}; known tasks: {', '.join(KNOWN_TASKS)} (or pass --data FILE)")
    return TaskSetup(name, benchmark.load(data_files, limit, prompt_suffix), default_decoding(name), benchmark.grader)
