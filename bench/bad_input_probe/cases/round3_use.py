"""Round 3, the classes that need more than one command: processes at once, a working folder deleted, a read-only
HOME, an owner paused past its heartbeat, a disk that is too small or fills during a promotion, journal records
that Optuna replays but that break the next ask, tell or report."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from bench.bad_input_probe import setups
from bench.bad_input_probe.case import Case, Run, Spawn
from bench.bad_input_probe.classify import classify
from bench.bad_input_probe.cases.common import MERGE, PAIR, SEARCH, SWEEP
from bench.bad_input_probe.setups import MOUNT_LOCK, MOUNTS, chain, fifo, link, read_only, stored, study_file, toy_pair


def ended(run: Run) -> str:
    return classify(run.code, run.stdout, run.stderr)


def output(*runs: Run) -> str:
    return "\n".join((r.stdout + r.stderr).strip() for r in runs)


def scored_twice(folder: Path, study: str = "s") -> list[float]:
    """λ that more than one trial scored itself (generated tokens for): a proposal run twice."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    found = optuna.load_study(study_name=study, storage=f"sqlite:///{folder}/mi-search.db").get_trials()
    scored = [t.params.get("lam") for t in found if t.state.name == "COMPLETE" and t.user_attrs.get("generated_tokens", 0) > 0]
    return sorted({lam for lam in scored if scored.count(lam) > 1})


def all_ran(runs: list[Run], folder: Path) -> tuple[str, int | None, str]:
    """Every run exited 0 and no λ was scored twice: correct; else the first failure's kind, or wrong."""
    for run in runs:
        if run.code != 0:
            return ended(run), run.code, output(*runs)
    twice = scored_twice(folder)
    if twice:
        return "wrong", 0, output(*runs) + f"\nscored twice: {twice}"
    return "correct", 0, output(*runs)


def at_once(*argv: str, copies: int = 2):
    def scenario(folder: Path, spawn: Spawn, timeout: float):
        runs = [spawn(*argv) for _ in range(copies)]
        return all_ran([run.finish() for run in runs], folder)

    return scenario


def in_a_row(*argv: str, copies: int = 2):
    def scenario(folder: Path, spawn: Spawn, timeout: float):
        return all_ran([spawn(*argv).finish() for _ in range(copies)], folder)

    return scenario


def deleted_working_folder(folder: Path, spawn: Spawn, timeout: float):
    """The command starts in a folder removed just before it runs (a shell whose folder another one deleted)."""
    (folder / "gone").mkdir()
    shell = 'cd gone && rmdir "$PWD" && exec "$0" -m mi_search "$@"'
    import sys

    run = spawn(command=["bash", "-c", shell, sys.executable, *SEARCH]).finish()
    return ended(run), run.code, output(run)


def read_only_home(folder: Path, spawn: Spawn, timeout: float):
    """A quick study with HOME on a read-only disk (a container's): it runs, and says nothing about HOME."""
    read_only("home")(folder)
    run = spawn(*SEARCH, env={"HOME": str(folder / "home"), "MPLCONFIGDIR": None}).finish()
    if run.code != 0:
        return ended(run), run.code, output(run)
    noise = [line for line in (run.stdout + run.stderr).splitlines() if "warning" in line.lower() or "matplotlib" in line.lower()]
    return ("wrong" if noise else "correct"), 0, "\n".join(noise) or output(run)


def paused_owner(folder: Path, spawn: Spawn, timeout: float):
    """A study stopped (SIGSTOP) past its heartbeat while it runs a trial; another process runs meanwhile and fails
    the stale trial; the first comes back (SIGCONT): it ends in one line, the other ran."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = f"sqlite:///{folder}/p.db"
    owner = spawn(*SEARCH, "--storage", url, "--heartbeat", "1", "--trials", "30")
    deadline = time.monotonic() + timeout / 2
    while time.monotonic() < deadline and owner.process.poll() is None:
        time.sleep(0.3)
        try:
            found = optuna.load_study(study_name="s", storage=url).get_trials()
        except (KeyError, Exception):  # not created yet
            continue
        if any(t.state.name == "COMPLETE" for t in found) and any(t.state.name == "RUNNING" for t in found):
            break
    else:
        return ended(owner.finish()), owner.code, "the study never reached a running trial\n" + output(owner)
    os.killpg(owner.process.pid, signal.SIGSTOP)
    try:
        time.sleep(5)  # past the grace of 3 heartbeats of 1 s
        other = spawn("--study", "s", "--storage", url, "--heartbeat", "1", "--trials", "1").finish()
    finally:
        os.killpg(owner.process.pid, signal.SIGCONT)
    owner.finish()
    if other.code != 0:
        return ended(other), other.code, output(other)
    if owner.code is None:
        return "hang", None, output(owner)
    if "Traceback (most recent call last)" in owner.stdout + owner.stderr:
        return "traceback", owner.code, output(owner)
    errors = [line for line in owner.stderr.splitlines() if line.startswith("error: ")]
    last = [line for line in (owner.stdout + owner.stderr).splitlines() if line.strip()][-1:]
    if owner.code == 2 and len(errors) == 1 and last == errors:
        return "one-line", 2, errors[0]
    return ("accepted" if owner.code == 0 else "unexpected"), owner.code, output(owner)


# --- A promotion on a disk too small, or one that fills midway ------------------------------------------


def small_disk(extra: int):
    """The case's folder on a tmpfs holding a copy of the stored studies with `extra` bytes to spare."""

    def run(folder: Path) -> None:
        size = sum(p.stat().st_size for p in setups.TEMPLATE.rglob("*") if p.is_file()) + extra + (1 << 20)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
        if done.returncode != 0:
            raise SystemExit(f"the full-disk cases need root to mount a tmpfs: {done.stderr.decode().strip()}")
        with MOUNT_LOCK:
            MOUNTS.append(folder)
        stored(folder)
        fill(folder, leave=extra)

    return run


def fill(disk: Path, leave: int) -> None:
    with open(disk / "filler", "ab") as file:
        file.write(b"\0" * max(0, shutil.disk_usage(disk).free - leave))


PROMOTE = ["promote", "--study", "s", "--name", "toy", "--tracking-uri", "sqlite:///m.db"]


def fills_midway(folder: Path, spawn: Spawn, timeout: float):
    """Room for the promotion when it starts; another writer takes it while the merge is exported. One line, and
    no partial artifact, no registered model."""
    (folder / "filler").unlink()
    staging = folder.parent / f"{folder.name}-tmp"
    staging.mkdir()

    def writer() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(name.startswith("mi-search-promote-") for name in os.listdir(staging)):
                fill(folder, leave=1 << 20)
                return
            time.sleep(0.005)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    run = spawn(*PROMOTE, env={"TMPDIR": str(staging)}).finish()
    thread.join(timeout=5)
    (folder / "filler").unlink(missing_ok=True)
    kind = ended(run)
    models = folder / "mlartifacts" / "models"
    left = [str(p.relative_to(folder)) for p in models.rglob("*") if p.is_file()] if models.exists() else []
    if kind == "one-line" and left:
        return "wrong", run.code, output(run) + f"\nleft behind: {left[:3]} ({len(left)} files)"
    return kind, run.code, output(run)


# --- Journal records that replay but break later ----------------------------------------------------------

LAM = json.dumps({"name": "FloatDistribution", "attributes": {"step": None, "low": 0.0, "high": 1.0, "log": False}})
START, END = "2026-01-01T00:00:00", "2026-01-01T00:01:00"


def journal_with(*records: dict):
    """The stored study `s` copied into a journal `s.log` (Optuna's copy_study), then `records` appended."""

    def run(folder: Path) -> None:
        import optuna

        from mi_search.search.store.storage import open_storage

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        optuna.copy_study(
            from_study_name="s", from_storage=f"sqlite:///{setups.TEMPLATE}/mi-search.db",
            to_storage=open_storage(f"journal:{folder / 'j.log'}"),
        )
        attrs = optuna.load_study(study_name="s", storage=f"sqlite:///{setups.TEMPLATE}/mi-search.db").trials[0].user_attrs
        lines = [json.dumps({k: (attrs if v == "SCORED" else v) for k, v in r.items()}) for r in records]
        (folder / "s.log").write_bytes((folder / "j.log").read_bytes() + "".join(f"{line}\n" for line in lines).encode())
        (folder / "j.log").unlink()

    return run


def created(**fields) -> dict:
    return {
        "op_code": 4, "worker_id": "w", "study_id": 0, "datetime_start": START, "datetime_complete": END, "state": 1,
        "values": [0.6, 90.0], "params": {"lam": 0.4}, "distributions": {"lam": LAM}, "user_attrs": "SCORED", **fields,
    }


def pair_file_is(name: str, kind: str):
    """The toy pair's Instruct file `name` replaced by a FIFO, or by a link to /dev/zero."""

    def edit(directory: Path) -> None:
        (directory / name).unlink()
        if kind == "fifo":
            os.mkfifo(directory / name)
        else:
            (directory / name).symlink_to("/dev/zero")

    return edit


def cases() -> list[Case]:
    c: list[Case] = []
    add = c.append

    cat = "r3 concurrency"
    add(Case("r3-two-first-starts-at-once", cat, SEARCH, study_file(), scenario=at_once(*SEARCH), timeout=600))
    # A copied project's MLflow store is refused (its artifacts live in the original's folder): a store of its own.
    resume = ("--study", "s", "--trials", "1", "--tracking-uri", "sqlite:///fresh-m.db")
    add(Case("r3-two-resumes-at-once", cat, list(resume), stored, scenario=at_once(*resume), timeout=600, stored=True))
    add(Case("r3-two-resumes-in-a-row", cat, list(resume), stored, scenario=in_a_row(*resume), timeout=600, stored=True))

    cat = "r3 process environment"
    add(Case("r3-working-folder-deleted", cat, SEARCH, study_file(), scenario=deleted_working_folder))
    add(Case("r3-home-read-only", cat, SEARCH, study_file(), scenario=read_only_home, timeout=600))
    add(Case("r3-owner-paused-past-heartbeat", cat, SEARCH,
             study_file(task={"search_size": 200, "holdout_size": 4}, halving={"rungs": [1.0]}),
             scenario=paused_owner, timeout=600))

    cat = "r3 full disk"
    add(Case("r3-promote-disk-too-small", cat, PROMOTE, small_disk(1 << 20), stored=True, timeout=600))
    add(Case("r3-promote-disk-fills-midway", cat, PROMOTE, small_disk(8 << 20), scenario=fills_midway, stored=True,
             timeout=600))

    cat = "r3 more not regular files"  # the class tried again on inputs the first round did not reach
    for name, argv, setup in [
        ("label-csv-fifo", ["label", "in.csv"], fifo("in.csv")),
        ("label-csv-dev-zero", ["label", "in.csv"], link("in.csv", "/dev/zero")),
        ("sweep-data-fifo", [*SWEEP, "--data", "d.jsonl"], fifo("d.jsonl")),
        ("merge-spec-fifo", ["merge", "--spec", "spec.yaml", "--out", "m"], fifo("spec.yaml")),
        ("pair-config-fifo", [*MERGE, *PAIR, "--out", "m"], toy_pair("instruct", edit=pair_file_is("config.json", "fifo"))),
        ("pair-weights-fifo", [*MERGE, *PAIR, "--out", "m"], toy_pair("instruct", edit=pair_file_is("model.safetensors", "fifo"))),
        ("pair-tokenizer-dev-zero", [*MERGE, *PAIR, "--out", "m"], toy_pair("instruct", edit=pair_file_is("tokenizer.json", "zero"))),
        ("pair-config-dev-zero", [*MERGE, *PAIR, "--out", "m"], toy_pair("instruct", edit=pair_file_is("config.json", "zero"))),
        ("out-fifo", [*SEARCH, "--out", "o"], chain(study_file(), fifo("o"))),
        ("promote-tracking-fifo", ["promote", "--study", "s", "--name", "t", "--tracking-uri", "sqlite:///f.db"], chain(stored, fifo("f.db"))),
    ]:
        add(Case(f"r3-more-{name}", cat, argv, setup, stored=name.startswith("promote")))

    cat = "r3 replayed journal"
    categorical = json.dumps({"name": "CategoricalDistribution", "attributes": {"choices": ["a"]}})
    queued = {"op_code": 4, "worker_id": "w", "study_id": 0, "datetime_start": None, "state": 4}
    for name, record in [
        ("complete-without-values", created(values=None)),
        ("one-value-for-two-objectives", created(values=[0.6])),
        ("nan-value", created(values=[float("nan"), 90.0])),
        ("lambda-outside-its-range", created(params={"lam": 5.0})),
        ("lambda-of-another-kind", created(params={"lam": 0}, distributions={"lam": categorical})),
        ("failed-with-values", created(state=3)),
        ("scored-without-scores", created(user_attrs={})),
        ("queued-lambda-outside", {**queued, "system_attrs": {"fixed_params": {"lam": 7.0}}}),
        ("queued-lambda-text", {**queued, "system_attrs": {"fixed_params": {"lam": "abc"}}}),
    ]:
        add(Case(f"r3-journal-replays-{name}", cat, [*resume, "--storage", "journal:s.log"],
                 journal_with(record), stored=True))
    return c
