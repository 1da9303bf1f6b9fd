"""Options that several commands share, in groups; their help and defaults are read from the models they fill.

Every option defaults to None ("not given") so a study file or a stored study can supply the value,
and the help shows the model's own default instead of restating it. A command takes a group with
`@takes(GROUP, ...)`: the group's values reach it as one `flags` mapping, named as the library's
`FLAG_KEYS` name them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from mi_search.backends.settings import HFSettings, VLLMSettings
from mi_search.merge.pair import PairConfig
from mi_search.tasks.config import TaskConfig

OptionGroup = dict[str, Any]  # option name → its Annotated type (default None)


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


PAIR_OPTIONS: OptionGroup = {
    "pair": Annotated[str | None, _option(PairConfig, "bundled", "Models", "--pair")],
    "instruct": Annotated[str | None, _option(PairConfig, "instruct", "Models")],
    "thinking": Annotated[str | None, _option(PairConfig, "thinking", "Models")],
    "trust_remote_code": Annotated[
        bool | None, _option(PairConfig, "trust_remote_code", "Models", "--trust-remote-code")
    ],
}
BACKEND_OPTIONS: OptionGroup = {
    "backend": Annotated[
        str | None,
        typer.Option(
            help="hf (transformers) or vllm (one engine, weights swapped in place) (default: hf).",
            rich_help_panel="Backend",
            show_default=False,
        ),
    ],
    "device": Annotated[str | None, _option(HFSettings, "device", "Backend", text="hf: auto, cpu, cuda or cuda:N")],
    "dtype": Annotated[str | None, _option(HFSettings, "dtype", "Backend")],
    "batch_size": Annotated[
        int | None, _option(HFSettings, "batch_size", "Backend", text="hf: sequences decoded together", min=1)
    ],
    "sources": Annotated[str | None, _option(HFSettings, "sources", "Backend")],
    "max_model_len": Annotated[
        int | None, _option(VLLMSettings, "max_model_len", "Backend", text="vLLM: prompt + response tokens", min=64)
    ],
    "gpu_memory_utilization": Annotated[
        float | None, _option(VLLMSettings, "gpu_memory_utilization", "Backend", text="vLLM: its share of GPU memory")
    ],
    "tensor_parallel_size": Annotated[
        int | None, _option(VLLMSettings, "tensor_parallel_size", "Backend", text="vLLM: GPUs one engine spans", min=1)
    ],
}
TASK_OPTIONS: OptionGroup = {
    "task": Annotated[str | None, _option(TaskConfig, "name", "Task", "--task")],
    "data_file": Annotated[str | None, _option(TaskConfig, "data_files", "Task", "--data-file")],
}


def takes(*groups: OptionGroup) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the groups' options to a command; it receives their values as `flags` (None: not given)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        names = [name for group in groups for name in group]
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "flags"]
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=group[name], default=None)
            for group in groups
            for name in group
        ]

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            flags = {name: kwargs.pop(name) for name in names}
            return command(*args, flags=flags, **kwargs)

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
