"""Where commands write and store: study names, `--out` folders, storages and tracking stores.

Each bad one is one line and exit code 2, refused before any work, leaving what was there untouched.
"""

from __future__ import annotations

import json
import os
import subprocess

import optuna
import pytest

from mi_search.cli import app
from mi_search.search.store.storage import open_storage

from tests.conftest import assert_user_error, runner, stored_studies, study_file

# --- Where a study writes -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["/abs/dir", "../../x", ".", "..", "x/y", "x\\y", "a" * 300])
def test_a_study_name_is_a_name(inside, name):
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--study", name, "--trials", "0"]), "is not a name")
    assert not (inside / "mi-search.db").exists() and not (inside / "runs").exists()


def test_a_search_out_that_is_a_file_or_holds_other_files_is_refused_before_storing(inside):
    (inside / "report").write_text("not a folder")
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--out", "report", "--trials", "0"]), "is a file")
    (inside / "folder").mkdir()
    (inside / "folder" / "notes.txt").write_text("mine")
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--out", "folder", "--trials", "0"]), "holds files that are not a study report")
    assert not (inside / "mi-search.db").exists()


def test_a_read_only_out_is_refused_before_any_trial(inside):
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only tmpfs needs root")
    (inside / "ro").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(inside / "ro")], check=True)
    try:
        assert_user_error(runner.invoke(app, ["--budget", "4k", "--out", "ro/study", "--trials", "1"]), "does not take new files")
    finally:
        subprocess.run(["umount", str(inside / "ro")], check=True)
    assert not (inside / "mi-search.db").exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_an_out_in_a_folder_that_takes_no_files_is_refused_before_any_trial(inside):
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--out", "/proc/mi-search-out"]), "does not take new files")
    assert not (inside / "mi-search.db").exists() or not stored_studies("sqlite:///mi-search.db")


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_the_report_folder_is_replaced_whole_with_no_stray_files(inside):
    args = ["--budget", "4k", "--study", str(study_file(inside, "r")), "--trials", "1"]
    assert runner.invoke(app, args).exit_code == 0
    folder = inside / "runs" / "r"
    first = json.loads((folder / "pareto.json").read_text())
    assert runner.invoke(app, args).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == ["pareto.json", "pareto.png", "stage_map.png", "trials.csv"]
    assert json.loads((folder / "pareto.json").read_text())["trials"] == first["trials"] + 1
    assert sorted(p.name for p in (inside / "runs").iterdir()) == ["r"]  # no staging folder, no .tmp.png left
    mode = 0o777 & ~_umask()
    assert folder.stat().st_mode & 0o777 == mode and (folder / "pareto.png").stat().st_mode & 0o777 == mode & 0o666


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# --- Where the other commands write -------------------------------------------------------------------


OUT_COMMANDS = {
    "merge": ["merge", "--lam", "0.5"],
    "sweep": ["sweep", "--lambdas", "0", "--limit", "2", "--max-new-tokens", "4", "--device", "cpu"],
    "toy build": ["toy", "build", "--base-steps", "1", "--specialist-steps", "1"],
}


@pytest.mark.parametrize("command", list(OUT_COMMANDS))
@pytest.mark.parametrize(
    ("out", "fragment"),
    [
        ("f", "--out f is a file"),
        ("f/sub", "lies under"),
        ("/proc/mi-search-out", "does not take new files"),
    ],
)
def test_an_out_that_cannot_become_a_folder_is_refused_before_any_work(inside, command, out, fragment):
    (inside / "f").write_text("mine\n")
    extra = ["--overwrite"] if command != "toy build" and out == "f" else []
    done = runner.invoke(app, [*OUT_COMMANDS[command], "--out", out, *extra])
    assert_user_error(done, fragment)
    assert done.stdout.strip() == ""
    assert (inside / "f").read_text() == "mine\n"
    assert sorted(p.name for p in inside.iterdir()) == ["f"]  # no staging folder, no storage


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_label_out_where_no_file_can_be_made_is_one_line(inside):
    (inside / "in.csv").write_text("lambda,think_ratio\n0,0.0\n1,1.0\n")
    assert_user_error(runner.invoke(app, ["label", "in.csv", "--out", "/proc/labelled.csv"]), "does not take new files")


# --- Storage and tracking URIs ------------------------------------------------------------------------


def test_storage_and_tracking_files_swapped_are_refused_untouched(inside):
    tracking = f"sqlite:///{inside}/mlflow.db"  # absolute: MLflow caches stores by URI across tests
    assert runner.invoke(app, ["--budget", "4k", "--study", str(study_file(inside)), "--trials", "0", "--tracking-uri", tracking]).exit_code == 0
    optuna_db, mlflow_db = (inside / "mi-search.db").read_bytes(), (inside / "mlflow.db").read_bytes()
    assert_user_error(
        runner.invoke(app, ["--budget", "4k", "--storage", tracking, "--trials", "0"]), "is an MLflow tracking database"
    )
    assert_user_error(
        runner.invoke(app, ["--budget", "4k", "--tracking-uri", "sqlite:///mi-search.db", "--trials", "0"]), "is an Optuna study storage"
    )
    assert (inside / "mi-search.db").read_bytes() == optuna_db and (inside / "mlflow.db").read_bytes() == mlflow_db


def test_a_tracking_uri_mlflow_cannot_use_is_one_line(inside):
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--tracking-uri", "foo://bar"]), "is not a tracking store MLflow can use")
    assert not (inside / "mi-search.db").exists()


def test_a_sqlite_file_of_another_kind_is_refused_untouched(inside):
    import sqlite3

    with sqlite3.connect(inside / "other.db") as db:
        db.executescript("CREATE TABLE studies (x TEXT); CREATE TABLE experiments (y TEXT);")
    before = (inside / "other.db").read_bytes()
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--storage", "sqlite:///other.db"]), "holds another database")
    assert_user_error(
        runner.invoke(app, ["--budget", "4k", "--tracking-uri", f"sqlite:///{inside}/other.db"]), "holds another database"
    )
    assert (inside / "other.db").read_bytes() == before


def test_a_sqlite_uri_naming_a_folder_is_one_line_at_once(inside):
    (inside / "fold").mkdir()
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--tracking-uri", "sqlite:///fold"]), "names the folder fold")
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--storage", "sqlite:///fold"]), "names the folder fold")


def test_ui_refuses_a_tracking_store_of_another_kind_before_mlflow_opens_it(inside):
    optuna.create_study(study_name="x", storage=open_storage("sqlite:///mi-search.db"))
    before = (inside / "mi-search.db").read_bytes()
    assert_user_error(runner.invoke(app, ["ui", "--tracking-uri", "sqlite:///mi-search.db"]), "is an Optuna study storage")
    assert_user_error(runner.invoke(app, ["ui", "--tracking-uri", "foo://bar"]), "is not a tracking store MLflow can use")
    (inside / "g.db").write_bytes(os.urandom(3000))
    assert_user_error(runner.invoke(app, ["ui", "--tracking-uri", "sqlite:///g.db"]), "is not a SQLite database")
    assert (inside / "mi-search.db").read_bytes() == before


@pytest.mark.parametrize("torn", [False, True])
def test_a_garbage_or_truncated_journal_on_the_command_line(inside, torn):
    if torn:  # a journal that a full disk left with half a record at its end
        optuna.create_study(study_name="other", storage=open_storage("journal:s.log"))
        content = (inside / "s.log").read_bytes() + b'{"op_co'
    else:
        content = os.urandom(2048)
    (inside / "s.log").write_bytes(content)
    done = runner.invoke(app, ["--budget", "4k", "--storage", "journal:s.log", "--trials", "0", "--study", str(study_file(inside))])
    if torn:  # cut with a notice, then the study runs
        assert done.exit_code == 0, done.output
        assert "ended in a record cut short" in done.stderr
    else:
        assert_user_error(done, "is not an Optuna journal")
        assert (inside / "s.log").read_bytes() == content


def test_a_journal_storage_that_is_a_folder_is_one_line(inside):
    (inside / "j").mkdir()
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--storage", "journal:j"]), "names no journal file")
