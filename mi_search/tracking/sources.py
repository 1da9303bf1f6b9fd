"""How a source checkpoint is recorded: a hub id and its revision, or a path relative to the study's directory.

Never an absolute path of this machine: a tag another machine reads must still mean something there.
"""

from __future__ import annotations

import os
from pathlib import Path

from mi_search.backends.pair import Checkpoint

TOY_REFERENCE = "mi-search toy pair"


def source_tags(role: str, checkpoint: Checkpoint) -> dict[str, str]:
    """Tags `mi_search.<role>` (what to load) and `mi_search.<role>_revision` (which commit, or `local`)."""
    return {
        f"mi_search.{role}": portable_reference(checkpoint.reference),
        f"mi_search.{role}_revision": checkpoint.revision or "local",
    }


def portable_reference(reference: str) -> str:
    """A hub id as given; the bundled toy pair by name; a local directory relative to the working directory."""
    path = Path(reference)
    if not path.exists():
        return reference  # a hub id such as Qwen/Qwen3-4B-Instruct-2507
    from mi_search.toy import PAIR_DIR

    resolved = path.resolve()
    if resolved.is_relative_to(PAIR_DIR.resolve()):
        return f"{TOY_REFERENCE}: {resolved.name}"
    return Path(os.path.relpath(resolved, Path.cwd().resolve())).as_posix()
