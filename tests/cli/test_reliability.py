"""Kills and signals with real processes: an orphaned trial is reaped by the next process at once,
SIGTERM and SIGINT end a study cleanly, and a process killed between `ask` and its first record is reaped too.
What is killed runs in a child process; the commands that set up or finish around it run in this one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from mi_search.search.store import trials as trial_attrs
from mi_search.search.store.study import ASK_WINDOW_S

from tests.conftest import TrialWatch, in_process, start, trials_of, write_study

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def start_long_study(tmp_path, url, *extra):
    """A study whose trials take seconds (120 questions, no halving), so a signal lands inside one."""
    study = write_study(tmp_path, trials=30, task={"search_size": 120, "holdout_size": 8}, halving={"rungs": [1.0]})
    return start("--study", study, "--storage", url, *extra, cwd=tmp_path)


def wait_inside_a_trial(url, process, *, completed=1, after=-1):
    """Until `completed` trials are done and another (numbered above `after`) is running, recorded by the
    process that runs it, with its MLflow run open (the tracking store is `mlflow.db` beside the storage)."""
    deadline = time.monotonic() + 600  # a child on a loaded 2-core machine took 4 min to start
    watch = TrialWatch(url, "small")
    while time.monotonic() < deadline:
        time.sleep(0.3)
        assert process.poll() is None, process.communicate()
        try:
            found = watch()
        except KeyError:  # the study is not created yet
            continue
        done = sum(t.state == TrialState.COMPLETE for t in found)
        owned = [
            t for t in found if t.state == TrialState.RUNNING and t.number > after and trial_attrs.owner_of(t) is not None
        ]
        if done >= completed and owned and _run_open(url, owned[0].number):
            time.sleep(0.5)  # well inside the trial's generation
            return owned[0]
    pytest.fail("the study never reached a running trial")


def _run_open(url, number) -> bool:
    """Whether the trial's MLflow run is open: on a loaded machine it opens a while after the trial is recorded, and
    a trial killed before that has no run to end."""
    folder = Path(url.split(":", 1)[1].removeprefix("///")).parent
    try:
        return child_runs(folder).get(str(number)) == "RUNNING"
    except Exception:  # the store or the experiment is not created yet
        return False


def child_runs(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("small").experiment_id])
    return {r.data.tags.get("mi_search.trial", "parent"): r.info.status for r in runs}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_live_trial_is_left_alone_and_a_killed_one_reaped_at_once_by_the_finishing_command(tmp_path, kind):
    """One long study serves both: first the finishing command runs beside the live process and reaps nothing of
    it, then the process is killed inside a trial and the next finishing command reaps that trial at once."""
    url = f"sqlite:///{tmp_path}/s.db" if kind == "sqlite" else f"journal:{tmp_path}/s.log"
    process = start_long_study(tmp_path, url)  # the default heartbeat: 10 s, a grace of 30 s
    try:
        running = wait_inside_a_trial(url, process)
        in_process("--study", "small", "--storage", url, "--trials", "0", cwd=tmp_path)
        assert {t.number: t.state for t in trials_of(url, "small")}[running.number] in (TrialState.RUNNING, TrialState.COMPLETE)
        assert process.poll() is None
        killed = wait_inside_a_trial(url, process, after=running.number)  # a trial just begun, killed inside it
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.communicate()
    assert trial_attrs.owner_of(killed).pid == process.pid
    # At once, well inside the heartbeat grace: the finishing command runs no trial, yet reaps the orphan.
    in_process("--study", "small", "--storage", url, "--trials", "0", cwd=tmp_path)
    after = {t.number: t for t in trials_of(url, "small")}
    assert after[killed.number].state == TrialState.FAIL
    (retry,) = (t for t in after.values() if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed.number)
    assert retry.state == TrialState.WAITING and retry.params == killed.params
    assert not [t for t in after.values() if t.state == TrialState.RUNNING]
    assert child_runs(tmp_path)[str(killed.number)] == "KILLED"
    # The next run takes the queued trials (the retry and any seed λ not run yet) and leaves none behind.
    waiting = sum(t.state == TrialState.WAITING for t in after.values())
    in_process("--study", "small", "--storage", url, "--trials", waiting, cwd=tmp_path)
    after = {t.number: t for t in trials_of(url, "small")}
    assert after[retry.number].state == TrialState.COMPLETE
    assert not [t for t in after.values() if t.state in (TrialState.RUNNING, TrialState.WAITING)]


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_term_and_int_fail_the_trial_end_its_run_and_exit_without_a_traceback(tmp_path, signum, code, word):
    url = f"sqlite:///{tmp_path}/s.db"
    process = start_long_study(tmp_path, url)
    try:
        running = wait_inside_a_trial(url, process)
        os.kill(process.pid, signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1].startswith(f"{word}; finished trials are kept")
    assert len([line for line in stderr.splitlines() if line.strip()]) == 1, stderr
    after = {t.number: t for t in trials_of(url, "small")}
    assert after[running.number].state == TrialState.FAIL
    assert not [t for t in after.values() if t.state == TrialState.RUNNING]
    assert child_runs(tmp_path)[str(running.number)] not in ("RUNNING", "SCHEDULED")


@pytest.mark.slow
def test_a_process_killed_between_ask_and_its_record_is_reaped(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    study = write_study(tmp_path, trials=1)
    in_process("--study", study, "--storage", url, "--trials", "0", cwd=tmp_path)
    # A real process asks for a trial and is killed before it can write anything: the ~20 ms window.
    asker = (
        "import os, signal, optuna; from mi_search.search.store.storage import open_storage; "
        f"optuna.load_study(study_name='small', storage=open_storage({url!r})).ask(); os.kill(os.getpid(), signal.SIGKILL)"
    )
    subprocess.run([sys.executable, "-c", asker], cwd=tmp_path, check=False)
    (orphan,) = [t for t in trials_of(url, "small") if t.state == TrialState.RUNNING]
    assert trial_attrs.owner_of(orphan) is None
    time.sleep(ASK_WINDOW_S + 0.5)  # no live process leaves a trial unrecorded this long
    in_process("--study", "small", "--storage", url, "--trials", "0", cwd=tmp_path)
    after = {t.number: t for t in trials_of(url, "small")}
    assert after[orphan.number].state == TrialState.FAIL
    assert not [t for t in after.values() if t.state == TrialState.RUNNING]


@pytest.mark.slow
def test_reaping_respects_the_owner_and_its_start_time(tmp_path):
    """A record names host, PID and start time: a reused PID is not the owner; another host is left alone."""
    from mi_search.search.store.owner import ProcessId, this_process

    me = this_process()
    assert me.alive()
    assert not ProcessId(me.host, me.pid, me.started + "0").alive()  # same PID, another start: PID reused
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/o.db")
    study = optuna.create_study(storage=storage, study_name="o")
    from mi_search.search.store.study import reap_orphans

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owners = {"mine": me, "dead": ProcessId(me.host, dead.pid, "x:1"), "elsewhere": ProcessId("other-host", dead.pid, "x:1")}
    numbers = {}
    for label, owner in owners.items():
        trial = study.ask()
        trial_attrs.store_owner(trial, owner)
        numbers[label] = trial.number
    assert reap_orphans(study) == [numbers["dead"]]
    states = {t.number: t.state for t in study.get_trials()}
    assert states[numbers["mine"]] == states[numbers["elsewhere"]] == TrialState.RUNNING
    (retry,) = [t for t in study.get_trials() if t.state == TrialState.WAITING]
    assert trial_attrs.owner_of(retry) is None  # the copied record names the dead trial, not the retry


def test_workers_draw_their_own_sampler_seeds_from_the_study_seed():
    from mi_search.search.settings.config import build_config
    from mi_search.search.store.study import make_sampler, worker_seed

    assert worker_seed(7, None) == 7  # the study's own process: reproducible
    seeds = {worker_seed(7, f"host:{pid}") for pid in range(100, 200)}
    assert len(seeds) == 100 and 7 not in seeds
    assert worker_seed(7, "host:1") == worker_seed(7, "host:1") != worker_seed(8, "host:1")
    # Two workers' samplers propose different first points where the study's seed alone would repeat them.
    config = build_config({"budget": "4k", "sampler": "tpe"}, source="test")
    first = [optuna.create_study(sampler=make_sampler(config, w)).ask().suggest_float("lam", 0, 1) for w in ("a:1", "a:2", None)]
    again = optuna.create_study(sampler=make_sampler(config, None)).ask().suggest_float("lam", 0, 1)
    assert len(set(first)) == 3 and again == first[2]


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    """A finished 3-trial study, run once: its store, MLflow store and report, for tests to copy and then spoil."""
    folder = tmp_path_factory.mktemp("finished")
    study = write_study(folder, trials=3, task={"search_size": 8, "holdout_size": 8})
    in_process("--study", study, "--storage", f"sqlite:///{folder}/s.db", cwd=folder)
    assert {p.name for p in (folder / "runs").iterdir()} == {"small"}
    return folder


def copy_of(finished_study, tmp_path, *, tracking: bool = True):
    """A private copy of the finished study in `tmp_path`: its store, MLflow store (default place) and report.

    Without `tracking` the MLflow store stays behind: a study run in a copied project folder is refused
    (its experiment's artifacts live in the original folder), so a test that runs the study again starts its own.
    """
    for name in ("s.db", "mlflow.db", "runs") if tracking else ("s.db", "runs"):
        source = finished_study / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, tmp_path / name)
    return f"sqlite:///{tmp_path}/s.db"


@pytest.mark.slow
def test_a_kill_while_the_report_is_written_leaves_a_whole_report_and_the_next_run_sweeps_up(tmp_path, finished_study):
    url = copy_of(finished_study, tmp_path, tracking=False)
    runs, report = tmp_path / "runs", tmp_path / "runs" / "small"
    whole = {"pareto.json", "trials.csv", "pareto.png", "stage_map.png"}
    assert {p.name for p in report.iterdir()} == whole
    process = start("--study", "small", "--storage", url, "--trials", "1", cwd=tmp_path)
    staged = None
    try:
        deadline = time.monotonic() + 600  # a child on a loaded 2-core machine took 4 min to start
        while staged is None and process.poll() is None and time.monotonic() < deadline:
            staged = next((p for p in runs.iterdir() if p.name.startswith(".small.") and p.name.endswith(".tmp")), None)
            time.sleep(0.002)
        assert staged is not None, "the run never staged its report"
        time.sleep(0.05)  # inside the plots
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert {p.name for p in report.iterdir()} == whole  # the old report or the new one, never a mix
    json.loads((report / "pareto.json").read_text())
    assert any(p.name.startswith(".small.") for p in runs.iterdir())  # the killed run's staging folder
    in_process("--study", "small", "--storage", url, "--trials", "0", cwd=tmp_path)
    assert sorted(p.name for p in runs.iterdir()) == ["small"]
    assert {p.name for p in report.iterdir()} == whole


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["exporting", "logging the model"])
def test_a_killed_promotion_is_cleaned_up_by_the_next_one(tmp_path, finished_study, moment):
    from mlflow.entities import LoggedModelStatus

    from mi_search.tracking.registry import PENDING, STATE_TAG

    url, tracking = copy_of(finished_study, tmp_path), f"sqlite:///{tmp_path}/mlflow.db"
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}  # where promotions stage their copy of the merge
    command = ["promote", "--study", "small", "--name", "m", "--storage", url, "--tracking-uri", tracking]
    client = MlflowClient(tracking, registry_uri=tracking)
    experiment = client.get_experiment_by_name("small").experiment_id

    def reached() -> bool:
        if moment == "exporting":
            return any(temp.glob("mi-search-promote-*"))
        models = client.search_logged_models(experiment_ids=[experiment])
        return any(m.status == LoggedModelStatus.PENDING for m in models)

    process = start(*command, cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 600  # a child on a loaded 2-core machine took 4 min to start
        while not reached():
            assert process.poll() is None and time.monotonic() < deadline, f"the promotion never reached {moment}"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    promote_runs = "tags.`mi_search.role` = 'promote'"
    assert [r.info.status for r in client.search_runs([experiment], promote_runs)] == ["RUNNING"]  # what the kill left
    # The next promotion runs in this process, staging in the same folder: what it cleans up is the dead child's.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(temp))
        in_process(*command, cwd=tmp_path)
    statuses = sorted(r.info.status for r in client.search_runs([experiment], promote_runs))
    assert statuses == ["FINISHED", "KILLED"]
    assert not [m for m in client.search_logged_models(experiment_ids=[experiment]) if m.status == LoggedModelStatus.PENDING]
    assert not list(temp.glob("mi-search-promote-*"))
    versions = client.search_model_versions("name = 'm'")
    assert [v.tags.get(STATE_TAG) for v in versions] == [v.tags.get(STATE_TAG) for v in versions if v.tags.get(STATE_TAG) != PENDING]
    assert client.get_model_version_by_alias("m", "champion").tags["mi_search.study"] == "small"
