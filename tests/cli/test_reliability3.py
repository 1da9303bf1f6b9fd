"""Round 3 of reliability, with real processes and real storages: simultaneous first starts, concurrent and
repeated proposals of one λ, trial owners in other PID namespaces, owners paused past their heartbeat, and
seed lists queued in part."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from mi_search.search.store import trials as trial_attrs
from mi_search.search.settings.config import build_config
from mi_search.search.store.owner import ProcessId, this_process
from mi_search.search.store.storage import open_storage
from mi_search.search.store.study import DIRECTIONS, open_study, queue_seeds, reap_orphans

from tests.conftest import TrialWatch, in_process, start

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def write_study(folder: Path, name: str = "s", **changes) -> Path:
    settings = {"name": name, "budget": "4k", "trials": 1, "task": {"search_size": 4, "holdout_size": 4}, **changes}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def finish(process, timeout: float = 600) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out + err


def trials_of(url: str, name: str = "s") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=open_storage(url)).get_trials()


def scored(found: list[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    """Trials that generated tokens: the ones that really scored their λ."""
    return [t for t in found if t.state == TrialState.COMPLETE and t.user_attrs.get("generated_tokens", 0) > 0]


# --- Simultaneous first starts -----------------------------------------------------------------------


@pytest.mark.slow
def test_two_first_starts_on_new_sqlite_files_at_once_both_run(tmp_path):
    write_study(tmp_path)
    processes = [start("--study", "s.yaml", cwd=tmp_path) for _ in range(2)]  # both create mi-search.db and mlflow.db
    results = [finish(p) for p in processes]
    for code, output in results:
        assert code == 0, output
    found = trials_of(f"sqlite:///{tmp_path}/mi-search.db")
    assert sum(t.state == TrialState.COMPLETE for t in found) == 2
    lambdas = [t.params["lam"] for t in scored(found)]
    assert len(lambdas) == len(set(lambdas)) == 2  # the seeds, queued once, taken once each


# --- A λ proposed again -----------------------------------------------------------------------------


@pytest.mark.slow
def test_resumes_in_a_row_and_at_once_never_score_one_lambda_twice(tmp_path):
    url = f"sqlite:///{tmp_path}/mi-search.db"
    write_study(tmp_path, trials=3)
    # The seeds and the resumes in a row run in this process: a resume's sampler seed comes from what the
    # storage holds (`resume_key`), not from the process, so a child each would add only start-up seconds.
    in_process("--study", "s.yaml", "--storage", url, cwd=tmp_path)  # the three seeds
    for _ in range(2):  # in a row: each resume draws from a seed of its own, not the last run's random start
        in_process("--study", "s", "--storage", url, "--trials", "1", cwd=tmp_path)
    pair = [start("--study", "s", "--trials", "1", cwd=tmp_path) for _ in range(2)]  # at once: the same proposal
    for code, output in (finish(p) for p in pair):
        assert code == 0, output
    found = trials_of(url)
    assert sum(t.state == TrialState.COMPLETE for t in found) == 7
    lambdas = [t.params["lam"] for t in scored(found)]
    assert len(lambdas) == len(set(lambdas)), sorted(lambdas)  # no λ scored twice
    repeats = [t for t in found if "repeat_of" in t.user_attrs]
    assert all(t.user_attrs["generated_tokens"] == 0 for t in repeats)


def test_a_trial_proposing_a_running_lambda_waits_for_it_and_reuses_its_scores(tmp_path):
    from mi_search.search.running.twins import wait_for_running_twin

    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    study = optuna.create_study(study_name="s", storage=storage, directions=DIRECTIONS)
    distribution = optuna.distributions.FloatDistribution(0.0, 1.0)
    first = study.ask({"lam": distribution})
    first.suggest_float("lam", 0.0, 1.0)
    trial_attrs.store_owner(first, this_process())  # alive: it is this process
    study.enqueue_trial({"lam": first.params["lam"]})
    second = study.ask({"lam": distribution})
    assert second.params == first.params
    waited: list[int | None] = []
    waiter = threading.Thread(target=lambda: waited.append(wait_for_running_twin(second, poll_s=0.05)))
    waiter.start()
    time.sleep(0.5)
    assert waiter.is_alive()  # still waiting: the earlier trial runs
    assert wait_for_running_twin(first, poll_s=0.05) is None  # the earlier one never waits for the later
    study.tell(first, [0.5, 100.0])
    waiter.join(timeout=10)
    assert not waiter.is_alive() and waited == [first.number]
    assert trial_attrs.running_twin(second) is None


# --- Owners in other PID namespaces, and owners that come back ------------------------------------------


def running_trial_owned_by(url: str, owner: ProcessId) -> tuple[optuna.Study, int]:
    study = optuna.create_study(study_name="s", storage=open_storage(url), directions=DIRECTIONS, load_if_exists=True)
    trial = study.ask()
    trial.suggest_float("lam", 0.0, 1.0)
    trial_attrs.store_owner(trial, owner)
    return study, trial.number


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_an_owner_in_another_pid_namespace_on_this_host_is_never_reaped(tmp_path):
    me = this_process()
    assert me.pid_ns.startswith("pid:[")
    elsewhere = ProcessId(host=me.host, pid=dead_pid(), started=me.started, pid_ns="pid:[1]")
    study, number = running_trial_owned_by(f"sqlite:///{tmp_path}/s.db", elsewhere)
    assert reap_orphans(study) == []  # its PID means nothing here: left to its heartbeat
    assert study.trials[number].state == TrialState.RUNNING
    here = ProcessId(host=me.host, pid=dead_pid(), started=me.started, pid_ns=me.pid_ns)
    study, number = running_trial_owned_by(f"sqlite:///{tmp_path}/t.db", here)
    assert reap_orphans(study) == [number]  # the same namespace: a dead owner is reaped at once


def test_a_record_made_before_namespaces_were_kept_is_judged_by_host():
    me = this_process()
    old = ProcessId.from_dict({"host": me.host, "pid": me.pid, "started": me.started})
    assert old is not None and old.pid_ns == "" and old.on_this_host() and old.alive()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare(1)")
def test_a_process_in_its_own_pid_namespace_does_not_reap_a_live_owner(tmp_path):
    """A real second process in a new PID namespace, same host name (as a container on the host's UTS)."""
    url = f"sqlite:///{tmp_path}/s.db"
    study, number = running_trial_owned_by(url, this_process())  # this test process: alive, but invisible there
    code = (
        "import optuna; from mi_search.search.store.storage import open_storage; from mi_search.search.store.study import reap_orphans; "
        f"study = optuna.load_study(study_name='s', storage=open_storage('{url}')); print(reap_orphans(study))"
    )
    probe = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", code], capture_output=True, text=True
    )
    if probe.returncode != 0 and "unshare" in probe.stderr:
        pytest.skip(f"no new PID namespace here: {probe.stderr.strip()[:200]}")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
    assert optuna.load_study(study_name="s", storage=open_storage(url)).trials[number].state == TrialState.RUNNING
    assert socket.gethostname()  # same UTS namespace: the host name alone could not tell


@pytest.mark.slow
def test_an_owner_paused_past_its_heartbeat_ends_in_one_line_when_it_comes_back(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    write_study(tmp_path, trials=30, task={"search_size": 120, "holdout_size": 8}, halving={"rungs": [1.0]})
    process = start("--study", "s.yaml", "--storage", url, "--heartbeat", "1", cwd=tmp_path)
    try:
        deadline = time.monotonic() + 240
        watch = TrialWatch(url, "s")
        while time.monotonic() < deadline:
            time.sleep(0.3)
            assert process.poll() is None, process.communicate()
            try:
                found = watch()
            except KeyError:
                continue
            done = sum(t.state == TrialState.COMPLETE for t in found)
            owned = [t for t in found if t.state == TrialState.RUNNING and trial_attrs.owner_of(t) is not None]
            if done >= 1 and owned:
                break
        else:
            pytest.fail("the study never reached a running trial")
        for _ in range(5):
            os.kill(process.pid, signal.SIGSTOP)
            time.sleep(5)  # past the grace of 3 heartbeats of 1 s
            try:
                study = optuna.load_study(study_name="s", storage=open_storage(url, heartbeat_interval=1))
                optuna.storages.fail_stale_trials(study)  # what the next process's optimize does first
                break
            except optuna.exceptions.StorageInternalError:  # stopped inside a transaction: SQLite stays locked
                os.kill(process.pid, signal.SIGCONT)
                time.sleep(0.5)
        else:
            pytest.fail("the owner was stopped inside a transaction five times")
        assert study.trials[owned[0].number].state == TrialState.FAIL
        os.kill(process.pid, signal.SIGCONT)
        code, output = finish(process, timeout=240)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith(("trial", "  "))]
    assert code == 2, output
    assert "Traceback" not in output and "Cannot tell" not in output, output
    assert lines[-1].startswith("error: trial ") and "stopped past its heartbeat" in lines[-1], output
    after = trials_of(url)
    assert after[owned[0].number].state == TrialState.FAIL  # the retry, queued, runs it again
    assert not [t for t in after if t.state == TrialState.RUNNING]


# --- Seeding ----------------------------------------------------------------------------------------


def test_seed_points_a_killed_run_left_unqueued_are_queued_by_the_next(tmp_path):
    grid = [round(i / 299, 6) for i in range(300)]
    config = build_config({"name": "g", "budget": "4k", "seed_lambdas": grid}, source="test")
    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    study = optuna.create_study(study_name="g", storage=storage, directions=DIRECTIONS)
    study.set_user_attr("mi_search_config", config.model_dump(mode="json"))
    for lam in grid[:10]:  # a run killed after queuing ten of them
        study.enqueue_trial({"lam": lam})
    trial = study.ask()  # one of them already running, one done
    study.tell(trial, [0.5, 100.0])
    study.ask()
    open_study(storage, config, study)  # the next run continues the study
    found = study.get_trials()
    queued = [t.params.get("lam", t.system_attrs.get("fixed_params", {}).get("lam")) for t in found]
    assert sorted(queued) == sorted(grid)  # every point once: none lost, none twice
    assert queue_seeds(study, config) == 0  # and a third run queues nothing
