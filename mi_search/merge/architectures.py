"""Which module and layer each parameter belongs to, per architecture, as explicit data.

Every table lists full-match regexes over parameter names. Names come in two spellings and both
are listed: checkpoint files store Qwen3-MoE experts one by one
(`model.layers.3.mlp.experts.7.up_proj.weight`), while transformers 5 fuses them in memory into
3-D tensors (`model.layers.3.mlp.experts.gate_up_proj`, `model.layers.3.mlp.experts.down_proj`).
A name that no rule matches is an error, never a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from mi_search.errors import UserError


class Module(str, Enum):
    ATTENTION = "attention"
    MLP = "mlp"
    EMBEDDING = "embedding"
    NORM = "norm"
    LM_HEAD = "lm_head"
    EXPERTS = "experts"
    ROUTER = "router"


@dataclass(frozen=True)
class ParamRole:
    module: Module
    layer: int | None  # None for parameters outside the decoder layers


Rules = tuple[tuple[str, Module], ...]

# --- shared pieces -----------------------------------------------------------------------------

_LAYER = r"model\.layers\.(?P<layer>\d+)\."


def _per_layer(*pieces: Rules) -> Rules:
    """Prefix per-layer rules with `model.layers.{i}.`, capturing `i` as the `layer` group."""
    return tuple((_LAYER + pattern, module) for piece in pieces for pattern, module in piece)


_OUTSIDE_LAYERS: Rules = (
    (r"model\.embed_tokens\.weight", Module.EMBEDDING),
    (r"model\.norm\.weight", Module.NORM),
    (r"lm_head\.weight", Module.LM_HEAD),  # absent when tie_word_embeddings is true
)
_LAYER_NORMS: Rules = ((r"(input_layernorm|post_attention_layernorm)\.weight", Module.NORM),)
_ATTENTION: Rules = ((r"self_attn\.[qkvo]_proj\.weight", Module.ATTENTION),)
_ATTENTION_QKV_BIAS: Rules = ((r"self_attn\.[qkv]_proj\.bias", Module.ATTENTION),)  # Qwen2: always
_ATTENTION_BIAS: Rules = ((r"self_attn\.[qkvo]_proj\.bias", Module.ATTENTION),)  # config attention_bias=true
_QK_NORMS: Rules = ((r"self_attn\.[qk]_norm\.weight", Module.ATTENTION),)  # Qwen3 normalises q and k per head
_DENSE_MLP: Rules = ((r"mlp\.(gate|up|down)_proj\.weight", Module.MLP),)
_DENSE_MLP_BIAS: Rules = ((r"mlp\.(gate|up|down)_proj\.bias", Module.MLP),)  # Llama config mlp_bias=true
_MOE: Rules = (
    (r"mlp\.gate\.weight", Module.ROUTER),
    # on disk: one tensor per expert
    (r"mlp\.experts\.\d+\.(gate|up|down)_proj\.weight", Module.EXPERTS),
    # in memory (transformers 5): gate_up_proj [experts, 2*moe_intermediate, hidden] (gate rows
    # then up rows), down_proj [experts, hidden, moe_intermediate]; no `.weight` suffix
    (r"mlp\.experts\.(gate_up_proj|down_proj)", Module.EXPERTS),
)


# --- tables --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchitectureTable:
    name: str  # HF architecture class name, e.g. "Qwen3ForCausalLM"
    rules: Rules  # full-match regexes; per-layer ones capture the layer index in a group named `layer`
    _compiled: tuple[tuple[re.Pattern[str], Module], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple((re.compile(pattern), module) for pattern, module in self.rules)
        object.__setattr__(self, "_compiled", compiled)

    @property
    def modules(self) -> frozenset[Module]:
        """The module kinds this architecture has (an MoE model's dense layers add MLP)."""
        return frozenset(module for _, module in self.rules)

    def role(self, name: str) -> ParamRole:
        for pattern, module in self._compiled:
            match = pattern.fullmatch(name)
            if match:
                layer = match.groupdict().get("layer")
                return ParamRole(module, int(layer) if layer is not None else None)
        raise UserError(
            f"parameter {name} is not in the {self.name} table; add a rule for it to the table in mi_search/architectures.py"
        )


_TABLES = (
    ArchitectureTable(
        "Qwen3ForCausalLM",
        _OUTSIDE_LAYERS + _per_layer(_ATTENTION, _ATTENTION_BIAS, _QK_NORMS, _DENSE_MLP, _LAYER_NORMS),
    ),
    ArchitectureTable(
        # Qwen3-MoE has no shared expert; layers in mlp_only_layers (or off decoder_sparse_step) are dense
        "Qwen3MoeForCausalLM",
        _OUTSIDE_LAYERS + _per_layer(_ATTENTION, _ATTENTION_BIAS, _QK_NORMS, _MOE, _DENSE_MLP, _LAYER_NORMS),
    ),
    ArchitectureTable(
        "Qwen2ForCausalLM",
        _OUTSIDE_LAYERS + _per_layer(_ATTENTION, _ATTENTION_QKV_BIAS, _DENSE_MLP, _LAYER_NORMS),
    ),
    ArchitectureTable(
        "LlamaForCausalLM",
        _OUTSIDE_LAYERS + _per_layer(_ATTENTION, _ATTENTION_BIAS, _DENSE_MLP, _DENSE_MLP_BIAS, _LAYER_NORMS),
    ),
    ArchitectureTable(
        "MistralForCausalLM",
        _OUTSIDE_LAYERS + _per_layer(_ATTENTION, _DENSE_MLP, _LAYER_NORMS),
    ),
)
_BY_NAME = {table.name: table for table in _TABLES}
SUPPORTED_ARCHITECTURES: tuple[str, ...] = tuple(_BY_NAME)


def table_for(architecture: str) -> ArchitectureTable:
    if architecture not in _BY_NAME:
        raise UserError(
            f"architecture {architecture} is not supported; supported: {', '.join(SUPPORTED_ARCHITECTURES)}"
            " (add a table to mi_search/architectures.py for another)"
        )
    return _BY_NAME[architecture]
