"""Bad model pairs: weights, configs, tokenizers and spaces the pair cannot express, refused in one line
before a study is stored or a merge is written."""

from __future__ import annotations

import os

import optuna
import pytest
import torch
from safetensors.torch import load_file, save_file

from mi_search.cli import app
from mi_search.search.store.storage import open_storage

from tests.conftest import assert_user_error, copy_pair, runner, stored_studies, study_file

# --- Weights ------------------------------------------------------------------------------------------


def corrupt(path, how) -> str | None:
    """Spoil a safetensors file: cut, garbage, one NaN, or one weight stored as int32; returns the tensor changed."""
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
        return None
    if how == "garbage":
        path.write_bytes(os.urandom(4096))
        return None
    tensors = load_file(path)  # the file itself stays well formed
    name = next(n for n, t in tensors.items() if t.is_floating_point())
    if how == "nan":
        tensors[name].view(-1)[0] = float("nan")
    else:
        tensors[name] = tensors[name].to(torch.int32)
    save_file(tensors, path, metadata={"format": "pt"})
    return name


@pytest.mark.parametrize(
    ("how", "fragment"),
    [("truncated", "is not a readable safetensors file"), ("garbage", "is not a readable safetensors file"), ("nan", "holds NaN or infinite values")],
)
def test_bad_weights_are_refused_before_the_study_is_stored(inside, how, fragment):
    instruct, thinking = copy_pair(inside)
    corrupt(thinking / "model.safetensors", how)
    args = ["--budget", "4k", "--instruct", instruct, "--thinking", thinking, "--trials", "1", "--study", "w"]
    assert_user_error(runner.invoke(app, list(map(str, args))), fragment)
    assert stored_studies("sqlite:///mi-search.db") == []


def test_a_pair_storing_a_weight_as_integers_is_refused_before_storing(inside):
    instruct, thinking = copy_pair(inside)
    name = corrupt(thinking / "model.safetensors", "integers")
    done = runner.invoke(app, ["--budget", "4k", "--study", str(study_file(inside)), "--instruct", str(instruct), "--thinking", str(thinking)])
    assert_user_error(done, f"tensor {name} is BF16 in instruct but I32 in thinking")
    assert stored_studies("sqlite:///mi-search.db") == []


def test_merge_refuses_a_checkpoint_with_nan_and_writes_nothing(inside):
    instruct, thinking = copy_pair(inside)
    name = corrupt(thinking / "model.safetensors", "nan")
    done = runner.invoke(app, ["merge", "--lam", "0.5", "--instruct", str(instruct), "--thinking", str(thinking), "--out", "m"])
    assert_user_error(done, f"tensor {name} of the thinking checkpoint holds NaN")
    assert not (inside / "m").exists()
    assert not [p for p in inside.iterdir() if p.name.startswith(".m.")]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (bytes(range(256)) * 16, "promise"),  # garbage: its first 8 bytes promise an enormous header
        (b"\x10\x00\x00\x00\x00\x00\x00\x00[1, 2, 3]       ", "the header is not a table of tensors"),
    ],
)
def test_plan_on_weights_with_a_garbage_header_is_one_line(inside, content, fragment):
    instruct, thinking = copy_pair(inside)
    (instruct / "model.safetensors").write_bytes(content)
    fragment = "has no readable safetensors header" if fragment == "promise" else fragment
    assert_user_error(runner.invoke(app, ["plan", "--instruct", str(instruct), "--thinking", str(thinking)]), fragment)


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_a_study_with_no_completed_trial_takes_a_corrected_pair(inside):
    first, _ = copy_pair(inside, "first")
    fixed_instruct, fixed_thinking = copy_pair(inside, "fixed")
    # A study stored with a pair, no trial run yet; then the same name with another pair: taken.
    base = ["--budget", "4k", "--study", str(study_file(inside, "w")), "--trials", "0"]
    assert runner.invoke(app, [*base, "--instruct", str(first), "--thinking", str(first.parent / "thinking")]).exit_code == 0
    done = runner.invoke(app, [*base, "--instruct", str(fixed_instruct), "--thinking", str(fixed_thinking)])
    assert done.exit_code == 0, done.output
    stored = optuna.load_study(study_name="w", storage=open_storage("sqlite:///mi-search.db")).user_attrs["mi_search_config"]
    assert stored["pair"]["instruct"] == str(fixed_instruct)
    # Once a trial completed, the pair is what the study is: another one is refused.
    assert runner.invoke(app, [*base[:-2], "--trials", "1"]).exit_code == 0
    assert_user_error(
        runner.invoke(app, [*base, "--instruct", str(first), "--thinking", str(first.parent / "thinking")]), "was created with pair"
    )


# --- Configs and tokenizers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("config.json", '{"model_type": "qwen3"}'.encode("utf-16"), "config.json is UTF-16 or UTF-32 text"),
        ("config.json", b"[1, 2]", "config.json holds a list, not a model config"),
        ("config.json", b"{nope", "config.json is not JSON"),
        ("tokenizer.json", b"\x00\x01garbage", "tokenizer.json is a binary file, not JSON text"),
        ("tokenizer.json", None, "has no tokenizer (tokenizer.json, tokenizer.model, vocab.json)"),
    ],
)
def test_a_model_folder_with_an_unreadable_config_or_tokenizer_is_one_line(inside, name, content, fragment):
    instruct, thinking = copy_pair(inside)
    if content is None:
        (instruct / name).unlink()
    else:
        (instruct / name).write_bytes(content)
    done = runner.invoke(app, ["--budget", "4k", "--study", str(study_file(inside)), "--instruct", str(instruct), "--thinking", str(thinking)])
    assert_user_error(done, fragment)
    assert stored_studies("sqlite:///mi-search.db") == []


# --- Spaces and engines the pair cannot take ----------------------------------------------------------


def test_a_space_for_another_depth_is_refused_before_the_study_is_stored(inside):
    (inside / "s.yaml").write_text("name: s\nbudget: 4k\nspace: {kind: layers, layers: 5}\n")
    done = runner.invoke(app, ["--study", "s.yaml"])
    assert_user_error(done, "space layers=5, but the pair has 6 decoder layers")
    assert done.stdout.strip() == ""  # no progress bar before the refusal
    assert stored_studies("sqlite:///mi-search.db") == []


@pytest.mark.parametrize(
    ("space", "fragment"),
    [
        ("{kind: blocks, blocks: 1000}", "1000 layer blocks for a model of 6 layers"),
        ("{kind: modules, modules: [experts]}", "has no experts weights"),
    ],
)
def test_a_space_the_pair_cannot_express_is_refused_before_the_study_is_stored(inside, space, fragment):
    (inside / "s.yaml").write_text(f"name: s\nbudget: 4k\nspace: {space}\n")
    done = runner.invoke(app, ["--study", "s.yaml"])
    assert_user_error(done, fragment)
    assert stored_studies("sqlite:///mi-search.db") == []


def test_plan_refuses_a_tensor_parallel_size_that_does_not_divide_the_heads(inside):
    done = runner.invoke(app, ["plan", "--backend", "vllm", "--tensor-parallel-size", "3"])
    assert_user_error(done, "tensor_parallel_size 3 does not divide the model's 4 attention heads; use one of 1, 2, 4")
    (inside / "s.yaml").write_text("name: s\nbudget: 4k\nbackend: {kind: vllm, tensor_parallel_size: 3}\n")
    assert_user_error(runner.invoke(app, ["--study", "s.yaml"]), "does not divide")
    assert stored_studies("sqlite:///mi-search.db") == []
