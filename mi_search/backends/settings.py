"""Which backend a study generates with, and how the vLLM engine is started."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BackendName = Literal["hf", "vllm"]
# Whose chat template formats the prompts of every blend: the Instruct model's or the Thinking model's.
TemplateSource = Literal["instruct", "thinking"]


class VLLMSettings(BaseModel):
    """How the vLLM engine is started; the defaults suit long reasoning on one device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: Literal["device", "host"] = Field(
        "device", description="where both source models stay: on the engine's device, or in pinned host memory"
    )
    max_model_len: int = Field(40960, ge=64, description="prompt + response tokens; capped at the model's own limit")
    gpu_memory_utilization: float | None = Field(
        None, gt=0.0, lt=1.0, description="vLLM's share of device memory; default: what the sources leave"
    )
    tensor_parallel_size: int = Field(1, ge=1)
    enforce_eager: bool | None = Field(None, description="skip CUDA graphs and compilation; default: on CPU only")
    block_size: int | None = Field(None, ge=1, description="KV cache block size; default: vLLM's")
