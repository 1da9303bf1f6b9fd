"""A new SQLite tracking store copied from the migrated empty one is the store MLflow would have built."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from mi_search.tracking.fresh_store import seed_new_store, template_path
from mi_search.tracking.store import connect


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MI_SEARCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def schema(path: Path) -> dict[str, object]:
    """Each table's and index's definition as a set of clauses (MLflow's own builds order constraints differently
    from one run to the next), and the schema revision."""
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
        revision = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    return {"revision": revision} | {name: frozenset(part.strip(" ,\n\t") for part in sql.splitlines()) for name, sql in rows}


def test_a_seeded_store_has_mlflows_own_schema_and_its_default_experiment_under_its_own_root(cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    built = tmp_path / "built.db"
    MlflowClient(tracking_uri=f"sqlite:///{built}").search_experiments()  # MLflow builds and migrates it itself
    client = connect("sqlite:///seeded.db")
    assert template_path().is_file()
    assert schema(tmp_path / "seeded.db") == schema(built)
    default = client.get_experiment("0")
    assert default.name == "Default" and default.artifact_location == str(tmp_path / "mlruns" / "0")
    client.create_experiment("study")
    assert [e.name for e in MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'seeded.db'}").search_experiments()] == [
        "study",
        "Default",
    ]


def test_the_template_is_built_once_and_a_damaged_one_is_rebuilt(cache, tmp_path):
    assert seed_new_store(f"sqlite:///{tmp_path / 'one.db'}")
    template = template_path()
    built = template.stat().st_mtime_ns
    assert seed_new_store(f"sqlite:///{tmp_path / 'two.db'}")
    assert template.stat().st_mtime_ns == built
    template.write_bytes(b"not a database")
    assert seed_new_store(f"sqlite:///{tmp_path / 'three.db'}")
    assert schema(tmp_path / "three.db") == schema(tmp_path / "one.db")
    assert not list(cache.glob(".*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_an_existing_store_is_never_replaced(cache, tmp_path):
    client = connect(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client.create_experiment("kept")
    assert not seed_new_store(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert connect(f"sqlite:///{tmp_path / 'mlflow.db'}").get_experiment_by_name("kept") is not None


def test_a_store_in_a_missing_folder_or_a_server_is_left_to_mlflow(cache, tmp_path):
    assert not seed_new_store(f"sqlite:///{tmp_path / 'absent' / 'mlflow.db'}")
    assert not (tmp_path / "absent").exists()
    assert not seed_new_store("http://127.0.0.1:5000")
    assert not template_path().exists()  # nothing asked for it
