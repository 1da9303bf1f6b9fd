"""`mi-search label`: columns kept in place, labels appended or overwritten, every input mistake named."""

from __future__ import annotations

import csv
import io

import pytest

from mi_search.errors import UserError
from mi_search.service.label import label_csv

SWEEP = """\
lambda,model,think_ratio,accuracy,mean_tokens
0.0,a,0.0,0.30,400
0.4,b,0.40,0.50,1500
0.6,c,0.95,0.72,3200
0.8,d,1.0,0.80,4200
0.9,e,1.0,0.78,4800
"""


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_labels_are_appended_and_other_cells_kept_as_written():
    out = label_csv(SWEEP)
    lines = out.splitlines()
    assert lines[0] == "lambda,model,think_ratio,accuracy,mean_tokens,stage,overthinking"
    assert lines[1] == "0.0,a,0.0,0.30,400,1,false"
    rows = _rows(out)
    assert [r["stage"] for r in rows] == ["1", "2", "2", "3", "3"]
    assert [r["overthinking"] for r in rows] == ["false", "false", "false", "false", "true"]


def test_labelling_twice_overwrites_existing_columns_in_place():
    once = label_csv(SWEEP)
    assert label_csv(once) == once
    stale = "stage,lambda,think_ratio,overthinking\n9,0.0,0.0,maybe\n9,1.0,1.0,maybe\n"
    assert label_csv(stale) == "stage,lambda,think_ratio,overthinking\n1,0.0,0.0,false\n3,1.0,1.0,false\n"


def test_required_columns_only_and_unsorted_rows():
    out = label_csv("think_ratio,lambda\n1.0,1.0\n0.0,0.0\n0.5,0.5\n")
    assert [r["stage"] for r in _rows(out)] == ["3", "1", "2"]


def test_a_sweep_csv_with_crlf_bom_padding_and_blank_lines_is_read():
    text = "\ufeff lambda , think_ratio\r\n0.0,0.0\r\n\r\n1.0,1.0\r\n"
    assert [r["stage"] for r in _rows(label_csv(text))] == ["1", "3"]


def test_accuracy_without_tokens_still_splits_the_saturated_points():
    text = "lambda,think_ratio,accuracy\n0.6,0.95,0.50\n0.8,1.0,0.80\n"
    assert [r["stage"] for r in _rows(label_csv(text))] == ["2", "3"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("lambda,think_ratio\n", "no data rows"),
        ("lambda,think_ratio\n\n", "no data rows"),
        ("lambda,accuracy\n0.5,0.5\n", "missing required column 'think_ratio' (found 'lambda', 'accuracy')"),
        ("think_ratio\n0.5\n", "missing required column 'lambda'"),
        ("lambda,think_ratio\n0.5,0.5\n0.7,abc\n", "line 3, column 'think_ratio' holds 'abc', not a number"),
        ("lambda,think_ratio\n,0.5\n", "line 2, column 'lambda' is empty"),
        ("lambda,think_ratio\n0.5\n", "line 2, column 'think_ratio' is empty"),
        ("lambda,think_ratio\nnan,0.5\n", "line 2, column 'lambda' holds 'nan'; give a finite number"),
        ("lambda,think_ratio\n0.5,35\n", "it must be a fraction 0–1, e.g. 0.35 not 35"),
        ("lambda,think_ratio\n0.5,-0.1\n", "line 2, column 'think_ratio' holds '-0.1'"),
        ("lambda,think_ratio,accuracy\n0.5,0.5,80\n", "column 'accuracy' holds '80'; it must be a fraction"),
        (
            "lambda,think_ratio,accuracy\n0.5,0.5,0.7\n0.6,0.9,\n",
            "line 3, column 'accuracy' is empty; fill it in on every row or delete the column",
        ),
        ("lambda,think_ratio,mean_tokens\n0.5,0.5,x\n", "line 2, column 'mean_tokens' holds 'x'"),
        ("lambda,think_ratio\n0.5,0.5,7\n", "line 2 has 3 cells but the header has 2 columns"),
        ("lambda,think_ratio,lambda\n0.5,0.5,0.6\n", "column 'lambda' appears 2 times"),
    ],
)
def test_input_mistakes_are_one_line_user_errors(text, fragment):
    with pytest.raises(UserError) as caught:
        label_csv(text)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message
