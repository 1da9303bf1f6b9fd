"""A bad input: the command line it runs and what its folder holds first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    argv: list[str | bytes]
    setup: Setup | None = None
    timeout: float | None = None  # None: the run's --timeout
    stored: bool = False  # its setup copies the stored studies (built once, before the cases run)
