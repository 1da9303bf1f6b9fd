"""The paper's Figure 3 layout: accuracy, Think #R and mean tokens against λ, stages shaded."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from mi_search.plots.style import STAGE_COLOURS, STAGE_NAMES, save


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
    save(fig, path)
