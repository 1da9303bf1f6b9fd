"""Every option that fills a setting, declared once with the key it fills; commands take them in groups.

A `Flag` pairs a Typer option with the dotted settings key it sets (`backend.device`), so the path
from the command line into the library is one step: a command receives its flags as `Overrides`
(nested settings, as a study file writes them, and how the user spelled each key, for errors), and
nothing below the CLI ever sees a flag name. Every option defaults to None ("not given") so a study
file or a stored study can supply the value, and the help shows the model's own default instead of
restating it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, get_args

import typer
from pydantic import BaseModel

from mi_search.backends.settings import HFSettings, VLLMSettings
from mi_search.merge.pair import PairConfig
from mi_search.tasks.config import TaskConfig


@dataclass(frozen=True)
class Flag:
    """One option and the settings key it fills (dotted: `backend.device`)."""

    key: str
    annotation: Any  # Annotated[T | None, typer.Option(...)]

    @property
    def spelling(self) -> str:
        """How the user types it: the option's first long name (`--pair`), else its parameter's."""
        option = next(a for a in get_args(self.annotation)[1:] if hasattr(a, "param_decls"))
        longs = [d.split("/")[0] for d in option.param_decls if d.startswith("--")]
        return longs[0] if longs else ""


OptionGroup = dict[str, Flag]  # parameter name → its flag


@dataclass(frozen=True)
class Overrides:
    """What the flags given set: nested settings, and each dotted key mapped to the flag that set it."""

    settings: dict[str, Any] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, groups: tuple[OptionGroup, ...], values: dict[str, Any]) -> Overrides:
        settings: dict[str, Any] = {}
        names: dict[str, str] = {}
        for group in groups:
            for parameter, flag in group.items():
                value = values.get(parameter)
                if value is None:
                    continue
                *parents, leaf = flag.key.split(".")
                node = settings
                for key in parents:
                    node = node.setdefault(key, {})
                node[leaf] = value
                names[flag.key] = flag.spelling or f"--{parameter.replace('_', '-')}"
        return cls(settings, names)

    def under(self, key: str) -> Overrides:
        """The settings below `key` (`pair`), with the names relative to it."""
        prefix = f"{key}."
        names = {k.removeprefix(prefix): v for k, v in self.names.items() if k.startswith(prefix)}
        return Overrides(dict(self.settings.get(key, {})), names)


def described(model: type[BaseModel], name: str, text: str | None = None) -> str:
    """Help for an option that fills `model.name`: its description (or `text`) and the model's default."""
    field = model.model_fields[name]
    default = field.default.value if isinstance(field.default, Enum) else field.default
    shown = "" if default is None or isinstance(default, BaseModel) else f" (default: {default})"
    return f"{text or field.description or name}{shown}"


def one_of(choices: type[Enum]) -> str:
    """`a, b or c`: an option's choices, read from the enum it fills so that none is left out."""
    values = [member.value for member in choices]
    return f"{', '.join(values[:-1])} or {values[-1]}" if len(values) > 1 else values[0]


def _option(model: type[BaseModel], name: str, panel: str, *decls: str, text: str | None = None, **extra: Any) -> Any:
    return typer.Option(*decls, help=described(model, name, text), rich_help_panel=panel, show_default=False, **extra)


def flag(key: str, kind: type, option: Any) -> Flag:
    """An option of type `kind` (None: not given) that fills the settings key `key`."""
    return Flag(key, Annotated[kind | None, option])  # type: ignore[valid-type]


PAIR_OPTIONS: OptionGroup = {
    "pair": flag("pair.bundled", str, _option(PairConfig, "bundled", "Models", "--pair")),
    "instruct": flag("pair.instruct", str, _option(PairConfig, "instruct", "Models", "--instruct")),
    "thinking": flag("pair.thinking", str, _option(PairConfig, "thinking", "Models", "--thinking")),
    "trust_remote_code": flag(
        "pair.trust_remote_code",
        bool,
        _option(PairConfig, "trust_remote_code", "Models", "--trust-remote-code"),
    ),
}
BACKEND_OPTIONS: OptionGroup = {
    "backend": flag(
        "backend.kind",
        str,
        typer.Option(
            "--backend",
            help="hf (transformers) or vllm (one engine, weights swapped in place) (default: hf).",
            rich_help_panel="Backend",
            show_default=False,
        ),
    ),
    "device": flag("backend.device", str, _option(HFSettings, "device", "Backend", "--device", text="hf: auto, cpu, cuda or cuda:N")),
    "dtype": flag("backend.dtype", str, _option(HFSettings, "dtype", "Backend", "--dtype")),
    "batch_size": flag(
        "backend.batch_size", int, _option(HFSettings, "batch_size", "Backend", "--batch-size", text="hf: sequences decoded together", min=1)
    ),
    "sources": flag("backend.sources", str, _option(HFSettings, "sources", "Backend", "--sources")),
    "max_model_len": flag(
        "backend.max_model_len",
        int,
        _option(VLLMSettings, "max_model_len", "Backend", "--max-model-len", text="vLLM: prompt + response tokens", min=64),
    ),
    "gpu_memory_utilization": flag(
        "backend.gpu_memory_utilization",
        float,
        _option(VLLMSettings, "gpu_memory_utilization", "Backend", "--gpu-memory-utilization", text="vLLM: its share of GPU memory"),
    ),
    "tensor_parallel_size": flag(
        "backend.tensor_parallel_size",
        int,
        _option(VLLMSettings, "tensor_parallel_size", "Backend", "--tensor-parallel-size", text="vLLM: GPUs one engine spans", min=1),
    ),
}
THINKING_OPTIONS: OptionGroup = {
    "thinking_budget": flag(
        "decoding.thinking_budget",
        int,
        typer.Option(
            "--thinking-budget",
            help="Tokens a response may think before its thought is closed for it (budget forcing); default: no limit.",
            rich_help_panel="Decoding",
        ),
    ),
}
TASK_OPTIONS: OptionGroup = {
    "task": flag("task.name", str, _option(TaskConfig, "name", "Task", "--task")),
    "data_file": flag("task.data_files", str, _option(TaskConfig, "data_files", "Task", "--data-file")),
}


def takes(*groups: OptionGroup) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the groups' options to a command; it receives what they set as one `overrides: Overrides`."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        names = [name for group in groups for name in group]
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "overrides"]
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=group[name].annotation, default=None)
            for group in groups
            for name in group
        ]

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in names}
            return command(*args, overrides=Overrides.of(groups, values), **kwargs)

        wrapper.__signature__ = signature.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
        return wrapper

    return decorate


StorageOpt = Annotated[
    str,
    typer.Option(
        help="Optuna storage: sqlite:///PATH.db, postgresql://USER@HOST/DB or journal:PATH.", rich_help_panel="Storage"
    ),
]
TrackingOpt = Annotated[
    str,
    typer.Option(
        help="MLflow tracking store: sqlite:///PATH.db (artifacts in mlartifacts/ beside it) or http://HOST:PORT.",
        rich_help_panel="Storage",
    ),
]
HeartbeatOpt = Annotated[
    int,
    typer.Option(
        min=1,
        help="Seconds between a running trial's heartbeats; a trial silent for 3 is retried.",
        rich_help_panel="Storage",
    ),
]
OverwriteOpt = Annotated[bool, typer.Option(help="Replace --out if it exists.")]
