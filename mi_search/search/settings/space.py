"""Search spaces derived from what the interpolation engine declares.

- `global`: one λ for every weight.
- `modules`: one λ per named module kind (attention and MLP by default); the rest follow a global λ.
- `blocks`: the decoder layers cut into B contiguous blocks, each with an attention and an MLP λ;
  embeddings, norms and the head follow a global λ. This is the space in which the paper's finding
  (the thinking pattern lives in the MLPs of the middle and late layers) can be rediscovered.
- `layers`: one λ per decoder layer for attention and one for the MLP (the peers' resolution:
  12 numbers for the toy's 6 layers, 72 for Qwen3-4B's 36).
- `profile`: per module (attention, MLP), λ as a piecewise-linear function of depth through
  `knots` evenly spaced knots (mergekit's gradient lists): 8 numbers for any depth with 4 knots.
In `layers` and `profile` the embeddings, norms and head take the mean of the layer λ (no extra
dimension). Both are expressed as per-layer blocks (blocks = the layer count), so merging needs
nothing new; `layers` is the model's decoder layer count, filled in from the pair's config.
Each may add decoding parameters. Optuna parameter names are built here and nowhere else.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mi_search.merge.architectures import Module
from mi_search.evaluation.decoding import DecodingParams
from mi_search.merge.spec import BlockLambda, LambdaSpec

if TYPE_CHECKING:
    import optuna


class SpaceKind(str, Enum):
    GLOBAL = "global"
    MODULES = "modules"
    BLOCKS = "blocks"
    LAYERS = "layers"
    PROFILE = "profile"


PER_LAYER = (SpaceKind.LAYERS, SpaceKind.PROFILE)  # spaces whose λ come per decoder layer
_PARTS = ("attention", "mlp")


def profile_values(knots: list[float], layers: int) -> list[float]:
    """λ at each of `layers` depths, linear between `knots` spread evenly from the first layer to the last."""
    if layers == 1:
        return [knots[0]]
    out = []
    for layer in range(layers):
        x = layer / (layers - 1) * (len(knots) - 1)
        left = min(int(x), len(knots) - 2)
        out.append(knots[left] + (x - left) * (knots[left + 1] - knots[left]))
    return out


class DecodingSpace(BaseModel):
    """Decoding parameters to search; a missing one keeps the task's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: tuple[float, float] | None = Field(None, description="[low, high], 0 <= low <= high")
    top_p: tuple[float, float] | None = Field(None, description="[low, high], 0 < low <= high <= 1")
    max_new_tokens: tuple[int, ...] | None = Field(None, description="choices, e.g. [4096, 8192, 16384]")
    thinking_budget: tuple[int, int] | None = Field(
        None, description="[low, high] tokens of thought, searched on a log scale; high = max_new_tokens includes no cap"
    )

    @field_validator("thinking_budget")
    @classmethod
    def _budget_range(cls, span: tuple[int, int] | None) -> tuple[int, int] | None:
        if span is not None and not 1 <= span[0] <= span[1]:
            raise ValueError(f"a thinking_budget range is [low, high], 1 <= low <= high, got {list(span)}; e.g. [16, 512]")
        return span

    @field_validator("temperature")
    @classmethod
    def _temperature_range(cls, span: tuple[float, float] | None) -> tuple[float, float] | None:
        if span is not None and not 0.0 <= span[0] <= span[1] < float("inf"):
            raise ValueError(f"a temperature range is [low, high], 0 <= low <= high, got {list(span)}; e.g. [0.6, 1.0]")
        return span

    @field_validator("top_p")
    @classmethod
    def _top_p_range(cls, span: tuple[float, float] | None) -> tuple[float, float] | None:
        if span is not None and not 0.0 < span[0] <= span[1] <= 1.0:
            raise ValueError(f"a top_p range is [low, high], 0 < low <= high <= 1, got {list(span)}; e.g. [0.8, 1.0]")
        return span

    @field_validator("max_new_tokens")
    @classmethod
    def _token_choices(cls, choices: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if choices is None:
            return None
        if not choices or min(choices) < 1 or len(set(choices)) != len(choices):
            raise ValueError(
                f"max_new_tokens takes distinct positive choices, got {list(choices)}; e.g. [4096, 8192] or leave it out"
            )
        return choices


class SearchSpace(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SpaceKind = SpaceKind.GLOBAL
    modules: tuple[Module, ...] = (Module.ATTENTION, Module.MLP)
    blocks: int = Field(3, ge=1)
    knots: int = Field(4, description="profile: knots per module, 2 up to the layer count")
    layers: int | None = Field(None, ge=1, description="layers/profile: decoder layers; filled in from the pair")
    decoding: DecodingSpace = DecodingSpace()

    @field_validator("modules")
    @classmethod
    def _distinct_modules(cls, modules: tuple[Module, ...]) -> tuple[Module, ...]:
        if not modules or len(set(modules)) != len(modules):
            names = [m.value for m in modules]
            raise ValueError(f"modules takes distinct module kinds, at least one, got {names}; e.g. [attention, mlp]")
        return modules

    @field_validator("knots")
    @classmethod
    def _two_knots_at_least(cls, knots: int) -> int:
        if knots < 2:
            raise ValueError(
                f"a profile needs at least 2 knots (the first layer and the last), got {knots}; "
                "use 2 up to the model's layer count"
            )
        return knots

    def bound(self, layers: int) -> SearchSpace:
        """This space for a model of `layers` decoder layers; a profile with more knots than layers is refused."""
        from mi_search.errors import UserError

        if self.kind is SpaceKind.PROFILE and self.knots > layers:
            raise UserError(
                f"space profile has {self.knots} knots for a model of {layers} layers; use knots between 2 and {layers}"
            )
        if self.layers is not None and self.layers != layers:
            raise UserError(f"space layers={self.layers}, but the pair has {layers} decoder layers; leave `layers` out")
        return self.model_copy(update={"layers": layers})

    def _layer_count(self) -> int:
        if self.layers is None:
            raise ValueError(f"space {self.kind.value} needs the model's layer count; bind it with space.bound(layers)")
        return self.layers

    def lambda_names(self) -> list[str]:
        """The Optuna parameter names of every λ this space searches."""
        if self.kind is SpaceKind.GLOBAL:
            return ["lam"]
        if self.kind is SpaceKind.MODULES:
            return ["lam", *(f"lam_{m.value}" for m in self.modules)]
        if self.kind is SpaceKind.LAYERS:
            width = len(str(self._layer_count() - 1))
            return [f"lam_layer{i:0{width}d}_{part}" for i in range(self._layer_count()) for part in _PARTS]
        if self.kind is SpaceKind.PROFILE:
            return [f"lam_{part}_knot{j}" for part in _PARTS for j in range(self.knots)]
        return ["lam", *(f"lam_block{i}_{part}" for i in range(self.blocks) for part in _PARTS)]

    @property
    def dimension(self) -> int:
        """How many numbers the sampler searches (λ and decoding parameters)."""
        return len(self.lambda_names()) + sum(v is not None for v in self.decoding.model_dump().values())

    def layer_values(self, values: dict[str, float]) -> dict[str, list[float]]:
        """λ per decoder layer for attention and MLP, for the per-layer spaces (`layers`, `profile`)."""
        layers = self._layer_count()
        if self.kind is SpaceKind.LAYERS:
            width = len(str(layers - 1))
            return {part: [values[f"lam_layer{i:0{width}d}_{part}"] for i in range(layers)] for part in _PARTS}
        return {
            part: profile_values([values[f"lam_{part}_knot{j}"] for j in range(self.knots)], layers) for part in _PARTS
        }

    def spec_for(self, values: dict[str, float]) -> LambdaSpec:
        """The λ specification for parameter values named as in `lambda_names()`.

        `plan.lambdas(space.spec_for(space.uniform(0.5)))` refuses a space the model cannot express
        (a module it lacks, more blocks than layers) before any trial runs.
        """
        if self.kind is SpaceKind.GLOBAL:
            return LambdaSpec(lam=values["lam"])
        if self.kind is SpaceKind.MODULES:
            return LambdaSpec(lam=values["lam"], modules={m: values[f"lam_{m.value}"] for m in self.modules})
        if self.kind in PER_LAYER:
            per_layer = self.layer_values(values)
            rest = sum(sum(v) for v in per_layer.values()) / sum(len(v) for v in per_layer.values())
            pairs = zip(per_layer["attention"], per_layer["mlp"])
            return LambdaSpec(lam=rest, blocks=tuple(BlockLambda(attention=a, mlp=m) for a, m in pairs))
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
        if space.thinking_budget is not None:
            update["thinking_budget"] = trial.suggest_int("thinking_budget", *space.thinking_budget, log=True)
        return base.model_copy(update=update)

    def setting(self, params: dict, base: DecodingParams) -> tuple[LambdaSpec, DecodingParams]:
        """The λ specification and decoding parameters a finished trial ran with, from its `params`."""
        spec = self.spec_for({name: params[name] for name in self.lambda_names()})
        decoding = {name: params[name] for name in DecodingSpace.model_fields if name in params}
        return spec, base.model_copy(update=decoding)

    def uniform(self, lam: float) -> dict[str, float]:
        """Parameters that put every λ of the space at `lam`: the seeds λ = 0.5, 0, 1 of a study."""
        return {name: lam for name in self.lambda_names()}

    def from_modules(self, params: dict[str, float]) -> dict[str, float] | None:
        """This space's parameters for a `modules` point: each attention and MLP λ at that module's λ (the global λ
        where the point has none), a global λ at its global λ; None when this space has no modules plane
        (`plane_groups`) or `params` is not a modules point. Whether both are one blend is for the caller to check:
        `profile` and `layers` give the other weights the layers' mean, a modules point its global λ."""
        groups = plane_groups(self.lambda_names())
        if groups is None or "lam" not in params or not set(params) <= {"lam", *(f"lam_{m.value}" for m in Module)}:
            return None
        return {
            name: params["lam"] if part == PLANE_REST else params.get(f"lam_{part}", params["lam"])
            for part, names in groups.items()
            for name in names
        }


_VECTOR_NAME = re.compile(r"^lam_(?:layer(\d+)_(attention|mlp)|(attention|mlp)_knot(\d+)|block(\d+)_(attention|mlp))$")


def vector_position(name: str) -> tuple[str, int] | None:
    """A vector λ's module and depth index (layer, knot or block), e.g. ("mlp", 3); None for a scalar parameter."""
    match = _VECTOR_NAME.match(name)
    if not match:
        return None
    index = next(int(g) for g in match.group(1, 4, 5) if g is not None)
    return next(g for g in match.group(2, 3, 6) if g is not None), index


PLANE_REST = "rest"  # the global λ of a space that searches one beside its blocks: a third number of its plane


def plane_groups(names: list[str]) -> dict[str, list[str]] | None:
    """The λ names per module of a space that resolves attention and MLP λ by depth (`blocks`, `profile`,
    `layers`): its modules plane puts every name of a group at one value. A global λ (`blocks`: the weights
    outside the blocks) is the group `rest`, as in the `modules` space. None for any other space."""
    groups: dict[str, list[str]] = {part: [] for part in _PARTS}
    for name in names:
        position = vector_position(name)
        if name == "lam":
            groups.setdefault(PLANE_REST, []).append(name)
        elif position is None or position[0] not in _PARTS:
            return None
        else:
            groups[position[0]].append(name)
    return groups if all(groups[part] for part in _PARTS) else None


def vector_groups(params: dict[str, float]) -> dict[str, list[float]]:
    """A λ vector's values per module, in depth order (layers, knots or blocks); empty for scalar spaces."""
    groups: dict[str, list[tuple[int, float]]] = {}
    for name, value in params.items():
        match = _VECTOR_NAME.match(name)
        if match:
            index = next(int(g) for g in match.group(1, 4, 5) if g is not None)
            part = next(g for g in match.group(2, 3, 6) if g is not None)
            groups.setdefault(part, []).append((index, value))
    return {part: [v for _, v in sorted(items)] for part, items in groups.items()}


def module_groups(params: dict[str, float]) -> dict[str, list[float]]:
    """A modules-space point as depth profiles: each module's λ holds at every depth, so two equal ends.

    The weights no module λ names follow the global λ (`rest`). Empty unless a module has its own λ.
    """
    named = {m.value: params[f"lam_{m.value}"] for m in Module if f"lam_{m.value}" in params}
    if not named:
        return {}
    groups = {part: [value, value] for part, value in named.items()}
    if "lam" in params:
        groups["rest (global λ)"] = [params["lam"], params["lam"]]
    return groups


def vector_summary(params: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per module: the mean λ and the mean over the early, middle and late thirds of depth."""
    summary = {}
    for part, values in vector_groups(params).items():
        thirds = [values[len(values) * i // 3 : max(len(values) * (i + 1) // 3, len(values) * i // 3 + 1)] for i in range(3)]
        means = [sum(t) / len(t) for t in thirds]
        summary[part] = {"mean": sum(values) / len(values), "early": means[0], "middle": means[1], "late": means[2]}
    return summary


def describe_params(params: dict[str, float]) -> str:
    """`0.62` for a global λ; `attention=0.40 mlp=0.80` for modules; a vector as per-module mean and depth profile."""
    if list(params) == ["lam"]:
        return f"{params['lam']:.2f}"
    summary = vector_summary(params)
    vector_names = {name for name in params if _VECTOR_NAME.match(name)}
    parts = [
        f"{name.removeprefix('lam_')}={value}" if isinstance(value, int) else f"{name.removeprefix('lam_')}={value:.2f}"
        for name, value in params.items()
        if name not in vector_names
    ]
    parts += [
        f"{part} {s['mean']:.2f} (early {s['early']:.2f}, middle {s['middle']:.2f}, late {s['late']:.2f})"
        for part, s in summary.items()
    ]
    return " ".join(parts)
