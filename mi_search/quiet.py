"""Muting one library logger for the length of a step whose failure we report ourselves, in one line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def muted(logger_name: str, level: int = logging.ERROR) -> Iterator[None]:
    """Records of `logger_name` below `level` are dropped inside the block; its own level comes back after."""
    logger = logging.getLogger(logger_name)
    saved = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(saved)
