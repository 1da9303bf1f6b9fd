"""A λ sweep as one library call: merge in place at each λ of a grid, evaluate, label the stages, write the folder.

A sweep is configured through the same typed pieces as a study (pair, task, decoding, backend), so a
bad value gets the same message from a flag, a file or a study.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mi_search.atomic import atomic_directory, check_out_folder
from mi_search.backends.base import Backend
from mi_search.backends.load import load_backend
from mi_search.backends.settings import BackendSettings, HFSettings, read_shorthand
from mi_search.errors import UserError
from mi_search.evaluation.decoding import DecodingOverrides, DecodingParams, SampleCount
from mi_search.evaluation.evaluate import Evaluation, evaluate, gradable, write_samples
from mi_search.evaluation.grading import Gold
from mi_search.evaluation.scores import SCORE_NAMES, Scores
from mi_search.evaluation.stages import StagePoint, label_stages
from mi_search.merge.pair import PairConfig
from mi_search.merge.spec import LambdaSpec
from mi_search.evaluation.samples import Question
from mi_search.tasks.config import TaskConfig
from mi_search.tasks.registry import load_task
from mi_search.search.report.results import PairedComparison
from mi_search.search.statistics.outcomes import QuestionOutcome, outcomes_from_samples
from mi_search.service.pair import resolve_pair
from mi_search.yaml_config import validate

CSV_COLUMNS = ["lambda", *SCORE_NAMES, "k", "stage", "overthinking"]
MAX_POINTS = 10_000  # a grid past this is a typo (a step of 1e-9), not a sweep


def parse_lambdas(text: str) -> list[float]:
    """`start:stop:step` (stop included) or a comma list such as `0,0.5,1`; at most MAX_POINTS values."""
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if not all(math.isfinite(x) for x in (start, stop, step)) or step <= 0 or stop < start:
                raise ValueError
            count = round((stop - start) / step) + 1
            if count > MAX_POINTS:
                raise UserError(f"--lambdas {text} has {count} points; use at most {MAX_POINTS} (a larger step)")
            values = [round(start + i * step, 10) for i in range(count)]
        else:
            values = [float(x) for x in text.split(",")]
    except ValueError:
        raise UserError(
            f"cannot read --lambdas {text!r}; write start:stop:step like 0:1:0.05 or a list like 0,0.5,1"
        ) from None
    if len(values) > MAX_POINTS:
        raise UserError(f"--lambdas lists {len(values)} points; use at most {MAX_POINTS}")
    return values


class SweepConfig(BaseModel):
    """A grid of global λ, scored on a task with a pair on one backend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lambdas: tuple[float, ...] = Field(tuple(parse_lambdas("0:1:0.05")), description="the grid of global λ")
    allow_extrapolation: bool = Field(False, description="allow λ outside [0, 1]")
    pair: PairConfig = PairConfig()
    task: TaskConfig = TaskConfig(pool=None)
    decoding: DecodingOverrides = DecodingOverrides()
    k: SampleCount = 1
    backend: Annotated[BackendSettings, Field(description="hf or vllm, with their settings")] = HFSettings()

    @field_validator("lambdas", mode="before")
    @classmethod
    def _read_lambdas(cls, value: Any) -> Any:
        return parse_lambdas(value) if isinstance(value, str) else value

    @field_validator("backend", mode="before")
    @classmethod
    def _read_backend(cls, value: Any) -> Any:
        return read_shorthand(value)


def sweep_config(settings: dict[str, Any], *, names: dict[str, str] | None = None) -> SweepConfig:
    """The sweep `settings` describe; `names` says how the user spelled each key (a flag), for errors."""
    config = validate(SweepConfig, settings, source="the command line", names=names)
    for lam in config.lambdas:
        LambdaSpec(lam=lam).check_range(allow_extrapolation=config.allow_extrapolation)
    return config


@dataclass(frozen=True)
class SweepRow:
    lam: float
    scores: Scores
    stage: int
    overthinking: bool


@dataclass(frozen=True)
class SweepResult:
    name: str  # the task's
    questions: int  # gradable questions scored at every λ
    skipped: int  # questions whose gold answer cannot be graded
    rows: list[SweepRow]


def run_sweep_config(
    config: SweepConfig,
    out: Path,
    *,
    overwrite: bool = False,
    step: Callable[[str], AbstractContextManager[object]] = lambda message: nullcontext(),
    on_point: Callable[[float, Scores], None] | None = None,
    on_scoring: Callable[[], None] | None = None,
) -> SweepResult:
    """Check the task and the pair, load the pair once, score every λ, write `out` all or nothing.

    `on_scoring` is called once the pair is loaded, as the first λ starts: a display shows its bar from then.
    """
    check_out_folder(out, overwrite=overwrite)
    setup = load_task(config.task)
    with step("checking the model pair"):  # from configs and tokenizer files, before any weight moves
        pair = resolve_pair(config.pair, config.backend)
    with step(f"loading the model pair ({config.backend.kind})"):
        backend = load_backend(pair, config.backend)
    params = config.decoding.apply(setup.decoding)
    questions, golds = gradable(setup.questions, setup.grader)
    if on_scoring is not None:
        on_scoring()
    rows, evaluations = run_sweep(backend, questions, golds, list(config.lambdas), k=config.k, params=params, on_point=on_point)
    write_sweep(out, rows, evaluations, overwrite=overwrite)
    return SweepResult(setup.name, len(questions), len(setup.questions) - len(questions), rows)


def run_sweep(
    backend: Backend,
    questions: list[Question],
    golds: list[Gold],
    lambdas: list[float],
    *,
    k: int,
    params: DecodingParams,
    on_point: Callable[[float, Scores], None] | None = None,
) -> tuple[list[SweepRow], list[Evaluation]]:
    """Evaluate every λ with one resident pair; nothing is reloaded between points."""
    evaluations = []
    for lam in lambdas:
        backend.merge(LambdaSpec(lam=lam))
        evaluation = evaluate(backend, questions, k=k, params=params, golds=golds)
        evaluations.append(evaluation)
        if on_point is not None:
            on_point(lam, evaluation.scores)
    outcomes = [tuple(outcomes_from_samples(e.samples)) for e in evaluations]
    rows = label_rows(lambdas, [e.scores for e in evaluations], outcomes)
    return rows, evaluations


def label_rows(lambdas: list[float], scores: list[Scores], outcomes: list[tuple[QuestionOutcome, ...]]) -> list[SweepRow]:
    """Each λ's scores with its stage, judged paired on the questions as a study judges its trials:
    no stage boundary or overthinking flag from one question's noise."""
    points = [
        StagePoint(lam, s.think_ratio, s.accuracy, s.mean_tokens, per_question)
        for lam, s, per_question in zip(lambdas, scores, outcomes)
    ]
    labels = label_stages(points, PairedComparison())
    return [SweepRow(lam, s, lab.stage, lab.overthinking) for lam, s, lab in zip(lambdas, scores, labels)]


def row_record(row: SweepRow) -> dict:
    scores = row.scores.as_dict()
    return {"lambda": row.lam, **scores, "stage": row.stage, "overthinking": str(row.overthinking).lower()}


def write_sweep(out: Path, rows: list[SweepRow], evaluations: list[Evaluation], *, overwrite: bool = False) -> Path:
    """`sweep.csv`, `samples.jsonl` and `stage_map.png`, all or nothing."""
    from mi_search.plots.stage_map import plot_stage_map

    with atomic_directory(out, overwrite=overwrite) as staging:
        with open(staging / "sweep.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(row_record(r) for r in rows)
        write_samples(staging / "samples.jsonl", [({"lambda": row.lam}, e) for row, e in zip(rows, evaluations)])
        plot_stage_map(
            [(r.lam, r.scores.accuracy, r.scores.think_ratio, r.scores.mean_tokens, r.stage) for r in rows],
            staging / "stage_map.png",
        )
    return out
