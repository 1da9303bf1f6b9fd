"""The backend-neutral decoding struct, what a generator returns, and what evaluation asks of a generator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

FinishReason = Literal["stop", "length"]
# Samples per question: the paper's largest is 64; past this a value is a typo that would generate for days.
SampleCount = Annotated[int, Field(ge=1, le=1024, description="samples per question, 1 to 1024")]


class DecodingParams(BaseModel):
    """Sampling settings shared by all backends; temperature 0 means greedy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    top_k: int = Field(0, ge=0, description="0 keeps every token")
    max_new_tokens: int = Field(512, ge=1)
    seed: int = 0
    thinking_budget: int | None = Field(
        None, ge=1, description="tokens a response may think before its thought is closed for it; null: no limit"
    )
    thinking_close: str | None = Field(
        None, description="the text forced at the budget; default: a newline, the pair's end-of-thinking marker, two newlines"
    )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def key(self) -> dict:
        """The settings as stored keys: thinking fields only when set, so keys made before them still match."""
        return self.model_dump(mode="json", exclude_none=True)


class DecodingOverrides(BaseModel):
    """Changes to the task's default decoding; a missing key keeps the task's value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(None, ge=0.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0)
    max_new_tokens: int | None = Field(None, ge=1)
    seed: int | None = None
    thinking_budget: int | None = Field(None, ge=1)
    thinking_close: str | None = None

    def apply(self, base: DecodingParams) -> DecodingParams:
        return base.model_copy(update=self.model_dump(exclude_none=True))


@dataclass(frozen=True)
class Completion:
    """One sampled response. `num_tokens` counts generated tokens, the closing EOS included (as vLLM does),
    plus the tokens of a thought close forced at the thinking budget (`forced_close`)."""

    text: str
    num_tokens: int
    finish_reason: FinishReason
    forced_close: bool = False


class Generator(Protocol):
    """Generates from a model as it is now; a merge between calls changes what it generates."""

    def generate(
        self, prompts: list[str], n: int, params: DecodingParams, *, seeds: Sequence[int] | None = None, first: int = 0
    ) -> list[list[Completion]]:
        """`n` completions for each user message in `prompts`, in order. The generator applies the chat template.

        `seeds` gives each prompt its seed; sample j of prompt i then draws from `sample_seed(seeds[i], j)`
        (`evaluation.seeds`), so a prompt's samples do not depend on its batch. None: seeds by position.
        `first`: the index of the first sample, so samples j ≥ first can follow ones generated earlier.
        """
        ...
