"""MLflow tracking of a study on a real SQLite store: parent and child runs, artifacts, resume, failures."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from mi_search.search.config import build_config
from mi_search.search.objective import Observers
from mi_search.search.service import finish_study, load_workbench, run_trials
from mi_search.search.storage import open_storage
from mi_search.search.study import open_study
from mi_search.tracking.store import connect
from mi_search.tracking.study_runs import STUDY_TAG, TRIAL_TAG, StudyTracker

SETTINGS = {"budget": "4k", "task": {"search_size": 16, "holdout_size": 16}}


@pytest.fixture(scope="module")
def bench():
    return load_workbench(build_config(SETTINGS, source="test"), device="cpu")


def tracked_study(tmp_path, name="tracked"):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    study, config = open_study(storage, {**SETTINGS, "name": name}, source="test")
    tracker = StudyTracker.open(connect(uri), uri, study, config, tags={"mi_search.storage": "test"})
    return study, config, tracker, MlflowClient(uri)


def children(client: MlflowClient, tracker: StudyTracker):
    return client.search_runs(
        [tracker.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{tracker.parent_run_id}'"
    )


def test_each_trial_is_a_child_run_with_params_metrics_and_samples(tmp_path, bench):
    study, config, tracker, client = tracked_study(tmp_path)
    run_trials(study, config, bench, 3, observer=tracker, callbacks=[tracker.after_trial])
    result, files = finish_study(study, config, bench, tmp_path / "out")
    tracker.report(study, result, files, finished=True)

    parent = client.get_run(tracker.parent_run_id)
    assert parent.info.status == "FINISHED" and parent.data.tags[STUDY_TAG] == "tracked"
    assert parent.data.params["budget"] == "4000" and parent.data.params["space.kind"] == "global"
    assert {"hypervolume", "best_feasible_accuracy"} <= set(parent.data.metrics)
    assert len(client.get_metric_history(parent.info.run_id, "hypervolume")) >= 3  # updated as the study went
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} == {
        "pareto.json",
        "trials.csv",
        "pareto.png",
        "stage_map.png",
    }
    runs = {int(r.data.tags[TRIAL_TAG]): r for r in children(client, tracker)}
    assert sorted(runs) == [0, 1, 2]
    for trial in study.get_trials():
        run = runs[trial.number]
        assert trial.user_attrs["mlflow_run_id"] == run.info.run_id and run.info.status == "FINISHED"
        assert float(run.data.params["lam"]) == trial.params["lam"] and run.data.params["temperature"] == "0.0"
        assert {"accuracy", "pass_at_1", "vote_at_1", "mean_tokens", "think_ratio", "stage", "feasible"} <= set(
            run.data.metrics
        )
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert artifacts == {"samples.jsonl", "token_lengths.png"}
    local = client.download_artifacts(runs[0].info.run_id, "samples.jsonl", str(tmp_path))
    first = json.loads(Path(local).read_text().splitlines()[0])
    assert {"prompt", "response", "num_tokens", "extracted", "correct"} <= set(first)
    document = json.loads((tmp_path / "out" / "pareto.json").read_text())
    for point in document["points"]:
        assert point["mlflow_run_id"] == runs[point["trial"]].info.run_id
        assert "holdout_accuracy" in client.get_run(point["mlflow_run_id"]).data.metrics


def test_a_resumed_study_continues_its_parent_run_and_kills_orphaned_children(tmp_path, bench):
    study, config, tracker, client = tracked_study(tmp_path)
    run_trials(study, config, bench, 1, observer=tracker)
    # A trial whose process died: its child run was opened, the trial then failed (as the heartbeat would mark it).
    with pytest.warns(UserWarning, match="Heartbeat"):  # ask/tell outside optimize: Optuna warns, rightly
        orphan = study.ask()
    tracker.trial_started(orphan, config.space.spec_for({"lam": 0.5}), bench.decoding)
    study.tell(orphan, state=optuna.trial.TrialState.FAIL)

    _, _, resumed, _ = tracked_study(tmp_path)
    assert resumed.parent_run_id == tracker.parent_run_id
    assert client.get_run(tracker.parent_run_id).info.status == "RUNNING"
    statuses = {int(r.data.tags[TRIAL_TAG]): r.info.status for r in children(client, resumed)}
    assert statuses == {0: "FINISHED", orphan.number: "KILLED"}


class FailingBackend:
    """Stands in for a failure this machine cannot produce (a GPU running out of memory) on the second call."""

    def __init__(self, backend) -> None:
        self.backend, self.calls = backend, 0

    def generate(self, prompts, k, params):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("CUDA out of memory (simulated)")
        return self.backend.generate(prompts, k, params)


def test_a_failed_trial_ends_its_run_failed(tmp_path, bench):
    from dataclasses import replace

    study, config, tracker, client = tracked_study(tmp_path)
    failing = replace(bench, backend=FailingBackend(bench.backend))
    with pytest.raises(RuntimeError, match="simulated"):
        run_trials(study, config, failing, 3, observer=Observers(tracker))
    (failed,) = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    statuses = {int(r.data.tags[TRIAL_TAG]): r.info.status for r in children(client, tracker)}
    assert statuses[failed.number] == "FAILED"
    assert all(status == "FINISHED" for number, status in statuses.items() if number != failed.number)
