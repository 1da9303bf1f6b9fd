"""The chosen point of a vector space: its λ per module against depth (where the thinking pattern sits)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from mi_search.plots.style import save

_COLOURS = {"attention": "#1f77b4", "mlp": "#d62728", "rest (global λ)": "#7f7f7f"}


def plot_lambda_profile(groups: dict[str, list[float]], path: Path, *, title: str) -> None:
    """`groups`: per module, λ values in depth order (per layer, per knot or per block), spread over depth 0-1.

    Knots of a profile space are drawn joined by straight lines, which is exactly the profile.
    """
    fig = Figure(figsize=(7, 3.8), dpi=120)
    axis = fig.subplots()
    for part, values in groups.items():
        depth = [i / (len(values) - 1) for i in range(len(values))] if len(values) > 1 else [0.5]
        axis.plot(depth, values, "o-", color=_COLOURS.get(part), label=f"{part} (mean {sum(values) / len(values):.2f})")
    axis.set_xlabel("depth (0 = first decoder layer, 1 = last)")
    axis.set_ylabel("λ (0 = Instruct, 1 = Thinking)")
    axis.set_ylim(-0.03, 1.03)
    axis.set_xlim(-0.03, 1.03)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(title)
    save(fig, path)
