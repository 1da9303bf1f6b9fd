"""Named tasks and their default decoding; `--data` turns any question/answer file into a math task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mi_search.evaluation.decoding import DecodingParams
from mi_search.errors import UserError
from mi_search.evaluation.grading import Gold
from mi_search.tasks.math import math_gold
from mi_search.evaluation.samples import Question
from mi_search.tasks.base import MATH_PROMPT_SUFFIX
from mi_search.tasks.benchmarks import BENCHMARKS
from mi_search.tasks.config import TaskConfig
from mi_search.tasks.files import check_distinct_ids, file_questions
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


def default_decoding(task: TaskConfig) -> DecodingParams:
    """The decoding a task is scored with unless told otherwise."""
    return TOY_DECODING if task.data is None and task.name == "toy" else PAPER_DECODING


def load_task(task: TaskConfig) -> TaskSetup:
    """A named task (from its hub id, or from `data_files` in its schema), or the math questions in `data`;
    every question with an id of its own."""
    setup = _load_task(task)
    check_distinct_ids(task.data or task.data_files or task.name, setup.questions)
    return setup


def _load_task(task: TaskConfig) -> TaskSetup:
    if task.data is not None:
        questions = file_questions(
            task.data,
            question_column=task.question_column,
            answer_column=task.answer_column,
            split=task.split,
            limit=task.pool,
            prompt_suffix=MATH_PROMPT_SUFFIX if task.prompt_suffix is None else task.prompt_suffix,
        )
        return TaskSetup(task.data, questions, default_decoding(task), math_gold)
    if task.name == "toy":
        if task.data_files is not None or task.prompt_suffix is not None:
            raise UserError("the toy task has no data files or prompt suffix; drop them or name a benchmark with --task")
        return TaskSetup("toy", toy_questions(task.pool or 200), default_decoding(task), math_gold)
    benchmark = BENCHMARKS.get(task.name)
    if benchmark is None:
        raise UserError(f"unknown task {task.name!r}; known tasks: {', '.join(KNOWN_TASKS)} (or pass --data FILE)")
    questions = benchmark.load(task.data_files, task.pool, task.prompt_suffix)
    return TaskSetup(task.name, questions, default_decoding(task), benchmark.grader)
