"""What every figure shares: stage colours and names, and how a figure reaches disk."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure  # no pyplot: nothing global is chosen or changed, notebooks keep their backend

STAGE_COLOURS = {1: "#dbe9f6", 2: "#fde2c4", 3: "#f6d5d5"}
STAGE_EDGES = {1: "#1f77b4", 2: "#ff7f0e", 3: "#d62728"}
STAGE_NAMES = {1: "stage 1: no explicit thinking", 2: "stage 2: thinking emerges", 3: "stage 3: saturated"}


def save(fig: Figure, path: Path) -> None:
    """Render beside `path`, then rename: a reader never sees half a PNG."""
    path = Path(path)
    staging = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.tight_layout()
    try:
        fig.savefig(staging)
        staging.replace(path)
    finally:
        staging.unlink(missing_ok=True)
