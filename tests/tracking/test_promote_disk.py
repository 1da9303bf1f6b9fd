"""Promotion on a real disk that is too small or fills midway (a tmpfs, as root): one line, nothing left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import in_process, mi_search, study_file

pytestmark = pytest.mark.slow  # a toy study, then the promote command as a child process


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A finished one-trial toy study whose folder (storage, tracking store, artifacts) is a 48 MiB tmpfs."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path_factory.mktemp("promote-disk")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)], check=True)
    try:
        in_process("--study", study_file(disk), "--trials", "1", "--budget", "4k", cwd=disk)
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)  # this process's MLflow store keeps a file open


def fill(disk, leave: int) -> None:
    with open(disk / "filler", "wb") as file:
        file.write(b"\0" * max(0, shutil.disk_usage(disk).free - leave))


def promote(disk, tmp):
    env = {**os.environ, "TMPDIR": str(tmp)}
    return mi_search("promote", "--study", "s", "--name", "toy", cwd=disk, env=env, check=False)


def registry(disk):
    uri = f"sqlite:///{disk}/mlflow.db"
    return MlflowClient(uri, registry_uri=uri)


def assert_one_line(done, fragment: str) -> None:
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stdout + done.stderr
    assert lines[0].startswith("error: no space left") and fragment in lines[0], lines[0]


def test_a_disk_too_small_for_the_checkpoint_is_refused_before_anything_is_written(project, tmp_path):
    fill(project, leave=1 << 20)  # the toy checkpoint is 2.4 MB
    try:
        free = shutil.disk_usage(project).free
        done = promote(project, tmp_path)
        assert shutil.disk_usage(project).free == free  # nothing written: not an artifact, not a row
    finally:
        (project / "filler").unlink()
    assert_one_line(done, f"{project}/mlartifacts")
    assert not (project / "mlartifacts" / "models").exists()
    assert registry(project).search_registered_models() == []


def test_a_disk_that_fills_midway_leaves_no_partial_artifact_and_no_version(project, tmp_path):
    staging = tmp_path / "tmp"
    staging.mkdir()

    def fill_when_the_export_starts() -> None:  # another writer takes the room while the merge is exported
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if any(name.startswith("mi-search-promote-") for name in os.listdir(staging)):
                fill(project, leave=1 << 20)
                return
            time.sleep(0.005)

    writer = threading.Thread(target=fill_when_the_export_starts, daemon=True)
    writer.start()
    try:
        done = promote(project, staging)
        writer.join(timeout=5)
    finally:
        if (project / "filler").exists():
            (project / "filler").unlink()
    assert_one_line(done, f"{project}/mlartifacts")
    models = project / "mlartifacts" / "models"
    assert not models.exists() or not any(models.iterdir())  # the partial checkpoint (1.2 MB) is gone
    assert list(staging.iterdir()) == []
    client = registry(project)
    assert client.search_registered_models() == []
    runs = client.search_runs([client.get_experiment_by_name("s").experiment_id], "tags.`mi_search.role` = 'promote'")
    assert [run.info.status for run in runs] == ["FAILED"]

    again = promote(project, staging)  # room again: the next promotion registers version 1
    assert again.returncode == 0, again.stdout + again.stderr
    assert str(client.get_model_version_by_alias("toy", "champion").version) == "1"
