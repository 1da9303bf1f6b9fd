"""Running a case: its folder, the child process, the timeout; what a refused case left behind; the stored
studies the cases copy."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.bad_input_probe.case import Case, Outcome, Run
from bench.bad_input_probe.classify import classify

ROOT = Path(__file__).resolve().parents[2]  # the repository: cases run in other folders
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    "CI": "true",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "COLUMNS": "200",
    "PYTHONUNBUFFERED": "1",
    "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
    "MI_SEARCH_TRACKING_TIMEOUT": os.environ.get("MI_SEARCH_TRACKING_TIMEOUT", "5"),
}
# What a refused input must not leave behind: a study in a storage (an empty storage file is not one; the
# tracking store may be created by its connection check), a report folder, an output.
STORAGES = ("mi-search.db", "fresh.db", "s.log")
OUTPUTS = ("runs", "m", "sw", "t", "out.csv")


def left_behind(folder: Path, before: dict[str, int]) -> list[str]:
    """What a refused case added: new outputs, and studies that were not in a storage before it ran."""
    left = [name for name in OUTPUTS if (folder / name).exists() and name not in before]
    for name in STORAGES:
        count = study_count(folder / name)
        if count > before.get(name, 0):
            left.append(f"{name} ({count - before.get(name, 0)} new study)")
    return left


def study_count(path: Path) -> int:
    """Studies in an Optuna SQLite storage or journal file; 0 when it holds none or is not one."""
    if not path.is_file():
        return 0
    if path.suffix == ".log":
        return sum(line.startswith(b'{"op_code":0,') for line in path.read_bytes().splitlines())
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM studies").fetchone()[0]
    except sqlite3.Error:
        return 0


def run_case(case: Case, root: Path, timeout: float) -> Outcome:
    folder = root / case.name
    folder.mkdir()
    if case.setup is not None:
        case.setup(folder)
    before = {p.name: study_count(p) for p in folder.iterdir()}
    start = time.monotonic()
    if case.scenario is not None:
        kind, code, output = case.scenario(folder, lambda *argv, **kw: spawn(folder, argv, case.timeout or timeout, **kw), case.timeout or timeout)
        left = left_behind(folder, before) if kind == "one-line" else []
        return Outcome(case, kind, code, time.monotonic() - start, output.strip(), left)
    command = [sys.executable, "-m", "mi_search", *case.argv]
    process = subprocess.Popen(
        command, cwd=folder, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=case.timeout or timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        code = None
    seconds = time.monotonic() - start
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    kind = classify(code, stdout, stderr)
    left = left_behind(folder, before) if kind != "accepted" else []
    return Outcome(case, kind, code, seconds, (stdout + stderr).strip(), left)



def spawn(folder: Path, argv: tuple, timeout: float, *, env: dict | None = None, cwd: Path | None = None,
          command: list[str] | None = None) -> Run:
    """`mi-search ARGV` started in `folder` (or `command` itself), as a case's single command is."""
    process = subprocess.Popen(
        command or [sys.executable, "-m", "mi_search", *argv], cwd=cwd or folder,
        env={k: v for k, v in {**ENV, **(env or {})}.items() if v is not None},  # None: unset
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    return Run(process, timeout)


def build_template(root: Path) -> Path:
    """Stored studies every case that needs one copies: `s` (one trial), `over` (over a 1-token budget), `empty`."""
    template = root / "_stored"
    template.mkdir()
    quick = "task: {search_size: 4, holdout_size: 4}\n"
    (template / "s.yaml").write_text(f"name: s\nbudget: 4k\n{quick}")
    (template / "over.yaml").write_text(f"name: over\nbudget: 1\nseed_lambdas: [0.0]\n{quick}")
    (template / "empty.yaml").write_text(f"name: empty\nbudget: 4k\n{quick}")
    for study, trials in (("s", 1), ("over", 1), ("empty", 0)):
        done = subprocess.run(
            [sys.executable, "-m", "mi_search", "--study", f"{study}.yaml", "--trials", str(trials)],
            cwd=template, env=ENV, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        )
        if done.returncode != 0:
            sys.exit(f"cannot build the stored studies ({study}):\n{done.stdout}\n{done.stderr}")
    for leftover in ("s.yaml", "over.yaml", "empty.yaml", "runs"):
        path = template / leftover
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return template

