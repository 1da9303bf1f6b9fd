"""Promote a study's point to the MLflow Model Registry: export the merge, register it, move the alias."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import optuna

from mi_search.errors import UserError
from mi_search.merge.export import export_pair
from mi_search.search.config import StudyConfig
from mi_search.search.results import StudyResult, read_result
from mi_search.search.trials import TrialRecord
from mi_search.tasks.registry import default_decoding
from mi_search.tracking.registry import RegisteredVersion, check_model_name, register_checkpoint
from mi_search.tracking.store import connect


@dataclass(frozen=True)
class Promotion:
    trial: int
    version: RegisteredVersion


def pick_trial(result: StudyResult, trial: int | None, *, force: bool) -> TrialRecord:
    """The given trial, or the chosen point; refused if it did not finish or spends more than the budget."""
    number = trial if trial is not None else result.chosen
    if number is None:
        raise UserError(f"study {result.name!r} has no chosen point within the budget; pass --trial N (see trials.csv)")
    record = next((r for r in result.records if r.number == number), None)
    if record is None:
        raise UserError(f"study {result.name!r} has no finished trial {number}; pick one from trials.csv")
    if not record.within(result.budget) and not force:
        raise UserError(
            f"trial {number} spends {record.tokens:.0f} tokens, over the {result.budget}-token budget; "
            "pass --force to promote it anyway"
        )
    return record


def promote(
    study: optuna.Study,
    config: StudyConfig,
    *,
    name: str,
    alias: str,
    tracking_uri: str,
    trial: int | None = None,
    force: bool = False,
) -> Promotion:
    """Export the point's merge (streamed from the checkpoints) and register it as a new version of `name`."""
    check_model_name(name)
    connect(tracking_uri)  # unreachable: one line now, before the export
    record = pick_trial(read_result(study, config.budget), trial, force=force)
    decoding_base = config.decoding.apply(default_decoding(config.task))
    spec, decoding = config.space.setting(record.params, decoding_base)
    instruct, thinking = config.pair.references()
    scores = {**record.scores, **{f"holdout_{k}": v for k, v in (record.holdout or {}).items()}}
    tags = {
        "mi_search.study": study.study_name,
        "mi_search.trial": str(record.number),
        "mi_search.merge.spec": json.dumps(spec.model_dump(mode="json")),
        "mi_search.decoding": decoding.model_dump_json(),
        "mi_search.instruct": instruct,
        "mi_search.thinking": thinking,
        "mi_search.stage": str(record.stage),
        **{f"mi_search.score.{key}": f"{value:g}" for key, value in scores.items()},
    }
    description = (
        f"{spec.describe()} from study {study.study_name!r}, trial {record.number}: "
        f"accuracy {record.accuracy:.3f} at {record.mean_tokens:.1f} tokens (search), stage {record.stage}"
    )
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = export_pair(config.pair, spec, Path(folder) / "checkpoint")
        version = register_checkpoint(
            checkpoint,
            name=name,
            alias=alias,
            decoding=decoding,
            tags=tags,
            description=description,
            tracking_uri=tracking_uri,
        )
    return Promotion(record.number, version)
