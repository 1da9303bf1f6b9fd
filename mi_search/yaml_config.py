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
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{what} {path} is not UTF-8 text; save it as UTF-8 YAML") from None
    except OSError as exc:
        raise UserError(f"cannot read {what} {path} ({exc.strerror}); give a readable YAML file") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        reason = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError(f"{what} {path} is not valid YAML{line} ({reason}); fix the syntax there") from None


def validate(model: type[Model], raw: Any, *, source: str, names: dict[str, str] | None = None) -> Model:
    """`raw` as a `model`, or a UserError naming the first bad key, what is wrong and how to fix it.

    `names` maps dotted keys to what the user wrote instead (a flag such as `--pair`).
    """
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise UserError(f"{source}: {describe_error(model, exc.errors()[0], names or {})}") from None


def describe_error(model: type[BaseModel], error: dict[str, Any], names: dict[str, str]) -> str:
    """Pydantic's first error in our words: the key, what is wrong, and for an unknown key the known ones."""
    location = [str(part) for part in error["loc"] if not str(part).startswith(("function-", "tagged-union"))]
    where = ".".join(location) or "top level"
    where = names.get(where, where)
    if error["type"] == "extra_forbidden":
        known = _known_keys(model, location[:-1])
        listed = f"; known keys there: {', '.join(known)}" if known else ""
        return f"unknown key `{where}`; remove it or fix its spelling{listed}"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"`{where}`: {message[0].lower()}{message[1:]}"


def _known_keys(model: type[BaseModel], path: list[str]) -> list[str]:
    """The field names of the (nested) model at `path`, or none when the path runs through a union or list."""
    current: Any = model
    for name in path:
        field = getattr(current, "model_fields", {}).get(name)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        current = annotation
    return list(getattr(current, "model_fields", {}))
