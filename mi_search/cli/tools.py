"""Commands outside a study: merge, sweep, label, and the bundled toy pair. They parse, call, render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mi_search.cli.app import app, console, reports_user_errors, toy_app
from mi_search.cli.options import (
    BACKEND_OPTIONS,
    PAIR_OPTIONS,
    TASK_OPTIONS,
    THINKING_OPTIONS,
    OptionGroup,
    Overrides,
    OverwriteOpt,
    StorageOpt,
    flag,
    takes,
)
from mi_search.cli.render import print_table
from mi_search.errors import UserError
from mi_search.search.store.locations import DEFAULT_STORAGE

SWEEP_OPTIONS: OptionGroup = {
    "lambdas": flag(
        "lambdas",
        str,
        typer.Option(
            "--lambdas", help="start:stop:step (stop included) or a list like 0,0.5,1 (default: 0:1:0.05)", show_default=False
        ),
    ),
    "thinking_budgets": flag(
        "thinking_budgets",
        str,
        typer.Option(
            "--thinking-budgets",
            help="Thinking budgets crossed with --lambdas, `none` for no limit: e.g. 4,16,none.",
            rich_help_panel="Decoding",
        ),
    ),
    "allow_extrapolation": flag(
        "allow_extrapolation", bool, typer.Option("--allow-extrapolation", help="Allow λ outside [0, 1].")
    ),
    "data": flag(
        "task.data",
        str,
        typer.Option(
            "--data", help="A JSONL/JSON/CSV/parquet file or `datasets` id with question and answer columns.", rich_help_panel="Task"
        ),
    ),
    "question_column": flag(
        "task.question_column",
        str,
        typer.Option("--question-column", help="Question column of --data (default: question).", rich_help_panel="Task"),
    ),
    "answer_column": flag(
        "task.answer_column",
        str,
        typer.Option("--answer-column", help="Answer column of --data (default: answer).", rich_help_panel="Task"),
    ),
    "split": flag("task.split", str, typer.Option("--split", help="Dataset split when --data is a dataset id.", rich_help_panel="Task")),
    "limit": flag(
        "task.pool", int, typer.Option("--limit", min=2, help="Questions to use (toy default: 200).", rich_help_panel="Task")
    ),
    "k": flag("k", int, typer.Option("--k", min=1, help="Samples per question.", rich_help_panel="Decoding")),
    "temperature": flag(
        "decoding.temperature",
        float,
        typer.Option("--temperature", min=0.0, help="0 is greedy. Default: the task's.", rich_help_panel="Decoding"),
    ),
    "top_p": flag("decoding.top_p", float, typer.Option("--top-p", min=0.0, max=1.0, rich_help_panel="Decoding")),
    "max_new_tokens": flag("decoding.max_new_tokens", int, typer.Option("--max-new-tokens", min=1, rich_help_panel="Decoding")),
    "decoding_seed": flag(
        "decoding.seed",
        int,
        typer.Option("--decoding-seed", help="Seed of every sample (default: the task's).", rich_help_panel="Decoding"),
    ),
}


@app.command()
@reports_user_errors
@takes(PAIR_OPTIONS)
def merge(
    out: Annotated[Path, typer.Option(help="Directory to write the merged HF checkpoint to.")],
    lam: Annotated[float | None, typer.Option("--lam", help="Global λ: 0 is Instruct, 1 is Thinking.")] = None,
    lam_attn: Annotated[float | None, typer.Option("--lam-attn", help="λ for attention weights.")] = None,
    lam_mlp: Annotated[float | None, typer.Option("--lam-mlp", help="λ for MLP (FFN) weights.")] = None,
    spec: Annotated[Path | None, typer.Option(help="YAML λ spec: lam, modules, blocks.")] = None,
    allow_extrapolation: Annotated[bool, typer.Option("--allow-extrapolation", help="Allow λ outside [0, 1].")] = False,
    overwrite: OverwriteOpt = False,
    *,
    overrides: Overrides,
) -> None:
    """Write the interpolated model at one λ specification as an HF checkpoint, streamed from the two sources."""
    from mi_search.merge.pair import PairConfig
    from mi_search.merge.spec import LambdaSpec, load_spec
    from mi_search.service.pair import export_merge
    from mi_search.yaml_config import validate

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
    given = overrides.under("pair")
    pair = validate(PairConfig, given.settings, source="the command line", names=given.names)
    with console.status(f"merging {lambda_spec.describe()} and writing {out}"):
        export_merge(pair, lambda_spec, out, overwrite=overwrite)
    console.print(f"wrote {out} ({lambda_spec.describe()})")


@app.command()
@reports_user_errors
@takes(SWEEP_OPTIONS, TASK_OPTIONS, THINKING_OPTIONS, PAIR_OPTIONS, BACKEND_OPTIONS)
def sweep(
    out: Annotated[Path, typer.Option(help="Directory for sweep.csv, samples.jsonl and stage_map.png.")],
    overwrite: OverwriteOpt = False,
    study: Annotated[
        str | None,
        typer.Option(
            "--study",
            help="Sweep a stored study's own search questions with its pair, decoding and backend; the points "
            "go into the storage's evaluation store, so that study and others with its measurement take them.",
            rich_help_panel="Storage",
        ),
    ] = None,
    storage: StorageOpt = DEFAULT_STORAGE,
    *,
    overrides: Overrides,
) -> None:
    """Evaluate a grid of global λ and label each point with its stage."""
    from mi_search.service.study_sweep import run_study_sweep
    from mi_search.service.sweep import run_sweep_config, sweep_config

    if study is not None:
        others = [name for key, name in overrides.names.items() if key != "lambdas"]
        if others:
            raise UserError(
                f"--study sweeps with the study's own task, pair, decoding and backend; drop {', '.join(sorted(others))}"
            )
    config = sweep_config(overrides.settings, names=overrides.names)
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    bar = progress.add_task(f"sweep × {config.k} samples", total=len(config.lambdas) * len(config.budgets))

    def on_point(lam: float, scores: Any) -> None:
        if not progress.live.is_started:
            progress.start()
        point = f"λ={lam:.2f} acc={scores.accuracy:.3f} tokens={scores.mean_tokens:.1f}"
        progress.update(bar, advance=1, description=point)

    taken = None
    try:  # the bar shows once scoring starts: input refused while loading ends as its one line alone
        if study is not None:
            result, taken = run_study_sweep(
                storage, study, list(config.lambdas), out, overwrite=overwrite, step=console.status, on_point=on_point
            )
        else:
            result = run_sweep_config(
                config, out, overwrite=overwrite, step=console.status, on_point=on_point, on_scoring=progress.start
            )
    finally:
        if progress.live.is_started:
            progress.stop()
    if taken:
        console.print(f"{taken} of {len(config.lambdas)} points were read from the evaluation store, not generated")
    if result.skipped:
        console.print(f"[yellow]skipped {result.skipped} questions whose gold answer cannot be graded[/yellow]")
    k = result.rows[0].scores.k if result.rows else config.k  # a study's sweep samples the study's k
    table = Table(title=f"{result.name}: {result.questions} questions × {k} samples")
    budgeted = config.budgets != (None,)
    columns = ("λ", *(("thinking budget", "forced close") if budgeted else ()), "accuracy", f"Pass@{k}", "mean tokens", "Think #R", "stage")
    for column in columns:
        table.add_column(column, justify="right")
    for row in result.rows:
        s = row.scores
        stage = f"{row.stage}{' overthinking' if row.overthinking else ''}"
        budget = ("none" if row.budget is None else str(row.budget), f"{s.forced_close_rate or 0.0:.2f}") if budgeted else ()
        table.add_row(f"{row.lam:.2f}", *budget, f"{s.accuracy:.3f}", f"{s.pass_at_k:.3f}", f"{s.mean_tokens:.1f}", f"{s.think_ratio:.2f}", stage)
    print_table(console, table)
    console.print(f"wrote {out}/sweep.csv, {out}/samples.jsonl and {out}/stage_map.png")


@app.command()
@reports_user_errors
def label(
    file: Annotated[
        Path, typer.Argument(help="CSV with columns lambda,think_ratio and optionally accuracy,mean_tokens.")
    ],
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out file.")] = False,
) -> None:
    """Add `stage` and `overthinking` columns to a sweep made with any tool (a study's trials.csv too)."""
    from mi_search.atomic import atomic_write_text, check_writable
    from mi_search.service.label import label_csv
    from mi_search.yaml_config import read_text

    if out is not None:
        if out.is_dir():
            raise UserError(f"--out {out} is a folder; give a file path such as {out / 'labelled.csv'}")
        if out.exists() and not force:
            raise UserError(f"--out {out} already exists; pass --force to replace it or choose another path")
        if not out.parent.is_dir():
            raise UserError(f"{out.parent} does not exist; create it or choose another --out")
        check_writable(out)
    labelled = label_csv(read_text(file, "CSV file", "CSV"))
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

    overrides = {"seed": seed, "base_steps": base_steps, "specialist_steps": specialist_steps, "threads": threads}
    recipe = BuildRecipe(**{name: value for name, value in overrides.items() if value is not None})
    instruct_dir, thinking_dir = build_pair(out, recipe)
    console.print(f"wrote {instruct_dir} and {thinking_dir}")
