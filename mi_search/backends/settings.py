"""Each backend's settings, one typed union: `backend: {kind: hf, device: cuda}` or `{kind: vllm, sources: host}`.

Flags and study files fill the same models; a setting of the other backend is refused by name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dtype: str = Field("auto", description="auto (bf16 on a GPU, fp32 on a CPU), bfloat16, float16 or float32")


Sources = Literal["auto", "device", "host"]
SOURCES_HELP = "where both source models stay: auto (the device when they fit), device, or host (pinned memory)"


class HFSettings(_Settings):
    """transformers: the working model on one device, both sources beside it or streamed from the host, our decoding loop."""

    kind: Literal["hf"] = "hf"
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    sources: Sources = Field("auto", description=SOURCES_HELP)
    batch_size: int = Field(256, ge=1, description="sequences decoded together")


class VLLMSettings(_Settings):
    """vLLM: one engine per study, started on the Instruct checkpoint; the defaults suit long reasoning on one GPU."""

    kind: Literal["vllm"] = "vllm"
    sources: Sources = Field("auto", description=SOURCES_HELP)
    max_model_len: int = Field(40960, ge=64, description="prompt + response tokens; capped at the model's own limit")
    gpu_memory_utilization: float | None = Field(
        None, gt=0.0, lt=1.0, description="vLLM's share of device memory; default: what the sources leave"
    )
    tensor_parallel_size: int = Field(1, ge=1)
    enforce_eager: bool | None = Field(None, description="skip CUDA graphs and compilation; default: on CPU only")
    block_size: int | None = Field(None, ge=1, description="KV cache block size; default: vLLM's")


BackendSettings = Annotated[HFSettings | VLLMSettings, Field(discriminator="kind")]
BACKEND_KINDS = ("hf", "vllm")


def read_shorthand(value: Any) -> Any:
    """`backend: vllm` means `backend: {kind: vllm}` with every other setting at its default."""
    kind = value if isinstance(value, str) else value.get("kind", "hf") if isinstance(value, dict) else None
    if kind is not None and kind not in BACKEND_KINDS:
        raise ValueError(f"unknown backend {kind!r}; use {' or '.join(BACKEND_KINDS)}")
    if isinstance(value, str):
        return {"kind": value}
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": "hf", **value}  # settings without a kind refine the default backend
    return value
