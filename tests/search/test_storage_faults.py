"""Journal and SQLite storages on a real full disk (a small tmpfs, as root), torn and garbage journals."""

from __future__ import annotations

import os
import subprocess

import optuna
import pytest

from mi_search.errors import UserError
from mi_search.search.store.storage import open_storage

from tests.conftest import mi_search, write_study


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs: a real disk that fills up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def fill(disk, leave=0):
    """Fill the disk, leaving about `leave` bytes free."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "wb") as file:
        file.write(b"\0" * max(0, free - leave))


def test_a_journal_write_on_a_full_disk_is_one_line_and_leaves_the_journal_readable(small_disk):
    url = f"journal:{small_disk}/study.log"
    study = optuna.create_study(study_name="s", storage=open_storage(url), directions=["maximize", "minimize"])
    study.set_user_attr("before", 1)
    size = os.path.getsize(small_disk / "study.log")
    fill(small_disk, leave=4096)
    with pytest.raises(UserError, match=rf"no space left on the disk of {small_disk}/study.log: \d+ more bytes needed"):
        study.set_user_attr("big", "x" * 20_000)  # larger than what is left: Optuna would tear it
    assert os.path.getsize(small_disk / "study.log") == size
    (small_disk / "filler").unlink()
    again = optuna.load_study(study_name="s", storage=open_storage(url))
    assert again.user_attrs == {"before": 1}
    again.set_user_attr("after", 2)
    assert optuna.load_study(study_name="s", storage=open_storage(url)).user_attrs == {"before": 1, "after": 2}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_a_study_started_on_a_full_disk_is_one_line(small_disk, tmp_path, kind):
    url = f"journal:{small_disk}/s.log" if kind == "journal" else f"sqlite:///{small_disk}/s.db"
    fill(small_disk)
    study = write_study(tmp_path, trials=1)
    tracking = f"sqlite:///{tmp_path}/m.db"
    done = mi_search("--study", study, "--storage", url, "--tracking-uri", tracking, cwd=tmp_path, check=False, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "no space left" in done.stderr and str(small_disk) in done.stderr


def test_a_torn_journal_tail_is_cut_with_a_notice(tmp_path, capfd):
    path = tmp_path / "study.log"
    study = optuna.create_study(study_name="s", storage=open_storage(f"journal:{path}"))
    study.set_user_attr("kept", 1)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_code":5,"worker_id":"x","study_id":0,"us')  # what a full disk left before
    again = optuna.load_study(study_name="s", storage=open_storage(f"journal:{path}"))
    assert again.user_attrs == {"kept": 1} and path.read_bytes() == whole
    assert capfd.readouterr().err.count("ended in a record cut short") == 1


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n\x00\x00binary", b"not json at all\n", '{"op_code": 0}\n'.encode("utf-16"), b'{"a": 1}\n'],
)
def test_a_file_that_is_not_a_journal_is_refused_untouched(tmp_path, content):
    path = tmp_path / "study.log"
    path.write_bytes(content)
    with pytest.raises(UserError, match="is not an Optuna journal"):
        open_storage(f"journal:{path}")
    assert path.read_bytes() == content


def test_a_journal_in_a_read_only_folder_says_so_not_that_the_folder_is_missing(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only tmpfs needs root")
    folder = tmp_path / "ro"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], check=True)
    try:
        with pytest.raises(UserError, match="Read-only file system; give a journal path in a folder you can write"):
            open_storage(f"journal:{folder}/s.log")
    finally:
        subprocess.run(["umount", str(folder)], check=True)
