"""The bundled toy Instruct/Thinking pair: a model organism that shows the three stages on a CPU."""

from __future__ import annotations

from pathlib import Path

from mi_search.errors import UserError

PAIR_DIR = Path(__file__).parent / "pair"


def toy_pair_dirs() -> tuple[Path, Path]:
    """The shipped instruct and thinking checkpoint directories."""
    instruct, thinking = PAIR_DIR / "instruct", PAIR_DIR / "thinking"
    if not (instruct / "config.json").exists() or not (thinking / "config.json").exists():
        raise UserError(f"the toy pair is missing from {PAIR_DIR}; rebuild it with `mi-search toy build --out DIR`")
    return instruct, thinking
