"""The `mi-search` command line: thin commands over the library."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mi_search.errors import UserError
from mi_search.search.locations import DEFAULT_STORAGE, DEFAULT_TRACKING_URI, study_folder

app = typer.Typer(
    name="mi-search",
    help="Search the interpolation between an Instruct and a Thinking model for the best accuracy per token.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
toy_app = typer.Typer(help="The bundled toy Instruct/Thinking pair.", no_args_is_help=True)
app.add_typer(toy_app, name="toy")
console = Console()


def reports_user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input ends as one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


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


def pair_references(pair: str | None, instruct: str | None, thinking: str | None) -> tuple[str, str]:
    """`--pair toy` or both `--instruct` and `--thinking`; the toy pair when none is given."""
    from mi_search.toy import toy_pair_dirs

    if pair is not None and (instruct or thinking):
        raise UserError("give either --pair or --instruct/--thinking, not both")
    if instruct or thinking:
        if not (instruct and thinking):
            raise UserError("give both --instruct and --thinking")
        return instruct, thinking
    if pair not in (None, "toy"):
        raise UserError(f"unknown pair {pair!r}; the bundled pair is `toy` (or pass --instruct and --thinking)")
    instruct_dir, thinking_dir = toy_pair_dirs()
    return str(instruct_dir), str(thinking_dir)


def open_pair(
    pair: str | None, instruct: str | None, thinking: str | None, device: str, dtype: str, trust_remote_code: bool
):
    from mi_search.pair import load_pair

    instruct_ref, thinking_ref = pair_references(pair, instruct, thinking)
    with console.status("loading the model pair"):
        return load_pair(instruct_ref, thinking_ref, device=device, dtype=dtype, trust_remote_code=trust_remote_code)


def check_backend(name: str | None) -> str:
    if name not in (None, "hf", "vllm"):
        raise UserError(f"unknown backend {name!r}; use --backend hf or --backend vllm")
    return name or "hf"


def check_sources(where: str) -> str:
    if where not in ("device", "host"):
        raise UserError(f"unknown place {where!r} for the source models; use --vllm-sources device or host")
    return where


def refuse_existing(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise UserError(f"{out} already exists; choose another --out or pass --overwrite")


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


def _search(
    ctx: typer.Context,
    budget: BudgetOpt = None,
    study: StudyOpt = None,
    trials: TrialsOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Study folder (default: runs/<study>).", rich_help_panel="Study")
    ] = None,
    storage: StorageOpt = DEFAULT_STORAGE,
    tracking_uri: TrackingOpt = DEFAULT_TRACKING_URI,
    space: Annotated[
        str | None, typer.Option(help="global, modules or blocks (default: global).", rich_help_panel="Study")
    ] = None,
    sampler: Annotated[
        str | None, typer.Option(help="gp, tpe or nsga2 (default: gp).", rich_help_panel="Study")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Sampler seed.", rich_help_panel="Study")] = None,
    search_size: Annotated[
        int | None,
        typer.Option(min=1, help="Questions each trial is scored on (default 200).", rich_help_panel="Study"),
    ] = None,
    k: Annotated[int | None, typer.Option("--k", min=1, help="Samples per question.", rich_help_panel="Study")] = None,
    task: TaskOpt = None,
    data_file: DataFileOpt = None,
    promote: Annotated[
        str | None,
        typer.Option(
            help="At the end, register the chosen point as a new version of this MLflow model (alias champion).",
            rich_help_panel="Storage",
        ),
    ] = None,
    backend: BackendOpt = None,
    vllm_sources: VLLMSourcesOpt = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
    batch_size: BatchOpt = 256,
    heartbeat: HeartbeatOpt = 10,
) -> None:
    """Search λ for the Pareto front of accuracy against tokens under a budget (runs or continues a study)."""
    if ctx.invoked_subcommand is not None:
        return
    from mi_search.search.config import build_config, read_study_file
    from mi_search.search.service import prepare_inputs
    from mi_search.search.study import open_study, planned_config

    requested: dict[str, Any] = {}
    if study is not None and (study.endswith((".yaml", ".yml")) or Path(study).is_file()):
        requested = read_study_file(Path(study))
    elif study is not None:
        requested["name"] = study
    flags = {"budget": budget, "trials": trials, "sampler": sampler, "seed": seed, "k": k, "backend": backend}
    requested.update({key: value for key, value in flags.items() if value is not None})
    if vllm_sources is not None:
        requested.setdefault("vllm", {})["sources"] = vllm_sources
    if space is not None:
        requested.setdefault("space", {})["kind"] = space
    task_flags = {"search_size": search_size, "name": task, "data_files": data_file}
    for key, value in task_flags.items():
        if value is not None:
            requested.setdefault("task", {})[key] = value
    build_config(requested, source=study or "command line")  # a typo fails here, before the storage is created
    if promote is not None:
        from mi_search.tracking.registry import check_model_name

        check_model_name(promote)
    client = connect_tracking(tracking_uri)  # an unreachable store fails here, not after an hour of trials
    store = open_store(storage, heartbeat)
    source = study or "command line"
    with console.status("checking the task and the model pair"):  # before the study is created or a weight moves
        inputs = prepare_inputs(planned_config(store, requested, source=source))
    optuna_study, config = open_study(store, requested, source=source)
    bench, tracker = run_study_here(
        optuna_study, config, trials, Runtime(device, dtype, batch_size, storage, tracking_uri), client, inputs
    )
    report_study(optuna_study, config, bench, tracker, out or study_folder(optuna_study.study_name), storage)
    if promote is not None:
        from mi_search.pair import ModelPair

        resident = bench.pair if isinstance(bench.pair, ModelPair) else None  # vLLM's engine cannot export
        register_point(optuna_study, config, promote, "champion", tracking_uri, pair=resident)


app.callback(invoke_without_command=True)(reports_user_errors(_search))
app.command("search")(reports_user_errors(_search))


@app.command()
@reports_user_errors
def worker(
    study: Annotated[str, typer.Option("--study", help="Name of a study started with `mi-search --study NAME`.")],
    storage: StorageOpt = DEFAULT_STORAGE,
    tracking_uri: TrackingOpt = DEFAULT_TRACKING_URI,
    trials: TrialsOpt = None,
    backend: BackendOpt = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
    batch_size: BatchOpt = 256,
    heartbeat: HeartbeatOpt = 10,
) -> None:
    """Join a study on shared storage and run trials for it (SQLite or a journal on one machine, PostgreSQL across)."""
    from mi_search.search.config import build_config
    from mi_search.search.study import join_study

    client = connect_tracking(tracking_uri)
    optuna_study, config = join_study(open_store(storage, heartbeat), study)
    if backend is not None:
        config = build_config({**config.model_dump(mode="json"), "backend": backend}, source="--backend")
    run_study_here(optuna_study, config, trials, Runtime(device, dtype, batch_size, storage, tracking_uri), client)
    console.print(
        f"done; `mi-search --study {study} --storage {storage} --trials 0` re-scores the front and writes the report"
    )


def open_store(url: str, heartbeat: int):
    from mi_search.search.storage import open_storage, optuna_quiet

    optuna_quiet()
    return open_storage(url, heartbeat_interval=heartbeat)


@dataclass(frozen=True)
class Runtime:
    """Per-process settings: where the study runs and where it is stored and tracked."""

    device: str
    dtype: str
    batch_size: int
    storage: str
    tracking_uri: str


def connect_tracking(tracking_uri: str):
    from mi_search.tracking.store import connect

    with console.status(f"reaching the MLflow tracking store {tracking_uri}"):
        return connect(tracking_uri)


def run_study_here(study, config, trials: int | None, runtime: Runtime, client, inputs=None):
    """Load the pair and task once, then run `trials` trials (default: the study's), tracked, with progress bars."""
    from mi_search.search.console import StudyProgress
    from mi_search.search.objective import Observers
    from mi_search.search.service import load_workbench, run_trials
    from mi_search.tracking.study_runs import StudyTracker, study_tags

    trials = config.trials if trials is None else trials
    with console.status("loading the model pair and the task"):
        bench = load_workbench(
            config, inputs, device=runtime.device, dtype=runtime.dtype, batch_size=runtime.batch_size
        )
    tags = study_tags(
        config,
        storage=runtime.storage,
        instruct=bench.pair.instruct_dir,
        thinking=bench.pair.thinking_dir,
        search_size=len(bench.search.questions),
        holdout_size=len(bench.holdout.questions),
    )
    tracker = StudyTracker.open(client, runtime.tracking_uri, study, config, tags=tags)
    if trials:
        try:
            with StudyProgress(console, trials, len(bench.search.questions)) as progress:
                observers = Observers(progress, tracker)
                run_trials(study, config, bench, trials, observer=observers, callbacks=[tracker.after_trial])
        except KeyboardInterrupt:
            typer.echo(
                f"interrupted; finished trials are kept: rerun with --study {study.study_name} to go on", err=True
            )
            raise typer.Exit(130) from None
    return bench, tracker


def report_study(study, config, bench, tracker, out: Path, storage: str) -> None:
    """Re-score new front points on the held-out part, write the study folder, log it, print the front."""
    from mi_search.search.console import front_table
    from mi_search.search.service import finish_study

    with console.status("re-scoring new front points on the held-out questions"):
        result, files = finish_study(study, config, bench, out)
        tracker.report(study, result, files, finished=True)
    console.print(front_table(result))
    if result.chosen is None:
        console.print("[yellow]no front point stays within the budget on the held-out questions[/yellow]")
    console.print(f"wrote {out}/pareto.json, trials.csv, pareto.png and stage_map.png")
    console.print(f"continue with: mi-search --study {study.study_name} --storage {storage} --trials 8")


@app.command("promote")
@reports_user_errors
def promote_command(
    study: Annotated[str, typer.Option("--study", help="Name of the study to promote from.")],
    name: Annotated[str, typer.Option("--name", help="Registered model name (no '.', '/' or ':').")],
    storage: StorageOpt = DEFAULT_STORAGE,
    trial: Annotated[int | None, typer.Option(help="Trial to promote (default: the study's chosen point).")] = None,
    alias: Annotated[str, typer.Option(help="Alias moved to the new version.")] = "champion",
    tracking_uri: TrackingOpt = DEFAULT_TRACKING_URI,
    force: Annotated[bool, typer.Option(help="Promote a trial that spends more than the budget.")] = False,
    device: DeviceOpt = "auto",
) -> None:
    """Export a study's chosen point (or --trial N) and register it in the MLflow Model Registry."""
    from mi_search.search.study import join_study
    from mi_search.tracking.registry import check_model_name

    check_model_name(name)
    optuna_study, config = join_study(open_store(storage, 10), study)
    register_point(optuna_study, config, name, alias, tracking_uri, trial=trial, force=force, device=device)


def register_point(study, config, name: str, alias: str, tracking_uri: str, **options: Any) -> None:
    from mi_search.tracking.promote import promote

    with console.status(f"exporting the merge and registering it as {name}"):
        promotion = promote(study, config, name=name, alias=alias, tracking_uri=tracking_uri, **options)
    version = promotion.version
    console.print(
        f"registered trial {promotion.trial} as {version.name} version {version.version}, alias @{version.alias}: "
        f"mlflow.pyfunc.load_model('{version.uri}')"
    )


@app.command()
@reports_user_errors
def ui(
    tracking_uri: TrackingOpt = DEFAULT_TRACKING_URI,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 5000,
) -> None:
    """Open the MLflow UI on the store the studies log to (http://127.0.0.1:PORT)."""
    import os
    import sys

    connect_tracking(tracking_uri)
    console.print(f"MLflow UI for {tracking_uri} on http://127.0.0.1:{port} (Ctrl-C stops it)")
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", tracking_uri]
    os.execv(sys.executable, [*command, "--host", "127.0.0.1", "--port", str(port)])


@app.command()
@reports_user_errors
def merge(
    out: Annotated[Path, typer.Option(help="Directory to write the merged HF checkpoint to.")],
    lam: Annotated[float | None, typer.Option("--lam", help="Global λ: 0 is Instruct, 1 is Thinking.")] = None,
    lam_attn: Annotated[float | None, typer.Option("--lam-attn", help="λ for attention weights.")] = None,
    lam_mlp: Annotated[float | None, typer.Option("--lam-mlp", help="λ for MLP (FFN) weights.")] = None,
    spec: Annotated[Path | None, typer.Option(help="YAML λ spec: lam, modules, blocks.")] = None,
    allow_extrapolation: Annotated[bool, typer.Option(help="Allow λ outside [0, 1].")] = False,
    pair: PairOpt = None,
    instruct: InstructOpt = None,
    thinking: ThinkingOpt = None,
    backend: BackendOpt = None,
    vllm_sources: VLLMSourcesOpt = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
    trust_remote_code: RemoteCodeOpt = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Write the interpolated model at one λ specification as an HF checkpoint."""
    from mi_search.export import export_merge
    from mi_search.spec import LambdaSpec, load_spec

    if spec is not None and (lam is not None or lam_attn is not None or lam_mlp is not None):
        raise UserError("give either --spec or --lam/--lam-attn/--lam-mlp, not both")
    if spec is not None:
        lambda_spec = load_spec(spec)
    elif lam is not None:
        modules = {name: value for name, value in (("attention", lam_attn), ("mlp", lam_mlp)) if value is not None}
        lambda_spec = LambdaSpec(lam=lam, modules=modules)
    else:
        raise UserError("no λ given; pass --lam 0.5 (optionally --lam-attn/--lam-mlp) or --spec FILE.yaml")
    lambda_spec.check_range(allow_extrapolation=allow_extrapolation)
    refuse_existing(out, overwrite)
    model_pair = open_pair(pair, instruct, thinking, device, dtype, trust_remote_code)
    with console.status(f"merging {lambda_spec.describe()} and writing {out}"):
        export_merge(model_pair, lambda_spec, out, overwrite=overwrite)
    console.print(f"wrote {out} ({lambda_spec.describe()})")


@app.command()
@reports_user_errors
def sweep(
    out: Annotated[Path, typer.Option(help="Directory for sweep.csv, samples.jsonl and stage_map.png.")],
    lambdas: Annotated[str, typer.Option(help="start:stop:step (stop included) or a list like 0,0.5,1.")] = "0:1:0.05",
    task: TaskOpt = None,
    data_file: DataFileOpt = None,
    data: Annotated[
        str | None,
        typer.Option(
            help="A JSONL/JSON/CSV/parquet file or `datasets` id with question and answer columns.",
            rich_help_panel="Task",
        ),
    ] = None,
    question_column: Annotated[str, typer.Option(rich_help_panel="Task")] = "question",
    answer_column: Annotated[str, typer.Option(rich_help_panel="Task")] = "answer",
    split: Annotated[
        str, typer.Option(help="Dataset split when --data is a dataset id.", rich_help_panel="Task")
    ] = "test",
    limit: Annotated[
        int | None, typer.Option(min=1, help="Questions to use (toy default: 200).", rich_help_panel="Task")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Samples per question.", rich_help_panel="Decoding")] = 1,
    temperature: Annotated[
        float | None, typer.Option(min=0.0, help="0 is greedy. Default: the task's.", rich_help_panel="Decoding")
    ] = None,
    top_p: Annotated[float | None, typer.Option(min=0.0, max=1.0, rich_help_panel="Decoding")] = None,
    max_new_tokens: Annotated[int | None, typer.Option(min=1, rich_help_panel="Decoding")] = None,
    seed: Annotated[int, typer.Option(rich_help_panel="Decoding")] = 0,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Sequences decoded together.", rich_help_panel="Decoding")
    ] = 256,
    allow_extrapolation: Annotated[bool, typer.Option(help="Allow λ outside [0, 1].")] = False,
    pair: PairOpt = None,
    instruct: InstructOpt = None,
    thinking: ThinkingOpt = None,
    backend: BackendOpt = None,
    vllm_sources: VLLMSourcesOpt = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
    trust_remote_code: RemoteCodeOpt = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Evaluate a grid of global λ and label each point with its stage."""
    from mi_search.backends.select import open_models
    from mi_search.backends.settings import VLLMSettings
    from mi_search.checkpoints import preflight_pair
    from mi_search.spec import LambdaSpec
    from mi_search.sweep import parse_lambdas, run_sweep, write_sweep
    from mi_search.tasks.registry import load_task

    grid = parse_lambdas(lambdas)
    for lam in grid:
        LambdaSpec(lam=lam).check_range(allow_extrapolation=allow_extrapolation)
    refuse_existing(out, overwrite)
    setup = load_task(
        task or "toy",
        limit=limit,
        data=data,
        data_files=data_file,
        question_column=question_column,
        answer_column=answer_column,
        split=split,
    )
    overrides = {"temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens}
    params = setup.decoding.model_copy(
        update={"seed": seed, **{key: v for key, v in overrides.items() if v is not None}}
    )
    backend_name = check_backend(backend)
    vllm_settings = VLLMSettings() if vllm_sources is None else VLLMSettings(sources=check_sources(vllm_sources))
    instruct_ref, thinking_ref = pair_references(pair, instruct, thinking)
    with console.status("checking the model pair"):  # from configs and tokenizer files, before any weight moves
        preflight_pair(instruct_ref, thinking_ref)
    with console.status(f"loading the model pair ({backend_name})"):
        blender, generator = open_models(
            backend_name,
            instruct_ref,
            thinking_ref,
            device=device,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            batch_size=batch_size,
            vllm=vllm_settings,
        )
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        bar = progress.add_task(f"sweep over {len(setup.questions)} questions × {k}", total=len(grid))

        def on_point(lam: float, scores: Any) -> None:
            progress.update(
                bar, advance=1, description=f"λ={lam:.2f} acc={scores.accuracy:.3f} tokens={scores.mean_tokens:.1f}"
            )

        rows, evaluations = run_sweep(
            blender, generator, setup.questions, setup.grader, grid, k=k, params=params, on_point=on_point
        )
    write_sweep(out, rows, evaluations, overwrite=overwrite)
    skipped = len(setup.questions) - len(evaluations[0].samples)
    if skipped:
        console.print(f"[yellow]skipped {skipped} questions whose gold answer cannot be graded[/yellow]")
    table = Table(title=f"{setup.name}: {len(setup.questions)} questions × {k} samples")
    for column in ("λ", "accuracy", f"Pass@{k}", "mean tokens", "Think #R", "stage"):
        table.add_column(column, justify="right")
    for row in rows:
        stage = f"{row.stage}{' overthinking' if row.overthinking else ''}"
        s = row.scores
        table.add_row(
            f"{row.lam:.2f}",
            f"{s.accuracy:.3f}",
            f"{s.pass_at_k:.3f}",
            f"{s.mean_tokens:.1f}",
            f"{s.think_ratio:.2f}",
            stage,
        )
    console.print(table)
    console.print(f"wrote {out}/sweep.csv, {out}/samples.jsonl and {out}/stage_map.png")


@app.command()
@reports_user_errors
def label(
    file: Annotated[
        Path, typer.Argument(help="CSV with columns lambda,think_ratio and optionally accuracy,mean_tokens.")
    ],
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """Add `stage` and `overthinking` columns to a sweep made with any tool."""
    from mi_search.atomic import atomic_write_text
    from mi_search.label_csv import label_csv

    if out is not None and not out.parent.is_dir():
        raise UserError(f"{out.parent} does not exist; create it or choose another --out")
    try:
        text = file.read_text()
    except OSError as exc:
        raise UserError(f"cannot read {file} ({exc.strerror}); give a readable CSV file") from None
    labelled = label_csv(text)
    if out is None:
        typer.echo(labelled, nl=False)
    else:
        atomic_write_text(out, labelled)


@toy_app.command("path")
@reports_user_errors
def toy_path() -> None:
    """Print the bundled instruct and thinking directories, one per line."""
    from mi_search.toy import toy_pair_dirs

    for directory in toy_pair_dirs():
        typer.echo(str(directory))


@toy_app.command("build")
@reports_user_errors
def toy_build(
    out: Annotated[Path, typer.Option(help="Directory to write instruct/ and thinking/ to.")],
    seed: Annotated[int | None, typer.Option(help="Default: the shipped pair's recipe.")] = None,
    base_steps: Annotated[int | None, typer.Option(min=1)] = None,
    specialist_steps: Annotated[int | None, typer.Option(min=1)] = None,
    threads: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Train the toy pair from scratch on the CPU (about 15 minutes on 2 cores)."""
    from mi_search.toy.build import BuildRecipe, build_pair

    refuse_existing(out, False)
    overrides = {"seed": seed, "base_steps": base_steps, "specialist_steps": specialist_steps, "threads": threads}
    recipe = BuildRecipe(**{name: value for name, value in overrides.items() if value is not None})
    instruct_dir, thinking_dir = build_pair(out, recipe)
    console.print(f"wrote {instruct_dir} and {thinking_dir}")


def main() -> None:
    app()
