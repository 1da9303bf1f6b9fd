"""What every backend offers a study: one model whose weights are a blend of the pair, set in place, that generates.

A backend loads the pair once. `merge` rewrites the served weights as the blend a λ specification
describes, and `generate` samples from whatever weights are served now. The study never asks which
backend it has. Exporting a blend needs no backend: `merge.export` streams it from the checkpoints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transformers import PreTrainedTokenizerBase

    from mi_search.evaluation.decoding import Completion, DecodingParams
    from mi_search.merge.plan import MergePlan
    from mi_search.merge.spec import LambdaSpec


class Backend(Protocol):
    """The pair loaded on one backend: both sources resident, one working model merged in place."""

    instruct_dir: Path
    thinking_dir: Path

    @property
    def plan(self) -> MergePlan:
        """Which λ each tensor gets under a specification (a spec the model cannot express fails there)."""
        ...

    def merge(self, spec: LambdaSpec) -> None:
        """Serve lerp(instruct, thinking, λ) with each tensor's λ from `spec`, from the next `generate` on."""
        ...

    def generate(
        self, prompts: list[str], n: int, params: DecodingParams, *, seeds: Sequence[int] | None = None, first: int = 0
    ) -> list[list[Completion]]:
        """`n` completions for each user message in `prompts`, in order, through the chat template.

        `seeds` and `first`: as `evaluation.decoding.Generator.generate` says (common random numbers).
        """
        ...


def chat_prompt_text(tokenizer: PreTrainedTokenizerBase, prompt: str) -> str:
    """One user message through the model's chat template, the assistant turn opened."""
    return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False)


def chat_prompt_ids(tokenizer: PreTrainedTokenizerBase, prompt: str) -> list[int]:
    """Token ids of one user message through the model's chat template, the assistant turn opened."""
    return tokenizer(chat_prompt_text(tokenizer, prompt), add_special_tokens=False)["input_ids"]
