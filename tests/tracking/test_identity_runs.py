"""MLflow identity: a parent run belongs to one stored study, and a copied project folder never writes into the original."""

from __future__ import annotations

import shutil

import optuna
import pytest
from mlflow.tracking import MlflowClient

from mi_search.errors import UserError
from mi_search.search.settings.request import StudyRequest
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study
from mi_search.tracking.runs import REUSED_TAG, ROLE_TAG, STUDY_TAG, UID_TAG

pytestmark = pytest.mark.slow  # every test here runs whole toy studies

QUICK = {"task": {"search_size": 4, "holdout_size": 4}, "backend": {"device": "cpu"}, "holdout_points": 1, "budget": "4k"}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MI_SEARCH_CACHE", str(tmp_path / "cache"))


def study(folder, name="tracked", **changes):
    runtime = Runtime(
        storage=f"sqlite:///{folder}/studies.db", tracking_uri=f"sqlite:///{folder}/mlflow.db", heartbeat=5, out=folder / "out" / name
    )
    return run_study(StudyRequest(overrides={**QUICK, "name": name, "trials": 1, **changes}), runtime)


def parents(folder, name="tracked"):
    client = MlflowClient(f"sqlite:///{folder}/mlflow.db")
    experiment = client.get_experiment_by_name(name)
    return client.search_runs([experiment.experiment_id], filter_string=f"tags.`{ROLE_TAG}` = 'study' and tags.`{STUDY_TAG}` = '{name}'")


def test_a_study_deleted_and_created_again_under_its_name_gets_a_new_parent_run(tmp_path):
    study(tmp_path)
    (tmp_path / "studies.db").unlink()
    study(tmp_path, seed=7)
    runs = parents(tmp_path)
    assert len(runs) == 2 and len({r.data.tags[UID_TAG] for r in runs}) == 2
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    for run in runs:  # each parent holds only its own study's trial
        children = client.search_runs([run.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{run.info.run_id}'")
        assert len(children) == 1


def test_a_resumed_study_keeps_its_parent_run(tmp_path):
    study(tmp_path)
    study(tmp_path)
    assert len(parents(tmp_path)) == 1


def test_a_copied_project_folder_is_refused_before_it_writes_into_the_original(tmp_path):
    original, copy = tmp_path / "original", tmp_path / "copy"
    original.mkdir()
    study(original)
    shutil.copytree(original, copy)
    before = sorted((p.relative_to(original), p.stat().st_mtime_ns) for p in original.rglob("*") if p.is_file())
    with pytest.raises(UserError, match="keeps its artifacts in .*original.*outside this store's folder"):
        study(copy)
    after = sorted((p.relative_to(original), p.stat().st_mtime_ns) for p in original.rglob("*") if p.is_file())
    assert after == before
    copied = optuna.load_study(study_name="tracked", storage=f"sqlite:///{copy}/studies.db")
    assert len(copied.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 1


def test_trials_taken_from_the_evaluation_store_are_tagged_reused_in_mlflow(tmp_path):
    study(tmp_path, name="paid", trials=2)
    study(tmp_path, name="free", trials=2, budget="3k")
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name("free")
    runs = client.search_runs([experiment.experiment_id], filter_string=f"tags.`{ROLE_TAG}` = 'trial'")
    assert len(runs) == 2 and all(r.data.tags.get(REUSED_TAG, "").startswith("paid#") for r in runs)
