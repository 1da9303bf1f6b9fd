"""One process at a time creates (and migrates) a SQLite store: the tracking database or the study storage.

MLflow creates its tables and then runs Alembic migrations on first use; two processes that open a new
SQLite file at the same moment both migrate and one fails ("duplicate column name: step"). Neither MLflow
nor Optuna locks this step, so we do: an advisory lock (flock) on the folder that holds the file, held
while the store is first opened. Locking the folder leaves nothing behind, and flock never touches the
POSIX locks SQLite itself takes on the database file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def sqlite_path(url: str) -> Path | None:
    """The file a `sqlite:///PATH` URL names (None for other URLs and in-memory databases)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?")[0]
    return Path(path) if path and path != ":memory:" else None


@contextmanager
def creating(url: str) -> Iterator[None]:
    """Hold the creation lock of the SQLite store `url` names; a no-op for servers and a folder we cannot open."""
    path = sqlite_path(url)
    folder = path.resolve().parent if path is not None else None
    fd = None
    if folder is not None and folder.is_dir():
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            fd = None
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock
