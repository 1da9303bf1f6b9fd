"""How a study's MLflow runs are found and named: exactly one parent run per study, children tagged by trial."""

from __future__ import annotations

import time

import optuna
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from mi_search.merge.spec import LambdaSpec
from mi_search.search.store.identity import UID_ATTR

PARENT_RUN_ATTR = "mlflow_parent_run_id"  # Optuna study user attribute
STUDY_TAG = "mi_search.study"
TRIAL_TAG = "mi_search.trial"
ROLE_TAG = "mi_search.role"  # study | trial | promote
PARENT_TAG = "mlflow.parentRunId"
UID_TAG = "mi_search.study_uid"  # the Optuna study's own id (`identity.UID_ATTR`): a recreated study is another
STOP_TAG = "mi_search.stop_reason"  # why the study's last run stopped (`search.running.stopping`)
REUSED_TAG = "mi_search.reused_from"  # a trial that took a stored evaluation: "<study>#<trial>" that measured it
_LONGEST_SUMMARY = 40
CREATION_SETTLE_S = 1.0


def lambda_summary(spec: LambdaSpec, mean_lambda: float | None = None) -> str:
    """`λ=0.5` for one value; a vector's own short form, or its mean and size when that would not fit a list."""
    if not spec.modules and not spec.blocks:
        return f"λ={spec.lam:.4g}"
    text = spec.describe()
    if len(text) <= _LONGEST_SUMMARY:
        return text
    size = 1 + len(spec.modules) + 2 * len(spec.blocks)
    mean = f"{mean_lambda:.3g}" if mean_lambda is not None else f"{spec.lam:.3g}"
    return f"mean λ={mean} ({size}-vector)"


def trial_run_name(study_name: str, number: int, summary: str) -> str:
    """`t12 λ0.61`: short enough for the runs list's name column, which cuts at about 20 characters.

    The study needs no place in it: a trial run lives in its study's experiment, under the study's parent run.
    """
    return f"t{number} {summary.replace('λ=', 'λ')}".strip()


def find_parent(client: MlflowClient, experiment_id: str, study_name: str, uid: str | None = None) -> str | None:
    """The study's parent run: the oldest live one tagged for it (start time, then id, so every process agrees).

    With `uid` only a parent tagged with that study id counts: a study deleted from its storage and
    created again under the same name gets a parent run of its own.
    """
    wanted = f"tags.`{ROLE_TAG}` = 'study' and tags.`{STUDY_TAG}` = '{_quoted(study_name)}'"
    if uid is not None:
        wanted += f" and tags.`{UID_TAG}` = '{_quoted(uid)}'"
    runs = client.search_runs([experiment_id], filter_string=wanted)
    if not runs:
        return None
    return min(runs, key=lambda r: (r.info.start_time, r.info.run_id)).info.run_id


def open_parent(
    client: MlflowClient, experiment_id: str, study: optuna.Study, tags: dict[str, str]
) -> tuple[str, bool]:
    """The id of the study's parent run, and whether this call created it.

    Creation is idempotent by tag search: a process that finds an older parent than the one it just created
    deletes its own, so simultaneous starts end with one parent and every child under it. The search waits
    CREATION_SETTLE_S after creating, so that every process started at the same moment sees the same runs
    and picks the same oldest one (start times can tie to the millisecond).
    """
    stored = study.user_attrs.get(PARENT_RUN_ATTR)
    if stored is not None and _live(client, stored):
        return stored, False
    uid = study.user_attrs.get(UID_ATTR)
    found = find_parent(client, experiment_id, study.study_name, uid)
    if found is not None:
        study.set_user_attr(PARENT_RUN_ATTR, found)
        return found, False
    identity = {STUDY_TAG: study.study_name, ROLE_TAG: "study", **({UID_TAG: uid} if uid else {})}
    mine = client.create_run(experiment_id, run_name=study.study_name, tags={**tags, **identity}).info.run_id
    time.sleep(CREATION_SETTLE_S)  # once per study: let simultaneous creators' runs become visible
    winner = find_parent(client, experiment_id, study.study_name, uid) or mine
    if winner != mine:
        client.delete_run(mine)
    study.set_user_attr(PARENT_RUN_ATTR, winner)
    return winner, winner == mine


def children(client: MlflowClient, experiment_id: str, parent_run_id: str) -> dict[int, Run]:
    """The parent's trial runs by trial number (the newest, should a trial have two)."""
    runs = client.search_runs(
        [experiment_id], filter_string=f"tags.`{PARENT_TAG}` = '{parent_run_id}'", max_results=50000
    )
    by_trial: dict[int, Run] = {}
    for run in sorted(runs, key=lambda r: r.info.start_time):
        if TRIAL_TAG in run.data.tags:
            by_trial[int(run.data.tags[TRIAL_TAG])] = run
    return by_trial


def _live(client: MlflowClient, run_id: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id).info.lifecycle_stage == "active"
    except MlflowException:
        return False


def _quoted(text: str) -> str:
    return text.replace("'", "\\'")
