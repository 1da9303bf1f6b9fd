"""Which two checkpoints a study blends, and whose chat template formats its prompts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Whose chat template formats the prompts of every blend: the Instruct model's or the Thinking model's.
TemplateSource = Literal["instruct", "thinking"]


class PairConfig(BaseModel):
    """The Instruct and Thinking checkpoints (local directories or hub ids); neither means the bundled toy pair."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bundled: Literal["toy"] | None = Field(None, description="a pair shipped with mi-search: toy")
    instruct: str | None = Field(None, description="Instruct checkpoint: local directory or hub id")
    thinking: str | None = Field(None, description="Thinking checkpoint: local directory or hub id")
    trust_remote_code: bool = Field(False, description="run code shipped with the checkpoints (only if you trust them)")
    chat_template: TemplateSource = Field(
        "instruct", description="whose chat template formats every prompt: the instruct or the thinking model's"
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> PairConfig:
        if (self.instruct is None) != (self.thinking is None):
            raise ValueError("give both instruct and thinking, or neither for the bundled toy pair")
        if self.bundled is not None and self.instruct is not None:
            raise ValueError(f"give either the bundled pair {self.bundled!r} or instruct and thinking, not both")
        return self

    @property
    def label(self) -> str:
        return "toy" if self.thinking is None else Path(self.thinking).name

    def references(self) -> tuple[str, str]:
        """Both checkpoints as given (hub ids stay ids), the bundled toy pair's directories when none is."""
        if self.instruct is None or self.thinking is None:
            from mi_search.toy import toy_pair_dirs

            return tuple(str(d) for d in toy_pair_dirs())
        return self.instruct, self.thinking

    def template_dir(self, instruct_dir: Path, thinking_dir: Path) -> Path:
        """Of the resolved checkpoints, the one whose tokenizer and chat template format every prompt."""
        return thinking_dir if self.chat_template == "thinking" else instruct_dir
