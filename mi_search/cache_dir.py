"""The folder mi-search keeps its caches in: `$MI_SEARCH_CACHE`, by default ~/.cache/mi-search."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "MI_SEARCH_CACHE"


def cache_dir() -> Path:
    """Where caches live (not created here): they can be deleted at any time and are rebuilt."""
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "mi-search"
