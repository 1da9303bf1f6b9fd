"""Round 3 of bad inputs: duplicate keys, inputs that are not regular files, oversized configuration, data
files without records or with repeated ids, absurd budgets, report folders that would lose something.

Each ends in one line, exit 2, before any study is stored.
"""

from __future__ import annotations

import json
import os
import unicodedata

import optuna
import pytest
from typer.testing import CliRunner

from mi_search.cli import app
from mi_search.search.store.storage import open_storage

runner = CliRunner()
QUICK = "name: s\nbudget: 4k\ntrials: 1\ntask: {search_size: 4, holdout_size: 4}\n"


def refused(args: list[str], fragment: str) -> str:
    """Run the command in-process; it must end in one `error:` line holding `fragment`, exit 2."""
    done = runner.invoke(app, args)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.exit_code == 2, (done.exit_code, done.stdout, done.stderr, done.exception)
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert fragment in lines[0], lines[0]
    return lines[0]


def no_study_stored(folder) -> bool:
    db = folder / "mi-search.db"
    return not db.exists() or not optuna.study.get_all_study_names(open_storage(f"sqlite:///{db}"))


def test_a_key_given_twice_in_a_study_file_is_refused_naming_it(inside):
    (inside / "s.yaml").write_text("name: s\nbudget: 100tokens\ntask: {search_size: 4}\nbudget: 4000tokens\n")
    line = refused(["--study", "s.yaml"], "'budget' twice")
    assert "s.yaml" in line and "line 4" in line
    assert no_study_stored(inside)


def test_a_key_given_twice_in_a_nested_mapping_and_in_a_piece(inside):
    (inside / "s.yaml").write_text("name: s\nbudget: 4k\ntask:\n  search_size: 4\n  search_size: 8\n")
    refused(["--study", "s.yaml"], "'search_size' twice")
    (inside / "t.yaml").write_text("name: t\nbudget: 4k\ntask: task.yaml\n")
    (inside / "task.yaml").write_text("search_size: 4\nsearch_size: 4\n")
    refused(["--study", "t.yaml"], "task.yaml")


def test_yaml_merge_keys_are_not_duplicates(inside):
    from mi_search.yaml_config import read_yaml

    (inside / "m.yaml").write_text("base: &b {a: 1}\nother:\n  <<: *b\n  c: 2\n")
    assert read_yaml(inside / "m.yaml", "file") == {"base": {"a": 1}, "other": {"a": 1, "c": 2}}


@pytest.mark.parametrize("kind", ["fifo", "link-to-dev-zero", "folder"])
def test_a_study_file_that_is_not_a_regular_file_is_refused_before_reading(inside, kind):
    path = inside / "s.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
    elif kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    expected = {"fifo": "named pipe", "link-to-dev-zero": "character device"}
    refused(["--study", str(path)], expected.get(kind, "folder"))
    assert no_study_stored(inside)


def test_a_configuration_piece_that_is_a_device_or_too_large_is_refused(inside):
    (inside / "s.yaml").write_text("name: s\nbudget: 4k\ntask: /dev/zero\n")
    refused(["--study", "s.yaml"], "character device")
    (inside / "s.yaml").write_text("name: s\nbudget: 4k\n" + "# padding\n" * 120_000)  # 1.2 MB of comments
    refused(["--study", "s.yaml"], "larger than 1 MiB")


def test_a_fifo_as_journal_or_sqlite_store_is_refused_without_waiting(inside):
    (inside / "s.yaml").write_text(QUICK)
    os.mkfifo(inside / "j.log")
    refused(["--study", "s.yaml", "--storage", "journal:j.log"], "named pipe")
    os.mkfifo(inside / "m.db")
    refused(["--study", "s.yaml", "--tracking-uri", "sqlite:///m.db"], "named pipe")
    refused(["--study", "s.yaml", "--storage", "sqlite:///m.db"], "named pipe")
    assert no_study_stored(inside)


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        (lambda d: os.mkfifo(d / "d.jsonl"), "named pipe"),
        (lambda d: (d / "d.jsonl").symlink_to("/dev/zero"), "character device"),
        (lambda d: (d / "d.jsonl").write_text("\n\n   \n"), "only blank lines"),
        (
            lambda d: (d / "d.jsonl").write_text(
                "".join(json.dumps({"id": i % 3, "problem": f"q{i}", "answer": "1"}) + "\n" for i in range(8))
            ),
            "same id",
        ),
    ],
    ids=["fifo", "link-to-dev-zero", "blank-lines", "duplicate-ids"],
)
def test_a_data_file_that_is_not_a_file_of_distinct_records_is_refused_before_storing(inside, setup, fragment):
    setup(inside)
    refused(["--budget", "4k", "--task", "aime25", "--data-file", "d.jsonl"], fragment)
    assert no_study_stored(inside)


@pytest.mark.parametrize("budget", ["1" + "0" * 100, "1e100", "99999999999", "20000k"])
def test_an_absurd_budget_is_refused(inside, budget):
    (inside / "s.yaml").write_text(QUICK)
    refused(["--study", "s.yaml", "--budget", budget], "budget")
    assert no_study_stored(inside)


def test_a_budget_just_inside_the_limit_is_read_exactly():
    from mi_search.search.settings.budget import MAX_BUDGET, parse_budget

    assert parse_budget(str(MAX_BUDGET)) == MAX_BUDGET and parse_budget("4k") == 4000


def test_a_seed_list_over_the_limit_is_refused_at_once(inside):
    from mi_search.search.settings.config import MAX_SEED_POINTS

    grid = ", ".join(f"{i / 20_000:.5f}" for i in range(20_000))  # ~200 KB
    (inside / "s.yaml").write_text(f"{QUICK}seed_lambdas: [{grid}]\n")
    refused(["--study", "s.yaml"], f"at most {MAX_SEED_POINTS}")
    assert no_study_stored(inside)


@pytest.mark.parametrize("out", [".", "", "..", "./"])
def test_out_naming_the_current_folder_is_refused_before_any_trial(inside, out):
    (inside / "s.yaml").write_text(QUICK)
    refused(["--study", "s.yaml", "--out", out], "current folder")
    assert no_study_stored(inside)


def test_another_studys_report_folder_is_not_replaced(inside):
    (inside / "r").mkdir()
    (inside / "r" / "pareto.json").write_text(json.dumps({"study": "first"}))
    (inside / "s.yaml").write_text(QUICK)
    refused(["--study", "s.yaml", "--out", "r"], "report of study 'first'")
    assert json.loads((inside / "r" / "pareto.json").read_text()) == {"study": "first"}
    assert no_study_stored(inside)


def test_a_decomposed_unicode_study_name_is_the_composed_name():
    from mi_search.search.settings.config import build_config

    decomposed = unicodedata.normalize("NFD", "café")
    assert decomposed != "café"
    config = build_config({"name": decomposed, "budget": "4k"}, source="test")
    assert config.study_name == "café"


def test_a_damaged_sqlite_storage_is_one_line(inside):
    import sqlite3

    db = inside / "d.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE t (x TEXT)")
        connection.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    data = bytearray(db.read_bytes())
    page = 4096
    data[2 * page + 8 : 2 * page + 600] = os.urandom(592)  # a table page's cells, overwritten
    db.write_bytes(bytes(data))
    (inside / "s.yaml").write_text(QUICK)
    refused(["--study", "s.yaml", "--storage", "sqlite:///d.db"], "damaged SQLite database")


@pytest.mark.parametrize(
    "record",
    [{"op_code": 4, "worker_id": "x"}, {"op_code": 5, "worker_id": "x"}, {"op_code": 0, "worker_id": "x"}],
    ids=["trial-without-study", "param-without-trial", "study-without-name"],
)
def test_a_journal_of_json_records_optuna_cannot_replay_is_one_line(inside, record):
    (inside / "j.log").write_text(json.dumps(record) + "\n")
    (inside / "s.yaml").write_text(QUICK)
    refused(["--study", "s.yaml", "--storage", "journal:j.log"], "not an Optuna journal")


def immutable(path):
    """chattr +i: not even root may add an entry; skipped where the file system has no such flag."""
    import shutil
    import subprocess

    path.mkdir(exist_ok=True)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
        pytest.skip("no chattr +i on this file system")
    return path


def mutable_again(path):
    import subprocess

    subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def test_an_immutable_report_folder_is_refused_before_any_trial(inside):
    (inside / "s.yaml").write_text(QUICK)
    folder = immutable(inside / "ro")
    try:
        refused(["--study", "s.yaml", "--out", "ro"], "cannot write --out ro")
    finally:
        mutable_again(folder)
    assert no_study_stored(inside)


def test_a_deleted_current_folder_is_one_line(tmp_path):
    import subprocess
    import sys

    gone = tmp_path / "gone"
    gone.mkdir()
    command = "import os, runpy, sys; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]); sys.argv = ['mi-search', '--budget', '4k']; runpy.run_module('mi_search', run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", command, str(gone)], capture_output=True, text=True, timeout=120)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2 and lines == ["error: the current folder was deleted; cd to an existing folder and run the command again"], done


def test_a_read_only_home_gives_matplotlib_a_temporary_folder_without_warnings(tmp_path):
    import subprocess
    import sys

    home = immutable(tmp_path / "home")
    code = (
        "import os; from mi_search.cli.process import configure_process; configure_process(); "
        "import matplotlib.pyplot as plt; plt.figure(); print(os.environ['MPLCONFIGDIR'])"
    )
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": ""}
    env.pop("MPLCONFIGDIR", None)
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    finally:
        mutable_again(home)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # no "Matplotlib created a temporary cache directory" warnings
    assert "mi-search-matplotlib" in done.stdout
