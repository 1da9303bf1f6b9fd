"""Qwen3-4B's tensors and the response surface that reduces a per-tensor λ to the two effective λ.

Kept apart because it is the only part that knows the architecture: the real `MergePlan` over Qwen3-4B's
tensor names and sizes, and which tensors drive thinking (MLPs) and which its quality (attention).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mi_search.merge.architectures import Module, table_for
from mi_search.merge.plan import MergePlan

QWEN3_4B = dict(layers=36, hidden=2560, intermediate=9728, q_heads=32, kv_heads=8, head_dim=128, vocab=151936)


def qwen3_4b_sizes() -> dict[str, int]:
    """Element counts of Qwen3-4B's tensors under their HF names (tied embeddings: no lm_head)."""
    c = QWEN3_4B
    hidden, inner = c["hidden"], c["intermediate"]
    q_out, kv_out = c["q_heads"] * c["head_dim"], c["kv_heads"] * c["head_dim"]
    sizes = {"model.embed_tokens.weight": c["vocab"] * hidden, "model.norm.weight": hidden}
    for layer in range(c["layers"]):
        p = f"model.layers.{layer}."
        sizes |= {
            p + "self_attn.q_proj.weight": q_out * hidden,
            p + "self_attn.k_proj.weight": kv_out * hidden,
            p + "self_attn.v_proj.weight": kv_out * hidden,
            p + "self_attn.o_proj.weight": hidden * q_out,
            p + "self_attn.q_norm.weight": c["head_dim"],
            p + "self_attn.k_norm.weight": c["head_dim"],
            p + "mlp.gate_proj.weight": inner * hidden,
            p + "mlp.up_proj.weight": inner * hidden,
            p + "mlp.down_proj.weight": hidden * inner,
            p + "input_layernorm.weight": hidden,
            p + "post_attention_layernorm.weight": hidden,
        }
    return sizes


def qwen3_4b_plan() -> MergePlan:
    return MergePlan(qwen3_4b_sizes(), table_for("Qwen3ForCausalLM"), QWEN3_4B["layers"])


# --- the response surface ------------------------------------------------------------------------


@dataclass(frozen=True)
class Surface:
    """Weights of the response surface (see `bench.paper_sim`'s docstring for the formula)."""

    think_mlp_share: float = 0.85
    think_profile: tuple[float, float, float] = (0.1, 1.0, 1.0)  # early, middle, late third
    quality_attention_share: float = 0.75
    quality_profile: tuple[float, float, float] = (0.3, 1.0, 0.8)
    quality_pull: float = 0.4  # w: how far attention's λ moves accuracy's λ
    mismatch_penalty: float = 6.0  # ρ, logits per unit² of (λ_Q − λ_T)

    def coefficients(self, plan: MergePlan) -> tuple[dict[str, float], dict[str, float]]:
        """Per-tensor weights of λ_T and λ_Q; each set sums to 1, so one λ everywhere gives that λ."""
        groups: dict[tuple[str, int], float] = {}
        for name, role in plan.roles.items():
            family = _family(role.module)
            if family is not None and role.layer is not None:
                groups[(family, role.layer)] = groups.get((family, role.layer), 0.0) + plan.sizes[name]
        third = {layer: layer * 3 // plan.num_layers for _, layer in groups}
        think = _group_weights(groups, third, self.think_profile, "mlp", self.think_mlp_share)
        quality = _group_weights(groups, third, self.quality_profile, "attention", self.quality_attention_share)
        think_coef, quality_coef = {}, {}
        for name, role in plan.roles.items():
            key = (_family(role.module), role.layer)
            if key in groups:
                think_coef[name] = think[key] * plan.sizes[name] / groups[key]
                quality_coef[name] = quality[key] * plan.sizes[name] / groups[key]
        return think_coef, quality_coef


def _group_weights(
    groups: Mapping[tuple[str, int], float],
    third: Mapping[int, int],
    profile: tuple[float, float, float],
    main: str,
    main_share: float,
) -> dict[tuple[str, int], float]:
    """Weight of each (family, layer): the family's share times its layer third's profile, summing to 1."""
    total = sum(profile[third[layer]] for layer in {layer for _, layer in groups})
    share = {main: main_share, ("attention" if main == "mlp" else "mlp"): 1.0 - main_share}
    return {(family, layer): share[family] * profile[third[layer]] / total for family, layer in groups}


def _family(module: Module) -> str | None:
    if module is Module.ATTENTION:
        return "attention"
    if module in (Module.MLP, Module.EXPERTS, Module.ROUTER):
        return "mlp"
    return None


@dataclass(frozen=True)
class Effective:
    """The two effective λ a blend reduces to."""

    think: float
    quality: float
