"""Round 3: duplicate keys, inputs that are not regular files, data without distinct records, absurd values,
report folders that would lose something, stores damaged or of the wrong records."""

from __future__ import annotations

from bench.bad_input_probe.case import Case
from bench.bad_input_probe.cases.common import DATA, SEARCH, search_case
from bench.bad_input_probe.setups import chain, damaged_sqlite, fifo, files, immutable, journal, link, report_of, write


def cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    quick = "name: s\nbudget: 4k\ntrials: 1\ntask: {search_size: 4, holdout_size: 4}\n"

    cat = "r3 duplicate keys"
    for name, text in [
        ("top", "name: s\nbudget: 100tokens\ntask: {search_size: 4, holdout_size: 4}\nbudget: 4000tokens\n"),
        ("nested", "name: s\nbudget: 4k\ntask:\n  search_size: 4\n  search_size: 8\n"),
        ("flow", "name: s\nbudget: 4k\ntask: {search_size: 4, search_size: 8}\n"),
    ]:
        add(Case(f"r3-dup-key-{name}", cat, SEARCH, write("s.yaml", text)))
    add(Case("r3-dup-key-piece", cat, SEARCH, files({"s.yaml": "name: s\nbudget: 4k\ntask: t.yaml\n", "t.yaml": "search_size: 4\nsearch_size: 4\n"})))

    cat = "r3 not a regular file"
    add(Case("r3-study-fifo", cat, SEARCH, fifo("s.yaml")))
    add(Case("r3-study-link-dev-zero", cat, SEARCH, link("s.yaml", "/dev/zero")))
    add(Case("r3-study-huge", cat, SEARCH, write("s.yaml", quick + "# pad\n" * 250_000)))
    add(Case("r3-piece-dev-zero", cat, SEARCH, write("s.yaml", "name: s\nbudget: 4k\ntask: /dev/zero\n")))
    add(Case("r3-piece-fifo", cat, SEARCH, chain(write("s.yaml", "name: s\nbudget: 4k\ntask: t.yaml\n"), fifo("t.yaml"))))
    add(search_case("r3-journal-fifo", cat, "--storage", "journal:j.log", setup=fifo("j.log")))
    add(search_case("r3-storage-fifo", cat, "--storage", "sqlite:///f.db", setup=fifo("f.db")))
    add(search_case("r3-tracking-fifo", cat, "--tracking-uri", "sqlite:///m.db", setup=fifo("m.db")))
    add(search_case("r3-tracking-dev-null", cat, "--tracking-uri", "sqlite:////dev/null"))
    add(search_case("r3-data-fifo", cat, *DATA, setup=fifo("d.jsonl")))
    add(search_case("r3-data-link-dev-zero", cat, *DATA, setup=link("d.jsonl", "/dev/zero")))

    cat = "r3 data records"
    add(search_case("r3-data-blank-lines", cat, *DATA, setup=write("d.jsonl", "\n\n   \n")))
    add(search_case("r3-data-csv-blank-lines", cat, "--task", "aime25", "--data-file", "d.csv", setup=write("d.csv", "\n\n")))
    import json as _json

    dup = "".join(_json.dumps({"id": i % 2, "problem": f"{i}+1", "answer": str(i + 1)}) + "\n" for i in range(8))
    add(search_case("r3-data-duplicate-ids", cat, *DATA, setup=write("d.jsonl", dup)))

    cat = "r3 absurd values"
    add(search_case("r3-budget-googol", cat, "--budget", "1" + "0" * 100))
    add(search_case("r3-budget-googol-k", cat, "--budget", "1" + "0" * 97 + "k"))
    add(search_case("r3-budget-ten-billion", cat, "--budget", "10000000000"))
    add(Case("r3-budget-googol-file", cat, SEARCH, write("s.yaml", "name: s\nbudget: " + "1" + "0" * 100 + "\n")))
    grid = ", ".join(f"{i / 20_000:.5f}" for i in range(20_000))
    add(Case("r3-seed-lambdas-20000", cat, SEARCH, write("s.yaml", f"{quick}seed_lambdas: [{grid}]\n")))

    cat = "r3 report folder"
    add(search_case("r3-out-dot", cat, "--out", "."))
    add(search_case("r3-out-empty", cat, "--out", ""))
    add(search_case("r3-out-dotdot", cat, "--out", ".."))
    add(search_case("r3-out-other-study", cat, "--out", "r", setup=report_of("first")))
    add(search_case("r3-out-immutable", cat, "--out", "ro", setup=immutable("ro")))

    cat = "r3 damaged stores"
    optuna_tables, mlflow_tables = ("trials", "studies", "version_info"), ("runs", "experiments", "alembic_version")
    add(search_case("r3-storage-damaged-sqlite", cat, "--storage", "sqlite:///d.db", setup=damaged_sqlite("d.db", optuna_tables)))
    add(search_case("r3-tracking-damaged-sqlite", cat, "--tracking-uri", "sqlite:///d.db", setup=damaged_sqlite("d.db", mlflow_tables)))
    for name, record in [
        ("trial-without-study", b'{"op_code": 4, "worker_id": "x"}\n'),
        ("param-without-trial", b'{"op_code": 5, "worker_id": "x"}\n'),
        ("study-without-name", b'{"op_code": 0, "worker_id": "x"}\n'),
    ]:
        add(search_case(f"r3-journal-{name}", cat, "--storage", "journal:s.log", setup=journal(record)))
    return c

