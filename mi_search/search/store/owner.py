"""Which process runs a trial (host, PID namespace, PID, process start time), and whether that process still lives.

A PID alone is not an identity: after a process dies its PID is reused. The kernel's start time of
the process (clock ticks since boot, /proc/<pid>/stat field 22) and the boot id tell a reused PID
or a rebooted machine from the process that recorded itself.

A host name is not a machine either: containers that share the host's UTS namespace (Docker's
--uts=host, Kubernetes pods on the host network) report the same name but each has its own PID
namespace, where the owner's PID means nothing. The PID namespace (the inode of /proc/self/ns/pid)
is recorded too, and only a process in the same host and namespace asks whether the owner lives.
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
    pid_ns: str = ""  # "pid:[<inode>]", or "" where /proc is missing (and in records made before it was kept)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> ProcessId | None:
        try:
            return cls(
                host=str(raw["host"]), pid=int(raw["pid"]), started=str(raw["started"]), pid_ns=str(raw.get("pid_ns", ""))
            )
        except (TypeError, KeyError, ValueError):
            return None

    def on_this_host(self) -> bool:
        """Whether this process can see the owner's PID: same host name and, where recorded, same PID namespace."""
        if self.host != socket.gethostname():
            return False
        return not self.pid_ns or self.pid_ns == _pid_namespace()

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


@cache
def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
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
    return ProcessId(
        host=socket.gethostname(), pid=os.getpid(), started=_start_time(os.getpid()), pid_ns=_pid_namespace()
    )


def worker_id() -> str:
    """A name for this process among a study's workers: host, PID namespace and PID (containers on one host
    name all start their process as PID 1)."""
    return f"{socket.gethostname()}:{_pid_namespace()}:{os.getpid()}"
