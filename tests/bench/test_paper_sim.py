"""The simulated paper-shaped pair in bench/paper_sim/: calibration, common random numbers, the surface."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mi_search.merge.architectures import Module
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import evaluate, gradable
from mi_search.merge.plan import MergePlan
from mi_search.tasks.math import math_gold
from mi_search.search.statistics.outcomes import outcomes_from_samples
from mi_search.search.settings.space import SearchSpace
from mi_search.merge.spec import BlockLambda, LambdaSpec

from bench import paper_sim as sim

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    return sim.PaperModel()


def blocks(*pairs: tuple[float, float], lam: float = 0.0) -> LambdaSpec:
    return LambdaSpec(lam=lam, blocks=tuple(BlockLambda(attention=a, mlp=m) for a, m in pairs))


# --- the table and the plan ----------------------------------------------------------------------


def test_embedded_table_matches_the_shared_csv() -> None:
    env = Path(os.environ.get("MI_SEARCH_DATA", "/nonexistent"))
    folders = [env, ROOT / "shared" / "data", Path("/work/shared/data")]
    files = [folder / "paper_qwen3-4b_aime25.csv" for folder in folders]
    path = next((file for file in files if file.exists()), None)
    if path is None:
        pytest.skip("paper_qwen3-4b_aime25.csv is not on this machine")
    assert len(sim.read_table(path)) == len(sim.PAPER_TABLE)
    for read, embedded in zip(sim.read_table(path), sim.PAPER_TABLE):
        assert (read.lam, read.mean_tokens) == (embedded.lam, embedded.mean_tokens)
        assert read.accuracy == pytest.approx(embedded.accuracy)
        assert read.think_ratio == pytest.approx(embedded.think_ratio)


def test_the_plan_is_qwen3_4b_shaped() -> None:
    pair = sim.SimulatedPair()
    plan = pair.plan
    assert isinstance(plan, MergePlan) and plan.tied_lm_head and plan.num_layers == 36
    assert 4.0e9 < sum(plan.sizes.values()) < 4.05e9  # Qwen3-4B: 4.02B parameters
    assert plan.roles["model.layers.35.mlp.down_proj.weight"].module is Module.MLP
    assert plan.roles["model.layers.0.self_attn.k_norm.weight"].module is Module.ATTENTION
    assert isinstance(pair.instruct_dir, Path) and isinstance(pair.thinking_dir, Path)


def test_pchip_passes_through_the_table_without_overshoot() -> None:
    curve = sim.Pchip([0, 1, 2, 3], [0.0, 0.0, 1.0, 1.0])
    assert curve(np.array([0, 1, 2, 3])) == pytest.approx([0, 0, 1, 1])
    xs = np.linspace(0, 3, 301)
    assert curve(xs).min() >= -1e-12 and curve(xs).max() <= 1 + 1e-12


# --- calibration ----------------------------------------------------------------------------------


def test_expected_global_curve_is_the_table(model) -> None:
    for row in sim.PAPER_TABLE:
        accuracy, tokens, think = model.expected(model.effective_of(LambdaSpec(lam=row.lam)))
        assert accuracy == pytest.approx(row.accuracy, abs=1e-6)
        assert tokens == pytest.approx(row.mean_tokens, rel=1e-9)
        assert think == pytest.approx(row.think_ratio, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampled_calibration_within_tolerance(model, seed: int) -> None:
    rows = sim.calibrate(model, k=64, seed=seed)
    acc_err = [abs(r.accuracy - r.paper.accuracy) for r in rows]
    tok_err = [abs(r.mean_tokens / r.paper.mean_tokens - 1) for r in rows]
    assert np.mean(acc_err) <= 0.02 and max(acc_err) <= 0.04
    assert np.mean(tok_err) <= 0.05 and max(tok_err) <= 0.08
    assert all(abs(r.think_ratio - r.paper.think_ratio) <= 0.05 for r in rows)
    assert rows[0].pass_at_k == pytest.approx(sim.PAPER_PASS_AT_64[0.0], abs=0.1)
    assert rows[-1].pass_at_k == pytest.approx(sim.PAPER_PASS_AT_64[1.0], abs=0.1)


def test_questions_vary_in_difficulty(model) -> None:
    per_question = [o.accuracy for o in model.outcomes(model.effective_of(LambdaSpec(lam=0.5)), k=64, seed=0)]
    assert len(per_question) == 30
    assert min(per_question) < 0.1 and max(per_question) > 0.9
    assert 0.2 < np.std(per_question) < 0.5


# --- common random numbers ------------------------------------------------------------------------


def test_same_seed_same_outcomes_other_seed_other_outcomes(model) -> None:
    state = model.effective_of(LambdaSpec(lam=0.55))
    assert model.outcomes(state, k=16, seed=3) == model.outcomes(state, k=16, seed=3)
    assert model.outcomes(state, k=16, seed=3) != model.outcomes(state, k=16, seed=4)


def test_every_lambda_shares_the_draws(model) -> None:
    low, high = model.effective_of(LambdaSpec(lam=0.45)), model.effective_of(LambdaSpec(lam=0.8))
    for index in range(len(model.questions)):
        a, b = model.draws(low, index, 64, 7), model.draws(high, index, 64, 7)
        assert np.array_equal(a.wrong_answers, b.wrong_answers)
        assert np.all(b.correct >= a.correct)  # higher P(correct) on every question: a superset of correct samples
        assert np.all(b.thinks >= a.thinks)
        ratio = b.tokens / a.tokens  # the same length noise, rescaled by the curve
        expected = float(model.tokens_curve(high.think) / model.tokens_curve(low.think))
        assert ratio == pytest.approx(np.full(64, expected), rel=1e-3)


def test_a_sample_does_not_depend_on_how_many_are_drawn(model) -> None:
    state = model.effective_of(LambdaSpec(lam=0.5))
    few, many = model.draws(state, 4, 8, 0), model.draws(state, 4, 64, 0)
    assert np.array_equal(few.correct, many.correct[:8]) and np.array_equal(few.tokens, many.tokens[:8])


def test_uniforms_are_uniform() -> None:
    u = np.concatenate([sim.hashed_uniforms(0, q, 500, 0) for q in range(40)])
    assert 0.0 < u.min() and u.max() < 1.0
    assert u.mean() == pytest.approx(0.5, abs=0.01)
    assert np.histogram(u, bins=10, range=(0, 1))[0].min() > 1700


# --- the response surface --------------------------------------------------------------------------


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.5, 0.62, 1.0])
def test_uniform_vector_specs_equal_the_global_curve(model, lam: float) -> None:
    reference = model.effective_of(LambdaSpec(lam=lam))
    assert reference.think == pytest.approx(lam) and reference.quality == pytest.approx(lam)
    specs = [
        LambdaSpec(lam=lam, modules={Module.ATTENTION: lam, Module.MLP: lam}),
        blocks((lam, lam), (lam, lam), (lam, lam), lam=lam),
        blocks(*[(lam, lam)] * 6, lam=0.9),  # embeddings and norms weigh nothing
    ]
    for spec in specs:
        state = model.effective_of(spec)
        assert state.think == pytest.approx(lam) and state.quality == pytest.approx(lam)
        assert model.expected(state) == pytest.approx(model.expected(reference))
        assert model.outcomes(state, k=8, seed=1) == model.outcomes(reference, k=8, seed=1)


def test_late_mlps_drive_thinking(model) -> None:
    late_mlp = model.expected(model.effective_of(blocks((0, 0), (0, 1), (0, 1))))
    early_mlp = model.expected(model.effective_of(blocks((0, 1), (0, 0), (0, 0))))
    attention_only = LambdaSpec(lam=0.0, modules={Module.ATTENTION: 1.0, Module.MLP: 0.0})
    all_attention = model.expected(model.effective_of(attention_only))
    assert late_mlp[2] > 0.95  # Think #R
    assert early_mlp[2] < 0.01 and all_attention[2] < 0.01
    assert late_mlp[1] > early_mlp[1] - 5000  # its tokens follow the thinking λ


def test_attention_drives_quality_given_thinking(model) -> None:
    """Same thinking λ (so the same Think #R and tokens), attention nearer Thinking: more accurate."""
    attention = 0.9
    mlp = (0.6 - 0.15 * attention) / 0.85  # keeps λ_T = 0.6 with the default surface's 0.85/0.15 split
    state = model.effective_of(LambdaSpec(lam=0.6, modules={Module.ATTENTION: attention, Module.MLP: mlp}))
    assert state.think == pytest.approx(0.6) and state.quality > 0.6
    plain = model.expected(model.effective_of(LambdaSpec(lam=0.6)))
    sharper = model.expected(state)
    assert sharper[0] > plain[0] + 0.02
    assert sharper[1:] == pytest.approx(plain[1:])
    worse = model.expected(model.effective_of(LambdaSpec(lam=0.6, modules={Module.ATTENTION: 0.1, Module.MLP: 0.69})))
    assert worse[0] < plain[0] - 0.05  # Instruct attention under Thinking MLPs hurts


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_vector_fronts_beat_the_global_front_somewhat(model) -> None:
    glob = sim.true_front(model)
    modules = sim.true_front(model, SearchSpace(kind="modules"))
    best = sim.true_front(model, any_vector=True)
    for budget in (16000, 24000):
        g, m, b = (sim.front_hypervolume(f, budget) for f in (glob, modules, best))
        assert g < m <= b + 1e-9
        assert 0.85 < g / b < 0.99
    assert max(p.accuracy for p in best) == pytest.approx(max(p.accuracy for p in glob), abs=0.01)


def test_random_vectors_never_beat_the_true_front(model) -> None:
    space = SearchSpace(kind="blocks", blocks=3)
    front = sim.true_front(model, space)
    rng = np.random.default_rng(0)
    for _ in range(150):
        values = {name: float(rng.uniform()) for name in space.lambda_names()}
        accuracy, tokens, _ = model.expected(model.effective_of(space.spec_for(values)))
        reachable = [p.accuracy for p in front if p.mean_tokens <= tokens * 1.01]
        assert reachable and max(reachable) >= accuracy - 0.005


# --- through mi-search's real machinery ----------------------------------------------------------


def test_backend_output_grades_like_the_fast_path_truncation_included() -> None:
    pair, backend, questions = sim.simulated_pair()
    questions, golds = gradable(questions, math_gold)
    assert len(questions) == 30  # every answer is an integer the math grader reads
    pair.merge(LambdaSpec(lam=0.55))
    params = DecodingParams(temperature=0.6, max_new_tokens=14000, seed=5)
    evaluation = evaluate(backend, questions[:10], k=8, params=params, golds=golds[:10])
    fast = pair.model.outcomes(pair.state, k=8, seed=5, max_new_tokens=14000)[:10]
    assert outcomes_from_samples(evaluation.samples) == fast
    truncated = [s for row in evaluation.samples for s in row if s.finish_reason == "length"]
    assert truncated and all(not s.correct and s.num_tokens == 14000 for s in truncated)
    assert pair.merges == 1


def test_unknown_prompts_are_refused() -> None:
    _, backend, _ = sim.simulated_pair()
    with pytest.raises(ValueError, match="own questions"):
        backend.generate(["What is 1+1?"], 1, DecodingParams())


def test_pchip_matches_scipy_when_present() -> None:
    interpolate = pytest.importorskip("scipy.interpolate")
    xs = np.linspace(0, 1, 501)
    lams = [row.lam for row in sim.PAPER_TABLE]
    for column in ("accuracy", "mean_tokens", "think_ratio"):
        values = [getattr(row, column) for row in sim.PAPER_TABLE]
        ours, theirs = sim.Pchip(lams, values)(xs), interpolate.PchipInterpolator(lams, values)(xs)
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)


def test_a_real_study_runs_on_the_simulated_pair(tmp_path: Path) -> None:
    from mi_search.search.running.inputs import QuestionSet
    from mi_search.search.store.study import make_sampler, open_study, resolve_config
    from mi_search.search.running.objective import TrialRunner
    from mi_search.search.report.results import read_result
    from mi_search.search.store.storage import open_storage
    from mi_search.service.runtime import Quiet

    pair, backend, questions = sim.simulated_pair(40)
    questions, golds = gradable(questions, math_gold)
    storage = open_storage(f"sqlite:///{tmp_path}/sim.db")
    settings = {"budget": 16000, "trials": 4, "k": 4, "space": {"kind": "modules"}}
    config, existing = resolve_config(storage, settings, source="test")
    study = open_study(storage, config, existing)
    decoding = DecodingParams(temperature=0.6, max_new_tokens=32768, seed=0)
    with Quiet().trials(4, 30) as observer:
        runner = TrialRunner(backend, QuestionSet(questions[:30], golds[:30]), config, decoding, observer)
        study.sampler = make_sampler(config)
        study.optimize(runner, n_trials=config.trials)
    records = read_result(study, config.budget).records
    assert len(records) == 4 and pair.merges == 4
    assert all(0.0 <= r.accuracy <= 1.0 and 5000 < r.mean_tokens < 40000 for r in records)


def test_budget_forcing_grades_like_the_fast_path_and_trades_accuracy_for_tokens() -> None:
    """The thinking-budget assumption (`bench/paper_sim/budget.py`): same draws through the backend and the
    fast path; a larger budget keeps more thought, so more accuracy and more tokens, paired sample by sample."""
    pair, backend, questions = sim.simulated_pair()
    questions, golds = gradable(questions, math_gold)
    backend.merge(LambdaSpec(lam=1.0))
    params = DecodingParams(temperature=0.6, max_new_tokens=40000, seed=5, thinking_budget=4000)
    evaluation = evaluate(backend, questions[:10], k=8, params=params, golds=golds[:10])
    fast = pair.model.outcomes(pair.state, k=8, seed=5, max_new_tokens=40000, thinking_budget=4000)[:10]
    assert outcomes_from_samples(evaluation.samples) == fast
    assert evaluation.scores.forced_close_rate > 0.9 and evaluation.scores.think_ratio < 0.1
    forced = [s for row in evaluation.samples for s in row if s.forced_close]
    assert all(s.num_tokens == 4000 + sim.budget.CLOSE_TOKENS + sim.budget.ANSWER_TOKENS for s in forced)
    scores = []
    for budget in (1000, 4000, 16000, None):
        outcomes = pair.model.outcomes(pair.state, k=16, seed=5, thinking_budget=budget)
        scores.append((sum(o.correct for o in outcomes), sum(o.mean_tokens for o in outcomes)))
    assert scores == sorted(scores)  # accuracy and tokens both rise with the budget
    wide = pair.model.outcomes(pair.state, k=16, seed=5, thinking_budget=16000)
    free = pair.model.outcomes(pair.state, k=16, seed=5)
    assert all(w.correct <= f.correct for w, f in zip(wide, free))  # the same uniforms: a cut only loses answers
