"""How long one trial's responses are."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from mi_search.plots.style import save


def plot_token_histogram(lengths: list[int], path: Path) -> None:
    """How long the responses of one trial are: a histogram of generated tokens per sample."""
    fig = Figure(figsize=(6, 3.5), dpi=110)
    axis = fig.subplots()
    axis.hist(lengths, bins=min(40, max(1, len(set(lengths)))), color="#1f77b4")
    axis.set_xlabel("generated tokens per response")
    axis.set_ylabel("responses")
    axis.set_title(f"{len(lengths)} responses, mean {sum(lengths) / max(1, len(lengths)):.1f} tokens")
    save(fig, path)
