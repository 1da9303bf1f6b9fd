"""Backend choice and vLLM settings that need no engine: memory arithmetic, refused names."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mi_search.backends.settings import VLLMSettings
from mi_search.backends.vllm_backend import memory_share
from mi_search.cli import app
from mi_search.errors import UserError
from tests.test_cli import assert_user_error


GIB = 1024**3


def test_device_memory_is_shared_between_the_engine_and_the_sources():
    # an 80 GiB GPU with 79 free and 16 GiB of sources (two 4B models in bf16): vLLM gets the rest
    share = memory_share(VLLMSettings(), 16 * GIB, 79 * GIB, 80 * GIB)
    assert share == pytest.approx((79 - 16 - 2) / 80)
    assert memory_share(VLLMSettings(sources="host"), 16 * GIB, 79 * GIB, 80 * GIB) == 0.9
    # two 30B-A3B models (120 GiB) cannot sit beside any engine on that GPU
    with pytest.raises(UserError, match="keep them on the host"):
        memory_share(VLLMSettings(), 120 * GIB, 79 * GIB, 80 * GIB)
    # an explicit share that leaves no room for the sources is refused too
    with pytest.raises(UserError, match="16.0 GiB"):
        memory_share(VLLMSettings(gpu_memory_utilization=0.9), 16 * GIB, 79 * GIB, 80 * GIB)


def test_an_unknown_backend_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["sweep", "--out", str(tmp_path / "s"), "--backend", "tgi"])
    assert_user_error(result, "unknown backend 'tgi'")
