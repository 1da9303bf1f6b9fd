"""What every figure shares: stage colours and names, a paper-size style, and how a figure reaches disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure  # no pyplot: nothing global is chosen or changed, notebooks keep their backend

STAGE_COLOURS = {1: "#dbe9f6", 2: "#fde2c4", 3: "#f6d5d5"}
STAGE_EDGES = {1: "#1f77b4", 2: "#ff7f0e", 3: "#d62728"}
STAGE_NAMES = {1: "stage 1: no explicit thinking", 2: "stage 2: thinking emerges", 3: "stage 3: saturated"}
UNLABELLED = "#7f7f7f"
BUDGET_COLOUR = "#b2182b"
CORRECT, WRONG = "#1a9850", "#d73027"

# One column of a two-column paper is ~3.5 in; these sizes stay legible when a figure is scaled to it.
WIDE, NARROW = (7.0, 4.0), (5.0, 3.2)
_PAPER = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "lines.linewidth": 1.2,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
}


@contextmanager
def paper_style() -> Iterator[None]:
    """Draw inside this: artists read fonts and widths when created, so the style applies without touching pyplot."""
    with matplotlib.rc_context(_PAPER):
        yield


def new_figure(size: tuple[float, float] = WIDE) -> Figure:
    return Figure(figsize=size, layout="constrained")


def save(fig: Figure, path: Path) -> None:
    """Render beside `path`, then rename: a reader never sees half a PNG."""
    path = Path(path)
    staging = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    try:
        with paper_style():
            fig.savefig(staging)
        staging.replace(path)
    finally:
        staging.unlink(missing_ok=True)
