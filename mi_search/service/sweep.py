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
from mi_search.backends.thinking import check_thinking
from mi_search.yaml_config import validate

CSV_COLUMNS = ["lambda", "thinking_budget", *SCORE_NAMES, "k", "stage", "overthinking"]
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


def parse_budgets(text: str) -> list[int | None]:
    """`4,16,none`: thinking budgets in tokens, `none` for no limit."""
    values: list[int | None] = []
    for part in text.split(","):
        word = part.strip().lower()
        try:
            values.append(None if word in ("none", "null") else int(word))
        except ValueError:
            raise UserError(f"cannot read --thinking-budgets {text!r}; write token counts and `none`, like 4,16,none") from None
    if any(v is not None and v <= 0 for v in values) or len(set(values)) != len(values):
        raise UserError(f"--thinking-budgets {text} needs distinct budgets of at least 1 token (or none), like 4,16,none")
    return values


class SweepConfig(BaseModel):
    """A grid of global λ, scored on a task with a pair on one backend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lambdas: tuple[float, ...] = Field(tuple(parse_lambdas("0:1:0.05")), description="the grid of global λ")
    allow_extrapolation: bool = Field(False, description="allow λ outside [0, 1]")
    thinking_budgets: tuple[int | None, ...] | None = Field(
        None, description="thinking budgets crossed with the λ grid (None: no limit); default: the decoding's one"
    )
    pair: PairConfig = PairConfig()
    task: TaskConfig = TaskConfig(pool=None)
    decoding: DecodingOverrides = DecodingOverrides()
    k: SampleCount = 1
    backend: Annotated[BackendSettings, Field(description="hf or vllm, with their settings")] = HFSettings()

    @field_validator("lambdas", mode="before")
    @classmethod
    def _read_lambdas(cls, value: Any) -> Any:
        return parse_lambdas(value) if isinstance(value, str) else value

    @field_validator("thinking_budgets", mode="before")
    @classmethod
    def _read_budgets(cls, value: Any) -> Any:
        return parse_budgets(value) if isinstance(value, str) else value

    @property
    def budgets(self) -> tuple[int | None, ...]:
        """The thinking budgets each λ is scored under, in order."""
        return self.thinking_budgets or (self.decoding.thinking_budget,)

    @field_validator("backend", mode="before")
    @classmethod
    def _read_backend(cls, value: Any) -> Any:
        return read_shorthand(value)


def sweep_config(settings: dict[str, Any], *, names: dict[str, str] | None = None) -> SweepConfig:
    """The sweep `settings` describe; `names` says how the user spelled each key (a flag), for errors."""
    config = validate(SweepConfig, settings, source="the command line", names=names)
    for lam in config.lambdas:
        LambdaSpec(lam=lam).check_range(allow_extrapolation=config.allow_extrapolation)
    if config.thinking_budgets is not None and config.decoding.thinking_budget is not None:
        raise UserError("give either --thinking-budget or --thinking-budgets, not both")
    return config


@dataclass(frozen=True)
class SweepRow:
    lam: float
    scores: Scores
    stage: int  # labelled among the rows of its thinking budget
    overthinking: bool
    budget: int | None = None  # the thinking budget it was scored under


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
    params = config.decoding.apply(setup.decoding)
    for budget in config.budgets:  # before any weight loads
        check_thinking(params.model_copy(update={"thinking_budget": budget}), None, pair.template_dir)
    with step(f"loading the model pair ({config.backend.kind})"):
        backend = load_backend(pair, config.backend)
    questions, golds = gradable(setup.questions, setup.grader)
    if on_scoring is not None:
        on_scoring()
    rows, evaluations = run_sweep(
        backend, questions, golds, list(config.lambdas), k=config.k, params=params, budgets=config.budgets, on_point=on_point
    )
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
    budgets: tuple[int | None, ...] | None = None,
    on_point: Callable[[float, Scores], None] | None = None,
) -> tuple[list[SweepRow], list[Evaluation]]:
    """Evaluate every λ under every thinking budget with one resident pair (merged once per λ); rows λ-major.

    Every budget scores the same questions with the same seeds, so rows are paired across budgets as across λ.
    Stages are labelled per budget, each budget's rows a sweep of their own.
    """
    budgets = budgets if budgets is not None else (params.thinking_budget,)
    points: list[tuple[float, int | None, Evaluation]] = []
    for lam in lambdas:
        backend.merge(LambdaSpec(lam=lam))
        for budget in budgets:
            capped = params.model_copy(update={"thinking_budget": budget})
            evaluation = evaluate(backend, questions, k=k, params=capped, golds=golds)
            points.append((lam, budget, evaluation))
            if on_point is not None:
                on_point(lam, evaluation.scores)
    rows: dict[int, SweepRow] = {}
    for budget in budgets:
        series = [i for i, (_, b, _) in enumerate(points) if b == budget]
        labelled = label_rows(
            [points[i][0] for i in series],
            [points[i][2].scores for i in series],
            [tuple(outcomes_from_samples(points[i][2].samples)) for i in series],
            budget,
        )
        rows.update(zip(series, labelled))
    return [rows[i] for i in range(len(points))], [e for _, _, e in points]


def label_rows(
    lambdas: list[float],
    scores: list[Scores],
    outcomes: list[tuple[QuestionOutcome, ...]],
    budget: int | None = None,
) -> list[SweepRow]:
    """Each λ's scores with its stage, judged paired on the questions as a study judges its trials:
    no stage boundary or overthinking flag from one question's noise."""
    points = [
        StagePoint(lam, s.think_ratio, s.accuracy, s.mean_tokens, per_question)
        for lam, s, per_question in zip(lambdas, scores, outcomes)
    ]
    labels = label_stages(points, PairedComparison())
    return [SweepRow(lam, s, lab.stage, lab.overthinking, budget) for lam, s, lab in zip(lambdas, scores, labels)]


def row_record(row: SweepRow) -> dict:
    scores = row.scores.as_dict()
    return {"lambda": row.lam, "thinking_budget": row.budget, **scores, "stage": row.stage, "overthinking": str(row.overthinking).lower()}


def write_sweep(out: Path, rows: list[SweepRow], evaluations: list[Evaluation], *, overwrite: bool = False) -> Path:
    """`sweep.csv`, `samples.jsonl` and `stage_map.png`, all or nothing."""
    from mi_search.plots.stage_map import plot_stage_map

    with atomic_directory(out, overwrite=overwrite) as staging:
        with open(staging / "sweep.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(row_record(r) for r in rows)
        context = [({"lambda": row.lam, "thinking_budget": row.budget}, e) for row, e in zip(rows, evaluations)]
        write_samples(staging / "samples.jsonl", context)
        first = rows[0].budget if rows else None  # the map draws one budget's λ series: the first given
        plot_stage_map(
            [(r.lam, r.scores.accuracy, r.scores.think_ratio, r.scores.mean_tokens, r.stage) for r in rows if r.budget == first],
            staging / "stage_map.png",
        )
    return out
