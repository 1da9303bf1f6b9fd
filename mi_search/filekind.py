"""Refuse, before reading, an input that is not a regular file: a FIFO hangs a reader, /dev/zero never ends.

`os.stat` follows links, so a link to /dev/zero is refused as what it points to. Only reads through this
check; a configuration file is also read with a size limit, so a huge file is one line, not a stall.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mi_search.errors import UserError

CONFIG_LIMIT_BYTES = 1 << 20  # a study file or configuration piece larger than 1 MiB is not one a person wrote

_KINDS = {
    stat.S_ISFIFO: "a named pipe (FIFO)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
    stat.S_ISDIR: "a folder",
}


def kind_of(path: Path) -> str | None:
    """What `path` is when it exists and is not a regular file ("a named pipe (FIFO)", …); None otherwise."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS.items() if test(mode)), "not a regular file")


def check_regular(path: Path, what: str, fix: str = "give a regular file") -> None:
    """Refuse `path` when it exists but is not a regular file (a missing one is the caller's message)."""
    kind = kind_of(path)
    if kind is not None:
        raise UserError(f"{what} {path} is {kind}, not a regular file; {fix}")


def read_limited(path: Path, what: str, kind: str, limit: int = CONFIG_LIMIT_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else is one line naming it."""
    check_regular(path, what, f"give the {kind} file itself")
    with open(path, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise UserError(f"{what} {path} is larger than {limit >> 20} MiB; a {kind} file is expected to be small, check the path")
    return data
