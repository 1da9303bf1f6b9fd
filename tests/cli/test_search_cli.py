"""`mi-search --budget …`, `search` and `worker` as users run them: bad input, resume, SIGKILL, two workers."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from mi_search.cli import app
from mi_search.search.store.storage import open_storage

from tests.conftest import TrialWatch, assert_user_error, in_process, mi_search, runner, start, trials_of, write_study


@pytest.mark.slow
def test_the_main_command_runs_the_default_study_and_continues_it(tmp_path):
    first = mi_search(
        "--budget", "4000tokens", "--trials", "4", "--search-size", "8", "--holdout-size", "8", cwd=tmp_path
    )
    folder = tmp_path / "runs" / "toy-global-4000"
    document = json.loads((folder / "pareto.json").read_text())
    assert document["study"] == "toy-global-4000" and document["chosen"] is not None
    assert "Pareto front" in first.stdout and "★" in first.stdout
    assert {p.name for p in folder.iterdir()} == {"pareto.json", "trials.csv", "pareto.png", "stage_map.png"}
    assert len(trials_of("sqlite:///" + str(tmp_path / "mi-search.db"), "toy-global-4000")) == 4
    # Same study name again: it continues, with 2 more trials; the task's sizes are part of the study, kept as stored.
    # In this process: the child above showed the command as users run it; continuing needs no interpreter of its own.
    in_process("search", "--study", "toy-global-4000", "--trials", "2", "--promote", "toy-merge", cwd=tmp_path)
    trials = trials_of("sqlite:///" + str(tmp_path / "mi-search.db"), "toy-global-4000")
    assert [t.number for t in trials] == list(range(6))
    assert sum("fixed_params" in t.system_attrs for t in trials) == 3
    # --promote registered the chosen point in the local registry, beside the study's runs.
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    version = MlflowClient(uri, registry_uri=uri).get_model_version_by_alias("toy-merge", "champion")
    chosen = json.loads((folder / "pareto.json").read_text())["chosen"]
    assert version.tags["mi_search.trial"] == str(chosen)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--budget", "lots"], "cannot read budget 'lots'"),
        (["--budget", "0"], "positive whole number"),
        (["--budget", "4k", "--holdout-size", "0"], "Invalid value for '--holdout-size'"),
        (["--budget", "-4k"], "cannot read budget"),
        (["--budget", "4k", "--space", "cubes"], "--space: input should be 'global', 'modules', 'blocks', 'layers' or 'profile'"),
        (["--budget", "4k", "--space", "profile", "--knots", "1"], "--knots: a profile needs at least 2 knots"),
        (["--budget", "4k", "--space", "profile", "--knots", "7"], "7 knots for a model of 6 layers; use knots between 2 and 6"),
        (["--budget", "4k", "--sampler", "cmaes"], "--sampler: input should be 'gp', 'tpe', 'botorch', 'nsga2', 'random' or 'trust'"),
        (["--budget", "4k", "--backend", "tgi"], "unknown backend 'tgi'; use hf or vllm"),
        (["--budget", "4k", "--sources", "disk"], "--sources: input should be 'auto', 'device' or 'host'"),
        (["--budget", "4k", "--backend", "vllm", "--sources", "disk"], "--sources: input should be 'auto', 'device' or 'host'"),
        (["--budget", "4k", "--backend", "vllm", "--device", "cuda"], "--device does not apply to backend vllm"),
        (["--budget", "4k", "--storage", "sqlite:////no/such/dir/x.db"], "cannot open storage"),
        (["--budget", "4k", "--storage", "mysql://u@h/db"], "database driver"),
        (["--trials", "3"], "no token budget given"),
        (["worker", "--study", "nobody"], "no study named 'nobody'"),
        (["--budget", "4k", "--tracking-uri", "http://127.0.0.1:9"], "cannot reach the MLflow tracking store"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    assert_user_error(runner.invoke(app, args), fragment)
    assert not (tmp_path / "runs").exists()
    if "--tracking-uri" in args:  # checked before the study is stored
        assert not (tmp_path / "mi-search.db").exists()


def test_a_bad_study_file_is_refused_before_anything_is_stored(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = tmp_path / "typo.yaml"
    study.write_text("budget: 4k\nspace:\n  knid: blocks\n")
    assert_user_error(runner.invoke(app, ["--study", study]), "unknown key `space.knid`; remove it or fix its spelling; known keys there: kind,")
    assert not (tmp_path / "mi-search.db").exists()


@pytest.fixture(scope="module")
def stored_study(tmp_path_factory):
    """A stored 1-trial study (a profile of 3 knots) and its report, run once: the tests that refuse changes to it
    read it, and each checks that nothing in it changed."""
    folder = tmp_path_factory.mktemp("stored")
    url = f"sqlite:///{folder}/s.db"
    in_process("--study", write_study(folder, trials=1, space={"kind": "profile", "knots": 3}), "--storage", url, cwd=folder)
    return folder, url


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_changing_what_a_stored_study_is_is_refused_and_the_study_untouched(stored_study, monkeypatch):
    folder, url = stored_study
    before = [(t.number, t.state, t.values) for t in trials_of(url, "small")]
    monkeypatch.chdir(folder)
    assert_user_error(runner.invoke(app, ["--study", "small", "--storage", url, "--budget", "2k"]), "created with budget=4000")
    assert [(t.number, t.state, t.values) for t in trials_of(url, "small")] == before


def test_search_help_shows_knots_with_the_models_default(help_width):
    from mi_search.search.settings.space import SearchSpace

    result = runner.invoke(app, ["search", "--help"], env=help_width(200))
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "--knots" in line)
    assert "knots per module" in line and f"(default: {SearchSpace.model_fields['knots'].default})" in line
    space = next(line for line in result.stdout.splitlines() if "--space" in line)
    assert "profile (default: global)" in space


def test_bad_input_leaves_a_stored_study_untouched(tmp_path, monkeypatch, stored_study):
    folder, url = stored_study
    report = folder / "runs" / "small" / "pareto.json"

    def state():
        study = optuna.load_study(study_name="small", storage=open_storage(url))
        return [(t.number, t.state, t.values, t.params) for t in study.get_trials()], study.user_attrs, report.read_bytes()

    before = state()
    monkeypatch.chdir(folder)
    flags = [
        (["--space", "cubes"], "--space: input should be 'global', 'modules', 'blocks', 'layers' or 'profile'"),
        (["--knots", "1"], "--knots: a profile needs at least 2 knots (the first layer and the last), got 1"),
        (["--knots", "7"], "created with space.knots=3, this run asks for 7; drop that setting"),
        (["--knots", "4"], "created with space.knots=3, this run asks for 4; drop that setting"),
    ]
    for args, fragment in flags:
        assert_user_error(runner.invoke(app, ["--study", "small", *args, "--storage", url]), fragment)
        assert state() == before, args
    files = [  # the stored study's name, written in a study file
        ({"level": 1.5}, "`halving.level`: level must be a confidence in (0, 1)"),
        ({"level": 0}, "`halving.level`: level must be a confidence in (0, 1)"),
        ({"rungs": [0.5, 0.25, 1.0]}, "`halving.rungs`: rungs must increase"),
        ({"rungs": [0.5, 0.5, 1.0]}, "`halving.rungs`: rungs must increase"),
    ]
    for i, (halving, fragment) in enumerate(files):
        (tmp_path / str(i)).mkdir()
        study = write_study(tmp_path / str(i), space={"kind": "profile", "knots": 3}, halving=halving)
        assert_user_error(runner.invoke(app, ["--study", str(study), "--storage", url]), fragment)
        assert state() == before, halving


def tracked_as_running(store: Path, trial: int) -> bool:
    """Whether the trial's MLflow child run has started (the kill must land inside a tracked trial)."""
    client = MlflowClient(f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("small")
    if experiment is None:
        return False
    runs = client.search_runs([experiment.experiment_id], f"tags.`mi_search.trial` = '{trial}'")
    return any(r.info.status == "RUNNING" for r in runs)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_study_killed_mid_trial_loses_nothing_and_retries_that_trial(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    # No halving and 120 questions: each trial takes seconds, long enough to be killed inside one.
    study = write_study(tmp_path, trials=30, task={"search_size": 120, "holdout_size": 8}, halving={"rungs": [1.0]})
    process = start("--study", study, "--storage", url, "--heartbeat", "1", cwd=tmp_path)
    try:
        deadline = time.monotonic() + 600  # a child on a loaded 2-core machine took 4 min to start
        watch = TrialWatch(url, "small")
        while time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                trials = watch()
            except KeyError:  # the child has not created the study yet
                continue
            running = [t.number for t in trials if t.state == TrialState.RUNNING]
            done = sum(t.state == TrialState.COMPLETE for t in trials)
            if done >= 2 and running and tracked_as_running(tmp_path / "mlflow.db", running[0]):
                break
        else:
            pytest.fail("the study never reached a running third trial")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()  # where the test failed before its kill: not 30 trials left to wait for
        process.wait()
    killed_state = trials_of(url, "small")
    completed = {t.number: t.values for t in killed_state if t.state == TrialState.COMPLETE}
    (killed,) = (t for t in killed_state if t.state == TrialState.RUNNING)

    time.sleep(3.5)  # three missed heartbeats of one second: the killed trial is now stale
    in_process("--study", "small", "--storage", url, "--heartbeat", "1", "--trials", "1", cwd=tmp_path)

    after = {t.number: t for t in trials_of(url, "small")}
    assert {n: after[n].values for n in completed} == completed
    assert after[killed.number].state == TrialState.FAIL
    (retry,) = (t for t in after.values() if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed.number)
    assert retry.state == TrialState.COMPLETE and retry.params == killed.params
    assert not [t for t in after.values() if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    # MLflow: the killed trial's run is KILLED, the others FINISHED, the parent continued and FINISHED.
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("small").experiment_id])
    status = {r.data.tags.get("mi_search.trial", "parent"): r.info.status for r in runs}
    assert status.pop(str(killed.number)) == "KILLED"
    assert set(status.values()) == {"FINISHED"} and len(status) == len(after)  # the parent and the others


@pytest.mark.slow
def test_two_workers_share_one_study_without_losing_or_duplicating_trials(tmp_path, shared_storage):
    study = write_study(tmp_path, name="shared", task={"search_size": 4, "holdout_size": 4})
    in_process("--study", study, "--storage", shared_storage, "--trials", "0", cwd=tmp_path)  # the workers are the processes
    command = ["worker", "--study", "shared", "--storage", shared_storage, "--trials", "3"]
    workers = [start(*command, cwd=tmp_path) for _ in range(2)]
    outputs = ["".join(w.communicate(timeout=600)) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    trials = trials_of(shared_storage, "shared")
    assert [t.number for t in trials] == list(range(6))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    seeds = sorted(t.params["lam"] for t in trials if "fixed_params" in t.system_attrs)
    assert seeds == [0.0, 0.5, 1.0]
