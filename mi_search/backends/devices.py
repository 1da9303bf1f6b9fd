"""Where weights live and in which precision: `auto` resolved once for every backend."""

from __future__ import annotations

import os

import torch

from mi_search.errors import UserError
from mi_search.backends.memory import Machine


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA is not available on this machine; use --device cpu")
    count = torch.cuda.device_count() if chosen.type == "cuda" else 0
    if chosen.type == "cuda" and chosen.index is not None and chosen.index >= count:
        raise UserError(f"no device {device}: this machine has {count} CUDA devices; use cuda:0 up to cuda:{count - 1}")
    if chosen.type not in ("cpu", "cuda"):
        raise UserError(f"device {device!r} is not supported; use auto, cpu, cuda or cuda:N")
    return chosen


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """bf16 on accelerators; fp32 on CPUs, where bf16 matmuls are slow without AVX-512."""
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    chosen = getattr(torch, dtype, None)
    if not isinstance(chosen, torch.dtype) or not chosen.is_floating_point:
        raise UserError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32")
    return chosen


def host_memory() -> int:
    """This machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def host_available() -> int | None:
    """Bytes the kernel can hand out now without swapping (`MemAvailable`), or None where it does not say.

    Not `free`: Linux keeps most idle memory as page cache, which it gives back on demand.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file says kB and means KiB
    except (OSError, ValueError, IndexError):
        return None
    return None


def probe_machine(device: torch.device) -> Machine:
    """The memory the plan works with: a GPU's total and free memory, or the host's total and available memory."""
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        return Machine("cuda", total, free, host_memory())
    return Machine("cpu", host_memory(), host_available(), host_memory())
