"""Figures people would rather look at than read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure  # no pyplot: nothing global is chosen or changed, notebooks keep their backend

if TYPE_CHECKING:
    from mi_search.search.results import StudyResult

STAGE_COLOURS = {1: "#dbe9f6", 2: "#fde2c4", 3: "#f6d5d5"}
STAGE_EDGES = {1: "#1f77b4", 2: "#ff7f0e", 3: "#d62728"}
STAGE_NAMES = {1: "stage 1: no explicit thinking", 2: "stage 2: thinking emerges", 3: "stage 3: saturated"}


def plot_stage_map(
    points: list[tuple[float, float, float, float, int]], path: Path, *, xlabel: str = "λ (0 = Instruct, 1 = Thinking)"
) -> None:
    """Accuracy, Think #R and mean tokens against λ, stages shaded (the paper's Figure 3 layout).

    `points` are (λ, accuracy, think ratio, mean tokens, stage).
    """
    points = sorted(points)
    lams = [p[0] for p in points]
    fig = Figure(figsize=(8, 4.5), dpi=120)
    left = fig.subplots()
    for i, (lam, *_, stage) in enumerate(points):
        lo = (lams[i - 1] + lam) / 2 if i else lam
        hi = (lam + lams[i + 1]) / 2 if i + 1 < len(lams) else lam
        left.axvspan(lo, hi, color=STAGE_COLOURS[stage], lw=0, label=STAGE_NAMES[stage])
    left.plot(lams, [p[1] for p in points], "o-", color="#1f77b4", label="accuracy (Mean@k)")
    left.plot(lams, [p[2] for p in points], "s--", color="#2ca02c", label="Think #R")
    left.set_xlabel(xlabel)
    left.set_ylabel("accuracy / Think #R")
    left.set_ylim(-0.02, 1.05)
    right = left.twinx()
    right.plot(lams, [p[3] for p in points], "^-", color="#d62728", label="mean tokens (Token #N)")
    right.set_ylabel("mean response tokens")
    handles, labels = [], []
    for axis in (left, right):
        for handle, label in zip(*axis.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    left.legend(handles, labels, loc="upper left", fontsize=7, framealpha=0.9)
    left.set_title("Interpolation sweep: accuracy, thinking and length against λ")
    _save(fig, path)


def plot_pareto(result: StudyResult, path: Path) -> None:
    """Accuracy against mean tokens for every trial: the front coloured by stage, the budget and the chosen point."""
    fig = Figure(figsize=(8, 4.5), dpi=120)
    axis = fig.subplots()
    partial = [r for r in result.records if not r.full]
    full = [r for r in result.records if r.full]
    if partial:
        axis.scatter(
            [r.mean_tokens for r in partial],
            [r.accuracy for r in partial],
            s=18,
            facecolors="none",
            edgecolors="#999999",
            label="stopped early (partial estimate)",
        )
    for stage, colour in STAGE_EDGES.items():
        members = [r for r in full if r.stage == stage]
        if members:
            axis.scatter(
                [r.mean_tokens for r in members],
                [r.accuracy for r in members],
                s=28,
                color=colour,
                alpha=0.45,
                label=f"{STAGE_NAMES[stage]}",
            )
    front = [result.record(n) for n in result.front]
    if front:
        axis.step([r.mean_tokens for r in front], [r.accuracy for r in front], where="post", color="black", lw=1)
        axis.scatter(
            [r.mean_tokens for r in front],
            [r.accuracy for r in front],
            s=60,
            c=[STAGE_EDGES[r.stage] for r in front],
            edgecolors="black",
            zorder=3,
            label="Pareto front (feasible, fully scored)",
        )
    if result.chosen is not None:
        chosen = result.record(result.chosen)
        axis.scatter(
            [chosen.mean_tokens], [chosen.accuracy], marker="*", s=300, color="gold", edgecolors="black", zorder=4
        )
        axis.annotate(
            f"chosen: trial {chosen.number}",
            (chosen.mean_tokens, chosen.accuracy),
            xytext=(8, -14),
            textcoords="offset points",
            fontsize=8,
        )
    most = max((r.mean_tokens for r in result.records), default=result.budget)
    if result.budget <= 1.5 * most:
        axis.axvline(result.budget, color="#d62728", ls="--", lw=1, label=f"budget: {result.budget} tokens")
    else:
        axis.text(
            0.99,
            0.02,
            f"budget {result.budget} tokens is off the chart →",
            transform=axis.transAxes,
            ha="right",
            fontsize=8,
            color="#d62728",
        )
    axis.set_xlabel("mean response tokens (search subset)")
    axis.set_ylabel("accuracy (search subset)")
    axis.set_title(f"{result.name}: hypervolume {result.hypervolume:.3f}")
    axis.legend(loc="lower right", fontsize=7, framealpha=0.9)
    _save(fig, path)


def plot_token_histogram(lengths: list[int], path: Path) -> None:
    """How long the responses of one trial are: a histogram of generated tokens per sample."""
    fig = Figure(figsize=(6, 3.5), dpi=110)
    axis = fig.subplots()
    axis.hist(lengths, bins=min(40, max(1, len(set(lengths)))), color="#1f77b4")
    axis.set_xlabel("generated tokens per response")
    axis.set_ylabel("responses")
    axis.set_title(f"{len(lengths)} responses, mean {sum(lengths) / max(1, len(lengths)):.1f} tokens")
    _save(fig, path)


def _save(fig: Figure, path: Path) -> None:
    """Render beside `path`, then rename: a reader never sees half a PNG."""
    path = Path(path)
    staging = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.tight_layout()
    try:
        fig.savefig(staging)
        staging.replace(path)
    finally:
        staging.unlink(missing_ok=True)
