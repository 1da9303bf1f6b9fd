"""A full disk, said in one line: which path, how much space was needed."""

from __future__ import annotations

import errno

from mi_search.errors import UserError

_FULL = (errno.ENOSPC, errno.EDQUOT)


def no_space(path: object, needed: int | None = None) -> UserError:
    amount = f": {needed} more bytes needed" if needed else ""
    return UserError(f"no space left on the disk of {path}{amount}; free space there and rerun")


def disk_full(exc: BaseException) -> UserError | None:
    """The one line for an error that a full disk caused anywhere in `exc`'s chain, else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL:
            return no_space(seen.filename or "the output")
        if "database or disk is full" in str(seen):  # SQLite says it this way, with no errno
            return UserError("no space left on the disk of the SQLite storage; free space there and rerun")
        if "No space left on device" in str(seen) or "Disk quota exceeded" in str(seen):
            return no_space("the output")  # safetensors' and others' errors carry the OS's words, not its errno
        seen = seen.__cause__ or seen.__context__
    return None
