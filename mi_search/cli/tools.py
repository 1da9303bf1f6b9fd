"""Commands outside a study: merge, sweep, label, and the bundled toy pair."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mi_search.cli.app import app, console, reports_user_errors, toy_app
from mi_search.cli.options import (
    BackendOpt,
    DataFileOpt,
    DeviceOpt,
    DtypeOpt,
    InstructOpt,
    OverwriteOpt,
    PairOpt,
    RemoteCodeOpt,
    TaskOpt,
    ThinkingOpt,
    VLLMSourcesOpt,
)
from mi_search.errors import UserError


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
