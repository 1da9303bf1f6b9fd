"""Search spaces derived from what the interpolation engine declares.

- `global`: one λ for every weight.
- `modules`: one λ per named module kind (attention and MLP by default); the rest follow a global λ.
- `blocks`: the decoder layers cut into B contiguous blocks, each with an attention and an MLP λ;
  embeddings, norms and the head follow a global λ. This is the space in which the paper's finding
  (the thinking pattern lives in the MLPs of the middle and late layers) can be rediscovered.
Each may add decoding parameters. Optuna parameter names are built here and nowhere else.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from mi_search.merge.architectures import Module
from mi_search.evaluation.decoding import DecodingParams
from mi_search.merge.spec import BlockLambda, LambdaSpec

if TYPE_CHECKING:
    import optuna


class SpaceKind(str, Enum):
    GLOBAL = "global"
    MODULES = "modules"
    BLOCKS = "blocks"


class DecodingSpace(BaseModel):
    """Decoding parameters to search; a missing one keeps the task's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: tuple[float, float] | None = None
    top_p: tuple[float, float] | None = None
    max_new_tokens: tuple[int, ...] | None = Field(None, description="choices, e.g. [4096, 8192, 16384]")


class SearchSpace(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SpaceKind = SpaceKind.GLOBAL
    modules: tuple[Module, ...] = (Module.ATTENTION, Module.MLP)
    blocks: int = Field(3, ge=1)
    decoding: DecodingSpace = DecodingSpace()

    def lambda_names(self) -> list[str]:
        """The Optuna parameter names of every λ this space searches."""
        if self.kind is SpaceKind.GLOBAL:
            return ["lam"]
        if self.kind is SpaceKind.MODULES:
            return ["lam", *(f"lam_{m.value}" for m in self.modules)]
        return ["lam", *(f"lam_block{i}_{part}" for i in range(self.blocks) for part in ("attention", "mlp"))]

    def spec_for(self, values: dict[str, float]) -> LambdaSpec:
        """The λ specification for parameter values named as in `lambda_names()`.

        `plan.lambdas(space.spec_for(space.uniform(0.5)))` refuses a space the model cannot express
        (a module it lacks, more blocks than layers) before any trial runs.
        """
        if self.kind is SpaceKind.GLOBAL:
            return LambdaSpec(lam=values["lam"])
        if self.kind is SpaceKind.MODULES:
            return LambdaSpec(lam=values["lam"], modules={m: values[f"lam_{m.value}"] for m in self.modules})
        blocks = tuple(
            BlockLambda(attention=values[f"lam_block{i}_attention"], mlp=values[f"lam_block{i}_mlp"])
            for i in range(self.blocks)
        )
        return LambdaSpec(lam=values["lam"], blocks=blocks)

    def suggest(self, trial: optuna.Trial, base: DecodingParams) -> tuple[LambdaSpec, DecodingParams]:
        """The λ specification and decoding parameters of one trial."""
        values = {name: trial.suggest_float(name, 0.0, 1.0) for name in self.lambda_names()}
        return self.spec_for(values), self._suggest_decoding(trial, base)

    def _suggest_decoding(self, trial: optuna.Trial, base: DecodingParams) -> DecodingParams:
        space, update = self.decoding, {}
        if space.temperature is not None:
            update["temperature"] = trial.suggest_float("temperature", *space.temperature)
        if space.top_p is not None:
            update["top_p"] = trial.suggest_float("top_p", *space.top_p)
        if space.max_new_tokens is not None:
            update["max_new_tokens"] = trial.suggest_categorical("max_new_tokens", list(space.max_new_tokens))
        return base.model_copy(update=update)

    def setting(self, params: dict, base: DecodingParams) -> tuple[LambdaSpec, DecodingParams]:
        """The λ specification and decoding parameters a finished trial ran with, from its `params`."""
        spec = self.spec_for({name: params[name] for name in self.lambda_names()})
        decoding = {name: params[name] for name in DecodingSpace.model_fields if name in params}
        return spec, base.model_copy(update=decoding)

    def uniform(self, lam: float) -> dict[str, float]:
        """Parameters that put every λ of the space at `lam`: the seeds λ = 0, 0.5, 1 of a study."""
        return {name: lam for name in self.lambda_names()}
