"""Write a directory all at once: build it under a temporary name, then rename it into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mi_search.errors import UserError


@contextmanager
def atomic_directory(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a staging directory beside `target`; it becomes `target` only if the block succeeds."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise UserError(f"{target} already exists; choose another --out or remove it first")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o755)
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def atomic_write_text(target: Path, text: str) -> None:
    """Write a file under a temporary name beside `target`, then rename it into place."""
    target = Path(target)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        staging.write_text(text)
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
