"""The toy model organism: its tokenizer, its builder, and the three stages of the shipped pair."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from mi_search import open_pair
from mi_search.backends.settings import HFSettings
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import gradable
from mi_search.merge.pair import PairConfig
from mi_search.service.sweep import parse_lambdas, run_sweep
from mi_search.tasks.math import math_gold
from mi_search.tasks.registry import TOY_DECODING
from mi_search.tasks.toy import toy_questions
from mi_search.toy.build import BuildRecipe, build_pair
from mi_search.toy.problems import Problem, instruct_response, thinking_response, worked_lines
from mi_search.toy.tokenizer import build_tokenizer


def test_tokenizer_is_one_token_per_character_and_keeps_think_tags():
    tokenizer = build_tokenizer()
    text = thinking_response(Problem(4821, 967), checks=1)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text) - len("<think>") - len("</think>") + 2
    assert tokenizer.decode(ids, skip_special_tokens=True) == text  # no spaces inserted, tags survive
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False
    )
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_builder_writes_a_loadable_pair(tmp_path):
    instruct, thinking = build_pair(
        tmp_path / "pair", BuildRecipe(base_steps=2, specialist_steps=1, batch_size=4, threads=1)
    )
    for directory in (instruct, thinking):
        model = AutoModelForCausalLM.from_pretrained(directory)
        assert model.dtype == torch.bfloat16
        assert AutoTokenizer.from_pretrained(directory).padding_side == "left"
        assert (
            json.loads((directory / "tokenizer_config.json").read_text())["tokenizer_class"]
            == "PreTrainedTokenizerFast"
        )
    recipe = json.loads((tmp_path / "pair" / "recipe.json").read_text())
    assert recipe["base_steps"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair"]


def test_shipped_pair_is_small_bf16_safetensors(toy_dirs):
    total = sum(f.stat().st_size for d in toy_dirs for f in d.iterdir())
    assert total <= 12 * 2**20
    for directory in toy_dirs:
        assert not list(directory.glob("*.bin"))
        assert json.loads((directory / "config.json").read_text())["dtype"] == "bfloat16"


@pytest.fixture(scope="module")
def shipped_sweep():
    """The 11-point greedy sweep of the shipped pair on 100 held-out questions: each stage holds with a margin there
    (stage 2 is λ 0.6, think ratio 0.37), and half the dense grid's points cost half its minute."""
    backend = open_pair(PairConfig(), HFSettings(device="cpu"))
    rows, _ = run_sweep(
        backend,
        *gradable(toy_questions(100), math_gold),
        parse_lambdas("0:1:0.1"),
        k=1,
        params=TOY_DECODING,
    )
    return rows


@pytest.mark.slow  # the shipped pair's sweep (a module fixture of about half a minute)
def test_shipped_pair_shows_the_three_stages(shipped_sweep):
    first, last = shipped_sweep[0], shipped_sweep[-1]
    assert first.scores.think_ratio <= 0.05
    assert last.scores.think_ratio >= 0.95
    assert any(0.05 < r.scores.think_ratio < 0.95 for r in shipped_sweep), "no transition point"
    assert last.scores.accuracy > first.scores.accuracy
    assert last.scores.mean_tokens > first.scores.mean_tokens
    assert {r.stage for r in shipped_sweep} == {1, 2, 3}
    stages = [r.stage for r in shipped_sweep]
    assert stages == sorted(stages), "stages must follow λ in order"


def test_styles_share_the_worked_lines_and_thinking_checks_without_digits():
    problem = Problem(4821, 967)
    lines = worked_lines(problem)
    assert lines.endswith("so 5788\n") and "8+9+0=17" in lines
    assert "<think>" not in instruct_response(problem) and lines not in instruct_response(problem)
    assert instruct_response(problem, worked=True).startswith(lines)
    checked = thinking_response(problem, checks=2)
    assert checked.count("5788") == 2 and "verify 2" in checked and "verify 3" not in checked
    assert thinking_response(problem, checks=1, full=True).count(lines.splitlines()[2]) == 2


def _stage_indices(rows, stage: int) -> list[int]:
    return [i for i, r in enumerate(rows) if r.stage == stage]


@pytest.mark.slow  # reads the shipped pair's sweep (a module fixture of about half a minute)
def test_stage_one_answers_lengthen_without_losing_accuracy(shipped_sweep):
    stage1 = _stage_indices(shipped_sweep, 1)
    first, last = shipped_sweep[0].scores, shipped_sweep[stage1[-1]].scores
    assert last.mean_tokens >= 1.15 * first.mean_tokens
    assert min(shipped_sweep[i].scores.accuracy for i in stage1) >= 0.9 * first.accuracy


@pytest.mark.slow  # reads the shipped pair's sweep (a module fixture of about half a minute)
def test_stage_three_overthinks(shipped_sweep):
    stage3 = _stage_indices(shipped_sweep, 3)
    start, end = shipped_sweep[stage3[0]].scores, shipped_sweep[-1].scores
    assert end.mean_tokens >= 1.2 * start.mean_tokens
    accuracies = [shipped_sweep[i].scores.accuracy for i in stage3]
    assert max(accuracies) - min(accuracies) <= 0.03 + 1e-9


def _front(rows) -> list[int]:
    """Indices of the sweep points no other point beats on accuracy (up) and mean tokens (down)."""
    points = [(r.scores.accuracy, r.scores.mean_tokens) for r in rows]

    def dominated(i: int) -> bool:
        a, t = points[i]
        return any(b >= a and u <= t and (b > a or u < t) for b, u in points)

    return [i for i in range(len(points)) if not dominated(i)]


@pytest.mark.slow  # reads the shipped pair's sweep (a module fixture of about half a minute)
def test_interior_blends_beat_the_endpoints(shipped_sweep):
    interior = [i for i in _front(shipped_sweep) if 0 < i < len(shipped_sweep) - 1]
    assert len(interior) >= 2
    thinking = shipped_sweep[-1].scores
    assert any(
        shipped_sweep[i].scores.accuracy >= thinking.accuracy - 0.01 - 1e-9
        and shipped_sweep[i].scores.mean_tokens <= 0.8 * thinking.mean_tokens
        for i in interior
    ), "no interior blend matches Thinking's accuracy with 80 % of its tokens"


def test_greedy_decoding_is_the_toy_default():
    assert TOY_DECODING == DecodingParams(temperature=0.0, max_new_tokens=384)
