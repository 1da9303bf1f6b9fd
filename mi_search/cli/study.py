"""The search service's commands: search (the default), worker, promote and ui. They parse, call, render."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from mi_search.cli.app import app, console, reports_user_errors
from mi_search.cli.options import (
    BACKEND_OPTIONS,
    PAIR_OPTIONS,
    TASK_OPTIONS,
    THINKING_OPTIONS,
    HeartbeatOpt,
    OptionGroup,
    Overrides,
    StorageOpt,
    TrackingOpt,
    described,
    flag,
    one_of,
    takes,
)
from mi_search.cli.process import configure_process
from mi_search.cli.signals import Terminated, interrupts_at_safe_points
from mi_search.search.settings.config import SamplerName, StudyConfig
from mi_search.search.store.locations import DEFAULT_STORAGE
from mi_search.tracking.locations import DEFAULT_TRACKING_URI
from mi_search.search.settings.space import SearchSpace, SpaceKind
from mi_search.tasks.config import TaskConfig

def _trial_count(text: str) -> str | int:
    """`--trials`: auto or a whole number from 0; anything else is click's one-line usage error."""
    if text == "auto":
        return text
    if not text.isdigit():
        raise typer.BadParameter(f"{text!r} is neither auto nor a whole number of trials from 0")
    return int(text)


STUDY_OPTIONS: OptionGroup = {
    "budget": flag(
        "budget",
        str,
        typer.Option("--budget", help="Mean response tokens a point may spend: 4000tokens, 4000 or 4k.", rich_help_panel="Study"),
    ),
    "trials": flag(
        "trials",
        str,
        typer.Option(
            "--trials",
            parser=_trial_count,
            help=described(StudyConfig, "trials", "auto (stop when the front converges) or the trials to run now"),
            rich_help_panel="Study",
        ),
    ),
    "min_trials": flag(
        "min_trials",
        int,
        typer.Option("--min-trials", min=1, help=described(StudyConfig, "min_trials"), rich_help_panel="Study"),
    ),
    "max_trials": flag(
        "max_trials",
        int,
        typer.Option("--max-trials", min=1, help=described(StudyConfig, "max_trials"), rich_help_panel="Study"),
    ),
    "stop_margin": flag(
        "stop_margin",
        float,
        typer.Option("--stop-margin", help=described(StudyConfig, "stop_margin"), rich_help_panel="Study"),
    ),
    "space": flag(
        "space.kind",
        str,
        typer.Option("--space", help=described(SearchSpace, "kind", one_of(SpaceKind)), rich_help_panel="Study"),
    ),
    "knots": flag(
        "space.knots",
        int,
        typer.Option(
            "--knots",
            help=described(SearchSpace, "knots", "Profile space: knots per module, 2 up to the layer count"),
            rich_help_panel="Study",
        ),
    ),
    "sampler": flag(
        "sampler",
        str,
        typer.Option("--sampler", help=described(StudyConfig, "sampler", one_of(SamplerName)), rich_help_panel="Study"),
    ),
    "seed": flag(
        "seed",
        int,
        typer.Option("--seed", help=described(StudyConfig, "seed", "The study's seed: the sampler's and every sample's"), rich_help_panel="Study"),
    ),
    "k": flag(
        "k", int, typer.Option("--k", min=1, help=described(StudyConfig, "k", "Samples per question"), rich_help_panel="Study")
    ),
    "search_size": flag(
        "task.search_size",
        int,
        typer.Option(
            "--search-size", min=1, help=described(TaskConfig, "search_size", "Questions each trial is scored on"), rich_help_panel="Task"
        ),
    ),
    "holdout_size": flag(
        "task.holdout_size",
        int,
        typer.Option(
            "--holdout-size",
            min=1,
            help=described(TaskConfig, "holdout_size", "Questions each front point is re-scored on"),
            rich_help_panel="Task",
        ),
    ),
}
WORKER_OPTIONS = {key: STUDY_OPTIONS[key] for key in ("trials", "min_trials", "max_trials", "stop_margin")}


def _search(
    ctx: typer.Context,
    study: Annotated[
        str | None,
        typer.Option(
            "--study",
            help="A study name (continued if it exists) or a study YAML file. Default: <pair>-<space>-<budget>.",
            rich_help_panel="Study",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Study folder (default: runs/<study>).", rich_help_panel="Study")
    ] = None,
    storage: StorageOpt = DEFAULT_STORAGE,
    tracking_uri: TrackingOpt = DEFAULT_TRACKING_URI,
    promote: Annotated[
        str | None,
        typer.Option(
            help="At the end, register the chosen point as a new version of this MLflow model (alias champion).",
            rich_help_panel="Storage",
        ),
    ] = None,
    heartbeat: HeartbeatOpt = 10,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the traceback of an unexpected error; works anywhere on the line, with any command.",
        ),
    ] = False,  # listed for --help only: mi_search's main() takes it out of the arguments before they are parsed
    *,
    overrides: Overrides,
) -> None:
    """Search λ for the Pareto front of accuracy against tokens under a budget (runs or continues a study)."""
    configure_process()  # the app's callback: runs once before any command, before torch loads
    if ctx.invoked_subcommand is not None:
        return
    from mi_search.cli.render import ConsoleObserver, front_table, print_table
    from mi_search.search.settings.request import StudyRequest
    from mi_search.service.runtime import Runtime
    from mi_search.service.study import run_study

    runtime = Runtime(storage=storage, tracking_uri=tracking_uri, heartbeat=heartbeat, out=out, promote=promote)
    with interrupted_hint(study):
        report = run_study(StudyRequest(study, overrides.settings, overrides.names), runtime, ConsoleObserver(console))
    print_table(console, front_table(report.result))
    if report.result.chosen is None:
        console.print("[yellow]no front point stays within the budget on the held-out questions[/yellow]")
    names = [path.name for path in report.files]  # lambda_profile.png too, for vector spaces
    console.print(f"wrote {report.folder}/{', '.join(names[:-1])} and {names[-1]}", soft_wrap=True, highlight=False)
    if report.promotion is not None:
        print_promotion(report.promotion)
    command = f"mi-search --study {report.result.name} --storage {storage} --trials 8"
    console.print("continue with:")
    console.print(command, soft_wrap=True, highlight=False)
    console.print(f"inspect the front in the MLflow UI: mi-search ui --tracking-uri {tracking_uri}", soft_wrap=True)


app.callback(invoke_without_command=True)(reports_user_errors(takes(STUDY_OPTIONS, TASK_OPTIONS, THINKING_OPTIONS, PAIR_OPTIONS, BACKEND_OPTIONS)(_search)))
app.command("search")(reports_user_errors(takes(STUDY_OPTIONS, TASK_OPTIONS, THINKING_OPTIONS, PAIR_OPTIONS, BACKEND_OPTIONS)(_search)))


@app.command()
@reports_user_errors
@takes(WORKER_OPTIONS, BACKEND_OPTIONS)
def worker(
    study: Annotated[str, typer.Option("--study", help="Name of a study started with `mi-search --study NAME`.")],
    storage: StorageOpt = DEFAULT_STORAGE,
    tracking_uri: TrackingOpt = DEFAULT_TRACKING_URI,
    heartbeat: HeartbeatOpt = 10,
    *,
    overrides: Overrides,
) -> None:
    """Join a study on shared storage and run trials for it (SQLite or a journal on one machine, PostgreSQL across)."""
    from mi_search.cli.render import ConsoleObserver
    from mi_search.service.runtime import Runtime
    from mi_search.service.study import run_worker

    with interrupted_hint(study):
        runtime = Runtime(storage=storage, tracking_uri=tracking_uri, heartbeat=heartbeat)
        run_worker(study, overrides.settings, runtime, ConsoleObserver(console), names=overrides.names)
    console.print("done; re-score the front and write the report with:")
    console.print(f"mi-search --study {study} --storage {storage} --trials 0", soft_wrap=True, highlight=False)


class _NoInterruptTraceback(logging.Filter):
    """Optuna logs a failed trial with its traceback, then its value; for Ctrl-C or SIGTERM that is
    31 frames of noise and a `failed with value None` line: the hint says all there is to say."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped: str | None = None  # the message prefix of the line that follows a dropped one

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt):
            self.dropped = record.getMessage().split(" failed with parameters")[0] + " failed with value"
            return False
        return not (self.dropped and record.getMessage().startswith(self.dropped))


@contextmanager
def interrupted_hint(study: str | None) -> Iterator[None]:
    """Ctrl-C (exit 130) or SIGTERM (exit 143) during a study: the running trial is failed, finished
    trials are kept; say how to go on, with no traceback."""
    optuna_log = logging.getLogger("optuna.study._optimize")  # the logger of Optuna's trial loop
    quiet = _NoInterruptTraceback()
    optuna_log.addFilter(quiet)
    with interrupts_at_safe_points():  # never inside a store call: a stranded SQLite lock made Ctrl-C take 60 s
        try:
            yield
        except KeyboardInterrupt as exc:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not break the way out
            again = f" with --study {study}" if study else ""
            what = "terminated" if isinstance(exc, Terminated) else "interrupted"
            typer.echo(f"{what}; finished trials are kept: run the same command{again} to go on", err=True)
            raise typer.Exit(143 if isinstance(exc, Terminated) else 130) from None
        finally:
            optuna_log.removeFilter(quiet)


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
) -> None:
    """Export a study's chosen point (or --trial N) and register it in the MLflow Model Registry."""
    from mi_search.service.runtime import Runtime
    from mi_search.service.study import promote_stored

    runtime = Runtime(storage=storage, tracking_uri=tracking_uri, alias=alias)
    with console.status(f"exporting the merge and registering it as {name}"):
        promotion = promote_stored(study, runtime, name=name, trial=trial, force=force)
    print_promotion(promotion)


def print_promotion(promotion: Any) -> None:
    version = promotion.version
    console.print(f"registered trial {promotion.trial} as {version.name} version {version.version}, alias @{version.alias}; load it with:")
    console.print(f"mlflow.pyfunc.load_model('{version.uri}')", soft_wrap=True, highlight=False)


@app.command()
@reports_user_errors
def ui(
    tracking_uri: TrackingOpt = DEFAULT_TRACKING_URI,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 5000,
) -> None:
    """Open the MLflow UI on the store the studies log to (http://127.0.0.1:PORT)."""
    import os
    import sys

    from mi_search.tracking.store import connect
    from mi_search.tracking.views import model_links, study_links

    server = f"http://127.0.0.1:{port}"
    client = connect(tracking_uri)
    links = study_links(client, server)
    console.print(f"MLflow UI for {tracking_uri} on {server} (Ctrl-C stops it)", soft_wrap=True, highlight=False)
    for study, pages in links:
        console.print(f"{study}:", highlight=False)
        for what, link in pages.items():
            console.print(f"  {what}: {link}", soft_wrap=True, highlight=False)
    for model, link in model_links(client, server):
        console.print(f"registered model {model}: {link}", soft_wrap=True, highlight=False)
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", tracking_uri]
    os.execve(sys.executable, [*command, "--host", "127.0.0.1", "--port", str(port)], server_environment(os.environ))


# A local UI for one user's studies: one uvicorn worker, and none of MLflow's job runners (a huey runner and
# seven consumers, each a process importing MLflow, for GenAI jobs a study never queues). Fifteen processes
# became two, and on 2 cores the UI answers /health in 15 s instead of 33 s (`python -m bench.ui_start`).
# Both stay the user's to set (MLflow reads these names from the environment).
UI_SERVER_DEFAULTS = {"MLFLOW_WORKERS": "1", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The MLflow server's environment: `UI_SERVER_DEFAULTS` where the user set nothing, and Starlette's warning
    silenced (MLflow imports a module Starlette 1.x marks deprecated, one warning per worker at start; nothing a
    user can act on, and it buries the printed links)."""
    quiet = "ignore:starlette.middleware.wsgi is deprecated:UserWarning"  # by message: -W cannot import a category
    given = environ.get("PYTHONWARNINGS")
    return {**UI_SERVER_DEFAULTS, **environ, "PYTHONWARNINGS": f"{given},{quiet}" if given else quiet}
