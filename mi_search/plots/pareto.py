"""A study's trials in accuracy against mean tokens: stages, intervals, held-out re-scores, the budget, the choice."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mi_search.plots.intervals import any_bar, error_bars
from mi_search.plots.style import (
    BUDGET_COLOUR,
    STAGE_EDGES,
    STAGE_NAMES,
    UNLABELLED,
    WIDE,
    new_figure,
    paper_style,
    save,
)
from mi_search.trial_row import TrialRow

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _draw_trials(axis: Axes, rows: list[TrialRow], *, full: bool) -> None:
    """Search points by stage, with error bars where the row carries intervals; partial estimates hollow."""
    for stage in sorted({r.stage for r in rows}, key=lambda s: s or 0):
        members = [r for r in rows if r.stage == stage]
        colour = STAGE_EDGES.get(stage, UNLABELLED)
        xs, ys = [r.mean_tokens for r in members], [r.objective for r in members]
        accuracy, tokens = [r.interval("objective") for r in members], [r.interval("mean_tokens") for r in members]
        if any_bar(accuracy) or any_bar(tokens):
            axis.errorbar(
                xs,
                ys,
                yerr=error_bars(ys, accuracy),
                xerr=error_bars(xs, tokens),
                fmt="none",
                ecolor=colour,
                alpha=0.5,
                lw=0.8,
                zorder=1,
            )
        name = STAGE_NAMES.get(stage, "stage not labelled")
        axis.scatter(
            xs,
            ys,
            s=30 if full else 24,
            facecolors=colour if full else "none",
            edgecolors=colour,
            linewidths=1.2,
            alpha=0.85,
            zorder=2,
            label=name if full else f"{name} (stopped early)",
        )


def _draw_holdout(axis: Axes, rows: Sequence[TrialRow]) -> None:
    """Held-out re-scores beside their search points, joined by a thin line so each pair reads as one trial."""
    held = [r for r in rows if r.holdout]
    if not held:
        return
    for r in held:
        axis.plot(
            [r.mean_tokens, r.holdout["mean_tokens"]],
            [r.objective, r.holdout["objective"]],
            color="#555555",
            lw=0.6,
            zorder=1,
        )
    xs, ys = [r.holdout["mean_tokens"] for r in held], [r.holdout["objective"] for r in held]
    spans = [r.interval("holdout_objective") for r in held]
    if any_bar(spans):
        axis.errorbar(xs, ys, yerr=error_bars(ys, spans), fmt="none", ecolor="black", lw=0.8)
    axis.scatter(xs, ys, marker="D", s=22, facecolors="white", edgecolors="black", zorder=3, label="held-out re-score")


def _draw_budget(axis: Axes, budget: int, most: float) -> None:
    """The budget line when it falls on the chart; otherwise an arrow on the x axis past its end, named in the legend.

    The arrow sits outside the plotting area, so it can never cover a point or a note.
    """
    if budget <= 1.3 * most:
        axis.axvline(budget, color=BUDGET_COLOUR, ls="--", lw=1, label=f"budget: {budget} tokens")
        return
    axis.annotate(
        "",
        xy=(1.05, 0.0),
        xycoords="axes fraction",
        xytext=(0.99, 0.0),
        arrowprops={"arrowstyle": "-|>", "color": BUDGET_COLOUR, "lw": 1.5},
        annotation_clip=False,
    )
    axis.plot(
        [],
        [],
        ls="none",
        marker=r"$\rightarrow$",
        markersize=10,
        color=BUDGET_COLOUR,
        label=f"budget: {budget} tokens (off the chart, right)",
    )


def plot_pareto(rows: Sequence[TrialRow], path: Path, *, title: str, budget: int) -> None:
    """Accuracy against mean tokens for every trial; the legend sits outside the axes, so it hides nothing."""
    with paper_style():
        fig = new_figure(WIDE)
        axis = fig.subplots()
        _draw_trials(axis, [r for r in rows if r.full], full=True)
        _draw_trials(axis, [r for r in rows if not r.full], full=False)
        _draw_holdout(axis, rows)
        front = sorted((r for r in rows if r.on_front), key=lambda r: (r.mean_tokens, -r.objective))
        if front:
            axis.step(
                [r.mean_tokens for r in front],
                [r.objective for r in front],
                where="post",
                color="black",
                lw=1,
                zorder=1,
                label="Pareto front (feasible, fully scored)",
            )
        for chosen in (r for r in rows if r.chosen):
            # A ring around the point: the point itself (and any neighbour) stays visible.
            axis.scatter(
                [chosen.mean_tokens],
                [chosen.objective],
                s=220,
                facecolors="none",
                edgecolors="black",
                linewidths=1.5,
                zorder=4,
                label=f"chosen: trial {chosen.trial}",
            )
        most = max((r.mean_tokens for r in rows), default=float(budget))
        _draw_budget(axis, budget, most)
        axis.set_xlabel("mean response tokens")
        axis.set_ylabel("accuracy")
        axis.set_title(title)
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        save(fig, path)
