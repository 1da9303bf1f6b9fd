"""Rebuild a study's trial runs from the Optuna storage, the source of truth, after a run that could not log them."""

from __future__ import annotations

import time

import optuna
from mlflow.entities import Metric, Param, Run
from mlflow.tracking import MlflowClient
from optuna.trial import FrozenTrial, TrialState

from mi_search.search.store import trials
from mi_search.tracking.keys import metric_key, score_metrics
from mi_search.tracking.runs import PARENT_TAG, REUSED_TAG, ROLE_TAG, STUDY_TAG, TRIAL_TAG, children, trial_run_name


def resync(
    client: MlflowClient, experiment_id: str, parent_run_id: str, study: optuna.Study, summary: dict[int, str]
) -> dict[str, list[int]]:
    """Finish the child runs of completed trials, create the missing ones, kill those of dead trials.

    `summary` gives each trial's λ summary for run names. Returns the trial numbers per action, for tests and logs.
    """
    runs = children(client, experiment_id, parent_run_id)
    done: dict[str, list[int]] = {"created": [], "finished": [], "killed": []}
    for trial in study.get_trials(deepcopy=False):
        run = runs.get(trial.number)
        if trial.state is TrialState.COMPLETE and (run is None or run.info.status != "FINISHED"):
            run_id = (
                run.info.run_id
                if run is not None
                else _create(client, experiment_id, parent_run_id, study, trial, summary)
            )
            _log_record(client, run_id, trial, run)
            client.set_terminated(run_id, "FINISHED")
            done["created" if run is None else "finished"].append(trial.number)
        elif trial.state is not TrialState.RUNNING and run is not None and run.info.status == "RUNNING":
            client.set_terminated(run.info.run_id, "KILLED")
            done["killed"].append(trial.number)
    return done


def _create(
    client: MlflowClient,
    experiment_id: str,
    parent_run_id: str,
    study: optuna.Study,
    trial: FrozenTrial,
    summary: dict[int, str],
) -> str:
    name = trial_run_name(study.study_name, trial.number, summary.get(trial.number, ""))
    tags = {PARENT_TAG: parent_run_id, TRIAL_TAG: str(trial.number), STUDY_TAG: study.study_name, ROLE_TAG: "trial"}
    if trials.reused_from(trial) is not None:  # a warm-started trial: a stored evaluation, no token spent
        tags[REUSED_TAG] = trials.reused_from(trial)
    return client.create_run(experiment_id, run_name=name, tags=tags, start_time=_ms(trial.datetime_start)).info.run_id


def _log_record(client: MlflowClient, run_id: str, trial: FrozenTrial, run: Run | None) -> None:
    """The trial's parameters (those not logged yet) and its stored scores."""
    logged = run.data.params if run is not None else {}
    params = [Param(metric_key(k), str(v)) for k, v in trial.params.items() if metric_key(k) not in logged]
    values = {
        **score_metrics(trials.stored_scores(trial)),
        "feasible": float(trials.is_feasible(trial)),
        "questions": float(trial.user_attrs.get("questions", 0)),
    }
    now = int(time.time() * 1000)
    client.log_batch(run_id, params=params, metrics=[Metric(metric_key(k), v, now, 0) for k, v in values.items()])


def _ms(moment) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None
