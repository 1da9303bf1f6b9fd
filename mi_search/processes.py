"""Whether a process on this machine still runs: what reaping orphans and cleaning up after kills ask."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True while a process with this PID exists (another user's live process counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
