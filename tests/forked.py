"""The CLI in child processes forked from an interpreter that has already imported mi_search.

Why: a `python -m mi_search` child spends 10–17 s of CPU on 2 cores importing torch, transformers (which pulls in
scikit-learn and torch._dynamo) and MLflow before its first line, and the suite starts dozens of them. A
multiprocessing forkserver with those modules preloaded pays the imports once per test worker; each child is then
forked from it: a real process with its own pid, its own signal handlers, stdout, stderr and exit status, running
the console script's `main()` from the folder it is given. The server is a fresh interpreter that has only imported
modules (no thread of ours, no torch op run), which is what makes forking it safe.

What a fork cannot show stays with `python -m mi_search` (`tests.conftest.mi_search(..., fresh=True)`): the console
script itself, warnings printed while importing, and anything about the interpreter's start.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path

# What every study command imports: the forkserver imports these once, before its first fork. The first sets the
# process up as a command-line run does before torch and transformers load (their progress bars and verbosity are
# read when they are imported): a fork must start from what `python -m mi_search` would have.
PRELOAD = [
    "tests.forked_start",
    "mi_search.cli.app",
    "mi_search.cli.study",
    "mi_search.service.study",
    "mi_search.backends.hf",
    "mi_search.tracking",
    # MLflow imports its SQL stores when a command first opens a tracking or registry store: 2-3 s in each child
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "tests.forked",
]
_ROOT = Path(__file__).resolve().parent.parent
_context: multiprocessing.context.ForkServerContext | None = None


def _forkserver() -> multiprocessing.context.ForkServerContext:
    """The worker's one forkserver, started from the repository root so that it can import this module."""
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        from multiprocessing import forkserver

        # The server is a `python -c` child: its sys.path starts at its working folder, and tests change folders.
        here, path = os.getcwd(), os.environ.get("PYTHONPATH")
        os.chdir(_ROOT)
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), path) if p)
        try:
            forkserver.ensure_running()
        finally:
            os.chdir(here)
            if path is None:
                os.environ.pop("PYTHONPATH")
            else:
                os.environ["PYTHONPATH"] = path
        _context = context
    return _context


def process(target, *args) -> multiprocessing.process.BaseProcess:
    """A process that runs `target(*args)`, forked from the worker's warm interpreter (not started yet): for tests
    whose child runs a library call rather than the CLI. A spawned one would import the test module, and with it
    torch and transformers, again."""
    return _forkserver().Process(target=target, args=args)


def _run(args: list[str], cwd: str, env: dict[str, str], out: str, err: str) -> None:
    """In the child: its own session (as `start_new_session`), its folder, its output files, then the CLI."""
    os.setsid()
    os.chdir(cwd)
    # The environment the test process has now, as subprocess passes it: the server's is from when it started.
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # read TMPDIR again, as a new interpreter would
    for fd, path in ((1, out), (2, err)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = ["mi-search", *args]
    from mi_search.cli.app import main

    try:
        main()
    finally:
        # A forked child ends with os._exit: run what interpreter exit would (MLflow's and logging's hooks).
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()


class Child:
    """A forked CLI process with the parts of `subprocess.Popen` the tests use (text output, read once it ends)."""

    def __init__(self, args, cwd, env: dict[str, str] | None = None):
        self._folder = tempfile.mkdtemp(prefix="mi-search-child-")
        weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        self._out, self._err = f"{self._folder}/stdout", f"{self._folder}/stderr"
        environment = dict(os.environ if env is None else env)
        self._process = process(_run, [str(a) for a in args], str(cwd), environment, self._out, self._err)
        self._process.start()
        self.pid: int = self._process.pid
        self.args = args

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self._process.exitcode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        return Path(self._out).read_text(), Path(self._err).read_text()

    def send_signal(self, signum: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

