"""The shipped study files, the checks that run before any model is loaded, a study on a benchmark file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import huggingface_hub
import optuna
import pytest
import yaml
from typer.testing import CliRunner

from mi_search.merge.checkpoints import check_metadata, preflight_metadata
from mi_search.cli import app
from mi_search.errors import UserError
from mi_search.search.settings.config import build_config, read_study_file
from mi_search.search.store.storage import open_storage
from mi_search.tasks.toy import toy_questions

from tests.conftest import FakeHub, assert_user_error, in_process, pair_of

STUDIES = Path(__file__).parents[2] / "studies"
PAPER_GRID = (0.0, 0.2, 0.4, 0.45, 0.5, 0.55, 0.6, 0.8, 1.0)


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_study_validates(path):
    config = build_config(read_study_file(path), source=str(path))
    if config.pair.instruct is None:
        return  # the toy studies
    assert config.backend.kind == "vllm" and config.pair.thinking.startswith("Qwen/Qwen3-")
    decoding = config.decoding
    assert (decoding.temperature, decoding.top_p) == (0.6, 0.95) and decoding.max_new_tokens >= 32768
    assert config.backend.max_model_len >= 32768
    if path.stem.endswith("-grid"):
        assert config.seed_lambdas == PAPER_GRID and config.trials == len(PAPER_GRID)
        assert config.halving.rungs == (1.0,)


def test_the_paper_studies_cover_three_benchmarks_as_grid_and_search():
    names = {p.stem for p in STUDIES.glob("qwen3-4b-*.yaml")}
    for task in ("aime25", "ifeval", "gpqa-diamond"):
        assert {f"qwen3-4b-{task}", f"qwen3-4b-{task}-grid"} <= names


def _metadata_only(directory: Path, *, template: bool = True, **config) -> Path:
    """A model directory with configs and tokenizer files but no weights, as before a download."""
    directory.mkdir(parents=True)
    settings = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "num_hidden_layers": 36}
    (directory / "config.json").write_text(json.dumps({**settings, "vocab_size": 151936, **config}))
    tokenizer = {"chat_template": "{{ messages[0]['content'] }}"} if template else {}
    (directory / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    (directory / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {"type": "BPE"}}))
    return directory


def preflight_pair(instruct, thinking) -> None:
    """The metadata half of the pair's preflight: what runs before any weight is fetched."""
    preflight_metadata(*check_metadata(instruct, thinking)[:2])


def test_a_pair_is_checked_from_its_configs_before_any_weight(tmp_path):
    instruct = _metadata_only(tmp_path / "instruct")
    preflight_pair(instruct, _metadata_only(tmp_path / "thinking"))  # no .safetensors needed
    with pytest.raises(UserError, match="configs differ in vocab_size: instruct 151936, thinking 152064"):
        preflight_pair(instruct, _metadata_only(tmp_path / "other-vocab", vocab_size=152064))
    with pytest.raises(UserError, match="the thinking model .* has no chat template"):
        preflight_pair(instruct, _metadata_only(tmp_path / "base", template=False))
    with pytest.raises(UserError, match="GPT2LMHeadModel"):
        gpt2 = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}
        preflight_pair(_metadata_only(tmp_path / "g1", **gpt2), _metadata_only(tmp_path / "g2", **gpt2))


@pytest.fixture
def fake_hub(tmp_path, monkeypatch, toy_dirs):
    instruct, thinking = toy_dirs
    other_vocab = shutil.copytree(thinking, tmp_path / "other-vocab")
    config = json.loads((other_vocab / "config.json").read_text())
    (other_vocab / "config.json").write_text(json.dumps({**config, "vocab_size": config["vocab_size"] + 8}))
    no_template = shutil.copytree(thinking, tmp_path / "no-template")
    (no_template / "chat_template.jinja").unlink()
    tokenizer_config = json.loads((no_template / "tokenizer_config.json").read_text())
    (no_template / "tokenizer_config.json").write_text(json.dumps({**tokenizer_config, "chat_template": None}))
    hub = FakeHub(
        tmp_path / "cache",
        {"org/instruct": instruct, "org/thinking": thinking, "org/other-vocab": other_vocab, "org/no-template": no_template},
    )
    monkeypatch.setattr(huggingface_hub, "snapshot_download", hub.snapshot_download)
    return hub


def test_a_hub_pair_whose_configs_disagree_is_refused_before_its_weights_are_fetched(fake_hub):
    from mi_search import open_pair
    from mi_search.backends.settings import HFSettings

    with pytest.raises(UserError, match="configs differ in vocab_size"):
        open_pair(pair_of("org/instruct", "org/other-vocab"), HFSettings(device="cpu"))
    assert fake_hub.requests and not fake_hub.weights_requested()
    # the same path fetches weights once checked
    pair = open_pair(pair_of("org/instruct", "org/thinking"), HFSettings(device="cpu"))
    assert fake_hub.weights_requested() and pair.instruct_dir.parent == fake_hub.cache


def test_a_sweep_refuses_a_model_without_a_chat_template_before_its_weights(fake_hub, tmp_path):
    arguments = ["sweep", "--out", str(tmp_path / "out"), "--lambdas", "0,1", "--limit", "2", "--device", "cpu"]
    result = CliRunner().invoke(app, [*arguments, "--instruct", "org/instruct", "--thinking", "org/no-template"])
    assert_user_error(result, "has no chat template")
    assert not fake_hub.weights_requested() and not (tmp_path / "out").exists()


def test_a_bad_task_file_is_refused_before_the_study_is_stored(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "aime.jsonl"
    data.write_text(json.dumps({"question": "1+1?", "answer": "2"}) + "\n")
    result = CliRunner().invoke(app, ["--budget", "4k", "--task", "aime25", "--data-file", str(data)])
    assert_user_error(result, "has no column 'problem'")
    assert optuna.get_all_study_names(open_storage(f"sqlite:///{tmp_path}/mi-search.db")) == []


@pytest.mark.slow  # a whole study: tens of seconds
def test_a_study_runs_on_a_benchmark_loaded_from_a_local_file(tmp_path):
    """The toy pair through the gsm8k task, its questions written in GSM8K's published schema."""
    rows = [{"question": q.prompt, "answer": f"{q.prompt} ... #### {q.answer}"} for q in toy_questions(64)]
    (tmp_path / "gsm8k.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    study = {
        "name": "toy-gsm8k",
        "task": {
            "name": "gsm8k",
            "data_files": "gsm8k.jsonl",
            "prompt_suffix": "",
            "pool": None,
            "search_size": 16,
            "holdout_size": 16,
        },
        "decoding": {"temperature": 0.0, "max_new_tokens": 384},
        "trials": 3,
        "budget": "4000tokens",
    }
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    in_process("--study", "study.yaml", cwd=tmp_path)
    document = json.loads((tmp_path / "runs" / "toy-gsm8k" / "pareto.json").read_text())
    points = {point["params"]["lam"]: point for point in document["points"]}
    assert points, "the front is empty"
    assert max(p["accuracy"] for p in points.values()) > 0.5  # the gold after #### was read and matched
    assert {p["stage"] for p in points.values()} <= {1, 2, 3}


def test_the_thinking_models_template_can_format_every_prompt(tmp_path, toy_dirs):
    """A Thinking-2507-style template opens <think> in the prompt; `chat_template: thinking` uses it."""
    from mi_search.backends.base import chat_prompt_ids
    from mi_search import open_pair
    from mi_search.backends.settings import HFSettings

    instruct, thinking = (shutil.copytree(d, tmp_path / d.name) for d in toy_dirs)
    template = (thinking / "chat_template.jinja").read_text()
    opened = template.replace("'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think>\\n'")
    assert opened != template
    (thinking / "chat_template.jinja").write_text(opened)
    tokenizer_config = json.loads((thinking / "tokenizer_config.json").read_text())
    tokenizer_config.pop("chat_template", None)
    (thinking / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))

    def prompt_text(chat_template: str) -> str:
        pair = pair_of(instruct, thinking, chat_template=chat_template)
        backend = open_pair(pair, HFSettings(device="cpu"))
        return backend.tokenizer.decode(chat_prompt_ids(backend.tokenizer, "What is 1+2?"))

    assert prompt_text("thinking").endswith("assistant\n<think>\n")
    assert prompt_text("instruct").endswith("assistant\n")
