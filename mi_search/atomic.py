"""Write a directory all at once: build it under a temporary name, then swap it into place.

A reader sees the old directory or the new one, never a mix; a kill leaves at most a hidden
staging directory beside the target, removed by the next write once its process is gone.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mi_search.errors import UserError
from mi_search.processes import pid_alive

_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


@contextmanager
def atomic_directory(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a staging directory beside `target`; it becomes `target` only if the block succeeds.

    With `overwrite`, an existing `target` is replaced as a whole (its old files do not linger).
    """
    target = Path(target)
    check_out_folder(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(target)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o777)  # the umask decides, as for any directory the user makes
    try:
        yield staging
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_out_folder(target: Path, *, overwrite: bool | None = False, flag: str = "--out") -> None:
    """Refuse now, before any work, a folder `atomic_directory` would refuse, or fail to make, after it.

    `overwrite` None: the command has no --overwrite to offer.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise UserError(f"{flag} {target} is a file; pass a folder path (a file is never replaced by a folder)")
    if target.exists() and not overwrite:
        offer = " or pass --overwrite" if overwrite is not None else " or remove it first"
        raise UserError(f"{target} already exists; choose another {flag}{offer}")
    check_writable(target, flag)


def check_writable(target: Path, flag: str = "--out") -> None:
    """Refuse, before any work, a `target` whose nearest existing folder above cannot take a new entry.

    Tried, not guessed: root passes `os.access` on a read-only mount, and /proc looks writable.
    """
    target = Path(target)
    parent = next((p for p in target.absolute().parents if p.exists()), Path("/"))
    if not parent.is_dir():
        raise UserError(f"{flag} {target} lies under {parent}, which is a file; pass a folder path")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{target.name}.check.", dir=parent))
    except OSError as exc:
        raise UserError(
            f"cannot write {flag} {target}: {parent} does not take new files ({exc.strerror}); "
            f"pass {flag} a writable folder"
        ) from None


def atomic_write_text(target: Path, text: str) -> None:
    """Write a file under a temporary name beside `target`, then rename it into place."""
    target = Path(target)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        staging.write_text(text)
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)


def as_umask_allows(path: Path) -> None:
    """Give a file the mode a plain `open` would (0666 less the umask), for writers that force 0600."""
    mask = os.umask(0o22)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    Path(path).chmod(0o666 & ~mask)


def _swap_in(staging: Path, target: Path) -> None:
    """Make `staging` the `target`: one atomic exchange where the kernel offers it, else two renames."""
    if not target.exists():
        staging.rename(target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging)  # it holds the old directory now
        return
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    target.rename(old)
    staging.rename(target)
    shutil.rmtree(old)


def _exchange(a: Path, b: Path) -> bool:
    """Linux renameat2(RENAME_EXCHANGE); False where the C library or the file system lacks it."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _remove_abandoned(target: Path) -> None:
    """Staging directories of `target` left by killed processes (`.NAME.PID.tmp`, `.NAME.PID.old`)."""
    for stale in target.parent.glob(f".{target.name}.*.*"):
        pid, _, kind = stale.name.removeprefix(f".{target.name}.").partition(".")
        if kind in ("tmp", "old") and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
