"""Optuna storages, MLflow tracking stores, and stored studies asked to become other ones."""

from __future__ import annotations

import os

from bench.bad_input_probe.case import Case
from bench.bad_input_probe.cases.common import PAIR, PNG, search_case
from bench.bad_input_probe.setups import chain, journal, mlflow_db, read_only, sqlite_with, stored, study_file, torn_journal, toy_pair, write


def cases() -> list[Case]:
    """Storage, tracking and resume."""
    c: list[Case] = []
    add = c.append

    # -- Optuna storages ----------------------------------------------------------------------------
    cat = "storage"
    for name, url, setup in [
        ("garbage-journal", "journal:s.log", journal(os.urandom(2048))),
        ("binary-journal", "journal:s.log", journal(PNG)),
        ("utf16-journal", "journal:s.log", journal('{"op_code": 0}\n'.encode("utf-16"))),
        ("torn-journal", "journal:s.log", journal(torn_journal)),
        ("json-but-not-a-journal", "journal:s.log", journal(b'{"hello": "world"}\n[1, 2]\n')),
        ("journal-a-folder", "journal:s.log", write("s.log", None)),
        ("journal-empty-path", "journal:", None),
        ("journal-in-missing-folder", "journal:no/such/s.log", None),
        ("journal-read-only", "journal:ro/s.log", read_only("ro")),
        ("mlflow-db-as-storage", "sqlite:///mlflow.db", mlflow_db),
        ("garbage-sqlite", "sqlite:///g.db", write("g.db", os.urandom(4096))),
        ("text-file-as-sqlite", "sqlite:///g.db", write("g.db", "hello\n" * 100)),
        ("other-sqlite-schema", "sqlite:///other.db", sqlite_with("CREATE TABLE studies (x TEXT); CREATE TABLE users (id INTEGER);")),
        ("sqlite-in-missing-folder", "sqlite:///no/such/s.db", None),
        ("sqlite-a-folder", "sqlite:///d.db", write("d.db", None)),
        ("sqlite-read-only", "sqlite:///ro/s.db", read_only("ro")),
        ("unknown-scheme", "foo://bar", None),
        ("plain-path", "mi-search.db", None),
        ("http-url", "http://127.0.0.1:1/", None),
        ("mysql-no-driver", "mysql://u@127.0.0.1:1/db", None),
        ("postgres-unreachable", "postgresql://u@127.0.0.1:1/db", None),
        ("empty", "", None),
    ]:
        add(search_case(f"storage-{name}", cat, "--storage", url, setup=setup))
    add(Case("worker-garbage-journal", cat, ["worker", "--study", "s", "--storage", "journal:s.log"], journal(os.urandom(2048))))
    add(Case("worker-study-not-stored", cat, ["worker", "--study", "nosuch", "--trials", "1"], stored))
    add(Case("worker-study-path-like", cat, ["worker", "--study", "../x", "--trials", "1"], stored))
    add(Case("worker-empty-storage", cat, ["worker", "--study", "s", "--trials", "1", "--storage", "sqlite:///fresh.db"]))

    # -- MLflow tracking stores ---------------------------------------------------------------------
    cat = "tracking"
    for name, uri, setup in [
        ("unknown-scheme", "foo://bar", None),
        ("optuna-db-as-tracking", "sqlite:///mi-search.db", stored),
        ("garbage-sqlite", "sqlite:///g.db", write("g.db", os.urandom(4096))),
        ("sqlite-a-folder", "sqlite:///d.db", write("d.db", None)),
        ("http-unreachable", "http://127.0.0.1:1", None),
        ("other-sqlite-schema", "sqlite:///other.db", sqlite_with("CREATE TABLE experiments (x TEXT);")),
        ("databricks-without-credentials", "databricks", None),
        ("plain-word", "mlflow", None),
    ]:
        add(search_case(f"tracking-{name}", cat, "--tracking-uri", uri, setup=setup))
    add(Case("ui-tracking-unknown-scheme", cat, ["ui", "--tracking-uri", "foo://bar"]))
    add(Case("ui-tracking-optuna-db", cat, ["ui", "--tracking-uri", "sqlite:///mi-search.db"], stored))
    add(Case("ui-tracking-garbage-sqlite", cat, ["ui", "--tracking-uri", "sqlite:///g.db"], write("g.db", os.urandom(4096))))
    add(Case("ui-port-zero", cat, ["ui", "--port", "0"]))
    add(Case("ui-port-too-high", cat, ["ui", "--port", "70000"]))
    add(Case("ui-port-text", cat, ["ui", "--port", "http"]))
    return c


def resume_cases() -> list[Case]:
    """A stored study asked to become another one."""
    c: list[Case] = []
    add = c.append

    # -- A stored study asked to become another one ---------------------------------------------------
    cat = "resume"
    for name, flags in [
        ("budget", ["--budget", "8k"]),
        ("space", ["--space", "modules"]),
        ("k", ["--k", "2"]),
        ("seed", ["--seed", "3"]),
        ("task", ["--search-size", "8"]),
        ("pair", PAIR),
    ]:
        setup = chain(stored, toy_pair()) if name == "pair" else stored
        add(Case(f"resume-changes-{name}", cat, ["--study", "s", "--trials", "1", *flags], setup))
    add(Case("resume-file-changes-halving", cat, ["--study", "s.yaml", "--trials", "1"], chain(stored, study_file(halving={"rungs": [1.0]}))))
    add(Case("worker-changes-budget", cat, ["worker", "--study", "s", "--trials", "1", "--budget", "8k"], stored))
    add(Case("worker-device-tpu", cat, ["worker", "--study", "s", "--trials", "1", "--device", "tpu"], stored))
    add(Case("worker-trials-negative", cat, ["worker", "--study", "s", "--trials", "-1"], stored))
    add(Case("worker-no-study", cat, ["worker", "--trials", "1"], stored))
    return c
