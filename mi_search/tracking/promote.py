"""Promote a study's point to the MLflow Model Registry, linked both ways with the study's parent run.

Everything is validated first (name, alias, trial, budget, the store). The merge is exported to a temporary
folder, logged from code in a promote run nested under the study's parent run, and registered with the
parent as the version's source run: the parent lists the registered model, the version names the study.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import optuna
from mlflow.entities import LoggedModelStatus
from mlflow.tracking import MlflowClient

from mi_search.errors import UserError
from mi_search.processes import pid_alive
from mi_search.backends.pair import ResolvedPair
from mi_search.search.settings.config import StudyConfig
from mi_search.search.report.results import StudyResult, read_result
from mi_search.search.store.trials import TrialRecord
from mi_search.tasks.registry import default_decoding
from mi_search.tracking.registry import (
    RegisteredVersion,
    check_alias,
    check_model_name,
    clean_incomplete,
    log_checkpoint,
    register,
)
from mi_search.tracking.promote_room import check_room, checkpoint_bytes, discard_partial, full_disk, local_folder, quiet_store
from mi_search.tracking.runs import PARENT_TAG, ROLE_TAG, STUDY_TAG, TRIAL_TAG, lambda_summary, open_parent
from mi_search.tracking.sources import portable_reference
from mi_search.tracking.store import connect, experiment_for

_TEMP_PREFIX = "mi-search-promote-"


@dataclass(frozen=True)
class Promotion:
    trial: int
    version: RegisteredVersion
    run_id: str  # the promote run, nested under the study's parent run


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


def check_promotion(name: str, alias: str) -> None:
    """What can be refused before a study runs: the model name and the alias."""
    check_model_name(name)
    check_alias(alias)


def promote(
    study: optuna.Study,
    config: StudyConfig,
    pair: ResolvedPair,
    *,
    name: str,
    alias: str,
    tracking_uri: str,
    trial: int | None = None,
    force: bool = False,
) -> Promotion:
    """Export the point's merge (streamed from the checkpoints) and register it as a new version of `name`."""
    check_promotion(name, alias)
    client = connect(tracking_uri)  # unreachable: one line now, before the export
    record = pick_trial(read_result(study, config.budget), trial, force=force)
    decoding_base = config.decoding.apply(default_decoding(config.task))
    spec, decoding = config.space.setting(record.params, decoding_base)
    experiment_id = experiment_for(client, tracking_uri, study.study_name)
    parent, _ = open_parent(client, experiment_id, study, {})
    _clean_leftovers(client, experiment_id, parent, name)
    tags, description = _version_text(study.study_name, pair, record, spec, decoding)
    artifact_root = client.get_experiment(experiment_id).artifact_location
    check_room(checkpoint_bytes(pair.instruct_dir), artifact_root)  # a disk too small: refused before any write
    summary = lambda_summary(spec, record.mean_lambda)
    run_id = client.create_run(
        experiment_id,
        run_name=f"{study.study_name} · promote trial-{record.number} {summary} → {name}@{alias}",
        tags={PARENT_TAG: parent, STUDY_TAG: study.study_name, TRIAL_TAG: str(record.number), ROLE_TAG: "promote"},
    ).info.run_id
    try:
        with quiet_store(), tempfile.TemporaryDirectory(prefix=f"{_TEMP_PREFIX}{os.getpid()}-") as folder:
            checkpoint = pair.export(spec, Path(folder) / "checkpoint")
            model_id = log_checkpoint(checkpoint, run_id=run_id, decoding=decoding, tracking_uri=tracking_uri)
        with quiet_store():
            version = register(
                client,
                tracking_uri,
                name=name,
                alias=alias,
                model_id=model_id,
                source_run_id=parent,
                tags=tags,
                description=description,
            )
    except BaseException as exc:
        # Which disk filled is read before the partial artifacts are removed and free their room again.
        places = [Path(tempfile.gettempdir()), local_folder(artifact_root), local_folder(_database(tracking_uri))]
        full = full_disk(exc, [p for p in places if p is not None])
        with quiet_store():
            discard_partial(client, experiment_id, run_id)
        if full is not None:
            raise full from None
        raise
    client.set_terminated(run_id, "FINISHED")
    return Promotion(record.number, version, run_id)


def _database(tracking_uri: str) -> str | None:
    """The folder of a SQLite tracking store's file, which a full disk may have stopped writing."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return str(Path(tracking_uri.removeprefix("sqlite:///")).resolve().parent)


def _version_text(study_name: str, pair: ResolvedPair, record: TrialRecord, spec, decoding) -> tuple[dict, str]:
    """The version's tags and description: the study, trial, λ vector, decoding, sources and scores."""
    instruct, thinking = pair.instruct.reference, pair.thinking.reference
    scores = {**record.scores, **{f"holdout_{k}": v for k, v in (record.holdout or {}).items()}}
    tags = {
        "mi_search.study": study_name,
        "mi_search.trial": str(record.number),
        "mi_search.merge.spec": json.dumps(spec.model_dump(mode="json")),
        "mi_search.decoding": decoding.model_dump_json(),
        "mi_search.instruct": portable_reference(instruct),
        "mi_search.thinking": portable_reference(thinking),
        "mi_search.stage": str(record.stage),
        # One tag for every score: the model page lists tags in a column that cuts keys near 22 characters, and a
        # tag per score (`mi_search.score.holdout_…`) filled it with two dozen keys cut alike.
        "mi_search.scores": json.dumps({key: float(f"{value:.4g}") for key, value in scores.items()}),
    }
    held = (
        f"; held-out accuracy {record.holdout['objective']:.3f} at {record.holdout['mean_tokens']:.1f} tokens"
        if record.holdout
        else ""
    )
    description = (
        f"{spec.describe()} from study {study_name!r}, trial {record.number}: accuracy {record.accuracy:.3f} at "
        f"{record.mean_tokens:.1f} tokens (search){held}; stage {record.stage}; decoding {decoding.model_dump_json()}"
    )
    return tags, description


def _clean_leftovers(client: MlflowClient, experiment_id: str, parent: str, name: str) -> None:
    """What a killed promotion left: pending versions, RUNNING promote runs, PENDING logged models, temp copies."""
    clean_incomplete(client, name)
    stale = client.search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{PARENT_TAG}` = '{parent}' and tags.`{ROLE_TAG}` = 'promote' and attributes.status = 'RUNNING'"
        ),
    )
    killed = {run.info.run_id for run in stale}
    for run_id in killed:
        client.set_terminated(run_id, "KILLED")
    if killed:  # MLflow's filter on a logged model's status matches nothing (3.x), so filter here
        for model in client.search_logged_models(experiment_ids=[experiment_id]):
            if model.status == LoggedModelStatus.PENDING and model.source_run_id in killed:
                client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)
    for folder in Path(tempfile.gettempdir()).glob(f"{_TEMP_PREFIX}*"):
        pid = folder.name.removeprefix(_TEMP_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)

