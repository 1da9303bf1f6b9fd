"""What one invocation asks of a study: a study file or name, and settings laid over it.

Precedence, lowest first: embedded defaults, the configuration stored with an existing study, the
study file, the overrides (what the command line set, already placed at their keys by the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mi_search.search.settings.config import merge_settings, read_study_file


@dataclass(frozen=True)
class StudyRequest:
    """A study named or written in a file (or neither: the defaults), and settings over it."""

    study: str | None = None  # a study name, or a path to a study YAML file
    overrides: dict[str, Any] = field(default_factory=dict)  # nested settings, as a study file writes them
    names: dict[str, str] = field(default_factory=dict)  # dotted key → how the user spelled it (a flag), for errors

    @property
    def file(self) -> Path | None:
        if self.study is not None and (self.study.endswith((".yaml", ".yml")) or _is_file(self.study)):
            return Path(self.study)
        return None

    @property
    def source(self) -> str:
        """How errors name where a setting came from."""
        return str(self.file) if self.file is not None else "the command line"

    def settings(self) -> dict[str, Any]:
        """The file's settings (or the name) with the overrides laid over them."""
        base: dict[str, Any] = {}
        if self.file is not None:
            base = read_study_file(self.file)
        elif self.study is not None:
            base = {"name": self.study}
        return merge_settings(base, self.overrides)


def _is_file(text: str) -> bool:
    """Whether `text` names an existing file; a string too long to be a path is a name (refused as one later)."""
    try:
        return Path(text).is_file()
    except OSError:
        return False
