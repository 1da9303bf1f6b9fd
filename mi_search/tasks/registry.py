"""Named tasks and their default decoding; `--data` turns any question/answer file into a task."""

from __future__ import annotations

from dataclasses import dataclass

from mi_search.backends.base import DecodingParams
from mi_search.errors import UserError
from mi_search.tasks.base import Question
from mi_search.tasks.files import file_questions
from mi_search.tasks.toy import toy_questions


@dataclass(frozen=True)
class TaskSetup:
    name: str
    questions: list[Question]
    decoding: DecodingParams  # the task's default decoding, before CLI overrides


# The paper decodes with temperature 0.6 and top-p 0.95, and real thinking traces need long budgets.
PAPER_DECODING = DecodingParams(temperature=0.6, top_p=0.95, max_new_tokens=32768)
TOY_DECODING = DecodingParams(temperature=0.0, max_new_tokens=384)

KNOWN_TASKS = ("toy",)


def default_decoding(name: str = "toy", data: str | None = None) -> DecodingParams:
    """The decoding a task is scored with unless told otherwise."""
    return TOY_DECODING if data is None and name == "toy" else PAPER_DECODING


def load_task(
    name: str = "toy",
    *,
    limit: int | None = None,
    data: str | None = None,
    question_column: str = "question",
    answer_column: str = "answer",
    split: str = "test",
) -> TaskSetup:
    """The questions and default decoding of a named task, or of the questions in `data`."""
    if data is not None:
        questions = file_questions(
            data, question_column=question_column, answer_column=answer_column, split=split, limit=limit
        )
        return TaskSetup(data, questions, default_decoding(name, data))
    if name == "toy":
        return TaskSetup("toy", toy_questions(limit or 200), default_decoding(name))
    raise UserError(f"unknown task {name!r}; known tasks: {', '.join(KNOWN_TASKS)} (or pass --data FILE)")
