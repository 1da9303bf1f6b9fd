"""Typed YAML: read a file, validate it against a pydantic model, report the first problem in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mi_search.errors import UserError

Model = TypeVar("Model", bound=BaseModel)


def read_yaml(path: Path, what: str) -> Any:
    """The parsed content of a YAML file; `what` names it in errors (e.g. "study file")."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read {what} {path}: {exc}; give a readable YAML file") from None


def validate(model: type[Model], raw: Any, *, source: str, hint: str) -> Model:
    """`raw` as a `model`, or a UserError naming the first bad key, what is wrong and where to look."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise UserError(f"{source}: {where}: {first['msg']}; {hint}") from None
