"""Figures people would rather look at than read."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the Agg backend must be chosen before pyplot loads

STAGE_COLOURS = {1: "#dbe9f6", 2: "#fde2c4", 3: "#f6d5d5"}
STAGE_NAMES = {1: "stage 1: no explicit thinking", 2: "stage 2: thinking emerges", 3: "stage 3: saturated"}


def plot_stage_map(points: list[tuple[float, float, float, float, int]], path: Path) -> None:
    """Accuracy, Think #R and mean tokens against λ, stages shaded (the paper's Figure 3 layout).

    `points` are (λ, accuracy, think ratio, mean tokens, stage).
    """
    points = sorted(points)
    lams = [p[0] for p in points]
    fig, left = plt.subplots(figsize=(8, 4.5), dpi=120)
    for i, (lam, *_, stage) in enumerate(points):
        lo = (lams[i - 1] + lam) / 2 if i else lam
        hi = (lam + lams[i + 1]) / 2 if i + 1 < len(lams) else lam
        left.axvspan(lo, hi, color=STAGE_COLOURS[stage], lw=0, label=STAGE_NAMES[stage])
    left.plot(lams, [p[1] for p in points], "o-", color="#1f77b4", label="accuracy (Mean@k)")
    left.plot(lams, [p[2] for p in points], "s--", color="#2ca02c", label="Think #R")
    left.set_xlabel("λ (0 = Instruct, 1 = Thinking)")
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
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
