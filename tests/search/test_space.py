"""Search spaces turn Optuna trials into λ specifications the engine applies."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import FixedTrial

from mi_search.merge.architectures import Module
from mi_search.evaluation.decoding import DecodingParams
from mi_search.errors import UserError
from mi_search import open_pair
from mi_search.backends.settings import HFSettings
from mi_search.search.settings.space import DecodingSpace, SearchSpace, SpaceKind
from mi_search.merge.spec import BlockLambda
from tests.conftest import pair_of

BASE = DecodingParams(temperature=0.6, top_p=0.95, max_new_tokens=1024)


def test_global_space_is_one_lambda():
    spec, decoding = SearchSpace().suggest(FixedTrial({"lam": 0.3}), BASE)
    assert spec.lam == 0.3 and not spec.modules and not spec.blocks
    assert decoding == BASE


def test_modules_space_names_attention_and_mlp():
    space = SearchSpace(kind=SpaceKind.MODULES)
    spec, _ = space.suggest(FixedTrial({"lam": 0.5, "lam_attention": 0.1, "lam_mlp": 0.9}), BASE)
    assert spec.lam == 0.5
    assert spec.modules == {Module.ATTENTION: 0.1, Module.MLP: 0.9}


def test_blocks_space_gives_each_block_attention_and_mlp():
    space = SearchSpace(kind=SpaceKind.BLOCKS, blocks=3)
    params = {name: i / 10 for i, name in enumerate(space.lambda_names())}
    spec, _ = space.suggest(FixedTrial(params), BASE)
    assert spec.lam == 0.0
    assert spec.blocks == (
        BlockLambda(attention=0.1, mlp=0.2),
        BlockLambda(attention=0.3, mlp=0.4),
        BlockLambda(attention=0.5, mlp=0.6),
    )


def test_decoding_parameters_join_the_space():
    space = SearchSpace(decoding=DecodingSpace(temperature=(0.2, 1.0), max_new_tokens=(256, 512)))
    _, decoding = space.suggest(FixedTrial({"lam": 1.0, "temperature": 0.7, "max_new_tokens": 512}), BASE)
    assert decoding == DecodingParams(temperature=0.7, top_p=0.95, max_new_tokens=512)


def test_uniform_seeds_cover_every_lambda():
    space = SearchSpace(kind=SpaceKind.BLOCKS, blocks=2)
    assert space.uniform(0.5) == dict.fromkeys(space.lambda_names(), 0.5)
    spec, _ = space.suggest(FixedTrial(space.uniform(1.0)), BASE)
    assert spec.values() == [1.0] * 5


@pytest.fixture(scope="module")
def plan(tiny_pair):
    return open_pair(pair_of(*tiny_pair), HFSettings(device="cpu")).plan  # 4 layers, no experts


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (SearchSpace(kind=SpaceKind.BLOCKS, blocks=5), "at most 4"),
        (SearchSpace(kind=SpaceKind.MODULES, modules=(Module.EXPERTS,)), "no experts weights"),
    ],
)
def test_plan_refuses_a_space_the_model_cannot_express(plan, space, message):
    with pytest.raises(UserError, match=message):
        plan.lambdas(space.spec_for(space.uniform(0.5)))


def test_blocks_space_reaches_the_right_layers(plan):
    space = SearchSpace(kind=SpaceKind.BLOCKS, blocks=2)
    values = {**space.uniform(0.0), "lam_block1_mlp": 1.0}
    lambdas = plan.lambdas(space.spec_for(values))
    assert lambdas["model.layers.3.mlp.up_proj.weight"] == 1.0
    assert lambdas["model.layers.1.mlp.up_proj.weight"] == 0.0
    assert lambdas["model.layers.3.self_attn.q_proj.weight"] == 0.0


def test_a_sampler_explores_within_the_unit_interval():
    space = SearchSpace(kind=SpaceKind.MODULES)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        spec, _ = space.suggest(trial, BASE)
        assert all(0.0 <= v <= 1.0 for v in spec.values())
        study.tell(trial, 0.0)
    assert set(study.best_trial.params) == {"lam", "lam_attention", "lam_mlp"}


def test_the_thinking_budget_is_searched_on_a_log_scale_beside_lambda():
    space = SearchSpace(decoding=DecodingSpace(thinking_budget=(4, 256)))
    assert space.dimension == 2
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    budgets = []
    for _ in range(60):
        trial = study.ask()
        spec, params = space.suggest(trial, DecodingParams(max_new_tokens=256))
        assert 4 <= params.thinking_budget <= 256 and isinstance(params.thinking_budget, int)
        assert space.setting(trial.params, DecodingParams(max_new_tokens=256)) == (spec, params)
        budgets.append(params.thinking_budget)
        study.tell(trial, 0.0)
    assert study.trials[0].distributions["thinking_budget"] == optuna.distributions.IntDistribution(4, 256, log=True)
    from mi_search.search.running.reuse import space_distributions

    assert space_distributions(space) == study.trials[0].distributions  # a stored evaluation is re-added as sampled
    assert sum(b < 32 for b in budgets) > sum(b >= 128 for b in budgets)  # log scale: small budgets as often as large ratios


@pytest.mark.parametrize("span", [(64, 8), (0, 8), (-4, 8)])
def test_a_budget_range_must_be_positive_and_ordered(span):
    with pytest.raises(ValueError, match="1 <= low <= high"):
        DecodingSpace(thinking_budget=span)


def test_a_modules_point_maps_onto_the_modules_plane_of_the_depth_resolved_spaces():
    point = {"lam": 0.4, "lam_attention": 0.9, "lam_mlp": 0.2}
    blocks = SearchSpace(kind="blocks").from_modules(point)
    assert blocks["lam"] == 0.4
    assert all(v == (0.9 if name.endswith("attention") else 0.2) for name, v in blocks.items() if name != "lam")
    profile = SearchSpace(kind="profile", knots=3, layers=6)
    assert set(profile.from_modules(point)) == set(profile.lambda_names())  # the rest of the weights: the caller's check
    only_attention = SearchSpace(kind="layers", layers=2).from_modules({"lam": 0.4, "lam_attention": 0.9})
    assert only_attention == {"lam_layer0_attention": 0.9, "lam_layer0_mlp": 0.4, "lam_layer1_attention": 0.9, "lam_layer1_mlp": 0.4}
    assert SearchSpace(kind="blocks").from_modules({"lam_attention_knot0": 0.1, "lam": 0.2}) is None  # not a modules point
    assert SearchSpace(kind="blocks").from_modules({"lam_attention": 0.1}) is None  # no global λ
