"""The study folder: pareto.json, trials.csv, pareto.png and stage_map.png, replaced together as one unit."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mi_search.atomic import atomic_directory, check_out_folder
from mi_search.errors import UserError
from mi_search.evaluation.scores import SCORE_NAMES
from mi_search.search.report.results import StudyResult
from mi_search.search.settings.space import module_groups, vector_groups, vector_summary
from mi_search.trial_row import INTERVAL_NAMES, Span, TrialRow

REPORT_FILES = ("pareto.json", "trials.csv", "pareto.png", "stage_map.png")
PROFILE_FILE = "lambda_profile.png"  # vector spaces only: the chosen point's λ against depth
BUDGET_FILE = "blend_and_cap.png"  # spaces searching λ and the thinking budget (`plots.budget_map`)


def _interval(span: Span | None) -> dict[str, float] | None:
    return {"low": span.low, "high": span.high, "n": span.n} if span is not None and span.finite else None


def point_record(row: TrialRow, thinking_budget: int | None = None) -> dict[str, Any]:
    """One front point as pareto.json lists it; `thinking_budget`: the study's, where its space does not search one."""
    holdout = row.holdout or {}
    return {
        "trial": row.trial,
        "params": row.params,
        "thinking_budget": row.params.get("thinking_budget", thinking_budget),
        "lambda_summary": vector_summary(row.params) or None,  # per module: mean and early/middle/late
        "mean_lambda": row.mean_lambda,
        "objective": row.objective,
        **{name: row.scores.get(name) for name in SCORE_NAMES},  # None where a task lacks one
        "stage": row.stage,
        "overthinking": row.overthinking,
        "feasible": row.feasible,
        "questions": row.questions,
        "holdout_accuracy": holdout.get("accuracy"),
        "holdout_objective": holdout.get("objective"),
        "holdout_mean_tokens": holdout.get("mean_tokens"),
        "holdout_think_ratio": holdout.get("think_ratio"),
        # two-sided t intervals over questions at `level`; objective: the study's accuracy objective
        "intervals": {"level": row.level, **{name: _interval(row.interval(name)) for name in INTERVAL_NAMES}},
        "chosen": row.chosen,
        "mlflow_run_id": row.run_id,
    }


def pareto_document(result: StudyResult, extra: dict[str, Any]) -> dict[str, Any]:
    """What `pareto.json` holds: the study, its budget and hypervolume, the chosen trial, the front's points."""
    return {
        "study": result.name,
        "budget": result.budget,
        "hypervolume": result.hypervolume,
        "chosen": result.chosen,
        "choice": result.choice.as_dict() if result.choice else None,
        **extra,
        "points": [point_record(result.row(n), extra.get("thinking_budget")) for n in result.front],
    }


def trials_table(rows: Sequence[TrialRow], thinking_budget: int | None = None) -> str:
    """Every finished trial, one CSV row each, its parameters as columns; `thinking_budget` as in `point_record`."""
    param_names = sorted({name for r in rows for name in r.params} - {"thinking_budget"})
    columns = [
        "trial",
        *param_names,
        "thinking_budget",
        "mean_lambda",
        *SCORE_NAMES,
        "questions",
        "full",
        "feasible",
        "on_front",
        "stage",
        "overthinking",
        "generated_tokens",
        "reused",
        "holdout_accuracy",
        "holdout_mean_tokens",
        "stopped",
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        holdout = r.holdout or {}
        writer.writerow(
            {
                "trial": r.trial,
                **r.params,
                "thinking_budget": r.params.get("thinking_budget", thinking_budget),
                "mean_lambda": r.mean_lambda,
                **{name: r.scores.get(name) for name in SCORE_NAMES},
                "questions": r.questions,
                "full": r.full,
                "feasible": r.feasible,
                "on_front": r.on_front,
                "stage": r.stage,
                "overthinking": r.overthinking,
                "generated_tokens": r.generated_tokens,
                "reused": r.reused_from or "",
                "holdout_accuracy": holdout.get("accuracy", ""),
                "holdout_mean_tokens": holdout.get("mean_tokens", ""),
                "stopped": r.stopped,
            }
        )
    return out.getvalue()


def write_report(out: Path, result: StudyResult, extra: dict[str, Any]) -> list[Path]:
    """Write (or replace) the study folder as one unit; returns its files' paths.

    The files are made in a staging folder that is then swapped in: a kill leaves the old folder
    whole, and a rerun never leaves new files beside old plots. `stage_map.png` draws every finished
    trial, those stopped early hollow; a vector space's chosen point also gets `lambda_profile.png`.
    """
    from mi_search.plots.budget_map import plot_budget_map, searches_both
    from mi_search.plots.lambda_profile import plot_lambda_profile
    from mi_search.plots.pareto import plot_pareto
    from mi_search.plots.stage_map import plot_stage_map, trial_points

    with atomic_directory(out, overwrite=True) as staging:
        (staging / "pareto.json").write_text(json.dumps(pareto_document(result, extra), indent=2) + "\n")
        (staging / "trials.csv").write_text(trials_table(result.rows, extra.get("thinking_budget")))
        title = f"{result.name}: {len(result.rows)} trials, hypervolume {result.hypervolume:.3f}"
        plot_pareto(result.rows, staging / "pareto.png", title=title, budget=result.budget)
        distinct = [r for r in result.rows if r.repeat_of is None]  # stopped early: drawn hollow
        scalar = all(set(r.params) == {"lam"} for r in result.rows)  # one λ, nothing else searched
        plot_stage_map(
            trial_points(distinct),
            staging / "stage_map.png",
            xlabel="λ (0 = Instruct, 1 = Thinking)" if scalar else "mean λ over all weights (0 = Instruct, 1 = Thinking)",
            title=f"{result.name}: accuracy, thinking and length of every trial against "
            + ("λ" if scalar else "its mean λ"),
            joined=scalar,
        )
        files = [out / name for name in REPORT_FILES]
        params = result.row(result.chosen).params if result.chosen is not None else {}
        groups = vector_groups(params) or module_groups(params)
        if groups:  # a vector space's chosen point: its λ per module against depth
            title = f"chosen point (trial {result.chosen}): λ per module against depth"
            title += "" if vector_groups(params) else "\n(a modules space: each λ holds at every depth)"
            plot_lambda_profile(groups, staging / PROFILE_FILE, title=title)
            files.append(out / PROFILE_FILE)
        if searches_both(distinct):  # λ and the thinking budget: blend, cap, or both
            plot_budget_map(distinct, staging / BUDGET_FILE, title=f"{result.name}: λ and thinking budget searched together")
            files.append(out / BUDGET_FILE)
    return files


def check_report_folder(out: Path, study: str | None = None) -> None:
    """Refuse, before any trial runs, a study folder that cannot be written or replaced as a whole.

    `study` names the study writing it: another study's report there is refused, not replaced.
    """
    out = Path(out)
    check_report_place(out, study)
    check_out_folder(out, overwrite=True)  # an earlier report is replaced; a file or an unwritable place is not
    if out.is_dir() and (other := sorted(p.name for p in out.iterdir() if p.name not in (*REPORT_FILES, PROFILE_FILE, BUDGET_FILE))):
        raise UserError(
            f"--out {out} holds files that are not a study report ({', '.join(other[:3])}); "
            "the report replaces the folder whole: pass an empty or new folder"
        )


def check_report_place(out: Path, study: str | None) -> None:
    """The report folder is replaced whole: not the current folder or one above it, not one that holds
    another study's report, not one we cannot write into (an immutable folder passes a check of its parent)."""
    here = Path.cwd()
    if out.name in ("", ".", "..") or out.resolve() in (here, *here.parents):
        raise UserError(
            f"--out {str(out)!r} names the current folder or one above it; the report replaces its folder whole: "
            "pass a new folder, e.g. --out runs/NAME"
        )
    if not out.is_dir():
        return
    earlier = out / "pareto.json"
    if study is not None and earlier.is_file():
        try:
            owner = json.loads(earlier.read_text(encoding="utf-8")).get("study")
        except (OSError, ValueError, AttributeError):
            owner = None
        if owner is not None and owner != study:
            raise UserError(
                f"--out {out} holds the report of study {owner!r}; this is study {study!r}: pass another --out"
            )
    try:  # tried, not guessed: root passes os.access on an immutable folder or a read-only mount
        Path(tempfile.mkdtemp(prefix=".check.", dir=out)).rmdir()
    except OSError as exc:
        raise UserError(f"cannot write --out {out} ({exc.strerror}); pass a writable folder") from None
