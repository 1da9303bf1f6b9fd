"""A study's trials in accuracy against mean tokens: the feasible front, the budget, the chosen point."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from mi_search.plots.style import STAGE_EDGES, STAGE_NAMES, save

if TYPE_CHECKING:
    from mi_search.search.results import StudyResult


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
    save(fig, path)
