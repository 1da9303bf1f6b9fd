"""Every parameter of every supported architecture maps to a module and layer; unknown names are errors.

Names are taken from real tiny models: `named_parameters()` (transformers 5 fuses MoE experts in
memory) and the keys of the safetensors file `save_pretrained` writes (experts one by one).
"""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config, Qwen3MoeConfig

from mi_search.merge.architectures import SUPPORTED_ARCHITECTURES, Module, ParamRole, table_for
from mi_search.errors import UserError

SMALL = {
    "vocab_size": 64,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "tie_word_embeddings": False,
}
MOE = {
    "head_dim": 16,
    "moe_intermediate_size": 16,
    "num_experts": 4,
    "num_experts_per_tok": 2,
    "decoder_sparse_step": 1,
}
CONFIGS = {
    "Qwen3ForCausalLM": lambda: Qwen3Config(head_dim=16, **SMALL),
    # layer 0 dense (mlp_only_layers), layer 1 sparse: both kinds of MLP in one model
    "Qwen3MoeForCausalLM": lambda: Qwen3MoeConfig(mlp_only_layers=[0], **MOE, **SMALL),
    "Qwen2ForCausalLM": lambda: Qwen2Config(**SMALL),
    "LlamaForCausalLM": lambda: LlamaConfig(**SMALL),
    "MistralForCausalLM": lambda: MistralConfig(**SMALL),
}
# config options that add parameters, each with its architecture
VARIANTS = {
    "Qwen3-attention_bias": ("Qwen3ForCausalLM", lambda: Qwen3Config(head_dim=16, attention_bias=True, **SMALL)),
    "Qwen3Moe-all-sparse": (
        "Qwen3MoeForCausalLM",
        lambda: Qwen3MoeConfig(mlp_only_layers=[], attention_bias=True, **MOE, **SMALL),
    ),
    "Llama-biases": ("LlamaForCausalLM", lambda: LlamaConfig(attention_bias=True, mlp_bias=True, **SMALL)),
    "Qwen2-tied": ("Qwen2ForCausalLM", lambda: Qwen2Config(**{**SMALL, "tie_word_embeddings": True})),
}


def _names(config, directory) -> tuple[list[str], list[str]]:
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(directory)
    with safe_open(directory / "model.safetensors", framework="pt") as handle:
        disk_names = list(handle.keys())
    return [n for n, _ in model.named_parameters()], disk_names


def test_every_supported_architecture_is_tested():
    assert set(CONFIGS) == set(SUPPORTED_ARCHITECTURES)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def saved(request, tmp_path_factory):
    memory, disk = _names(CONFIGS[request.param](), tmp_path_factory.mktemp(request.param))
    return request.param, memory, disk


def test_memory_and_disk_names_all_classify(saved):
    architecture, memory_names, disk_names = saved
    table = table_for(architecture)
    roles = {name: table.role(name) for name in memory_names + disk_names}
    assert {role.module for role in roles.values()} <= table.modules
    assert roles["model.layers.1.self_attn.o_proj.weight"] == ParamRole(Module.ATTENTION, 1)
    assert roles["model.norm.weight"] == ParamRole(Module.NORM, None)
    assert roles["model.embed_tokens.weight"] == ParamRole(Module.EMBEDDING, None)
    assert roles["lm_head.weight"] == ParamRole(Module.LM_HEAD, None)
    assert roles["model.layers.0.input_layernorm.weight"] == ParamRole(Module.NORM, 0)
    assert roles["model.layers.1.post_attention_layernorm.weight"] == ParamRole(Module.NORM, 1)
    assert roles["model.layers.0.mlp.down_proj.weight"] == ParamRole(Module.MLP, 0)
    if architecture == "Qwen3MoeForCausalLM":
        assert {role.module for role in roles.values()} == table.modules
        assert roles["model.layers.1.mlp.gate.weight"] == ParamRole(Module.ROUTER, 1)
        # in memory: fused 3-D tensors, not on disk
        assert roles["model.layers.1.mlp.experts.gate_up_proj"] == ParamRole(Module.EXPERTS, 1)
        assert roles["model.layers.1.mlp.experts.down_proj"] == ParamRole(Module.EXPERTS, 1)
        assert "model.layers.1.mlp.experts.gate_up_proj" not in disk_names
        # on disk: one tensor per expert, not in memory
        assert roles["model.layers.1.mlp.experts.3.up_proj.weight"] == ParamRole(Module.EXPERTS, 1)
        assert roles["model.layers.1.mlp.experts.0.gate_proj.weight"] == ParamRole(Module.EXPERTS, 1)
        assert "model.layers.1.mlp.experts.3.up_proj.weight" not in memory_names
    else:
        assert Module.EXPERTS not in table.modules and Module.ROUTER not in table.modules
    if architecture == "Qwen2ForCausalLM":
        assert roles["model.layers.1.self_attn.q_proj.bias"] == ParamRole(Module.ATTENTION, 1)
    if architecture.startswith("Qwen3"):
        assert roles["model.layers.1.self_attn.k_norm.weight"] == ParamRole(Module.ATTENTION, 1)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_config_variants_classify(variant, tmp_path):
    architecture, config = VARIANTS[variant]
    memory_names, disk_names = _names(config(), tmp_path)
    table = table_for(architecture)
    roles = {name: table.role(name) for name in memory_names + disk_names}
    if variant == "Qwen2-tied":
        assert "lm_head.weight" not in roles
    if variant == "Llama-biases":
        assert roles["model.layers.1.self_attn.o_proj.bias"] == ParamRole(Module.ATTENTION, 1)
        assert roles["model.layers.1.mlp.up_proj.bias"] == ParamRole(Module.MLP, 1)
    if variant == "Qwen3Moe-all-sparse":
        assert roles["model.layers.0.mlp.experts.down_proj"] == ParamRole(Module.EXPERTS, 0)
        assert Module.MLP not in {role.module for role in roles.values()}


def test_layer_index_is_read_in_full():
    assert table_for("Qwen2ForCausalLM").role("model.layers.47.mlp.up_proj.weight") == ParamRole(Module.MLP, 47)


@pytest.mark.parametrize(
    "name",
    [
        "model.layers.0.self_attn.rotary.weight",
        "model.vision_tower.x",
        "model.layers.x.mlp.up_proj.weight",
        "model.layers.0.mlp.experts.gate_up_proj",  # experts exist only in the MoE table
        "model.layers.0.self_attn.q_proj.weight.extra",  # full match, not prefix
    ],
)
def test_unknown_names_are_errors(name):
    with pytest.raises(UserError, match=name.replace(".", r"\.")) as caught:
        table_for("Qwen3ForCausalLM").role(name)
    message = str(caught.value)
    assert "\n" not in message and "Qwen3ForCausalLM" in message and "mi_search/architectures.py" in message


@pytest.mark.parametrize(
    ("architecture", "name"),
    [
        ("LlamaForCausalLM", "model.layers.0.self_attn.q_norm.weight"),  # Qwen3 only
        ("Qwen2ForCausalLM", "model.layers.0.self_attn.o_proj.bias"),  # Qwen2 biases q, k, v only
        ("MistralForCausalLM", "model.layers.0.mlp.up_proj.bias"),
        ("Qwen3MoeForCausalLM", "model.layers.0.mlp.shared_expert.up_proj.weight"),  # Qwen2-MoE has it, Qwen3-MoE not
    ],
)
def test_names_of_other_architectures_are_errors(architecture, name):
    with pytest.raises(UserError, match=f"{architecture} table"):
        table_for(architecture).role(name)


def test_unsupported_architecture_lists_the_supported_ones():
    with pytest.raises(UserError, match="GPT2LMHeadModel is not supported") as caught:
        table_for("GPT2LMHeadModel")
    assert all(name in str(caught.value) for name in SUPPORTED_ARCHITECTURES)


def test_moe_declares_experts_and_router():
    assert {Module.EXPERTS, Module.ROUTER, Module.MLP} <= table_for("Qwen3MoeForCausalLM").modules
    assert Module.EXPERTS not in table_for("Qwen3ForCausalLM").modules
