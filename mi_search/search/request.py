"""What one invocation asks of a study: a study file or name, and flags, layered into one settings mapping.

Precedence, lowest first: embedded defaults, the configuration stored with an existing study, the
study file, flags. Each flag lands at one key of `StudyConfig`, declared in `FLAG_KEYS`, so every
command reaches the same typed models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mi_search.search.config import merge_settings, read_study_file

# Where each flag lands in a study's settings.
FLAG_KEYS: dict[str, tuple[str, ...]] = {
    "budget": ("budget",),
    "trials": ("trials",),
    "sampler": ("sampler",),
    "seed": ("seed",),
    "k": ("k",),
    "space": ("space", "kind"),
    "knots": ("space", "knots"),
    "task": ("task", "name"),
    "data_file": ("task", "data_files"),
    "search_size": ("task", "search_size"),
    "pair": ("pair", "bundled"),
    "instruct": ("pair", "instruct"),
    "thinking": ("pair", "thinking"),
    "trust_remote_code": ("pair", "trust_remote_code"),
    "backend": ("backend", "kind"),
    "device": ("backend", "device"),
    "dtype": ("backend", "dtype"),
    "batch_size": ("backend", "batch_size"),
    "sources": ("backend", "sources"),
    "max_model_len": ("backend", "max_model_len"),
    "gpu_memory_utilization": ("backend", "gpu_memory_utilization"),
    "tensor_parallel_size": ("backend", "tensor_parallel_size"),
}


def settings_from_flags(flags: dict[str, Any], keys: dict[str, tuple[str, ...]] = FLAG_KEYS) -> dict[str, Any]:
    """The nested settings the given flags (None: not given) stand for, each placed where `keys` says."""
    nested: dict[str, Any] = {}
    for flag, value in flags.items():
        if value is None:
            continue
        *parents, leaf = keys[flag]
        node = nested
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return nested


def flag_names(keys: dict[str, tuple[str, ...]] = FLAG_KEYS, *, under: str = "") -> dict[str, str]:
    """Each setting's dotted key (below `under`) mapped to the flag that sets it, so errors name the flag."""
    names = {}
    for flag, path in keys.items():
        dotted = ".".join(path)
        if dotted.startswith(under):
            names[dotted.removeprefix(under)] = f"--{flag.replace('_', '-')}"
    return names


@dataclass(frozen=True)
class StudyRequest:
    """A study named or written in a file (or neither: the defaults), settings over it, and flags over those."""

    study: str | None = None  # a study name, or a path to a study YAML file
    flags: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # nested settings, as a study file writes them

    @property
    def file(self) -> Path | None:
        if self.study is not None and (self.study.endswith((".yaml", ".yml")) or _is_file(self.study)):
            return Path(self.study)
        return None

    @property
    def names(self) -> dict[str, str]:
        """The dotted keys these flags set, mapped to the flags, so an error names what the user typed."""
        given = {flag: path for flag, path in FLAG_KEYS.items() if self.flags.get(flag) is not None}
        return flag_names(given)

    @property
    def source(self) -> str:
        """How errors name where a setting came from."""
        return str(self.file) if self.file is not None else "the command line"

    def settings(self) -> dict[str, Any]:
        """The file's settings (or the name) with the flags laid over them."""
        base: dict[str, Any] = {}
        if self.file is not None:
            base = read_study_file(self.file)
        elif self.study is not None:
            base = {"name": self.study}
        return merge_settings(merge_settings(base, self.overrides), settings_from_flags(self.flags))


def _is_file(text: str) -> bool:
    """Whether `text` names an existing file; a string too long to be a path is a name (refused as one later)."""
    try:
        return Path(text).is_file()
    except OSError:
        return False
