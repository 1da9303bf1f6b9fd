"""The memory plan from configs and safetensors headers of real shapes (Qwen3-4B, Qwen3-30B-A3B), no weights."""

from __future__ import annotations

import json
from pathlib import Path

import huggingface_hub
import optuna
import pytest
from typer.testing import CliRunner

from mi_search.backends import placement
from mi_search.backends.settings import HFSettings, VLLMSettings
from mi_search.cli import app
from mi_search.errors import UserError
from mi_search.merge.checkpoints import parameter_count, tensor_shapes
from mi_search.backends.memory import GB, Machine, Request, config_parameters, model_shape, parse_size, plan_memory
from mi_search.search.store.storage import open_storage

from tests.conftest import FakeHub, assert_user_error

STUDIES = Path(__file__).parents[2] / "studies"
runner = CliRunner()

# config.json values as published for Qwen/Qwen3-4B-*-2507 and Qwen/Qwen3-30B-A3B-*-2507
QWEN3_4B = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "hidden_size": 2560,
    "intermediate_size": 9728,
    "num_hidden_layers": 36,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
    "max_position_embeddings": 262144,
    "torch_dtype": "bfloat16",
}
QWEN3_30B_A3B = {
    "architectures": ["Qwen3MoeForCausalLM"],
    "model_type": "qwen3_moe",
    "hidden_size": 2048,
    "intermediate_size": 6144,
    "moe_intermediate_size": 768,
    "num_experts": 128,
    "num_experts_per_tok": 8,
    "decoder_sparse_step": 1,
    "mlp_only_layers": [],
    "norm_topk_prob": True,
    "num_hidden_layers": 48,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "head_dim": 128,
    "vocab_size": 151936,
    "tie_word_embeddings": False,
    "max_position_embeddings": 262144,
    "torch_dtype": "bfloat16",
}
PUBLISHED = {"4b": 4_022_468_096, "30b": 30_532_122_624}  # parameters the model cards round to 4.0B and 30.5B


def checkpoint_shapes(config: dict) -> dict[str, list[int]]:
    """Every tensor a checkpoint of this config stores, with its shape, in the on-disk names."""
    hidden, heads, kv, dim = (
        config[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim")
    )
    shapes = {"model.embed_tokens.weight": [config["vocab_size"], hidden], "model.norm.weight": [hidden]}
    if not config["tie_word_embeddings"]:
        shapes["lm_head.weight"] = [config["vocab_size"], hidden]
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes |= {
            p + "self_attn.q_proj.weight": [heads * dim, hidden],
            p + "self_attn.k_proj.weight": [kv * dim, hidden],
            p + "self_attn.v_proj.weight": [kv * dim, hidden],
            p + "self_attn.o_proj.weight": [hidden, heads * dim],
            p + "self_attn.q_norm.weight": [dim],
            p + "self_attn.k_norm.weight": [dim],
            p + "input_layernorm.weight": [hidden],
            p + "post_attention_layernorm.weight": [hidden],
        }
        if config.get("num_experts"):
            inter = config["moe_intermediate_size"]
            shapes[p + "mlp.gate.weight"] = [config["num_experts"], hidden]
            for e in range(config["num_experts"]):
                q = f"{p}mlp.experts.{e}."
                shapes |= {q + "gate_proj.weight": [inter, hidden], q + "up_proj.weight": [inter, hidden]}
                shapes[q + "down_proj.weight"] = [hidden, inter]
        else:
            inter = config["intermediate_size"]
            shapes |= {p + "mlp.gate_proj.weight": [inter, hidden], p + "mlp.up_proj.weight": [inter, hidden]}
            shapes[p + "mlp.down_proj.weight"] = [hidden, inter]
    return shapes


def header_only_checkpoint(directory: Path, config: dict, shards: int = 4) -> Path:
    """config.json, a chat template, and sharded safetensors files holding their headers only (no tensor data),
    with the index a hub repository serves beside them."""
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps(config))
    (directory / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ messages[0]['content'] }}"}))
    names = list(checkpoint_shapes(config).items())
    weight_map, total = {}, 0
    for shard in range(shards):
        file = f"model-{shard + 1:05d}-of-{shards:05d}.safetensors"
        header, offset = {}, 0
        for name, shape in names[shard::shards]:
            size = 2 * _prod(shape)
            header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
            offset += size
            weight_map[name] = file
        encoded = json.dumps(header).encode()
        (directory / file).write_bytes(len(encoded).to_bytes(8, "little") + encoded)
        total += offset
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index))
    return directory


def _prod(shape: list[int]) -> int:
    out = 1
    for n in shape:
        out *= n
    return out


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("header_only")
    return {
        "4b": header_only_checkpoint(root / "4b", QWEN3_4B),
        "30b": header_only_checkpoint(root / "30b", QWEN3_30B_A3B),
    }


@pytest.mark.parametrize("which", ["4b", "30b"])
def test_sizes_from_headers_index_and_config_agree_with_the_published_counts(checkpoints, tmp_path, which):
    directory = checkpoints[which]
    config = json.loads((directory / "config.json").read_text())
    assert parameter_count(directory) == PUBLISHED[which]  # headers: the files hold no tensor data
    with pytest.raises(UserError, match="not a readable safetensors file"):
        tensor_shapes(directory)  # the loader's reader would need the data; the plan reads headers only
    index_only = tmp_path / "index-only"
    index_only.mkdir()
    for name in ("config.json", "model.safetensors.index.json"):
        (index_only / name).write_bytes((directory / name).read_bytes())
    assert parameter_count(index_only) == PUBLISHED[which]  # a hub id before its weights are fetched
    assert config_parameters(config) == PUBLISHED[which]


def test_a_4b_pair_keeps_its_sources_on_an_80gb_gpu(checkpoints):
    plan = placement.plan_pair(checkpoints["4b"], VLLMSettings(), Machine("cuda", 80 * GB))
    assert plan.sources == "device" and plan.model_bytes == 2 * PUBLISHED["4b"]
    assert plan.device_weights == 3 * plan.model_bytes
    assert plan.kv_room == int(plan.share * 80 * GB) - plan.model_bytes
    assert plan.kv_tokens == plan.kv_room // (8 * 2 * 36 * 128 * 2)  # 144 KiB of K and V per token
    assert plan.switch_bytes == 3 * plan.model_bytes and plan.host_sources == 0


def test_a_30b_a3b_pair_goes_to_the_host_and_its_switch_crosses_the_link(checkpoints):
    plan = placement.plan_pair(checkpoints["30b"], VLLMSettings(tensor_parallel_size=2), Machine("cuda", 80 * GB))
    model = 2 * PUBLISHED["30b"]
    assert plan.sources == "host" and plan.share == 0.9
    assert plan.device_weights == model // 2  # each of two devices holds half the working model
    assert plan.host_sources == 2 * 2 * model  # each worker holds both whole sources
    assert plan.switch_bytes == 5 * model
    assert plan.switch_seconds == pytest.approx(2 * model / 25e9 + 3 * model / 2e12)


def test_a_study_that_cannot_fit_is_refused_naming_the_setting_that_makes_it_fit(checkpoints):
    gpu = Machine("cuda", 80 * GB)
    with pytest.raises(UserError, match=r"needs 185\.3 GB .*; set backend.sources: host to make it fit"):
        placement.plan_pair(checkpoints["30b"], VLLMSettings(sources="device"), gpu)
    with pytest.raises(UserError, match="set backend: {kind: vllm, tensor_parallel_size: 2} to make it fit"):
        placement.plan_pair(checkpoints["30b"], HFSettings(), Machine("cuda", 48 * GB))
    with pytest.raises(
        UserError, match="KV cache .* fewer than max_model_len 40960; set backend.tensor_parallel_size: 2"
    ):
        placement.plan_pair(checkpoints["30b"], VLLMSettings(), Machine("cuda", 70 * GB))
    with pytest.raises(
        UserError, match=r"host need 244\.3 GB of host memory \(128\.0 GB here\); set backend.tensor_parallel_size: 1"
    ):
        placement.plan_pair(
            checkpoints["30b"], VLLMSettings(tensor_parallel_size=2), Machine("cuda", 80 * GB, None, 128 * GB)
        )
    plan = placement.plan_pair(checkpoints["30b"], HFSettings(), Machine("cuda", 80 * GB))
    assert plan.sources == "host" and plan.device_weights == 2 * PUBLISHED["30b"]  # HF streams from the host


def test_auto_keeps_sources_on_the_device_only_while_they_fit():
    shape = model_shape(QWEN3_4B)
    assert plan_memory(shape, Request("hf"), Machine("cuda", 80 * GB)).sources == "device"
    assert plan_memory(shape, Request("hf"), Machine("cuda", 24 * GB)).sources == "host"  # 3 × 8 GB + headroom > 24
    assert plan_memory(shape, Request("hf", "device"), Machine("cuda", 40 * GB)).sources == "device"


def test_memory_sizes_read_as_written():
    assert parse_size("80GB") == 80 * GB and parse_size("141 GB") == 141 * GB and parse_size("24GiB") == 24 * 2**30
    for bad in ("lots", "-3GB", "80XB"):
        with pytest.raises(UserError, match="write it like 80GB"):
            parse_size(bad)


@pytest.fixture
def qwen_hub(tmp_path, monkeypatch) -> FakeHub:
    """The shipped studies' hub ids served from header-only checkpoints (this machine cannot reach the Hub)."""
    repos = {}
    for size, config in (("4B", QWEN3_4B), ("30B-A3B", QWEN3_30B_A3B)):
        for kind in ("Instruct", "Thinking"):
            repos[f"Qwen/Qwen3-{size}-{kind}-2507"] = header_only_checkpoint(tmp_path / f"{size}-{kind}", config)
    hub = FakeHub(tmp_path / "cache", repos)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", hub.snapshot_download)
    return hub


@pytest.mark.parametrize("study", sorted(STUDIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_plan_prints_a_plan_for_every_shipped_study(qwen_hub, study):
    result = runner.invoke(app, ["plan", "--study", str(study), "--gpu-memory", "80GB"])
    assert result.exit_code == 0, result.output
    for label in ("model", "working model", "sources", "switch per trial"):
        assert f"  {label} " in result.output
    if "vllm" in result.output:
        assert "vLLM KV cache" in result.output
    assert not qwen_hub.weights_requested()  # configs and index only


def test_plan_refuses_what_cannot_fit_in_one_line(qwen_hub):
    study = STUDIES / "qwen3-30b-a3b-aime25.yaml"
    result = runner.invoke(app, ["plan", "--study", str(study), "--gpu-memory", "80GB", "--sources", "device"])
    assert_user_error(result, "set backend.sources: host to make it fit")


def test_a_study_that_cannot_fit_stops_in_preflight_before_it_is_stored(tmp_path, monkeypatch):
    """Simulates a machine too small for even the toy pair (none exists here) by replacing the probe."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(placement, "probe_machine", lambda device: Machine("cpu", 5 * 10**6))
    result = runner.invoke(app, ["--budget", "4k", "--trials", "1"])
    assert_user_error(result, "needs 2.2 GB on the 5.0 MB cpu device")
    assert optuna.get_all_study_names(open_storage(f"sqlite:///{tmp_path}/mi-search.db")) == []


def test_plan_probes_this_machine_without_gpu_memory():
    result = runner.invoke(app, ["plan", "--study", str(STUDIES / "toy.yaml"), "--sources", "host", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "  machine          cpu " in result.output  # a CPU device is the host memory
    assert "sources          on the device" in result.output  # so host sources live where the model does
