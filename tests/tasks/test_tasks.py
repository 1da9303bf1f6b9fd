"""Question sources: the toy task and local data files."""

from __future__ import annotations

import json

import pytest

from mi_search.errors import UserError
from mi_search.tasks.base import MATH_PROMPT_SUFFIX
from mi_search.tasks.files import file_questions
from mi_search.tasks.config import TaskConfig
from mi_search.tasks.registry import load_task
from mi_search.tasks.toy import toy_questions
from mi_search.toy.problems import Problem, sample_problems


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_toy_questions_are_held_out_and_stable():
    questions = toy_questions(50)
    assert questions == toy_questions(50)
    assert len({q.prompt for q in questions}) == 50
    for question in questions:
        a, b = question.prompt.removeprefix("What is ").removesuffix("?").split("+")
        problem = Problem(int(a), int(b))
        assert problem.is_heldout and question.answer == str(int(a) + int(b))


def test_training_problems_never_come_from_the_held_out_side():
    assert not any(p.is_heldout for p in sample_problems(2000, seed=0, heldout=False))


def test_jsonl_questions_get_the_math_prompt(tmp_path):
    path = _write_jsonl(
        tmp_path / "q.jsonl", [{"problem": "1+1?", "solution": "2"}, {"problem": "2+2?", "solution": "4"}]
    )
    questions = file_questions(str(path), question_column="problem", answer_column="solution")
    assert [q.answer for q in questions] == ["2", "4"]
    assert questions[0].prompt == "1+1?" + MATH_PROMPT_SUFFIX


def test_parquet_and_limit(tmp_path):
    import pandas as pd

    path = tmp_path / "q.parquet"
    pd.DataFrame({"question": ["a", "b", "c"], "answer": ["1", "2", "3"]}).to_parquet(path)
    assert [q.answer for q in file_questions(str(path), limit=2)] == ["1", "2"]


def test_missing_column_is_named(tmp_path):
    path = _write_jsonl(tmp_path / "q.jsonl", [{"question": "1+1?", "gold": "2"}])
    with pytest.raises(UserError, match="no column 'answer' \\(columns: question, gold\\)"):
        file_questions(str(path))


def test_empty_and_unreadable_files(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(UserError):
        file_questions(str(empty))
    text_file = tmp_path / "q.txt"
    text_file.write_text("x")
    with pytest.raises(UserError, match="unsupported file type"):
        file_questions(str(text_file))
    with pytest.raises(UserError, match="does not exist"):
        file_questions(str(tmp_path / "nope.jsonl"))
    with pytest.raises(UserError, match="not a data file or dataset"):
        file_questions("no-slash-name")


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(UserError, match="known tasks: toy"):
        load_task(TaskConfig(name="aime"))


def test_a_folder_named_like_a_data_file_is_named_a_folder_not_missing(tmp_path):
    from mi_search.tasks.files import load_rows

    (tmp_path / "d.jsonl").mkdir()
    with pytest.raises(UserError, match=r"d.jsonl is a folder, not a regular file; give the data file itself"):
        load_rows(str(tmp_path / "d.jsonl"))
