"""Curve files for the simulated pair (`bench/search_efficiency.py --curve`): checked whole, refused in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import paper_sim as sim

ROOT = Path(__file__).resolve().parents[2]
HEADER = "lambda,mean_at_64_pct,mean_tokens,think_ratio_pct\n"
GOOD_ROWS = "0.0,40,1000,0\n0.5,55,3000,50\n1.0,60,5000,100\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "curve.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize("curve", sorted((ROOT / "bench" / "curves").glob("*.csv")), ids=lambda p: p.stem)
def test_shipped_curves_calibrate_the_simulation(curve: Path) -> None:
    """Each curve of bench/curves/ reads, and the simulated pair reproduces it at its own λ (noise-free)."""
    table = sim.read_table(curve)
    model = sim.PaperModel(table=table)
    for row in table:
        accuracy, tokens, think = model.expected(sim.Effective(row.lam, row.lam))
        assert accuracy == pytest.approx(row.accuracy, abs=1e-6)
        assert tokens == pytest.approx(row.mean_tokens, rel=1e-9)
        assert think == pytest.approx(row.think_ratio, abs=1e-9)


def test_a_good_curve_reads_as_fractions(tmp_path: Path) -> None:
    rows = sim.read_table(write(tmp_path, HEADER + GOOD_ROWS))
    assert [r.lam for r in rows] == [0.0, 0.5, 1.0]
    assert np.allclose([r.accuracy for r in rows], [0.40, 0.55, 0.60])
    assert rows[1].think_ratio == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("lambda,mean_tokens\n0,1\n", "lacks column(s) mean_at_64_pct, think_ratio_pct"),
        (HEADER + "0.0,40,1000,0\n0.6,55,3000,50\n0.4,58,3500,80\n1.0,60,5000,100\n", "line 4: λ 0.4 after 0.6"),
        (HEADER + "0.0,40,1000,0\n0.5,55,3000,50\n0.5,56,3100,60\n1.0,60,5000,100\n", "λ 0.5 after 0.5"),
        (HEADER + "0.0,40,1000,0\n1.0,60,5000,100\n", "2 row(s)"),
        (HEADER + "0.1,40,1000,0\n0.5,55,3000,50\n1.0,60,5000,100\n", "start at λ 0"),
        (HEADER + "0.0,40,1000,0\n0.5,abc,3000,50\n1.0,60,5000,100\n", "line 3: a value is not a number"),
        (HEADER + "0.0,40,1000,0\n0.5,,3000,50\n1.0,60,5000,100\n", "line 3: mean_at_64_pct nan"),
        (HEADER + "0.0,0.0,1000,0\n0.5,55,3000,50\n1.0,60,5000,100\n", "mean_at_64_pct 0 is not a percentage"),
        (HEADER + "0.0,40,1000,0\n0.5,55,-3,50\n1.0,60,5000,100\n", "mean_tokens -3"),
        (HEADER + "0.0,40,1000,0\n0.5,55,3000,150\n1.0,60,5000,100\n", "think_ratio_pct 150"),
    ],
    ids=["missing-columns", "unordered", "repeated", "too-few", "not-from-0", "text", "empty", "zero-accuracy",
         "negative-tokens", "think-over-100"],
)
def test_a_bad_curve_is_one_error_naming_the_problem(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(sim.CurveError) as caught:
        sim.read_table(write(tmp_path, text))
    message = str(caught.value)
    assert named in message and "\n" not in message


def test_a_missing_file_is_a_curve_error(tmp_path: Path) -> None:
    with pytest.raises(sim.CurveError, match="cannot be read"):
        sim.read_table(tmp_path / "absent.csv")


@pytest.mark.slow
def test_the_bench_refuses_a_bad_curve_in_one_line_before_running(tmp_path: Path) -> None:
    bad = write(tmp_path, HEADER + "0.0,40,1000,0\n0.6,55,3000,50\n0.4,58,3500,80\n1.0,60,5000,100\n")
    done = subprocess.run(
        [sys.executable, "-m", "bench.search_efficiency", "--problem", "paper", "--curve", str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "sort the rows by λ" in done.stderr
