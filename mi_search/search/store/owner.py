"""Which process runs a trial (host, PID, process start time), and whether that process still lives.

A PID alone is not an identity: after a process dies its PID is reused. The kernel's start time of
the process (clock ticks since boot, /proc/<pid>/stat field 22) and the boot id tell a reused PID
or a rebooted machine from the process that recorded itself.
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mi_search.processes import pid_alive


@dataclass(frozen=True)
class ProcessId:
    host: str
    pid: int
    started: str  # "<boot id>:<start ticks>", or "" where /proc is missing

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> ProcessId | None:
        try:
            return cls(host=str(raw["host"]), pid=int(raw["pid"]), started=str(raw["started"]))
        except (TypeError, KeyError, ValueError):
            return None

    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    def alive(self) -> bool:
        """Whether this process still runs (asked on its own host only)."""
        if self.started:
            return _start_time(self.pid) == self.started
        return pid_alive(self.pid)


@cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """`<boot id>:<start ticks>` of a live process; "" when it is gone or /proc is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    if fields[0] == "Z":  # a zombie has exited; only its parent has not collected it yet
        return ""
    return f"{_boot_id()}:{fields[19]}"


def this_process() -> ProcessId:
    return ProcessId(host=socket.gethostname(), pid=os.getpid(), started=_start_time(os.getpid()))


def worker_id() -> str:
    """A name for this process among a study's workers: host and PID."""
    return f"{socket.gethostname()}:{os.getpid()}"
