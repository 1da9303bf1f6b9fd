"""A Qwen3-MoE pair on the HF backend: the architecture table against what transformers 5 saves and loads,
λ=0/1 bit for bit, experts-only and router-only λ touching only their tensors, host-streamed sources."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM

from mi_search import open_pair
from mi_search.backends.settings import HFSettings
from mi_search.merge.architectures import Module, table_for
from mi_search.merge.spec import BlockLambda, LambdaSpec
from tests.conftest import pair_of

BF16 = HFSettings(device="cpu", dtype="bfloat16")  # the checkpoints' own dtype: sources compare bit for bit


def _weights(directory) -> dict[str, torch.Tensor]:
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.bfloat16)
    return {name: p.detach() for name, p in model.named_parameters()}


@pytest.fixture(scope="module")
def sources(tiny_moe_pair):
    return tuple(_weights(d) for d in tiny_moe_pair)


@pytest.fixture(scope="module")
def backend(tiny_moe_pair):
    return open_pair(pair_of(*tiny_moe_pair), BF16)


def _state(backend) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in backend.model.named_parameters()}


def test_the_table_names_every_tensor_on_disk_and_in_memory(tiny_moe_pair, backend):
    table = table_for("Qwen3MoeForCausalLM")
    with safe_open(tiny_moe_pair[0] / "model.safetensors", "pt") as handle:
        on_disk = list(handle.keys())
    in_memory = [name for name, _ in backend.model.named_parameters()]
    assert "model.layers.0.mlp.experts.3.gate_proj.weight" in on_disk  # transformers 5 saves experts one by one
    assert "model.layers.0.mlp.experts.gate_up_proj" in in_memory  # and fuses them in memory
    roles = {name: table.role(name) for name in on_disk + in_memory}
    assert {role.module for role in roles.values()} >= {Module.EXPERTS, Module.ROUTER, Module.MLP}
    assert roles["model.layers.2.mlp.experts.down_proj"].layer == 2
    assert roles["model.layers.1.mlp.up_proj.weight"].module is Module.MLP  # mlp_only_layers: a dense layer
    assert backend.plan.roles["model.layers.0.mlp.gate.weight"].module is Module.ROUTER


@pytest.mark.parametrize(("lam", "side"), [(0.0, 0), (1.0, 1)])
def test_the_ends_reproduce_each_source_bit_for_bit(backend, sources, lam, side):
    backend.merge(LambdaSpec(lam=0.37))
    backend.merge(LambdaSpec(lam=lam))
    state = _state(backend)
    assert state.keys() == sources[side].keys()
    for name, tensor in state.items():
        assert torch.equal(tensor, sources[side][name]), name


@pytest.mark.parametrize("module", [Module.EXPERTS, Module.ROUTER])
def test_a_module_lambda_touches_only_that_modules_tensors(backend, sources, module):
    instruct, thinking = sources
    backend.merge(LambdaSpec(lam=0.0, modules={module: 0.6}))
    touched = set()
    for name, tensor in _state(backend).items():
        if backend.plan.roles[name].module is module:
            touched.add(name)
            assert torch.equal(tensor, torch.lerp(instruct[name], thinking[name], 0.6)), name
            assert not torch.equal(tensor, instruct[name]), name
        else:
            assert torch.equal(tensor, instruct[name]), name
    assert len(touched) == 2 * (2 if module is Module.EXPERTS else 1)  # layers 0 and 2 are sparse


def test_a_router_blend_changes_which_experts_the_tokens_reach(backend):
    """A non-trivial router: blending it alone moves the experts each token is sent to, and so the logits."""
    ids = torch.arange(4, 60).unsqueeze(0)
    routes = []
    hook = backend.model.model.layers[2].mlp.gate.register_forward_hook(lambda _m, _i, out: routes.append(out[2]))

    def logits(spec: LambdaSpec) -> torch.Tensor:
        backend.merge(spec)
        with torch.no_grad():
            return backend.model(ids).logits

    try:
        before = logits(LambdaSpec(lam=0.0))
        after = logits(LambdaSpec(lam=0.0, modules={Module.ROUTER: 1.0}))
    finally:
        hook.remove()
    chosen = [r.sort(dim=-1).values for r in routes]
    assert not torch.equal(chosen[0], chosen[1])
    assert not torch.allclose(before, after)


def test_host_streamed_sources_merge_bit_for_bit_like_resident_ones(tiny_moe_pair, backend):
    """On this CPU-only machine the host is the device, so the copy is a no-op: this proves the path's results."""
    streamed = open_pair(pair_of(*tiny_moe_pair), BF16.model_copy(update={"sources": "host"}))
    specs = [
        LambdaSpec(lam=0.3, modules={Module.EXPERTS: 0.8, Module.ROUTER: 0.1}),
        LambdaSpec(
            lam=0.5,
            modules={Module.ROUTER: 0.7},
            blocks=(BlockLambda(mlp=0.9), BlockLambda(attention=0.2), BlockLambda(mlp=0.1)),
        ),
    ]
    for spec in specs:
        backend.merge(spec)
        streamed.merge(spec)
        expected = _state(backend)
        for name, tensor in _state(streamed).items():
            assert torch.equal(tensor, expected[name]), name
    for slot in streamed.interpolator._slots:  # sources never alias the working model
        assert slot.instruct.data_ptr() != slot.target.data_ptr() and slot.thinking.data_ptr() != slot.target.data_ptr()
