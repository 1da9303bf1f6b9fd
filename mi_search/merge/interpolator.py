"""The in-place interpolation engine: both sources stay resident, each merge rewrites the working model's weights.

A merge reads two tensors and writes one per parameter, nothing else: the merge method blends each
pair straight into the parameter (`merge/methods/`: computed in fp32, rounded once; `linear` returns
the instruct tensor exactly at λ=0 and the thinking tensor exactly at λ=1).

Sources live on the model's device or in host memory. Host-resident sources are streamed to the
device one tensor pair at a time (asynchronously from pinned memory), so the device holds the
working model plus one pair in flight, never three models.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mi_search.errors import UserError
from mi_search.merge.architectures import ArchitectureTable
from mi_search.merge.methods.base import MergeMethod
from mi_search.merge.methods.registry import get_method
from mi_search.merge.plan import MergePlan
from mi_search.merge.spec import LambdaSpec


@dataclass(frozen=True)
class _Slot:
    name: str
    target: torch.Tensor
    instruct: torch.Tensor
    thinking: torch.Tensor


class Interpolator:
    """Merges `instruct` and `thinking` weights into `model` in place, as often as asked."""

    def __init__(
        self,
        model: torch.nn.Module,
        instruct: dict[str, torch.Tensor],
        thinking: dict[str, torch.Tensor],
        table: ArchitectureTable,
        num_layers: int,
        *,
        method: MergeMethod | None = None,
    ) -> None:
        self.method = method or get_method()
        params = dict(model.named_parameters())
        for side, state in (("instruct", instruct), ("thinking", thinking)):
            for name in sorted(params.keys() ^ state.keys()):
                raise UserError(
                    f"parameter {name} is missing from the {side} weights or extra there; the two models must have the same tensors"
                )
        self.plan = MergePlan({name: p.numel() for name, p in params.items()}, table, num_layers)
        self._slots = [
            _Slot(name, param.data, instruct[name], thinking[name]) for name, param in params.items()
        ]
        for slot in self._slots:
            _check_source(slot)

    @torch.no_grad()
    def merge(self, spec: LambdaSpec) -> None:
        """Rewrite every parameter of the working model as the blend of its two sources at its λ."""
        lambdas = self.plan.lambdas(spec)
        for slot in self._slots:
            device = slot.target.device
            instruct = slot.instruct.to(device, non_blocking=True)  # no copy when the source lives there
            thinking = slot.thinking.to(device, non_blocking=True)
            self.method.blend(instruct, thinking, lambdas[slot.name], out=slot.target)

    def bytes_per_merge(self) -> int:
        """Bytes a merge must move through device memory: two sources read, one target written."""
        return sum(3 * slot.target.numel() * slot.target.element_size() for slot in self._slots)


def _check_source(slot: _Slot) -> None:
    for side, tensor in (("instruct", slot.instruct), ("thinking", slot.thinking)):
        if tensor.shape != slot.target.shape:
            raise UserError(
                f"{slot.name} has shape {tuple(tensor.shape)} in {side}, {tuple(slot.target.shape)} in the model; the models must have the same shapes"
            )
        if not torch.isfinite(tensor).all():
            raise UserError(
                f"{slot.name} in the {side} weights holds NaN or Inf; repair or re-download that checkpoint"
            )
        if tensor.dtype != slot.target.dtype or tensor.device not in (slot.target.device, torch.device("cpu")):
            raise ValueError(f"{slot.name}: sources must share the model's dtype, on its device or the host")
