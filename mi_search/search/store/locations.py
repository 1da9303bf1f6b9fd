"""Where a study keeps things by default, relative to the current directory (no heavy imports: the CLI reads it).

The tracking store's default is tracking's own (`tracking/locations.py`).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_STORAGE = "sqlite:///mi-search.db"
RUNS_DIR = Path("runs")


def study_folder(name: str) -> Path:
    return RUNS_DIR / name
