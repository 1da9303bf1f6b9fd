"""Ctrl-C and SIGTERM land at a safe point: a signal that arrives inside a storage call is raised once the call has
returned, so no SQLite write lock is left held by the exception Optuna keeps (which made Ctrl-C take 60 s)."""

from __future__ import annotations

import signal
import sqlite3
import time

import optuna
import pytest
from sqlalchemy import event

from mi_search.cli.signals import Terminated, in_store_call, interrupts_at_safe_points
from mi_search.search.store.storage import open_storage


def _study_with_a_trial(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    study = optuna.create_study(storage=storage, study_name="s", directions=["maximize", "minimize"])
    return storage, study.ask()


def _unlocked(path) -> bool:
    probe = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def _signal_inside_each_statement(storage, *signals: int) -> None:
    """Send `signals` from inside the next statement the storage executes: the main thread is then in SQLAlchemy."""
    pending = list(signals)

    @event.listens_for(storage.engine, "before_cursor_execute")
    def _send(*_args) -> None:
        while pending:
            signal.raise_signal(pending.pop(0))


@pytest.mark.parametrize(("signum", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_a_signal_inside_a_storage_call_is_raised_once_the_call_returned_and_leaves_no_lock(tmp_path, signum, raised):
    storage, trial = _study_with_a_trial(tmp_path)
    returned = False
    with interrupts_at_safe_points():
        _signal_inside_each_statement(storage, signum)
        with pytest.raises(raised) as caught:
            trial.set_user_attr("written", True)
            returned = True
            time.sleep(1)  # the deferred signal lands here
    assert returned, "raised inside the storage call"
    assert caught.type is raised
    assert _unlocked(tmp_path / "s.db")
    (stored,) = optuna.load_study(study_name="s", storage=open_storage(f"sqlite:///{tmp_path}/s.db")).get_trials()
    assert stored.user_attrs == {"written": True}


def test_a_second_signal_while_one_waits_is_raised_at_once_and_nothing_follows(tmp_path):
    storage, trial = _study_with_a_trial(tmp_path)
    with interrupts_at_safe_points():
        _signal_inside_each_statement(storage, signal.SIGINT, signal.SIGINT)
        returned = False
        with pytest.raises(KeyboardInterrupt):
            trial.set_user_attr("written", True)
            returned = True
        assert not returned
        time.sleep(0.2)  # the first signal's resend finds nothing waiting: no second KeyboardInterrupt


def test_outside_a_storage_call_a_signal_is_raised_where_the_program_is():
    with interrupts_at_safe_points():
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
            pytest.fail("not raised at once")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the previous handler is back


@pytest.mark.parametrize(
    ("module", "deferred"),
    [
        ("sqlalchemy.engine.base", True),
        ("optuna.storages._rdb.storage", True),
        ("mlflow.store.tracking.sqlalchemy_store", True),
        ("mi_search.search.store.journal", True),  # appends whole records under Optuna's journal lock
        ("mi_search.search.store.study", False),  # waits in a loop for a study being created: Ctrl-C breaks it
        ("mi_search.search.running.objective", False),
    ],
)
def test_signals_wait_only_inside_the_modules_that_hold_a_transaction_or_a_lock(module, deferred):
    frame = eval("__import__('sys')._getframe()", {"__name__": module})  # a frame running that module's code
    assert in_store_call(frame) is deferred
