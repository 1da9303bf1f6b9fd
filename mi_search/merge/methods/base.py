"""What a merge method is, and the one dtype policy every method follows.

A method blends one tensor of the Instruct model with the same tensor of the Thinking model at a
λ. The policy, stated here once: the blend is computed in fp32 (or wider, for fp64 sources) and
rounded once to the target dtype, the sources' own unless an `out` tensor names another. So a bf16
model merged in place, a vLLM engine's reload and an exported checkpoint hold the same bytes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch


class MergeMethod(ABC):
    """One way to blend two source tensors at λ; a subclass writes only the arithmetic, `blend` the dtypes."""

    name: ClassVar[str]
    # Reduced-precision dtypes that `combine` itself computes in fp32 and rounds once (PyTorch's opmath
    # for elementwise kernels): for them the upcast copies are skipped, with the same result.
    computes_in_fp32: ClassVar[tuple[torch.dtype, ...]] = ()

    @abstractmethod
    def combine(
        self, instruct: torch.Tensor, thinking: torch.Tensor, lam: float, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The blend of two tensors of one dtype, written into `out` when given."""

    def blend(
        self, instruct: torch.Tensor, thinking: torch.Tensor, lam: float, *, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The blend at `lam`, in `out` (written in place) or in a new tensor of the Instruct tensor's dtype."""
        target = instruct.dtype if out is None else out.dtype
        wide = torch.promote_types(target, torch.float32)
        if instruct.dtype == thinking.dtype == target and (target == wide or target in self.computes_in_fp32):
            return self.combine(instruct, thinking, lam, out)  # the hot path: no temporary tensor
        result = self.combine(instruct.to(wide), thinking.to(wide), lam)
        return result.to(target) if out is None else out.copy_(result)
