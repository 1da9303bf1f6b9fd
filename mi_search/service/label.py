"""`mi-search label`: add stage and overthinking columns to a sweep CSV made with any tool.

Cells are copied through as written; only `stage` and `overthinking` are filled in (overwritten in
place when the file already has them, appended otherwise). Rows are named by their line in the file,
the header being line 1.
"""

from __future__ import annotations

import csv
import io
import math

from mi_search.errors import UserError
from mi_search.evaluation.stages import StageLabel, StagePoint, label_stages

REQUIRED = ("lambda", "think_ratio")
# A study's own trials.csv names λ `mean_lambda` (and `lam` in a global space): each is read as `lambda`.
LAMBDA_NAMES = ("lambda", "mean_lambda", "lam")
OPTIONAL = ("accuracy", "mean_tokens")
ADDED = ("stage", "overthinking")
FRACTIONS = ("think_ratio", "accuracy")  # the stage rule's thresholds assume fractions, not percentages

Row = tuple[int, list[str]]  # (line number, cells)


def _read(text: str) -> tuple[list[str], list[Row]]:
    # Spreadsheet exports often start with a byte-order mark that would glue itself to the first name.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise UserError(
            "the CSV is empty; give a header line such as lambda,think_ratio,accuracy,mean_tokens and one row per λ"
        )
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines carry no point
        if len(cells) > len(header):
            raise UserError(
                f"line {reader.line_num} has {len(cells)} cells but the header has {len(header)} columns; "
                "remove the extra cells or name their columns"
            )
        rows.append((reader.line_num, cells + [""] * (len(header) - len(cells))))
    if not rows:
        raise UserError("the CSV has a header but no data rows; add one row per λ")
    return header, rows


def _columns(header: list[str]) -> dict[str, int]:
    """Position of every column this command reads or writes."""
    names = [cell.strip() for cell in header]
    lam = next((name for name in LAMBDA_NAMES if name in names), "lambda")
    names = ["lambda" if name == lam else name for name in names]
    for name in REQUIRED + OPTIONAL + ADDED:
        if names.count(name) > 1:
            raise UserError(f"column {name!r} appears {names.count(name)} times in the header; keep only one")
    for name in REQUIRED:
        if name not in names:
            found = ", ".join(repr(n) for n in names)
            also = " (or mean_lambda, lam)" if name == "lambda" else ""
            raise UserError(f"missing required column {name!r}{also} (found {found}); add it to the header")
    return {name: names.index(name) for name in REQUIRED + OPTIONAL + ADDED if name in names}


def _number(cells: list[str], line: int, name: str, position: int) -> float:
    cell = cells[position].strip()
    if not cell:
        fix = "every row needs a number there" if name in REQUIRED else "fill it in on every row or delete the column"
        raise UserError(f"line {line}, column {name!r} is empty; {fix}")
    try:
        value = float(cell)
    except ValueError:
        raise UserError(
            f"line {line}, column {name!r} holds {cell!r}, not a number; write a plain number such as 0.35"
        ) from None
    if not math.isfinite(value):
        raise UserError(f"line {line}, column {name!r} holds {cell!r}; give a finite number")
    if name in FRACTIONS and not 0.0 <= value <= 1.0:
        raise UserError(f"line {line}, column {name!r} holds {cell!r}; it must be a fraction 0–1, e.g. 0.35 not 35")
    return value


def _point(line: int, cells: list[str], columns: dict[str, int]) -> StagePoint:
    values = {name: _number(cells, line, name, columns[name]) for name in REQUIRED + OPTIONAL if name in columns}
    return StagePoint(values["lambda"], values["think_ratio"], values.get("accuracy"), values.get("mean_tokens"))


def _write(header: list[str], rows: list[Row], columns: dict[str, int], labels: list[StageLabel]) -> str:
    appended = [name for name in ADDED if name not in columns]
    positions = {**columns, **{name: len(header) + i for i, name in enumerate(appended)}}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header + appended)
    for (_, cells), label in zip(rows, labels):
        cells = cells + [""] * len(appended)
        cells[positions["stage"]] = str(label.stage)
        cells[positions["overthinking"]] = "true" if label.overthinking else "false"
        writer.writerow(cells)
    return out.getvalue()


def label_csv(text: str) -> str:
    """CSV text with `stage` and `overthinking` filled in for every row (booleans as true/false)."""
    header, rows = _read(text)
    columns = _columns(header)
    points = [_point(line, cells, columns) for line, cells in rows]
    return _write(header, rows, columns, label_stages(points))
