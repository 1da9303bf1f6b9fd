"""Open the Optuna storage a study lives in: SQLite or PostgreSQL (RDB, with heartbeats) or a journal file."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError

from mi_search.diskspace import disk_full, no_space
from mi_search.errors import UserError
from mi_search.filekind import check_regular
from mi_search.search.store.journal import SafeJournalFile
from mi_search.search.store.replayed import check_replayed
from mi_search.store_kinds import OPTUNA_STORAGE, check_store_kind
from mi_search.store_lock import creating

JOURNAL_PREFIX = "journal:"
# A trial whose process died is noticed after this many missed heartbeats, then retried with its parameters.
GRACE_HEARTBEATS = 3
MAX_RETRIES = 2
SQLITE_LOCK_WAIT_S = 60  # how long a SQLite writer waits for another worker's transaction to end


def open_storage(url: str, *, heartbeat_interval: int = 10) -> BaseStorage:
    """`sqlite:///study.db`, `postgresql://user@host/db`, or `journal:PATH` for a journal file.

    RDB storages record a heartbeat per running trial: a trial whose process was killed is marked
    FAIL once its heartbeat is stale, and retried with the same parameters by the next process.
    Journal files have no heartbeat. On every storage, a trial whose process died on this host is
    reaped by the next process that opens the study (`study.reap_orphans`).
    """
    if url.startswith(JOURNAL_PREFIX):
        path = url.removeprefix(JOURNAL_PREFIX)
        if not path or Path(path).is_dir():
            raise UserError(f"--storage {url} names no journal file; give a file path, e.g. journal:mi-search.log")
        check_regular(Path(path), "journal", "give a journal file path, e.g. journal:mi-search.log")
        return open_journal(path)
    sqlite = url.startswith("sqlite")
    check_store_kind(url, "--storage", OPTUNA_STORAGE, "sqlite:///mi-search.db")
    try:
        with warnings.catch_warnings(), creating(url):  # heartbeats are "experimental" in Optuna; we rely on them knowingly
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(
                url,
                engine_kwargs={"connect_args": {"timeout": SQLITE_LOCK_WAIT_S}} if sqlite else {},
                heartbeat_interval=heartbeat_interval,
                grace_period=GRACE_HEARTBEATS * heartbeat_interval,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
            )
    except ImportError as exc:
        cause = exc.__cause__ or exc  # Optuna re-raises the driver's ImportError under its own message
        raise UserError(f"storage {url} needs its database driver ({cause}); pip install that module") from None
    except (SQLAlchemyError, ValueError) as exc:  # bad URLs, unknown dialects, unreachable databases
        if disk_full(exc) is not None:
            raise no_space(url) from None
        reason = str(exc).splitlines()[0]
        raise UserError(
            f"cannot open storage {url} ({reason}); use sqlite:///PATH.db, postgresql://USER@HOST/DB or journal:PATH"
        ) from None
    if sqlite:
        serialize_sqlite_transactions(storage.engine)
    return storage


def open_journal(path: str) -> JournalStorage:
    """A journal storage; records that are JSON but not ones Optuna can replay are one line, not Optuna's assertion,
    and so are records it replays but that would break a later ask, tell or report (`check_replayed`)."""
    backend = SafeJournalFile(path)
    try:
        storage = JournalStorage(backend)
    except (AssertionError, KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc).strip() else 'a record it cannot replay'}"
        raise UserError(
            f"{path} is not an Optuna journal Optuna can replay ({reason[:120]}); pass the right file to "
            "--storage journal:PATH, or a new path to start a study there"
        ) from None
    check_replayed(storage, path)
    return storage


def serialize_sqlite_transactions(engine: Engine) -> None:
    """Open every SQLite transaction with BEGIN IMMEDIATE, so a read-then-write cannot interleave.

    Python's sqlite3 starts a transaction only at its first write, so two workers could both read the
    same enqueued trial as WAITING and both run it. An immediate transaction takes the write lock
    before it reads; the other worker waits for it, then sees the trial RUNNING.
    """

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # pooled connections opened before the listeners would still begin lazily


def study_exists(storage: BaseStorage, name: str) -> bool:
    try:
        storage.get_study_id_from_name(name)
    except KeyError:
        return False
    return True
