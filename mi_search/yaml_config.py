"""Typed YAML: read a file, validate it against a pydantic model, report the first problem in one line."""

from __future__ import annotations

import codecs
import json
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mi_search.errors import UserError
from mi_search.filekind import CONFIG_LIMIT_BYTES, check_regular, read_limited

Model = TypeVar("Model", bound=BaseModel)


def read_text(path: Path, what: str, kind: str, *, limit: int | None = None) -> str:
    """A UTF-8 text file's content; a binary, UTF-16 or unreadable file is one line naming it.

    `what` names the file in errors ("study file"), `kind` the text it should hold ("YAML", "CSV").
    A FIFO, a device or a folder is refused before reading; `limit` bounds the size read (bytes).
    """
    check_regular(Path(path), what, f"give the {kind} file itself")
    try:
        data = read_limited(Path(path), what, kind, limit) if limit is not None else Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {what} {path} ({exc.strerror}); give a readable {kind} file") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # UTF-32's marks start the same way
        raise UserError(f"{what} {path} is UTF-16 or UTF-32 text; save it as UTF-8 {kind}")
    if b"\0" in data:
        raise UserError(f"{what} {path} is a binary file, not {kind} text; give the {kind} file itself")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 {kind}") from None


def read_json(path: Path, what: str, fix: str) -> Any:
    """The parsed content of a JSON file; `what` names it in errors ("model config"), `fix` says what to do."""
    try:
        return json.loads(read_text(path, what, "JSON"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{what} {path} is not JSON ({exc.msg}, line {exc.lineno}); {fix}") from None


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"key {key!r} given twice")
        self.key, self.line = key, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error, not "the last wins"."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` merges, it is not a key
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: PyYAML's own error says so below
            break
        if duplicate:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_yaml(path: Path, what: str) -> Any:
    """The parsed content of a YAML file; `what` names it in errors (e.g. "study file").

    A key given twice in one mapping is refused (PyYAML would keep the last one without a word).
    """
    text = read_text(path, what, "YAML", limit=CONFIG_LIMIT_BYTES)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise UserError(
            f"{what} {path} gives the key {exc.key!r} twice (again at line {exc.line}); keep one of them"
        ) from None
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
    raw = [str(part) for part in error["loc"] if not str(part).startswith(("function-", "tagged-union"))]
    location, fields, member = _walk(model, raw)
    where = ".".join(location) or "top level"
    where = names.get(where, f"`{where}`")
    if error["type"] == "extra_forbidden":
        listed = f"; known keys there: {', '.join(fields)}" if fields else ""
        if member is not None:
            return f"{where} does not apply to {member}; remove it{listed}"
        return f"unknown key {where}; remove it or fix its spelling{listed}"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{where}: {message[0].lower()}{message[1:]}"


def _walk(model: type[BaseModel], loc: list[str]) -> tuple[list[str], list[str], str | None]:
    """The location without union tags, the keys of the model it ends in, and the union member it went through."""
    current: Any = model
    container: Any = model  # the model the last key was looked up in
    location: list[str] = []
    member = None
    parts = iter(loc)
    for name in parts:
        location.append(name)
        container = current
        field = getattr(current, "model_fields", {}).get(name)
        annotation = getattr(field, "annotation", None)
        options = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
        elif options and field is not None and field.discriminator:
            tag = next(parts, None)  # pydantic names the union member it tried, by its tag
            current = next((o for o in options if o.model_fields[field.discriminator].default == tag), None)
            member = f"{name} {tag}"
        else:
            current = None
    return location, list(getattr(container, "model_fields", {})), member
