"""Shared fixtures: a tiny random Qwen3 pair built on the fly, and the bundled toy pair."""

from __future__ import annotations

import os

# As the CLI does at start-up: idle OpenMP threads that spin would starve the subprocesses tests start.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path

import pytest
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

from mi_search.toy.tokenizer import build_tokenizer, save_tokenizer


def tiny_config(**overrides) -> Qwen3Config:
    settings = {
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
    settings.update(overrides)
    return Qwen3Config(**settings)


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


@pytest.fixture(scope="session")
def toy_dirs() -> tuple[Path, Path]:
    from mi_search.toy import toy_pair_dirs

    return toy_pair_dirs()
