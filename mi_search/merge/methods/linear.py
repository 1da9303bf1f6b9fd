"""Linear interpolation, the paper's merge: (1 − λ)·Instruct + λ·Thinking."""

from __future__ import annotations

from typing import ClassVar

import torch

from mi_search.merge.methods.base import MergeMethod


class Linear(MergeMethod):
    """`torch.lerp`: exact at the ends (the Instruct tensor at λ = 0, the Thinking tensor at λ = 1)."""

    name = "linear"
    computes_in_fp32: ClassVar[tuple[torch.dtype, ...]] = (torch.float16, torch.bfloat16)

    def combine(
        self, instruct: torch.Tensor, thinking: torch.Tensor, lam: float, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        return torch.lerp(instruct, thinking, lam, out=out)
