"""A real `mlflow server` on 127.0.0.1, started by `mi-search ui`: the UI answers, and a study logs to it over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import free_port, in_process, write_study


@pytest.fixture
def ui_server(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "mi_search", "ui", "--port", str(port)]
    command += ["--tracking-uri", f"sqlite:///{tmp_path}/server.db"]
    server = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("mi-search ui did not answer on /health within 90 s")
        yield url, server.pid
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.slow
def _group_commands(group: int) -> list[str]:
    """The command lines of the processes in one process group (Linux /proc)."""
    commands = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:
                commands.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while it was read
    return commands


@pytest.mark.slow
def test_a_study_logs_to_the_server_that_mi_search_ui_started(tmp_path, ui_server):
    url, group = ui_server
    if sys.platform.startswith("linux"):  # one uvicorn worker, no job runner: MLflow's 4 + 8 processes not started
        commands = _group_commands(group)
        assert not [c for c in commands if "huey" in c or "_job_runner" in c], commands
        assert not [c for c in commands if "multiprocessing" in c], commands
    with urllib.request.urlopen(url, timeout=10) as page:  # the UI itself
        assert page.status == 200 and b"<html" in page.read(2000).lower()
    study = write_study(tmp_path, name="served", trials=3)
    in_process("--study", study, "--tracking-uri", url, cwd=tmp_path)
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name("served")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(parents[0].info.run_id)} >= {"pareto.json", "pareto.png"}
    assert len(runs) == 1 + 3 and all(r.info.status == "FINISHED" for r in runs)
