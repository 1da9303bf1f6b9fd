"""The merge-method seam: one blend per method, one dtype policy, and callers that take any registered method."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import Qwen3ForCausalLM

from mi_search.merge.architectures import table_for
from mi_search.merge.checkpoints import checkpoint_plan
from mi_search.merge.export import export_blend
from mi_search.merge.interpolator import Interpolator
from mi_search.merge.methods.base import MergeMethod
from mi_search.merge.methods.registry import METHODS, get_method
from mi_search.merge.spec import LambdaSpec
from tests.conftest import tiny_config

LAMBDAS = (0.0, 0.1, 0.37, 0.5, 0.71, 0.9999, 1.0, -0.25, 1.3)


def _pair(dtype: torch.dtype, numel: int = 100_003) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(numel, generator=generator)
    b = a + 0.01 * torch.randn(numel, generator=generator)  # close weights: where rounding decides
    return a.to(dtype), b.to(dtype)


class Overshoot(MergeMethod):
    """A method the callers never heard of: 2λ·(B − A) + A, written without a fused kernel."""

    name = "overshoot"

    def combine(self, instruct, thinking, lam, out=None):
        result = instruct + 2 * lam * (thinking - instruct)
        return result if out is None else out.copy_(result)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("lam", LAMBDAS)
def test_linear_computes_in_fp32_and_rounds_once(dtype, lam):
    a, b = _pair(dtype)
    expected = torch.lerp(a.float(), b.float(), lam).to(dtype)
    assert torch.equal(get_method("linear").blend(a, b, lam), expected)
    out = torch.empty_like(a)
    written = get_method("linear").blend(a, b, lam, out=out)
    assert written.data_ptr() == out.data_ptr() and torch.equal(out, expected)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32, torch.float64])
def test_linear_ends_are_the_sources_bit_for_bit(dtype):
    a, b = _pair(dtype)
    assert torch.equal(get_method("linear").blend(a, b, 0.0), a)
    assert torch.equal(get_method("linear").blend(a, b, 1.0), b)


def test_sources_of_another_dtype_than_the_target_are_upcast_then_rounded_once():
    a, b = _pair(torch.float32)
    out = torch.empty(a.shape, dtype=torch.bfloat16)
    get_method("linear").blend(a, b, 0.3, out=out)
    assert torch.equal(out, torch.lerp(a, b, 0.3).to(torch.bfloat16))
    mixed = get_method("linear").blend(a.to(torch.bfloat16), b, 0.3)  # the Instruct tensor's dtype wins
    assert mixed.dtype == torch.bfloat16
    assert torch.equal(mixed, torch.lerp(a.to(torch.bfloat16).float(), b, 0.3).to(torch.bfloat16))


def test_a_method_without_a_fused_kernel_follows_the_same_policy():
    a, b = _pair(torch.bfloat16)
    expected = (a.float() + 2 * 0.3 * (b.float() - a.float())).to(torch.bfloat16)
    assert torch.equal(Overshoot().blend(a, b, 0.3), expected)
    assert not torch.equal(Overshoot().blend(a, b, 0.3), (a + 2 * 0.3 * (b - a)))  # bf16 arithmetic differs


def test_an_unknown_method_is_named_with_the_known_ones():
    assert set(METHODS) == {"linear"}
    with pytest.raises(ValueError, match="unknown merge method 'ties'; use one of linear"):
        get_method("ties")


def test_the_interpolator_and_the_export_take_another_method_unchanged(tiny_pair, tmp_path):
    instruct_dir, thinking_dir = tiny_pair
    sources = [load_file(directory / "model.safetensors") for directory in tiny_pair]
    table, spec = table_for("Qwen3ForCausalLM"), LambdaSpec(lam=0.25)
    model = Qwen3ForCausalLM(tiny_config()).to(torch.bfloat16)
    states = [{name: state[name] for name, _ in model.named_parameters()} for state in sources]
    Interpolator(model, *states, table, model.config.num_hidden_layers, method=Overshoot()).merge(spec)
    plan = checkpoint_plan(instruct_dir, table)
    out = export_blend(instruct_dir, thinking_dir, plan, spec, tmp_path / "merged", method=Overshoot())
    exported = load_file(out / "model.safetensors")
    resident = dict(model.named_parameters())
    for name, tensor in exported.items():
        expected = Overshoot().blend(sources[0][name], sources[1][name], 0.25)
        assert torch.equal(tensor, expected), name
        assert torch.equal(resident[name].detach(), expected), name
    linear = get_method("linear")
    assert exported.keys() == resident.keys()
    assert not all(torch.equal(t, linear.blend(sources[0][n], sources[1][n], 0.25)) for n, t in exported.items())
