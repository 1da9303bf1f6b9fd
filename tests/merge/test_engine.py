"""The in-place engine: exact endpoints, per-module and per-block λ, validation, export round-trip."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from mi_search.merge.architectures import Module
from mi_search.errors import UserError
from mi_search import open_pair
from mi_search.backends.settings import HFSettings
from mi_search import export_merge
from mi_search.merge.spec import BlockLambda, LambdaSpec
from tests.conftest import pair_of, save_tiny_model


def _source_params(directory):
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    return {name: p.detach() for name, p in model.named_parameters()}


@pytest.fixture(scope="module")
def pair(tiny_pair):
    return open_pair(pair_of(*tiny_pair), HFSettings(device="cpu"))


@pytest.fixture(scope="module")
def sources(tiny_pair):
    return _source_params(tiny_pair[0]), _source_params(tiny_pair[1])


def _current(pair):
    return {name: p.detach().clone() for name, p in pair.model.named_parameters()}


def test_endpoints_reproduce_the_sources_bit_for_bit(pair, sources):
    instruct, thinking = sources
    pair.merge(LambdaSpec(lam=0.7))
    pair.merge(LambdaSpec(lam=0.0))
    assert all(torch.equal(p, instruct[n]) for n, p in _current(pair).items())
    pair.merge(LambdaSpec(lam=1.0))
    assert all(torch.equal(p, thinking[n]) for n, p in _current(pair).items())


def test_merge_writes_into_the_resident_tensors(pair, sources):
    before = {name: p.data_ptr() for name, p in pair.model.named_parameters()}
    pair.merge(LambdaSpec(lam=0.25))
    after = {name: p.data_ptr() for name, p in pair.model.named_parameters()}
    assert before == after
    name = "model.layers.0.mlp.up_proj.weight"
    expected = torch.lerp(sources[0][name], sources[1][name], 0.25)
    assert torch.equal(dict(pair.model.named_parameters())[name].detach(), expected)


def test_per_module_lambda_touches_only_its_tensors(pair, sources):
    instruct, thinking = sources
    pair.merge(LambdaSpec(lam=0.0, modules={Module.MLP: 1.0}))
    for name, value in _current(pair).items():
        expected = thinking[name] if ".mlp." in name else instruct[name]
        assert torch.equal(value, expected), name


def test_attention_lambda_includes_qk_norms(pair, sources):
    instruct, thinking = sources
    pair.merge(LambdaSpec(lam=0.0, modules={Module.ATTENTION: 1.0}))
    current = _current(pair)
    assert torch.equal(
        current["model.layers.2.self_attn.k_norm.weight"], thinking["model.layers.2.self_attn.k_norm.weight"]
    )
    assert torch.equal(
        current["model.layers.2.input_layernorm.weight"], instruct["model.layers.2.input_layernorm.weight"]
    )


def test_blocks_cut_layers_into_contiguous_groups(pair, sources):
    instruct, thinking = sources
    # 4 layers in 2 blocks: layers 0-1 keep Instruct MLPs, layers 2-3 take Thinking MLPs; attention follows the global λ.
    spec = LambdaSpec(lam=0.0, blocks=(BlockLambda(mlp=0.0), BlockLambda(mlp=1.0)))
    pair.merge(spec)
    current = _current(pair)
    for layer in range(4):
        name = f"model.layers.{layer}.mlp.down_proj.weight"
        assert torch.equal(current[name], (instruct if layer < 2 else thinking)[name])
        attn = f"model.layers.{layer}.self_attn.q_proj.weight"
        assert torch.equal(current[attn], instruct[attn])


def test_block_lambda_overrides_module_lambda(pair):
    spec = LambdaSpec(lam=0.1, modules={Module.MLP: 0.2}, blocks=(BlockLambda(mlp=0.9), BlockLambda()))
    plan = pair.plan.lambdas(spec)
    assert plan["model.layers.0.mlp.gate_proj.weight"] == 0.9
    assert plan["model.layers.3.mlp.gate_proj.weight"] == 0.2
    assert plan["model.embed_tokens.weight"] == 0.1


def test_more_blocks_than_layers_is_refused(pair):
    with pytest.raises(UserError, match="at most 4"):
        pair.plan.lambdas(LambdaSpec(lam=0.5, blocks=tuple(BlockLambda(mlp=0.5) for _ in range(5))))


def test_modules_the_architecture_lacks_are_refused(pair):
    with pytest.raises(UserError, match="no experts weights"):
        pair.plan.lambdas(LambdaSpec(lam=0.5, modules={Module.EXPERTS: 0.5}))


def test_lambda_outside_unit_interval_needs_permission():
    spec = LambdaSpec(lam=1.2)
    with pytest.raises(UserError, match="--allow-extrapolation"):
        spec.check_range(allow_extrapolation=False)
    spec.check_range(allow_extrapolation=True)


def test_tied_lm_head_must_follow_the_embeddings(tmp_path):
    tied = open_pair(
        pair_of(
            save_tiny_model(tmp_path / "a", 1, tie_word_embeddings=True),
            save_tiny_model(tmp_path / "b", 2, tie_word_embeddings=True),
        ),
        HFSettings(device="cpu"),
    )
    with pytest.raises(UserError, match="ties lm_head"):
        tied.plan.lambdas(LambdaSpec(lam=0.5, modules={Module.LM_HEAD: 0.2}))
    tied.plan.lambdas(LambdaSpec(lam=0.5, modules={Module.LM_HEAD: 0.5}))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"intermediate_size": 96}, "configs differ in intermediate_size"),
        ({"num_hidden_layers": 3}, "configs differ in num_hidden_layers"),
    ],
)
def test_mismatched_pairs_are_refused_before_loading(tmp_path, tiny_pair, overrides, message):
    other = save_tiny_model(tmp_path / "other", 3, **overrides)
    with pytest.raises(UserError, match=message):
        open_pair(pair_of(tiny_pair[0], other), HFSettings(device="cpu"))


def test_different_architectures_are_refused(tmp_path, tiny_pair):
    other = save_tiny_model(tmp_path / "other", 3)
    config = json.loads((other / "config.json").read_text())
    config["architectures"] = ["LlamaForCausalLM"]
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="architectures differ"):
        open_pair(pair_of(tiny_pair[0], other), HFSettings(device="cpu"))


def test_missing_tensor_is_named(tmp_path, tiny_pair):
    other = save_tiny_model(tmp_path / "other", 3)
    tensors = load_file(other / "model.safetensors")
    del tensors["model.layers.1.mlp.up_proj.weight"]
    save_file(tensors, other / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(
        UserError, match=r"model\.layers\.1\.mlp\.up_proj\.weight is in the instruct checkpoint but missing"
    ):
        open_pair(pair_of(tiny_pair[0], other), HFSettings(device="cpu"))


def test_shape_mismatch_is_named(tmp_path, tiny_pair):
    other = save_tiny_model(tmp_path / "other", 3)
    tensors = load_file(other / "model.safetensors")
    tensors["model.norm.weight"] = torch.ones(32, dtype=torch.bfloat16)
    save_file(tensors, other / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(UserError, match=r"model\.norm\.weight has shape \(64,\) in instruct but \(32,\)"):
        open_pair(pair_of(tiny_pair[0], other), HFSettings(device="cpu"))


def test_non_finite_weights_are_refused(tmp_path, tiny_pair):
    other = save_tiny_model(tmp_path / "other", 3)
    tensors = load_file(other / "model.safetensors")
    tensors["model.layers.0.self_attn.o_proj.weight"][0, 0] = float("nan")
    save_file(tensors, other / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(UserError, match=r"o_proj\.weight in the thinking weights holds NaN"):
        open_pair(pair_of(tiny_pair[0], other), HFSettings(device="cpu"))


def test_checkpoints_without_safetensors_are_refused(tmp_path, tiny_pair):
    other = save_tiny_model(tmp_path / "other", 3)
    (other / "model.safetensors").unlink()
    with pytest.raises(UserError, match="safetensors only"):
        open_pair(pair_of(tiny_pair[0], other), HFSettings(device="cpu"))


def test_export_round_trips_and_equals_the_in_place_merge_rounded_once(pair, sources, tiny_pair, tmp_path):
    spec = LambdaSpec(lam=0.5, modules={Module.ATTENTION: 0.2})
    out = export_merge(pair_of(*tiny_pair), spec, tmp_path / "merged")
    loaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    pair.merge(spec)  # the resident fp32 merge; the export is it rounded once to the sources' bf16
    resident = dict(pair.model.named_parameters())
    for name, param in loaded.named_parameters():
        lam = 0.2 if ".self_attn." in name else 0.5
        expected = torch.lerp(sources[0][name], sources[1][name], lam).to(torch.bfloat16).float()
        assert torch.equal(param.detach(), expected), name
        assert torch.equal(param.detach(), resident[name].detach().to(torch.bfloat16).float()), name
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    assert (out / "chat_template.jinja").exists() or "chat_template" in json.loads(
        (out / "tokenizer_config.json").read_text()
    )
    assert json.loads((out / "mi_search_merge.json").read_text())["spec"]["lam"] == 0.5


def test_a_tied_head_is_not_written(tmp_path):
    instruct = save_tiny_model(tmp_path / "a", 1, tie_word_embeddings=True)
    thinking = save_tiny_model(tmp_path / "b", 2, tie_word_embeddings=True)
    out = export_merge(pair_of(instruct, thinking), LambdaSpec(lam=0.5), tmp_path / "m")
    assert "lm_head.weight" not in load_file(out / "model.safetensors")
    assert set(load_file(out / "model.safetensors")) == set(load_file(instruct / "model.safetensors"))


def test_export_refuses_an_existing_directory_and_leaves_no_staging(tiny_pair, tmp_path):
    out = tmp_path / "merged"
    out.mkdir()
    with pytest.raises(UserError, match="already exists"):
        export_merge(pair_of(*tiny_pair), LambdaSpec(lam=0.5), out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"]


def test_hub_ids_that_cannot_be_fetched_end_in_one_clear_line(monkeypatch, tiny_pair):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="cannot fetch Qwen/No-Such-Model-mi-search from the Hugging Face Hub"):
        open_pair(pair_of(tiny_pair[0], "Qwen/No-Such-Model-mi-search"), HFSettings(device="cpu"))


def test_paths_that_are_neither_directories_nor_hub_ids(tmp_path, tiny_pair):
    with pytest.raises(UserError, match="is not a model directory"):
        open_pair(pair_of(tiny_pair[0], tmp_path / "missing" / "deeper" / "dir"), HFSettings(device="cpu"))
