"""The paper's Figure 3 layout: accuracy, Think #R and mean tokens against λ, stages shaded.

A study draws every finished trial: fully scored ones joined by lines, trials that halving stopped
early as hollow markers at their partial estimates (their stage placed beside the labelled sweep).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from mi_search.plots.style import STAGE_COLOURS, STAGE_NAMES, save
from mi_search.trial_row import TrialRow


def trial_points(rows: Sequence[TrialRow]) -> list[tuple]:
    """A study's trials as `plot_stage_map` points: mean λ, accuracy objective, Think #R, mean tokens, stage, full."""
    return [(r.mean_lambda, r.objective, r.think_ratio, r.mean_tokens, r.stage, r.full) for r in rows]


def plot_stage_map(
    points: list[tuple],
    path: Path,
    *,
    xlabel: str = "λ (0 = Instruct, 1 = Thinking)",
    title: str = "Interpolation sweep: accuracy, thinking and length against λ",
    joined: bool = True,
) -> None:
    """Accuracy, Think #R and mean tokens against λ, stages shaded (the paper's Figure 3 layout).

    `points` are (λ, accuracy, think ratio, mean tokens, stage), with an optional sixth item: False
    for a partial estimate (drawn hollow, not joined), True (the default) for a fully scored point.
    `joined=False` draws points only: against a vector's mean λ, neighbours are different blends and a
    line between them would zigzag through values no trial has.
    """
    points = sorted((*p[:5], p[5] if len(p) > 5 else True) for p in points)
    lams = [p[0] for p in points]
    fig = Figure(figsize=(8, 5), dpi=120, layout="constrained")  # the layout makes room for the legend below
    left = fig.subplots()
    for i, (lam, *_, stage, _full) in enumerate(points):
        lo = (lams[i - 1] + lam) / 2 if i else lam
        hi = (lam + lams[i + 1]) / 2 if i + 1 < len(lams) else lam
        left.axvspan(lo, hi, color=STAGE_COLOURS[stage], lw=0, label=STAGE_NAMES[stage])
    full = [p for p in points if p[5]]
    partial = [p for p in points if not p[5]]
    right = left.twinx()
    series = (
        (left, 1, "o", "-", "#1f77b4", "accuracy (Mean@k)"),
        (left, 2, "s", "--", "#2ca02c", "Think #R"),
        (right, 3, "^", "-", "#d62728", "mean tokens (Token #N)"),
    )
    for axis, column, marker, line, colour, label in series:
        axis.plot(
            [p[0] for p in full], [p[column] for p in full], marker=marker, ls=line if joined else "none",
            color=colour, label=label,
        )
        if partial:
            axis.plot(
                [p[0] for p in partial], [p[column] for p in partial], marker=marker, ls="none",
                markerfacecolor="none", color=colour, label=f"{label}, stopped early",
            )
    left.set_xlabel(xlabel)
    left.set_ylabel("accuracy / Think #R")
    left.set_ylim(-0.02, 1.05)
    right.set_ylabel("mean response tokens")
    handles, labels = [], []
    for axis in (left, right):
        for handle, label in zip(*axis.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    # below the axes, never over a point: inside them, any corner covers a λ end, where the stages begin and end
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    hollow = " (hollow: stopped early)" if partial else ""
    left.set_title(f"{title}{hollow}")
    save(fig, path)
