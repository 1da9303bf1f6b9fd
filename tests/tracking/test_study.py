"""MLflow tracking of a study on a real SQLite store: parent and child runs, artifacts, resume, failures."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from mi_search.evaluation.decoding import DecodingParams

from mi_search import open_pair
from mi_search.backends.settings import HFSettings
from mi_search.merge.pair import PairConfig
from mi_search.search.settings.request import StudyRequest
from mi_search.search.store.storage import open_storage
from mi_search.search.store.study import join_study
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study
from mi_search.tracking.store import connect
from mi_search.tracking.study_runs import PARENT_RUN_ATTR, STUDY_TAG, TRIAL_TAG, StudyTracker

pytestmark = pytest.mark.slow  # every test here runs whole toy studies

SETTINGS = {"budget": "4k", "task": {"search_size": 16, "holdout_size": 16}, "name": "tracked"}


@pytest.fixture(scope="module")
def backend():
    return open_pair(PairConfig(), HFSettings(device="cpu"))


def run_tracked(tmp_path, backend, trials: int):
    runtime = Runtime(
        storage=f"sqlite:///{tmp_path}/s.db", tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", out=tmp_path / "out"
    )
    return run_study(StudyRequest(overrides={**SETTINGS, "trials": trials}), runtime, backend=backend)


def stored(tmp_path) -> optuna.Study:
    return optuna.load_study(study_name="tracked", storage=f"sqlite:///{tmp_path}/s.db")


def children(client: MlflowClient, study: optuna.Study):
    parent = study.user_attrs[PARENT_RUN_ATTR]
    experiment = client.get_run(parent).info.experiment_id
    return client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{parent}'")


def test_each_trial_is_a_child_run_with_params_metrics_and_samples(tmp_path, backend):
    run_tracked(tmp_path, backend, 3)
    study, client = stored(tmp_path), MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")

    parent = client.get_run(study.user_attrs[PARENT_RUN_ATTR])
    assert parent.info.status == "FINISHED" and parent.data.tags[STUDY_TAG] == "tracked"
    assert parent.data.params["budget"] == "4000" and parent.data.params["space.kind"] == "global"
    assert {"hypervolume", "best_feasible_accuracy"} <= set(parent.data.metrics)
    assert len(client.get_metric_history(parent.info.run_id, "hypervolume")) >= 3  # updated as the study went
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} == {
        "pareto.json",
        "trials.csv",
        "pareto.png",
        "stage_map.png",
        "pareto_front.html",
        "tables",
    }
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "tables")} == {
        "tables/front.json",
        "tables/trials.json",
    }
    table = json.loads(
        Path(client.download_artifacts(parent.info.run_id, "tables/trials.json", str(tmp_path))).read_text()
    )
    assert sorted(row[table["columns"].index("trial")] for row in table["data"]) == [0, 1, 2]
    logged_tables = json.loads(parent.data.tags["mlflow.loggedArtifacts"])
    assert {"path": "tables/trials.json", "type": "table"} in logged_tables
    assert [m.step for m in client.get_metric_history(parent.info.run_id, "trial/accuracy")] == [0, 1, 2]
    experiment = client.get_experiment(parent.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    runs = {int(r.data.tags[TRIAL_TAG]): r for r in children(client, study)}
    assert sorted(runs) == [0, 1, 2]
    for trial in study.get_trials():
        run = runs[trial.number]
        assert trial.user_attrs["mlflow_run_id"] == run.info.run_id and run.info.status == "FINISHED"
        assert run.info.run_name == f"t{trial.number} λ{trial.params['lam']:.4g}"
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


def test_a_resumed_study_continues_its_parent_run_and_kills_orphaned_children(tmp_path, backend):
    run_tracked(tmp_path, backend, 1)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    study, config = join_study(open_storage(f"sqlite:///{tmp_path}/s.db"), "tracked")
    tracker = StudyTracker.open(connect(uri), uri, study, config, tags={})
    parent = tracker.parent_run_id
    # A trial whose process died: its child run was opened, the trial then failed (as the heartbeat would mark it).
    with pytest.warns(UserWarning, match="Heartbeat"):  # ask/tell outside optimize: Optuna warns, rightly
        orphan = study.ask()
    tracker.trial_started(orphan, config.space.spec_for({"lam": 0.5}), config.decoding.apply(DecodingParams()))
    study.tell(orphan, state=optuna.trial.TrialState.FAIL)

    resumed = StudyTracker.open(connect(uri), uri, study, config, tags={})
    client = MlflowClient(uri)
    assert resumed.parent_run_id == parent and client.get_run(parent).info.status == "RUNNING"
    statuses = {int(r.data.tags[TRIAL_TAG]): r.info.status for r in children(client, study)}
    assert statuses == {0: "FINISHED", orphan.number: "KILLED"}


class FailingBackend:
    """Stands in for a failure this machine cannot produce (a GPU running out of memory) on the second call."""

    def __init__(self, backend) -> None:
        self.backend, self.calls = backend, 0

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def generate(self, prompts, n, params, **options):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("CUDA out of memory (simulated)")
        return self.backend.generate(prompts, n, params, **options)


def test_a_failed_trial_ends_its_run_failed(tmp_path, backend):
    with pytest.raises(RuntimeError, match="simulated"):
        run_tracked(tmp_path, FailingBackend(backend), 3)
    study, client = stored(tmp_path), MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    (failed,) = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    statuses = {int(r.data.tags[TRIAL_TAG]): r.info.status for r in children(client, study)}
    assert statuses[failed.number] == "FAILED"
    assert all(status == "FINISHED" for number, status in statuses.items() if number != failed.number)
