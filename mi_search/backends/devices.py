"""Where weights live and in which precision: `auto` resolved once for every backend."""

from __future__ import annotations

import torch

from mi_search.errors import UserError


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA is not available on this machine; use --device cpu")
    return chosen


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """bf16 on accelerators; fp32 on CPUs, where bf16 matmuls are slow without AVX-512."""
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    chosen = getattr(torch, dtype, None)
    if not isinstance(chosen, torch.dtype) or not chosen.is_floating_point:
        raise UserError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32")
    return chosen
