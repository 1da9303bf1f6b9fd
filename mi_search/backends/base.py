"""The backend-neutral decoding struct and the interface every backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from mi_search.plan import MergePlan
    from mi_search.spec import LambdaSpec

FinishReason = Literal["stop", "length"]


class DecodingParams(BaseModel):
    """Sampling settings shared by all backends; temperature 0 means greedy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    top_k: int = Field(0, ge=0, description="0 keeps every token")
    max_new_tokens: int = Field(512, ge=1)
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass(frozen=True)
class Completion:
    """One sampled response. `num_tokens` counts generated tokens, the closing EOS included (as vLLM does)."""

    text: str
    num_tokens: int
    finish_reason: FinishReason


class Backend(Protocol):
    """Generates from the model as it is now; a merge between calls changes what it generates."""

    def generate(self, prompts: list[str], k: int, params: DecodingParams) -> list[list[Completion]]:
        """`k` completions for each user message in `prompts`, in order. The backend applies the chat template."""
        ...


class Blender(Protocol):
    """Holds both source models resident and sets the served weights to a blend of them, in place."""

    instruct_dir: Path
    thinking_dir: Path

    @property
    def plan(self) -> MergePlan: ...

    def merge(self, spec: LambdaSpec) -> None:
        """Serve lerp(instruct, thinking, λ) with each tensor's λ from `spec`, from the next `generate` on."""
        ...


def chat_prompt_ids(tokenizer: PreTrainedTokenizerBase, prompt: str) -> list[int]:
    """Token ids of one user message through the model's chat template, the assistant turn opened."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    return tokenizer(text, add_special_tokens=False)["input_ids"]
