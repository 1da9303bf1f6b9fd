"""Files and folders mi-search writes take the mode the user's umask gives, as any other program's do."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from mi_search.cli import app

runner = CliRunner()


@pytest.fixture(params=[0o022, 0o077])
def umask(request):
    before = os.umask(request.param)
    yield request.param
    os.umask(before)


def test_a_merged_checkpoint_respects_the_umask(tmp_path, umask):
    out = tmp_path / "merged"
    done = runner.invoke(app, ["merge", "--lam", "0.5", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert modes["model.safetensors"] == 0o666 & ~umask  # safetensors itself writes 0600
    assert set(modes.values()) == {0o666 & ~umask}
