"""A bad input: the command line it runs and what its folder holds first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Setup = Callable[[Path], None]
# A case that needs more than one command, or a condition after it (processes at once, a paused owner, a disk
# filled midway): it gets its folder, a way to start `mi-search ARGV` there, and the timeout, and returns its
# kind (one of classify.KINDS), an exit code and the output.
Scenario = Callable[[Path, "Spawn", float], tuple[str, "int | None", str]]
Spawn = Callable[..., "Run"]


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    argv: list[str | bytes]
    setup: Setup | None = None
    timeout: float | None = None  # None: the run's --timeout
    stored: bool = False  # its setup copies the stored studies (built once, before the cases run)
    scenario: Scenario | None = None  # run instead of the single command `argv`


class Run:
    """One `mi-search` child process of a scenario: started at once, finished with `finish`."""

    def __init__(self, process, timeout: float) -> None:
        self.process, self.timeout = process, timeout
        self.code: int | None = None
        self.stdout = self.stderr = ""

    def finish(self) -> "Run":
        import os
        import signal
        import subprocess

        try:
            out, err = self.process.communicate(timeout=self.timeout)
            self.code = self.process.returncode
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            out, err = self.process.communicate()
            self.code = None
        self.stdout, self.stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        return self


@dataclass
class Outcome:
    """How one case ended: its kind (one-line, unexpected, hang, ...), exit code, time, output and what it left."""

    case: Case
    kind: str
    code: int | None
    seconds: float
    output: str
    left: list[str]
