"""A λ sweep: merge in place at each λ, evaluate, label the stages."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from mi_search.atomic import atomic_directory
from mi_search.backends.base import Backend, Blender, DecodingParams
from mi_search.errors import UserError
from mi_search.evaluate import Evaluation, Scores, evaluate, gradable
from mi_search.scoring import Gold
from mi_search.spec import LambdaSpec
from mi_search.stages import StagePoint, label_stages
from mi_search.tasks.base import Question

CSV_COLUMNS = [
    "lambda",
    "accuracy",
    "pass_at_k",
    "vote_at_k",
    "mean_tokens",
    "think_ratio",
    "truncation_rate",
    "loose_accuracy",  # IFEval only; empty otherwise
    "k",
    "stage",
    "overthinking",
]


@dataclass(frozen=True)
class SweepRow:
    lam: float
    scores: Scores
    stage: int
    overthinking: bool


def parse_lambdas(text: str) -> list[float]:
    """`start:stop:step` (stop included) or a comma list such as `0,0.5,1`."""
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            count = round((stop - start) / step) + 1
            values = [round(start + i * step, 10) for i in range(count)]
        else:
            values = [float(x) for x in text.split(",")]
    except ValueError:
        raise UserError(
            f"cannot read --lambdas {text!r}; write start:stop:step like 0:1:0.05 or a list like 0,0.5,1"
        ) from None
    if not values:
        raise UserError("--lambdas is empty; give at least one λ")
    return values


def run_sweep(
    pair: Blender,
    backend: Backend,
    questions: list[Question],
    grader: Callable[[Question], Gold | None],
    lambdas: list[float],
    *,
    k: int,
    params: DecodingParams,
    on_point: Callable[[float, Scores], None] | None = None,
) -> tuple[list[SweepRow], list[Evaluation]]:
    """Evaluate every λ with one resident pair; nothing is reloaded between points."""
    questions, golds = gradable(questions, grader)
    evaluations = []
    for lam in lambdas:
        pair.merge(LambdaSpec(lam=lam))
        evaluation = evaluate(backend, questions, k=k, params=params, golds=golds)
        evaluations.append(evaluation)
        if on_point is not None:
            on_point(lam, evaluation.scores)
    labels = label_stages(
        [
            StagePoint(lam, e.scores.think_ratio, e.scores.accuracy, e.scores.mean_tokens)
            for lam, e in zip(lambdas, evaluations)
        ]
    )
    rows = [SweepRow(lam, e.scores, lab.stage, lab.overthinking) for lam, e, lab in zip(lambdas, evaluations, labels)]
    return rows, evaluations


def row_record(row: SweepRow) -> dict:
    scores = row.scores.as_dict()
    return {"lambda": row.lam, **scores, "stage": row.stage, "overthinking": str(row.overthinking).lower()}


def write_sweep(out: Path, rows: list[SweepRow], evaluations: list[Evaluation], *, overwrite: bool = False) -> Path:
    """`sweep.csv`, `samples.jsonl` and `stage_map.png`, all or nothing."""
    from mi_search.plots import plot_stage_map

    with atomic_directory(out, overwrite=overwrite) as staging:
        with open(staging / "sweep.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(row_record(r) for r in rows)
        with open(staging / "samples.jsonl", "w") as handle:
            handle.writelines(
                json.dumps({"lambda": row.lam, **asdict(sample)}) + "\n"
                for row, evaluation in zip(rows, evaluations)
                for question in evaluation.samples
                for sample in question
            )
        plot_stage_map(
            [(r.lam, r.scores.accuracy, r.scores.think_ratio, r.scores.mean_tokens, r.stage) for r in rows],
            staging / "stage_map.png",
        )
    return out
