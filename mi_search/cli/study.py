"""The search service's commands: search (the default), worker, promote and ui."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mi_search.cli.app import app, console, reports_user_errors
from mi_search.cli.options import (
    BackendOpt,
    BatchOpt,
    BudgetOpt,
    DataFileOpt,
    DeviceOpt,
    DtypeOpt,
    HeartbeatOpt,
    StorageOpt,
    StudyOpt,
    TaskOpt,
    TrackingOpt,
    TrialsOpt,
    VLLMSourcesOpt,
)
from mi_search.search.locations import DEFAULT_STORAGE, DEFAULT_TRACKING_URI, study_folder

if TYPE_CHECKING:
    from mi_search.search.service import StudyInputs


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


def run_study_here(study, config, trials: int | None, runtime: Runtime, client, inputs: StudyInputs | None = None):
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
