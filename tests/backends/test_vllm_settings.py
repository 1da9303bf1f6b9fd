"""Backend choice and vLLM settings that need no engine: memory arithmetic, refused names."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mi_search.backends.placement import backend_request
from mi_search.backends.settings import VLLMSettings
from mi_search.cli import app
from mi_search.errors import UserError
from mi_search.backends.memory import Machine, ModelShape, plan_memory
from tests.conftest import assert_user_error

GIB = 1024**3
FOUR_B = ModelShape(parameters=4 * GIB, kv_heads=8, kv_values_per_head=2 * 36 * 128)  # 8 GiB a model in bf16
THIRTY_B = ModelShape(parameters=30 * GIB, kv_heads=4, kv_values_per_head=2 * 48 * 128)
GPU = Machine("cuda", 80 * GIB, 79 * GIB)


def share(shape: ModelShape, settings: VLLMSettings) -> tuple[str, float]:
    plan = plan_memory(shape, backend_request(settings, "cuda", {}), GPU)
    return plan.sources, plan.share


def test_device_memory_is_shared_between_the_engine_and_the_sources():
    # an 80 GiB GPU with 79 free and 16 GiB of sources (two 4B models in bf16): vLLM gets the rest
    assert share(FOUR_B, VLLMSettings()) == ("device", pytest.approx((79 - 16 - 2) / 80))
    assert share(FOUR_B, VLLMSettings(sources="host")) == ("host", 0.9)
    # two 30B models (120 GiB) cannot sit beside any engine on that GPU: auto keeps them on the host
    assert share(THIRTY_B, VLLMSettings()) == ("host", 0.9)
    with pytest.raises(UserError, match="set backend.sources: host to make it fit"):
        share(THIRTY_B, VLLMSettings(sources="device"))
    # an explicit share that leaves no room for the sources is refused too, naming the setting to drop
    with pytest.raises(UserError, match=r"needs 96\.6 GB .* set backend.sources: host"):
        share(FOUR_B, VLLMSettings(sources="device", gpu_memory_utilization=0.9))


def test_an_unknown_backend_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["sweep", "--out", str(tmp_path / "s"), "--backend", "tgi"])
    assert_user_error(result, "unknown backend 'tgi'")
