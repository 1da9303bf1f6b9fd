"""A λ another process is scoring right now is not scored twice: the later trial waits for it, then reuses it.

Optuna's samplers avoid most such proposals (TPE's constant liar counts running trials as bad; workers and
resumed runs draw from seeds of their own), but two runs that start from the same study state with the same
seed propose the same first point, and GP proposes a bound again. Optuna has no rule for a proposal that
equals a running trial, so we add one: the trial with the higher number waits while the lower one runs (the
lower never waits for the higher, so two twins cannot wait for each other), reaping dead owners as it
waits; then the finished twin's scores are reused at no token cost (`trials.finished_twin`). If the twin
failed, this trial scores the point itself.
"""

from __future__ import annotations

import time
import warnings

import optuna
from optuna.storages._heartbeat import is_heartbeat_enabled  # what Optuna's own optimize loop asks

from mi_search.search.store import trials
from mi_search.search.store.study import reap_orphans

POLL_S = 1.0


def wait_for_running_twin(trial: optuna.Trial, poll_s: float = POLL_S) -> int | None:
    """Wait while an earlier RUNNING trial has these parameters; returns its number, or None if there was none."""
    waited = None
    while (twin := trials.running_twin(trial)) is not None and twin.number < trial.number:
        waited = twin.number
        time.sleep(poll_s)
        reap_orphans(trial.study)  # its owner on this host may have died
        if is_heartbeat_enabled(trial.study._storage):  # or elsewhere, its heartbeat stopped
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(trial.study)
    return waited
