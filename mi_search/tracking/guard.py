"""Tracking is a log: a tracking store that fails mid-study costs a bounded wait and one warning line, never a trial.

After the first failure the guard skips every later call of this process; the next run re-syncs what was
not logged from the Optuna storage (see `resync.py`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

TIMEOUT_ENV = "MI_SEARCH_TRACKING_TIMEOUT"  # seconds one tracking request may take mid-study
DEFAULT_TIMEOUT_S = 10


def timeout_s() -> int:
    """The configured bound on one tracking request, in seconds (at least 1)."""
    try:
        return max(1, int(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)))
    except ValueError:
        return DEFAULT_TIMEOUT_S


@contextmanager
def bounded_requests(seconds: int | None = None) -> Iterator[None]:
    """MLflow retries an unreachable server for minutes by default; one try within `seconds` says enough."""
    names = ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT=str(seconds or timeout_s()))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def reason_of(exc: BaseException) -> str:
    """The first line of an error, short enough for one line of output."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


class Guard:
    """Calls into the tracking store; the first failure is one warning line, and tracking stops for this process."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self.failure: str | None = None

    @property
    def healthy(self) -> bool:
        return self.failure is None

    def call(self, action: Callable[[], T]) -> T | None:
        """`action()` within the bounded wait, or None once the store has failed."""
        if self.failure is not None:
            return None
        try:
            with bounded_requests():
                return action()
        except Exception as exc:  # noqa: BLE001 - any failure of the log must leave the study running
            self.failure = reason_of(exc)
            sys.stderr.write(
                f"warning: the MLflow tracking store {self.tracking_uri} failed ({self.failure}); the study goes on "
                "without tracking, and its next run logs what was missed\n"
            )
            sys.stderr.flush()
            return None
