"""Exactly one MLflow parent run per study, even when several processes start the same new study at once."""

from __future__ import annotations

import threading

import optuna
from mlflow.tracking import MlflowClient

from mi_search.tracking.runs import ROLE_TAG, open_parent
from mi_search.tracking.store import experiment_for


def test_simultaneous_starts_end_with_one_parent_run(tmp_path):
    storage, uri = f"sqlite:///{tmp_path}/s.db", f"sqlite:///{tmp_path}/mlflow.db"
    optuna.create_study(study_name="raced", storage=storage, directions=["maximize", "minimize"])
    experiment_id = experiment_for(MlflowClient(uri), uri, "raced")
    barrier, chosen, errors = threading.Barrier(3), [], []

    def start() -> None:
        try:
            study = optuna.load_study(study_name="raced", storage=storage)
            client = MlflowClient(uri)
            barrier.wait()
            chosen.append(open_parent(client, experiment_id, study, {})[0])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=start) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    live = MlflowClient(uri).search_runs([experiment_id], filter_string=f"tags.`{ROLE_TAG}` = 'study'")
    assert len(live) == 1 and set(chosen) == {live[0].info.run_id}
    assert (
        optuna.load_study(study_name="raced", storage=storage).user_attrs["mlflow_parent_run_id"] == live[0].info.run_id
    )
