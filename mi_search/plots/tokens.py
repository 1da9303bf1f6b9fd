"""How long one trial's responses are, correct and wrong stacked, against the decoding's token limit."""

from __future__ import annotations

from pathlib import Path

from mi_search.plots.style import BUDGET_COLOUR, CORRECT, NARROW, WRONG, new_figure, paper_style, save

_BINS = 48


def plot_token_histogram(
    lengths: list[int],
    path: Path,
    *,
    correct: list[bool] | None = None,
    title: str | None = None,
    max_tokens: int | None = None,
) -> None:
    """A histogram of generated tokens per response: correct and wrong stacked, the max-token limit marked."""
    with paper_style():
        fig = new_figure(NARROW)
        axis = fig.subplots()
        top = max([*lengths, max_tokens or 0, 1])
        edges = [top * i / _BINS for i in range(_BINS + 1)]  # one scale from 0 to the limit: trials compare
        if correct is not None and len(correct) == len(lengths):
            right = [n for n, ok in zip(lengths, correct) if ok]
            wrong = [n for n, ok in zip(lengths, correct) if not ok]
            axis.hist(
                [right, wrong],
                bins=edges,
                stacked=True,
                color=[CORRECT, WRONG],
                label=[f"correct ({len(right)})", f"wrong ({len(wrong)})"],
            )
        else:
            axis.hist(lengths, bins=edges, color=CORRECT)
        if max_tokens is not None:
            axis.axvline(max_tokens, color=BUDGET_COLOUR, ls="--", label=f"max tokens {max_tokens}")
        mean = sum(lengths) / max(1, len(lengths))
        axis.set_xlabel("generated tokens per response")
        axis.set_ylabel("responses")
        heading = title or "response lengths"
        axis.set_title(f"{heading}\n{len(lengths)} responses, mean {mean:.1f} tokens")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        save(fig, path)
