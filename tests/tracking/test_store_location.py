"""A relative SQLite tracking URI names the store in today's working directory, however long the process lives."""

from __future__ import annotations

from mi_search.tracking.registry import fluent_uri
from mi_search.tracking.store import connect, experiment_for


def test_the_same_relative_uri_after_a_change_of_folder_opens_that_folders_store(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    monkeypatch.chdir(first)
    experiment_for(connect("sqlite:///mlflow.db"), "sqlite:///mlflow.db", "s")
    monkeypatch.chdir(second)
    client = connect("sqlite:///mlflow.db")
    assert client.get_experiment_by_name("s") is None, "the first folder's store was reused"
    assert (second / "mlflow.db").exists()


def test_the_fluent_api_reaches_the_store_of_todays_folder(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    with fluent_uri("sqlite:///mlflow.db"):
        assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}"
        assert mlflow.get_registry_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}"
