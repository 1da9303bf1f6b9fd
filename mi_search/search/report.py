"""The study folder: pareto.json, trials.csv, pareto.png and stage_map.png, replaced together as one unit."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from mi_search.atomic import atomic_directory
from mi_search.errors import UserError
from mi_search.evaluation.scores import SCORE_NAMES
from mi_search.search.results import StudyResult
from mi_search.search.trials import TrialRecord

REPORT_FILES = ("pareto.json", "trials.csv", "pareto.png", "stage_map.png")


def point_record(record: TrialRecord, result: StudyResult) -> dict[str, Any]:
    holdout = record.holdout or {}
    return {
        "trial": record.number,
        "params": record.params,
        "mean_lambda": record.mean_lambda,
        "objective": record.accuracy,
        **{name: record.scores.get(name) for name in SCORE_NAMES},  # None where a task lacks one
        "stage": record.stage,
        "overthinking": record.overthinking,
        "feasible": record.feasible,
        "questions": record.questions,
        "holdout_accuracy": holdout.get("accuracy"),
        "holdout_objective": holdout.get("objective"),
        "holdout_mean_tokens": holdout.get("mean_tokens"),
        "holdout_think_ratio": holdout.get("think_ratio"),
        "chosen": record.number == result.chosen,
        "mlflow_run_id": record.run_id,
    }


def pareto_document(result: StudyResult, extra: dict[str, Any]) -> dict[str, Any]:
    """What `pareto.json` holds: the study, its budget and hypervolume, the chosen trial, the front's points."""
    return {
        "study": result.name,
        "budget": result.budget,
        "hypervolume": result.hypervolume,
        "chosen": result.chosen,
        **extra,
        "points": [point_record(result.record(n), result) for n in result.front],
    }


def trials_table(result: StudyResult) -> str:
    """Every finished trial, one CSV row each, its parameters as columns."""
    param_names = sorted({name for r in result.records for name in r.params})
    columns = [
        "trial",
        *param_names,
        "mean_lambda",
        *SCORE_NAMES,
        "questions",
        "full",
        "feasible",
        "on_front",
        "stage",
        "overthinking",
        "generated_tokens",
        "holdout_accuracy",
        "holdout_mean_tokens",
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in result.records:
        holdout = r.holdout or {}
        writer.writerow(
            {
                "trial": r.number,
                **r.params,
                "mean_lambda": r.mean_lambda,
                **{name: r.scores.get(name) for name in SCORE_NAMES},
                "questions": r.questions,
                "full": r.full,
                "feasible": r.feasible,
                "on_front": r.number in result.front,
                "stage": r.stage,
                "overthinking": r.overthinking,
                "generated_tokens": r.generated_tokens,
                "holdout_accuracy": holdout.get("accuracy", ""),
                "holdout_mean_tokens": holdout.get("mean_tokens", ""),
            }
        )
    return out.getvalue()


def write_report(out: Path, result: StudyResult, extra: dict[str, Any]) -> list[Path]:
    """Write (or replace) the study folder as one unit; returns its files' paths.

    The files are made in a staging folder that is then swapped in: a kill leaves the old folder
    whole, and a rerun never leaves new files beside old plots.
    """
    from mi_search.plots.pareto import plot_pareto
    from mi_search.plots.stage_map import plot_stage_map

    with atomic_directory(out, overwrite=True) as staging:
        (staging / "pareto.json").write_text(json.dumps(pareto_document(result, extra), indent=2) + "\n")
        (staging / "trials.csv").write_text(trials_table(result))
        plot_pareto(result, staging / "pareto.png")
        full = [r for r in result.records if r.full]
        plot_stage_map(
            [(r.mean_lambda, r.accuracy, r.scores["think_ratio"], r.mean_tokens, r.stage) for r in full],
            staging / "stage_map.png",
            xlabel="mean λ over all weights (0 = Instruct, 1 = Thinking)",
        )
    return [out / name for name in REPORT_FILES]


def check_report_folder(out: Path) -> None:
    """Refuse, before any trial runs, a study folder that cannot be written or replaced as a whole."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; pass a folder for the study's report")
    if out.is_dir() and (other := sorted(p.name for p in out.iterdir() if p.name not in REPORT_FILES)):
        raise UserError(
            f"--out {out} holds files that are not a study report ({', '.join(other[:3])}); "
            "the report replaces the folder whole: pass an empty or new folder"
        )
    parent = next((p for p in out.absolute().parents if p.exists()), Path("/"))  # the swap renames in here
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"cannot write the study folder {out}: {parent} is not writable; pass --out a writable folder")
