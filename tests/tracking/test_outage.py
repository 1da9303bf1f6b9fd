"""Tracking never sinks a study: a real `mlflow server` killed mid-study costs one warning; the next run re-syncs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import optuna
import pytest
from mlflow.tracking import MlflowClient

from mi_search import open_pair
from mi_search.backends.settings import HFSettings
from mi_search.merge.pair import PairConfig
from mi_search.search.settings.request import StudyRequest
from mi_search.cli.study import server_environment
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study
from mi_search.tracking.runs import PARENT_RUN_ATTR, TRIAL_TAG

from tests.conftest import free_port

SETTINGS = {"budget": "4k", "task": {"search_size": 8, "holdout_size": 8}, "name": "outage"}


def start_server(tmp_path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--backend-store-uri", f"sqlite:///{tmp_path}/server.db"]
    server = subprocess.Popen(  # as `mi-search ui` starts it: one worker, no job runner
        command,
        cwd=tmp_path,
        env=server_environment(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    stop(server)
    pytest.fail("mlflow server did not answer within 240 s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


class KillsServer:
    """The toy backend; on its third generate call (mid-study) the tracking server is SIGKILLed."""

    def __init__(self, backend, server: subprocess.Popen) -> None:
        self.backend, self.server, self.calls = backend, server, 0

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def generate(self, prompts, n, params, **options):
        self.calls += 1
        if self.calls == 3:
            stop(self.server)
        return self.backend.generate(prompts, n, params, **options)


@pytest.mark.slow
def test_a_server_killed_mid_study_costs_one_warning_and_the_next_run_resyncs(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("MI_SEARCH_TRACKING_TIMEOUT", "3")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runtime = Runtime(storage=f"sqlite:///{tmp_path}/s.db", tracking_uri=url, out=tmp_path / "out")
    backend = open_pair(PairConfig(), HFSettings(device="cpu"))
    server = start_server(tmp_path, port)
    try:
        started = time.monotonic()
        run_study(StudyRequest(overrides={**SETTINGS, "trials": 4}), runtime, backend=KillsServer(backend, server))
        elapsed = time.monotonic() - started
    finally:
        stop(server)
    study = optuna.load_study(study_name="outage", storage=runtime.storage)
    states = [t.state for t in study.get_trials()]
    assert states == [optuna.trial.TrialState.COMPLETE] * 4  # the tracker's failure failed no trial
    warnings = [line for line in capfd.readouterr().err.splitlines() if "warning" in line.lower()]
    assert len(warnings) == 1 and "the study goes on" in warnings[0], warnings
    assert elapsed < 240  # a bounded wait, not MLflow's minutes of retries

    server = start_server(tmp_path, port)  # the store is back: the next run logs what was missed
    try:
        run_study(StudyRequest(overrides={**SETTINGS, "trials": 0}), runtime, backend=backend)
        client = MlflowClient(url)
        parent = client.get_run(study.user_attrs[PARENT_RUN_ATTR])
        runs = client.search_runs(
            [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
        )
        by_trial = {int(r.data.tags[TRIAL_TAG]): r for r in runs}
        assert sorted(by_trial) == [0, 1, 2, 3] and parent.info.status == "FINISHED"
        assert all(r.info.status == "FINISHED" and "accuracy" in r.data.metrics for r in by_trial.values())
    finally:
        stop(server)
