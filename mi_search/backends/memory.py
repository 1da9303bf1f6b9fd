"""Where a pair's tensors will live and whether a study fits, decided from sizes alone before anything loads.

Pure arithmetic: model sizes and the machine's memory in, a `MemoryPlan` out. The numbers follow
what the backends do:
- the working model is split across tensor-parallel devices;
- each device (each vLLM worker) keeps *whole* copies of both sources, on the device or in host
  memory (the worker reads the checkpoint files, and vLLM's loader shards each blended tensor);
- a merge reads both sources and writes the blend: sources on the device move 3 model sizes
  through device memory, host sources first cross the host link (2 model sizes).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from mi_search.errors import UserError

GB = 10**9
GIB = 2**30
HEADROOM = 2 * GIB  # activations and allocator slack beside the weights, per device
DEFAULT_SHARE = 0.9  # vLLM's share of a device when nothing else sits there

Placement = Literal["auto", "device", "host"]


@dataclass(frozen=True)
class ModelShape:
    """What the plan needs of one model: its parameters and the KV-cache values one token adds."""

    parameters: int
    kv_heads: int
    kv_values_per_head: int  # per token and KV head: 2 (K and V) × layers × head_dim

    def kv_bytes_per_token(self, itemsize: int, tensor_parallel_size: int = 1) -> int:
        """One device's KV bytes per token: KV heads are split across devices (replicated when fewer)."""
        heads = max(1, math.ceil(self.kv_heads / tensor_parallel_size))
        return heads * self.kv_values_per_head * itemsize


@dataclass(frozen=True)
class Machine:
    """The memory a study runs in: one device's memory (each of `tensor_parallel_size` alike) and the host's."""

    device: Literal["cuda", "cpu"]
    device_memory: int  # bytes per device
    device_free: int | None = None  # bytes free now; default: all of it
    host_memory: int | None = None  # None: unknown, not checked

    @property
    def free(self) -> int:
        return self.device_memory if self.device_free is None else self.device_free


@dataclass(frozen=True)
class Bandwidths:
    """Stated rates for the switch-cost estimate, in bytes per second."""

    device: float  # a lerp's reads and writes in device memory
    host_link: float  # pinned host → device copies

    @classmethod
    def of(cls, device: str) -> Bandwidths:
        # HBM3 on an H100 streams ~3 TB/s, of which an elementwise lerp sustains ~2; PCIe 4.0 x16 pinned ~25 GB/s.
        # A CPU "device" is host memory (~20 GB/s for a lerp on a few cores) and there is no link to cross.
        return cls(2e12, 25e9) if device == "cuda" else cls(20e9, math.inf)


@dataclass(frozen=True)
class Request:
    """The backend settings that decide placement, as the plan reads them."""

    backend: Literal["hf", "vllm"]
    sources: Placement = "auto"
    dtype: str = "bfloat16"  # the engine's weights
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None  # vLLM: one sequence this long must fit in the KV cache

    @property
    def itemsize(self) -> int:
        return _ITEMSIZE[self.dtype]


_ITEMSIZE = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class MemoryPlan:
    request: Request  # with `sources` resolved to device or host
    machine: Machine
    model_bytes: int  # one model in the engine's dtype
    device_weights: int  # per device: its share of the working model, plus the sources if they live there
    host_sources: int  # host bytes held for sources (every worker's copies); 0 on the device
    share: float | None  # vLLM's share of each device
    kv_room: int | None  # per device: what vLLM's share leaves for the KV cache
    kv_tokens: int | None  # tokens that KV room holds
    switch_bytes: int  # per device and trial: bytes a merge moves
    switch_seconds: float
    bandwidths: Bandwidths

    @property
    def sources(self) -> str:
        return self.request.sources


def model_shape(config: dict, parameters: int | None = None) -> ModelShape:
    """A model's shape from its config.json; its parameter count from headers when given, else from the config."""
    layers = config["num_hidden_layers"]
    heads = config["num_attention_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    kv_heads = config.get("num_key_value_heads") or heads
    count = parameters if parameters is not None else config_parameters(config)
    return ModelShape(count, kv_heads, 2 * layers * head_dim)


def config_parameters(config: dict) -> int:
    """Parameters of a Qwen3 / Qwen3-MoE / Llama-style decoder from its config: for a hub id without local headers."""
    try:
        hidden, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
        heads = config["num_attention_heads"]
    except KeyError as exc:
        raise UserError(f"config.json has no {exc.args[0]}; the memory plan needs the model's shape") from None
    head_dim = config.get("head_dim") or hidden // heads
    kv_heads = config.get("num_key_value_heads") or heads
    attention = hidden * head_dim * (2 * heads + 2 * kv_heads)
    if config.get("attention_bias"):
        attention += head_dim * (heads + 2 * kv_heads) + hidden
    norms = 2 * hidden + (2 * head_dim if config.get("model_type", "").startswith("qwen3") else 0)
    experts = config.get("num_experts") or config.get("num_local_experts") or 0
    dense_mlp = 3 * hidden * config.get("intermediate_size", 0)
    sparse = set(range(layers)) - set(config.get("mlp_only_layers") or []) if experts else set()
    step = config.get("decoder_sparse_step") or 1
    sparse = {i for i in sparse if (i + 1) % step == 0}
    moe_mlp = experts * 3 * hidden * config.get("moe_intermediate_size", 0) + experts * hidden
    per_layer = (attention + norms) * layers + len(sparse) * moe_mlp + (layers - len(sparse)) * dense_mlp
    outside = vocab * hidden * (1 if config.get("tie_word_embeddings") else 2) + hidden
    return per_layer + outside


def plan_memory(shape: ModelShape, request: Request, machine: Machine) -> MemoryPlan:
    """The placement `request` asks for (auto: sources on the device when they fit, else on the host), or a UserError
    naming the one setting that makes the study fit."""
    placements = ("device", "host") if request.sources == "auto" else (request.sources,)
    failures = []
    for sources in placements:
        plan, problem = _try(shape, replace(request, sources=sources), machine)
        if plan is not None:
            return plan
        failures.append(problem)
    raise UserError(f"{failures[-1]}; {_remedy(shape, request, machine)}")


def _try(shape: ModelShape, request: Request, machine: Machine) -> tuple[MemoryPlan | None, str]:
    """The plan for one placement, or None and why it does not fit."""
    plan, needed = _layout(shape, request, machine)
    tp = plan.request.tensor_parallel_size if request.backend == "vllm" else 1
    where = f"{'the' if tp == 1 else 'each of'} {size_text(machine.device_memory)} {machine.device} device"
    where += "s" * (tp > 1)
    if needed > machine.free:
        free = size_text(machine.free)
        return (
            None,
            f"{request.backend} with sources on the {request.sources} needs {size_text(needed)} on {where} ({free} free)",
        )
    if plan.kv_room is not None and (plan.kv_room <= 0 or plan.kv_tokens < (request.max_model_len or 1)):
        return (
            None,
            f"vLLM's KV cache on {where} holds {plan.kv_tokens} tokens, fewer than max_model_len {request.max_model_len}",
        )
    if machine.host_memory is not None and plan.host_sources > machine.host_memory:
        here = size_text(machine.host_memory)
        return None, f"sources on the host need {size_text(plan.host_sources)} of host memory ({here} here)"
    return plan, ""


def _layout(shape: ModelShape, request: Request, machine: Machine) -> tuple[MemoryPlan, int]:
    """Where every byte goes under `request`, and the device memory that takes."""
    tp = request.tensor_parallel_size if request.backend == "vllm" else 1
    model = shape.parameters * request.itemsize
    working = math.ceil(model / tp)
    on_device = request.sources == "device" or machine.device == "cpu"  # a CPU's host memory is its device memory
    sources = 2 * model  # whole copies, per device
    device_weights = working + (sources if on_device else 0)
    host_sources = 0 if on_device else sources * tp
    bandwidths = Bandwidths.of(machine.device)
    moved = 3 * model + (0 if on_device else sources)
    seconds = 3 * model / bandwidths.device + (0 if on_device else sources / bandwidths.host_link)
    share = kv_room = kv_tokens = None
    needed = device_weights + HEADROOM
    if request.backend == "vllm":
        beside = (sources if on_device else 0) + HEADROOM  # outside vLLM's share
        share = request.gpu_memory_utilization or min(DEFAULT_SHARE, (machine.free - beside) / machine.device_memory)
        kv_room = int(share * machine.device_memory) - working
        kv_tokens = max(0, kv_room) // shape.kv_bytes_per_token(request.itemsize, tp)
        needed = max(needed, int(share * machine.device_memory) + beside)
    plan = MemoryPlan(
        request, machine, model, device_weights, host_sources, share, kv_room, kv_tokens, moved, seconds, bandwidths
    )
    return plan, needed


def _remedy(shape: ModelShape, request: Request, machine: Machine) -> str:
    """The first single setting that makes the study fit, as a study file would write it."""
    for setting, changed in _alternatives(shape, request):
        if _fits(shape, changed, machine):
            return f"set {setting} to make it fit"
    return "no single setting makes it fit on this machine; use more or larger GPUs or a smaller pair"


def _alternatives(shape: ModelShape, request: Request) -> Iterator[tuple[str, Request]]:
    for sources in ("host", "device"):
        if request.sources not in ("auto", sources):
            yield f"backend.sources: {sources}", replace(request, sources=sources)
    if request.backend == "vllm":
        for tp in (2, 4, 8, 1):  # more devices share the working model and KV; fewer hold fewer host copies
            if tp != request.tensor_parallel_size:
                yield f"backend.tensor_parallel_size: {tp}", replace(request, tensor_parallel_size=tp)
        if request.max_model_len:
            for length in (32768, 16384, 8192, 4096):
                if length < request.max_model_len:
                    yield f"backend.max_model_len: {length}", replace(request, max_model_len=length)
        if request.gpu_memory_utilization is not None:
            yield "backend.gpu_memory_utilization: null (auto)", replace(request, gpu_memory_utilization=None)
    else:
        for tp in (1, 2, 4, 8):
            vllm = Request("vllm", "auto", request.dtype, tp, max_model_len=request.max_model_len)
            yield f"backend: {{kind: vllm, tensor_parallel_size: {tp}}}", vllm


def _fits(shape: ModelShape, request: Request, machine: Machine) -> bool:
    placements = ("device", "host") if request.sources == "auto" else (request.sources,)
    return any(_try(shape, replace(request, sources=s), machine)[0] is not None for s in placements)


def size_text(size: float) -> str:
    """Bytes as GB, MB or kB (powers of ten, as GPU and model cards state them)."""
    for unit, scale in (("GB", GB), ("MB", 10**6)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size / 1e3:.1f} kB"


def parse_size(text: str) -> int:
    """`80GB`, `141 GB`, `24GiB` or a byte count, as bytes: how --gpu-memory and --host-memory are written."""
    units = {"tib": 2**40, "gib": GIB, "mib": 2**20, "tb": 10**12, "gb": GB, "mb": 10**6, "b": 1, "": 1}
    cleaned = text.strip().lower().replace(" ", "")
    number = cleaned.rstrip("abgimt")
    unit = cleaned[len(number) :]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in units or not math.isfinite(value) or value <= 0:
        raise UserError(f"cannot read the memory size {text!r}; write it like 80GB, 141GB or 24GiB")
    return int(value * units[unit])
