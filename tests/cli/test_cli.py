"""The command line: success paths on the toy pair, and one clean line with exit code 2 for bad input."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM

from tests.conftest import assert_user_error, run


def test_toy_path_prints_two_directories(toy_dirs):
    result = run("toy", "path")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [str(d) for d in toy_dirs]


def test_merge_exports_a_loadable_checkpoint(tmp_path, toy_dirs):
    out = tmp_path / "merged"
    result = run("merge", "--pair", "toy", "--lam", "0.3", "--lam-mlp", "0.8", "--out", out)
    assert result.exit_code == 0, result.output
    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    instruct = AutoModelForCausalLM.from_pretrained(toy_dirs[0], dtype=torch.float32)
    thinking = AutoModelForCausalLM.from_pretrained(toy_dirs[1], dtype=torch.float32)
    name = "model.layers.2.mlp.up_proj.weight"
    expected = torch.lerp(dict(instruct.named_parameters())[name], dict(thinking.named_parameters())[name], 0.8)
    assert torch.equal(dict(merged.named_parameters())[name].detach(), expected.detach().to(torch.bfloat16).float())


def test_merge_reads_a_yaml_spec(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"lam": 0.5, "modules": {"attention": 0.2}, "blocks": [{"mlp": 0.1}, {"mlp": 0.9}]}))
    result = run("merge", "--spec", spec, "--out", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "model.safetensors").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--lam", "1.5"], "--allow-extrapolation"),
        ([], "no λ given"),
        (["--lam", "0.5", "--instruct", "somewhere"], "give both instruct and thinking"),
        (["--lam", "0.5", "--pair", "big"], "--pair: input should be 'toy'"),
        (["--lam", "0.5", "--pair", "toy", "--instruct", "a", "--thinking", "b"], "give either the bundled pair"),
        (["--lam", "0.5", "--instruct", "/no/such/dir", "--thinking", "/no/such/dir"], "is not a model directory"),
    ],
)
def test_merge_bad_input(tmp_path, args, fragment):
    out = tmp_path / "out"
    assert_user_error(run("merge", *args, "--out", out), fragment)
    assert not out.exists()


def test_merge_spec_with_unknown_key(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("lam: 0.5\nmodule: {mlp: 1}\n")
    assert_user_error(run("merge", "--spec", spec, "--out", tmp_path / "o"), "unknown key `module`")
    assert not (tmp_path / "o").exists()


def test_merge_refuses_mismatched_pair(tmp_path, tiny_pair, toy_dirs):
    result = run(
        "merge", "--instruct", toy_dirs[0], "--thinking", tiny_pair[1], "--lam", "0.5", "--out", tmp_path / "o"
    )
    assert_user_error(result, "configs differ in hidden_size")
    assert not (tmp_path / "o").exists()


def test_existing_out_is_refused(tmp_path):
    (tmp_path / "o").mkdir()
    assert_user_error(run("merge", "--lam", "0.5", "--out", tmp_path / "o"), "already exists")


def test_sweep_writes_table_csv_samples_and_plot(tmp_path):
    out = tmp_path / "sweep"
    result = run("sweep", "--pair", "toy", "--lambdas", "0,0.5,1", "--limit", "12", "--out", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [float(r["lambda"]) for r in rows] == [0.0, 0.5, 1.0]
    assert {"lambda", "accuracy", "mean_tokens", "think_ratio", "stage"} <= rows[0].keys()
    assert rows[0]["stage"] == "1" and rows[-1]["stage"] == "3"
    assert float(rows[-1]["think_ratio"]) == 1.0
    assert sum(1 for _ in (out / "samples.jsonl").open()) == 36
    assert (out / "stage_map.png").read_bytes()[:4] == b"\x89PNG"
    assert "Think #R" in result.stdout


def test_sweep_on_a_local_question_file(tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text('{"q": "What is 12+30?", "a": "42"}\n{"q": "What is 100+11?", "a": "111"}\n')
    out = tmp_path / "sweep"
    result = run(
        "sweep",
        "--data",
        data,
        "--question-column",
        "q",
        "--answer-column",
        "a",
        "--lambdas",
        "1",
        "--max-new-tokens",
        "200",
        "--temperature",
        "0",
        "--out",
        out,
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    assert len(list(csv.DictReader((out / "sweep.csv").open()))) == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--lambdas", "0:1"], "cannot read --lambdas"),
        (["--lambdas", "0,2"], "--allow-extrapolation"),
        (["--task", "aime"], "unknown task 'aime'"),
        (["--data", "missing.jsonl"], "does not exist"),
    ],
)
def test_sweep_bad_input(tmp_path, args, fragment):
    out = tmp_path / "out"
    assert_user_error(run("sweep", *args, "--out", out, "--device", "cpu"), fragment)
    assert not out.exists()


def test_label_round_trip(tmp_path):
    source = tmp_path / "s.csv"
    source.write_text("lambda,think_ratio,accuracy,mean_tokens\n0,0,0.3,30\n0.5,0.5,0.7,60\n1,1,0.95,120\n")
    result = run("label", source)
    assert result.exit_code == 0
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert [r["stage"] for r in rows] == ["1", "2", "3"]
    run("label", source, "--out", tmp_path / "labelled.csv")
    assert (tmp_path / "labelled.csv").read_text() == result.stdout


def test_label_bad_input(tmp_path):
    source = tmp_path / "s.csv"
    source.write_text("lambda,accuracy\n0,0.5\n")
    assert_user_error(run("label", source), "think_ratio")
    assert_user_error(run("label", tmp_path / "missing.csv"), "cannot read")
    assert_user_error(run("label", source, "--out", tmp_path / "labelled.csv"), "think_ratio")
    assert_user_error(run("label", source, "--out", tmp_path / "no" / "dir.csv"), "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]


@pytest.mark.slow
def test_console_script_exits_2_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mi_search", "merge", "--lam", "0.5", "--lam-attn", "-1", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "outside [0, 1]" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_reads_well():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("merge", "sweep", "label", "toy"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--trials", "many"], "Invalid value for '--trials'"),
        (["search", "--no-such-flag"], "No such option"),
        (["nosuch"], "No such command"),
        (["label", "a\nb.csv"], "a\\nb.csv"),
    ],
)
def test_usage_errors_and_control_characters_end_as_one_line(argv, fragment):
    assert_user_error(run(*argv), fragment)
