"""A study that searches λ and the thinking budget together: where its trials and its front sit in both.

Left: accuracy against mean tokens, each trial coloured by its thinking budget, the front joined. Right:
the settings themselves, λ against budget (log scale), front points ringed: whether the front blends,
caps, or both.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.colors import LogNorm

from mi_search.plots.style import new_figure, save
from mi_search.trial_row import TrialRow


def _drawn(rows: Sequence[TrialRow]) -> list[TrialRow]:
    """The fully scored trials that searched both λ and the thinking budget."""
    return [r for r in rows if r.full and "thinking_budget" in r.params and "lam" in r.params]


def searches_both(rows: Sequence[TrialRow]) -> bool:
    """Whether there is a map to draw (trials stopped early alone leave none)."""
    return bool(_drawn(rows))


def plot_budget_map(rows: Sequence[TrialRow], path: Path, *, title: str) -> None:
    shown = _drawn(rows)
    budgets = [r.params["thinking_budget"] for r in shown]
    norm = LogNorm(vmin=min(budgets), vmax=max(max(budgets), min(budgets) + 1))
    figure = new_figure((7.5, 3.4))
    left, right = figure.subplots(1, 2)
    dots = left.scatter([r.mean_tokens for r in shown], [r.objective for r in shown], c=budgets, norm=norm, cmap="viridis", s=14)
    front = sorted((r for r in shown if r.on_front), key=lambda r: r.mean_tokens)
    left.step([r.mean_tokens for r in front], [r.objective for r in front], where="post", color="#d62728", label="front")
    left.set_xlabel("mean tokens")
    left.set_ylabel("accuracy (search questions)")
    left.legend(loc="lower right")
    right.scatter([r.params["lam"] for r in shown], budgets, c=[r.objective for r in shown], cmap="magma", s=14)
    right.scatter(
        [r.params["lam"] for r in front], [r.params["thinking_budget"] for r in front], s=60, facecolors="none", edgecolors="#d62728"
    )
    right.set_yscale("log")
    right.set_xlabel("λ (0 = Instruct, 1 = Thinking)")
    right.set_ylabel("thinking budget (tokens)")
    figure.colorbar(dots, ax=left, label="thinking budget")
    figure.suptitle(title, fontsize=9)
    save(figure, path)
