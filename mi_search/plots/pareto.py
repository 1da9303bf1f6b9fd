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


HOLDOUT_COLOUR = "#6a3d9a"  # purple: apart from the stage colours and from the front's black step line
_FAR_FACTOR = 0.35  # a point further right than this share of the front's token span past its end is "far"


def _point_label(record: TrialRow) -> str:
    """`t12 λ0.61` for a global λ; `t12 mean λ0.58` for a vector."""
    if set(record.params) == {"lam"}:
        return f"t{record.trial} λ{record.params['lam']:.2f}"
    return f"t{record.trial} mean λ{record.mean_lambda:.2f}"


def _groups(records: list[TrialRow]) -> list[list[TrialRow]]:
    """Rows at one spot (same accuracy, same tokens to 0.1) together: greedy blends often answer identically."""
    spots: dict[tuple[float, float], list[TrialRow]] = {}
    for r in records:
        spots.setdefault((round(r.mean_tokens, 1), round(r.objective, 4)), []).append(r)
    return list(spots.values())


def _draw_trials(axis: Axes, records: list[TrialRow], *, full: bool, front: set[int]) -> None:
    """Search points by stage, with error bars where the record carries intervals; partial estimates hollow.

    Trials at one spot are drawn once and counted (`×5`); front points are labelled with trial and λ.
    """
    for stage in sorted({r.stage for r in records}, key=lambda s: s or 0):
        groups = _groups([r for r in records if r.stage == stage])
        members = [g[0] for g in groups]
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
        for group in groups:
            on_front = [r for r in group if r.trial in front]
            text = _point_label(on_front[0]) if on_front else ""
            if len(group) > 1:
                text = f"{text} ×{len(group)}".strip()
            if text:
                axis.annotate(
                    text, (group[0].mean_tokens, group[0].objective), xytext=(6, -10), textcoords="offset points",
                    fontsize=6.5, color=colour, zorder=5,
                )


def _draw_holdout(axis: Axes, records: Sequence[TrialRow], nudge: float) -> None:
    """Held-out re-scores in their own colour, nudged `nudge` tokens right so their bars never sit on the
    front's vertical steps, joined to their search points by a thin line so each pair reads as one trial."""
    held = [r for r in records if r.holdout]
    if not held:
        return
    for r in held:
        axis.plot(
            [r.mean_tokens, r.holdout["mean_tokens"] + nudge],
            [r.objective, r.holdout["objective"]],
            color=HOLDOUT_COLOUR,
            alpha=0.5,
            lw=0.6,
            zorder=1,
        )
    xs, ys = [r.holdout["mean_tokens"] + nudge for r in held], [r.holdout["objective"] for r in held]
    spans = [r.interval("holdout_objective") for r in held]
    if any_bar(spans):
        axis.errorbar(
            xs, ys, yerr=error_bars(ys, spans), fmt="none", ecolor=HOLDOUT_COLOUR,
            lw=0.9, capsize=2, zorder=2,
        )
    axis.scatter(
        xs, ys, marker="D", s=22, facecolors="white", edgecolors=HOLDOUT_COLOUR, zorder=3,
        label="held-out re-score (nudged right)",
    )


def _draw_far(axis: Axes, far: list[TrialRow], edge: float, y_span: float) -> None:
    """Trials far right of the front, drawn as arrows at the chart's right edge with their tokens written out,
    so the front keeps the width of the chart; arrows at about one accuracy share one note."""
    labels = set(axis.get_legend_handles_labels()[1])
    clusters: list[list[TrialRow]] = []
    for r in sorted(far, key=lambda r: -r.objective):
        if clusters and clusters[-1][-1].objective - r.objective < 0.06 * y_span:
            clusters[-1].append(r)
        else:
            clusters.append([r])
    for cluster in clusters:
        for r in cluster:
            colour = STAGE_EDGES.get(r.stage, UNLABELLED)
            name = STAGE_NAMES.get(r.stage, "stage not labelled")
            axis.scatter(
                [edge], [r.objective], marker=">", s=40, color=colour, zorder=3, clip_on=False,
                label=None if name in labels else name,
            )
            labels.add(name)
        note = "\n".join(f"{_point_label(r)}: {r.mean_tokens:.0f} tokens →" for r in cluster)
        axis.annotate(
            note, (edge, cluster[0].objective), xytext=(-4, -8), textcoords="offset points", ha="right", va="top",
            fontsize=6.5, color=STAGE_EDGES.get(cluster[0].stage, UNLABELLED), zorder=5,
        )


def _draw_budget(axis: Axes, budget: int, right: float) -> None:
    """The budget line when it falls on the chart; otherwise an arrow on the x axis past its end, named in the legend.

    The arrow sits outside the plotting area, so it can never cover a point or a note.
    """
    if budget <= right:
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


def _x_range(rows: Sequence[TrialRow], front: list[TrialRow], budget: int) -> tuple[float, float]:
    """The tokens worth the chart's width: the front and its held-out re-scores, with room on both sides."""
    focus = [r.mean_tokens for r in front] + [r.holdout["mean_tokens"] for r in front if r.holdout]
    focus = focus or [r.mean_tokens for r in rows] or [0.0, float(budget)]
    low, high = min(focus), max(focus)
    span = max(high - low, 0.05 * high, 1.0)
    return low - 0.08 * span, high + _FAR_FACTOR * span


def plot_pareto(rows: Sequence[TrialRow], path: Path, *, title: str, budget: int) -> None:
    """Accuracy against mean tokens for every trial; the legend sits outside the axes, so it hides nothing."""
    with paper_style():
        fig = new_figure(WIDE)
        axis = fig.subplots()
        front = sorted((r for r in rows if r.on_front), key=lambda r: (r.mean_tokens, -r.objective))
        left, right = _x_range(rows, front, budget)
        if budget <= right * 1.3 and budget > right:  # a budget just past the front: keep it in view
            right = budget * 1.03
        far = [r for r in rows if r.mean_tokens > right]
        near = [r for r in rows if r.mean_tokens <= right]
        on_front = {r.trial for r in front}
        _draw_trials(axis, [r for r in near if r.full], full=True, front=on_front)
        _draw_trials(axis, [r for r in near if not r.full], full=False, front=on_front)
        _draw_holdout(axis, near, nudge=0.012 * (right - left))
        accuracies = [r.objective for r in rows] or [0.0, 1.0]
        _draw_far(axis, far, right, max(max(accuracies) - min(accuracies), 0.05))
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
                [min(chosen.mean_tokens, right)],
                [chosen.objective],
                s=220,
                facecolors="none",
                edgecolors="black",
                linewidths=1.5,
                zorder=4,
                label=f"chosen: {_point_label(chosen)}",
            )
        _draw_budget(axis, budget, right)
        axis.set_xlim(left, right)
        axis.set_xlabel("mean response tokens" + (" (arrows: trials further right)" if far else ""))
        axis.set_ylabel("accuracy")
        axis.set_title(title)
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        save(fig, path)
