"""The paper's AIME'25 curve: the embedded table, its CSV reader and the monotone interpolation between its λ.

Kept apart because it is the one place the paper's published numbers live; everything else is derived from it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class TableRow:
    lam: float
    accuracy: float  # Mean@64 as a fraction
    mean_tokens: float
    think_ratio: float  # Think #R as a fraction


# Wu et al. 2025, Table 2: Qwen3-4B Instruct-2507 / Thinking-2507 on AIME'25 (30 problems, 64 samples).
PAPER_TABLE: tuple[TableRow, ...] = (
    TableRow(0.0, 0.466, 15097, 0.0),
    TableRow(0.2, 0.522, 16794, 0.0),
    TableRow(0.4, 0.558, 12448, 0.014),
    TableRow(0.45, 0.585, 11290, 0.144),
    TableRow(0.5, 0.625, 11189, 0.596),
    TableRow(0.55, 0.676, 11634, 0.916),
    TableRow(0.6, 0.710, 12681, 1.0),
    TableRow(0.8, 0.805, 17574, 0.999),
    TableRow(1.0, 0.804, 22813, 0.999),
)
PAPER_PASS_AT_64 = {0.0: 0.767, 0.55: 0.900, 0.6: 0.900, 0.8: 0.933, 1.0: 0.900}


COLUMNS = ("lambda", "mean_at_64_pct", "mean_tokens", "think_ratio_pct")


class CurveError(ValueError):
    """A curve file the simulation cannot be calibrated to; the message is one line naming the fix."""


def read_table(path: Path) -> tuple[TableRow, ...]:
    """The table from its CSV (lambda, mean_at_64_pct, mean_tokens, think_ratio_pct), as fractions.

    Checked whole before anything runs: the four columns, at least 3 rows, numbers in range, λ strictly
    increasing from 0 to 1 (the interpolation needs them ordered and the search spans [0, 1]).
    """
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise CurveError(
                    f"curve file {path} lacks column(s) {', '.join(missing)}; its header must be {','.join(COLUMNS)}"
                )
            raw = list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise CurveError(
            f"curve file {path} cannot be read ({exc.__class__.__name__}); pass a CSV in the columns {','.join(COLUMNS)}"
        ) from None
    rows = tuple(_row(path, line, row) for line, row in enumerate(raw, start=2))
    if len(rows) < 3:
        raise CurveError(f"curve file {path} has {len(rows)} row(s); give at least 3 λ, from 0 to 1")
    lams = [row.lam for row in rows]
    for line, (a, b) in enumerate(zip(lams, lams[1:]), start=3):
        if b <= a:
            raise CurveError(f"curve file {path} line {line}: λ {b:g} after {a:g}; sort the rows by λ, each λ once")
    if lams[0] != 0.0 or lams[-1] != 1.0:
        raise CurveError(
            f"curve file {path} spans λ {lams[0]:g} to {lams[-1]:g}; its rows must start at λ 0 and end at λ 1"
        )
    return rows


def _row(path: Path, line: int, row: dict[str, str | None]) -> TableRow:
    try:
        lam, acc, tokens, think = (float(row[c] or "nan") for c in COLUMNS)
    except ValueError:
        raise CurveError(
            f"curve file {path} line {line}: a value is not a number; write plain numbers such as 0.45,58.5,11290,14.4"
        ) from None
    checks = (
        ("lambda", lam, 0.0 <= lam <= 1.0, "in [0, 1]"),
        ("mean_at_64_pct", acc, 0.0 < acc < 100.0, "a percentage strictly between 0 and 100"),
        ("mean_tokens", tokens, tokens >= 1.0, "at least 1 token"),
        ("think_ratio_pct", think, 0.0 <= think <= 100.0, "a percentage in [0, 100]"),
    )
    for name, value, ok, want in checks:
        if not ok:  # a NaN fails every comparison, so it lands here too
            raise CurveError(f"curve file {path} line {line}: {name} {value:g} is not {want}")
    return TableRow(lam, acc / 100, tokens, think / 100)


class Pchip:
    """Monotone piecewise-cubic interpolation (Fritsch-Carlson): no overshoot between the table's points."""

    def __init__(self, x: Sequence[float], y: Sequence[float]) -> None:
        self.x, self.y = np.asarray(x, float), np.asarray(y, float)
        h, delta = np.diff(self.x), np.diff(self.y) / np.diff(self.x)
        slopes = np.zeros_like(self.y)
        for i in range(1, len(self.x) - 1):
            if delta[i - 1] * delta[i] > 0:
                w1, w2 = 2 * h[i] + h[i - 1], h[i] + 2 * h[i - 1]
                slopes[i] = (w1 + w2) / (w1 / delta[i - 1] + w2 / delta[i])
        slopes[0], slopes[-1] = self._end(h[0], h[1], delta[0], delta[1]), self._end(h[-1], h[-2], delta[-1], delta[-2])
        self.slopes, self.h = slopes, h

    @staticmethod
    def _end(h0: float, h1: float, d0: float, d1: float) -> float:
        slope = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
        if np.sign(slope) != np.sign(d0):
            return 0.0
        if np.sign(d0) != np.sign(d1) and abs(slope) > abs(3 * d0):
            return 3 * d0
        return slope

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        x = np.clip(np.asarray(x, float), self.x[0], self.x[-1])
        i = np.clip(np.searchsorted(self.x, x, side="right") - 1, 0, len(self.x) - 2)
        h, t = self.h[i], (x - self.x[i]) / self.h[i]
        h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, -2 * t**3 + 3 * t**2, t**3 - t**2
        return h00 * self.y[i] + h10 * h * self.slopes[i] + h01 * self.y[i + 1] + h11 * h * self.slopes[i + 1]
