"""Questions from a local JSONL/JSON/CSV/parquet file or a `datasets` dataset with question and answer columns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mi_search.errors import UserError
from mi_search.evaluation.samples import Question
from mi_search.filekind import kind_of
from mi_search.tasks.base import MATH_PROMPT_SUFFIX
from mi_search.yaml_config import read_text

_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def load_rows(source: str, *, split: str = "test", config: str | None = None) -> list[dict]:
    """Rows of a local data file, or of a dataset (local directory or hub id, with its `config`) loaded with `datasets`."""
    import datasets
    from datasets.exceptions import DatasetsError

    datasets.disable_progress_bars()  # our own display owns the terminal
    path = Path(source).expanduser()
    hint = "check the path or format" if path.is_file() else "without hub access, pass a local file in its schema (--data-file)"
    kind = kind_of(path)
    if kind is not None and kind != "a folder":  # a FIFO would hang the reader, /dev/zero never ends
        raise UserError(f"data file {source} is {kind}, not a regular file; give the data file itself")
    try:
        if path.is_file() and path.stat().st_size == 0:
            raise UserError(f"{path} is empty; give a file with a header or one record per line")
        if path.is_file():
            builder = _FILE_BUILDERS.get(path.suffix.lower())
            if builder is None:
                raise UserError(f"{path}: unsupported file type {path.suffix!r}; use .jsonl, .json, .csv or .parquet")
            if builder != "parquet":
                _check_text(path)
            with _quiet_datasets():
                data = datasets.load_dataset(builder, data_files=str(path), split="train")
        elif path.suffix.lower() in _FILE_BUILDERS:
            if path.is_dir():  # named like a data file, so not a dataset folder
                raise UserError(f"data file {source} is a folder, not a regular file; give the data file itself")
            raise UserError(f"{source} does not exist; give the path of an existing data file")
        elif path.exists() or "/" not in source:
            raise UserError(
                f"{source} is not a data file or dataset; give a .jsonl/.parquet file or a hub id like openai/gsm8k"
            )
        else:
            with _quiet_datasets():
                data = datasets.load_dataset(source, config, split=split)
    except UserError:
        raise
    except (DatasetsError, OSError, ValueError, UnicodeDecodeError) as exc:  # unreadable, missing or malformed input
        cause = exc.__cause__ or exc  # datasets wraps the parser's error, which names the row
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        raise UserError(f"cannot read {source}: {type(cause).__name__}: {first}; {hint}") from None
    return list(data)


def _check_text(path: Path) -> None:
    """A JSON or CSV file must be UTF-8 text; a JSONL file, one JSON object per line. Says which line is not."""
    kind = path.suffix.lower().lstrip(".").upper()
    text = read_text(path, "data file", kind)
    if not text.strip():
        raise UserError(f"{path} holds only blank lines; give a file with a header or one record per line")
    if kind != "JSONL":
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} line {number} is not JSON ({exc.msg}); write one JSON object per line") from None
        if not isinstance(record, dict):
            kind = type(record).__name__
            raise UserError(f"{path} line {number} holds a {kind}, not a JSON object; write one per line")


@contextmanager
def _quiet_datasets() -> Iterator[None]:
    """datasets logs a parse failure before raising it; the raised error alone is reported, as one line."""
    import datasets

    level = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    try:
        yield
    finally:
        datasets.logging.set_verbosity(level)


def require_columns(source: str, rows: list[dict], columns: tuple[str, ...], fix: str) -> None:
    """Refuse a source without rows, or whose rows lack one of `columns`; `fix` says what to do instead."""
    if not rows:
        raise UserError(f"{source} has no rows; give a file or dataset with at least one row")
    missing = [column for column in columns if column not in rows[0]]
    if missing:
        raise UserError(f"{source} has no column {missing[0]!r} (columns: {', '.join(rows[0])}); {fix}")


def file_questions(
    source: str,
    *,
    question_column: str = "question",
    answer_column: str = "answer",
    split: str = "test",
    prompt_suffix: str = MATH_PROMPT_SUFFIX,
    limit: int | None = None,
) -> list[Question]:
    """Questions from `source`; the prompt is the question followed by `prompt_suffix`."""
    rows = load_rows(source, split=split)
    require_columns(
        source, rows, (question_column, answer_column), "name the right ones with --question-column and --answer-column"
    )
    questions: list[Question] = []
    for i, row in enumerate(rows[:limit]):
        if row[question_column] in (None, "") or row[answer_column] in (None, ""):
            raise UserError(
                f"{source}: row {i} has an empty {question_column!r} or {answer_column!r}; fill or remove it"
            )
        questions.append(
            Question(
                id=str(row.get("id", i)),
                prompt=f"{row[question_column]}{prompt_suffix}",
                answer=str(row[answer_column]),
            )
        )
    return questions


def check_distinct_ids(source: str, questions: list[Question]) -> None:
    """Refuse two questions with one id: outcomes are stored and paired by question id, so they would collide."""
    seen: dict[str, int] = {}
    for index, question in enumerate(questions):
        if question.id in seen:
            raise UserError(
                f"{source}: questions {seen[question.id]} and {index} have the same id {question.id!r}; "
                "give every question its own id"
            )
        seen[question.id] = index
