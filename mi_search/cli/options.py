"""Options that several commands share, with their help text and panel."""

from __future__ import annotations

from typing import Annotated

import typer

PairOpt = Annotated[str | None, typer.Option("--pair", help="A bundled pair: `toy`.", rich_help_panel="Models")]
InstructOpt = Annotated[
    str | None,
    typer.Option("--instruct", help="Instruct checkpoint: local directory or hub id.", rich_help_panel="Models"),
]
ThinkingOpt = Annotated[
    str | None,
    typer.Option("--thinking", help="Thinking checkpoint: local directory or hub id.", rich_help_panel="Models"),
]
DeviceOpt = Annotated[str, typer.Option(help="`auto`, `cpu`, `cuda`, `cuda:1`, ...", rich_help_panel="Models")]
DtypeOpt = Annotated[
    str, typer.Option(help="`auto` (bf16 on GPU, fp32 on CPU), `bfloat16`, `float32`, ...", rich_help_panel="Models")
]
RemoteCodeOpt = Annotated[
    bool,
    typer.Option(help="Run code shipped with the checkpoints (off unless you trust them).", rich_help_panel="Models"),
]
OverwriteOpt = Annotated[bool, typer.Option(help="Replace --out if it exists.")]

BudgetOpt = Annotated[
    str | None,
    typer.Option(help="Mean response tokens a point may spend: 4000tokens, 4000 or 4k.", rich_help_panel="Study"),
]
StudyOpt = Annotated[
    str | None,
    typer.Option(
        "--study",
        help="A study name (continued if it exists) or a study YAML file. Default: <pair>-<space>-<budget>.",
        rich_help_panel="Study",
    ),
]
TrialsOpt = Annotated[
    int | None,
    typer.Option(min=0, help="Trials to run in this invocation (default: the study's, 16).", rich_help_panel="Study"),
]
StorageOpt = Annotated[
    str,
    typer.Option(
        help="Optuna storage: sqlite:///PATH.db, postgresql://USER@HOST/DB or journal:PATH.", rich_help_panel="Storage"
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
TrackingOpt = Annotated[
    str,
    typer.Option(
        help="MLflow tracking store: sqlite:///PATH.db (artifacts in mlartifacts/ beside it) or http://HOST:PORT.",
        rich_help_panel="Storage",
    ),
]
BatchOpt = Annotated[int, typer.Option(min=1, help="Sequences decoded together.", rich_help_panel="Models")]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        help="hf (transformers) or vllm (one engine per study, weights swapped in place). Default: hf.",
        rich_help_panel="Models",
    ),
]
VLLMSourcesOpt = Annotated[
    str | None,
    typer.Option(
        help="vllm: keep both source models on the device or in pinned host memory (device, host).",
        rich_help_panel="Models",
    ),
]
TaskOpt = Annotated[
    str | None,
    typer.Option(
        help="Named task: toy, aime25, math500, gsm8k, gpqa-diamond or ifeval (default: toy).", rich_help_panel="Task"
    ),
]
DataFileOpt = Annotated[
    str | None,
    typer.Option(
        help="A local JSONL/parquet file in the named task's published schema, instead of its hub id.",
        rich_help_panel="Task",
    ),
]
