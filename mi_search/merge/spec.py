"""The λ specification: a global λ, optional per-module λ and optional per-layer-block λ.

Resolution for one parameter, most specific first:
1. its layer block's λ for attention or MLP (MoE experts and router count as MLP here),
2. its module's λ (`experts` and `router` fall back to `mlp` when not given),
3. the global λ.
On a model whose lm_head is tied to the embeddings, the embedding λ decides both.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from mi_search.merge.architectures import Module, ParamRole
from mi_search.errors import UserError
from mi_search.yaml_config import read_yaml, validate

_BLOCK_FAMILY = {Module.ATTENTION: "attention", Module.MLP: "mlp", Module.EXPERTS: "mlp", Module.ROUTER: "mlp"}
_MODULE_FALLBACK = {Module.EXPERTS: Module.MLP, Module.ROUTER: Module.MLP}


class BlockLambda(BaseModel):
    """λ for one contiguous block of decoder layers; a missing value falls through to the module λ."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attention: float | None = None
    mlp: float | None = None


class LambdaSpec(BaseModel):
    """How far each parameter moves from Instruct (0) towards Thinking (1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lam: float = Field(description="global λ")
    modules: dict[Module, float] = Field(default_factory=dict)
    blocks: tuple[BlockLambda, ...] = ()

    def values(self) -> list[float]:
        """Every λ the spec names."""
        block_values = [v for b in self.blocks for v in (b.attention, b.mlp) if v is not None]
        return [self.lam, *self.modules.values(), *block_values]

    def check_range(self, *, allow_extrapolation: bool) -> None:
        """λ outside [0, 1] extrapolates past a source model; refuse unless asked for."""
        outside = [v for v in self.values() if not 0.0 <= v <= 1.0]
        if outside and not allow_extrapolation:
            raise UserError(f"λ={outside[0]:g} is outside [0, 1]; use a value in [0, 1] or pass --allow-extrapolation")

    def resolve(self, role: ParamRole, num_layers: int) -> float:
        """The λ for a parameter with this role in a model of `num_layers` decoder layers."""
        family = _BLOCK_FAMILY.get(role.module)
        if self.blocks and family is not None and role.layer is not None:
            if len(self.blocks) > num_layers:
                raise UserError(
                    f"{len(self.blocks)} layer blocks for a model of {num_layers} layers; use at most {num_layers}"
                )
            block_lam = getattr(self.blocks[role.layer * len(self.blocks) // num_layers], family)
            if block_lam is not None:
                return block_lam
        if role.module in self.modules:
            return self.modules[role.module]
        fallback = _MODULE_FALLBACK.get(role.module)
        if fallback in self.modules:
            return self.modules[fallback]
        return self.lam

    def describe(self) -> str:
        """A short human-readable form, e.g. `λ=0.5 attention=0.3 mlp=0.7`."""
        parts = [f"λ={self.lam:g}"] + [f"{m.value}={v:g}" for m, v in self.modules.items()]
        parts += [f"block{i}=({b.attention},{b.mlp})" for i, b in enumerate(self.blocks)]
        return " ".join(parts)


def load_spec(path: Path) -> LambdaSpec:
    """Read a λ specification from YAML, e.g. `{lam: 0.5, modules: {mlp: 0.8}}`."""
    raw = read_yaml(path, "λ spec")
    return validate(LambdaSpec, raw, source=f"λ spec {path}")
