"""Ctrl-C and SIGTERM during a study, taken at a safe point: never inside a call into a study or tracking store.

Why: Python raises KeyboardInterrupt at whatever bytecode runs when the signal arrives. Raised inside a
SQLAlchemy call, it leaves that connection's transaction open for as long as the exception lives, and
Optuna keeps the exception to log the failed trial. With SQLite that transaction holds the write lock
(every storage transaction begins IMMEDIATE), so the trial's FAIL record then waited out the lock timeout
(60 s) and Ctrl-C took a minute. Neither Optuna, MLflow nor SQLAlchemy defers signals, so this does: a
signal that lands inside a store call is raised again a few milliseconds later, once the call has
returned. A second signal of the same kind while one waits is raised at once: the user insists.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# Modules whose calls hold a database transaction or a file lock that an exception raised halfway would strand: our
# journal writer appends whole records under Optuna's lock. Not our other store modules: they call these, and some
# wait in loops (a study still being created) that Ctrl-C must still break at once.
STORE_MODULES = (
    "sqlalchemy.",
    "sqlite3",
    "psycopg",
    "optuna.storages.",
    "mlflow.store.",
    "mi_search.search.store.journal",
)
RETRY_S = 0.005  # how soon a deferred signal is raised again


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so it unwinds as Ctrl-C does: the running trial is failed,
    its MLflow run ended, and the study stays resumable."""


def in_store_call(frame: FrameType | None) -> bool:
    """Whether this frame or one that called it runs code of a study or tracking store."""
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith(STORE_MODULES):
            return True
        frame = frame.f_back
    return False


class SafePoints:
    """The handler for SIGINT and SIGTERM: raise KeyboardInterrupt (Terminated for SIGTERM) where the main thread is,
    unless it is inside a store call; then the signal is sent again until it lands outside one."""

    def __init__(self) -> None:
        self.waiting: set[int] = set()  # signals deferred and not yet raised
        self.resent: set[int] = set()  # signals this object sent again (a user's second signal is not among them)

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        again = signum in self.resent
        self.resent.discard(signum)
        if again and signum not in self.waiting:
            return  # sent again for a signal a second one has already raised
        if in_store_call(frame) and (again or signum not in self.waiting):
            self.waiting.add(signum)
            timer = threading.Timer(RETRY_S, self._resend, (signum,))
            timer.daemon = True  # never keeps a finished process alive
            timer.start()
            return
        self.waiting.discard(signum)
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    def _resend(self, signum: int) -> None:
        self.resent.add(signum)
        signal.pthread_kill(threading.main_thread().ident, signum)


@contextmanager
def interrupts_at_safe_points() -> Iterator[SafePoints]:
    """SIGINT and SIGTERM handled by `SafePoints` inside the block; the previous handlers restored after it."""
    handler = SafePoints()
    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield handler
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
