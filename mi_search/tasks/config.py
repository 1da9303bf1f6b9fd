"""Which task a study or sweep scores on, and how its questions split into search and held-out parts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TaskConfig(BaseModel):
    """Where questions come from and how they split into a search part and a held-out part."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("toy", description="toy, aime25, math500, gsm8k, gpqa-diamond or ifeval")
    data_files: str | None = Field(None, description="a local file in the named task's published schema")
    prompt_suffix: str | None = Field(None, description="replaces the instruction after each question")
    data: str | None = Field(None, description="a question/answer file or `datasets` id instead of a named task")
    question_column: str = "question"
    answer_column: str = "answer"
    split: str = "test"
    pool: int | None = Field(1000, ge=2, description="questions read before splitting; null reads them all")
    holdout_fraction: float = Field(0.5, gt=0.0, lt=1.0)
    search_size: int | None = Field(200, ge=1, description="questions each trial is scored on")
    holdout_size: int | None = Field(200, ge=1, description="questions each front point is re-scored on")

    @model_validator(mode="after")
    def _one_source(self) -> TaskConfig:
        """`data` replaces a named task: naming both would silently score one of them."""
        if self.data is not None and (self.name != "toy" or self.data_files is not None):
            raise ValueError(
                f"give a named task ({self.name}) or a data file ({self.data}), not both; drop --task or --data"
            )
        return self
