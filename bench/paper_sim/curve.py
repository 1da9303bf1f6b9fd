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


def read_table(path: Path) -> tuple[TableRow, ...]:
    """The table from its CSV (lambda, mean_at_64_pct, mean_tokens, think_ratio_pct), as fractions."""
    with path.open(newline="") as handle:
        return tuple(
            TableRow(
                float(row["lambda"]),
                float(row["mean_at_64_pct"]) / 100,
                float(row["mean_tokens"]),
                float(row["think_ratio_pct"]) / 100,
            )
            for row in csv.DictReader(handle)
        )


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
