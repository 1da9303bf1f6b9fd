"""The coarse-to-fine sampler of the vector spaces, in real Optuna studies."""

from __future__ import annotations

import optuna
import pytest

from mi_search.search.sampling.module_plane import ModulePlaneSampler
from mi_search.search.sampling.trust_region import COARSE_ORDER, TrustRegionSampler
from mi_search.search.settings.config import build_config
from mi_search.search.store.study import make_sampler

D = 24
NAMES = [f"lam_layer{i:02d}_{part}" for i in range(D // 2) for part in ("attention", "mlp")]


def pareto(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.best_trials


def objective(trial: optuna.Trial) -> tuple[float, float]:
    x = [trial.suggest_float(name, 0.0, 1.0) for name in NAMES]
    return sum(x[::2]) / len(x[::2]), sum(x[1::2]) / len(x[1::2])  # attention buys accuracy, MLPs cost tokens


def run(trials: int, **options) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=TrustRegionSampler(NAMES, pareto, seed=0, **options))
    study.optimize(objective, n_trials=trials)
    return study


def test_it_starts_from_global_lambda_in_bisection_order_skipping_those_held():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=TrustRegionSampler(NAMES, pareto, seed=0))
    study.enqueue_trial({name: 0.25 for name in NAMES})  # already held: a seed λ, or one the store scored
    study.optimize(objective, n_trials=6)
    lams = [set(t.params.values()) for t in study.trials]
    assert all(len(values) == 1 for values in lams[:5])
    assert [values.pop() for values in lams[:5]] == [0.25, 0.5, 0.75, 0.625, 0.375]
    assert len(set(study.trials[5].params.values())) > 1  # five held: it refines


def test_it_refines_around_front_points_moving_a_few_lambda_at_a_time():
    study = run(30)

    def a_step(trial, earlier) -> bool:
        """A few λ moved, or whole groups each by one step (a module, a third of the depth), clipping aside."""
        moved = {n: round(trial.params[n] - earlier.params[n], 9) for n in NAMES if trial.params[n] != earlier.params[n]}
        inside = [d for n, d in moved.items() if 0.0 < trial.params[n] < 1.0]
        return len(moved) <= D // 2 or len(set(inside)) <= 2

    for trial in study.trials[5:]:
        assert any(a_step(trial, e) for e in study.trials[: trial.number]), trial.number  # not a fresh draw
    assert any(len(set(t.params.values())) > 1 for t in study.best_trials)  # the front left the global line


def test_the_radius_halves_after_misses_and_recovers_on_a_front_point():
    sampler = TrustRegionSampler(NAMES, pareto, seed=0, patience=2)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    point = {name: 0.5 for name in NAMES}
    dists = {name: optuna.distributions.FloatDistribution(0.0, 1.0) for name in NAMES}
    good = optuna.trial.create_trial(params=point, distributions=dists, values=[0.9, 1.0])
    bad = [optuna.trial.create_trial(params=point, distributions=dists, values=[0.1, 5.0]) for _ in range(5)]
    study.add_trials([good, *bad])
    front = {t.number for t in study.best_trials}
    assert sampler.current_radius(study, front) == pytest.approx(0.2 * 0.5**2)
    study.add_trial(optuna.trial.create_trial(params=point, distributions=dists, values=[0.95, 1.0]))
    assert sampler.current_radius(study, {t.number for t in study.best_trials}) == 0.2


def test_the_study_builds_it_by_name_for_its_space_after_the_modules_plane():
    config = build_config({"budget": 100, "sampler": "trust", "space": {"kind": "layers", "layers": 6}}, source="test")
    sampler = make_sampler(config)
    assert isinstance(sampler, ModulePlaneSampler) and sampler.plane_trials == config.min_trials
    trust = sampler.fine
    assert isinstance(trust, TrustRegionSampler) and len(trust.names) == 12
    assert trust.coarse_points == 0  # the plane's trials hold the seeded uniform λ
    alone = make_sampler(config.model_copy(update={"min_trials": 3}))
    assert isinstance(alone, TrustRegionSampler) and alone.coarse_points > 0 and COARSE_ORDER[0] == 0.5


def test_spaces_past_sixteen_numbers_default_to_it():
    layers = build_config({"budget": 100, "space": {"kind": "layers", "layers": 36}}, source="test")
    profile = build_config({"budget": 100, "space": {"kind": "profile", "layers": 36}}, source="test")
    assert layers.sampler.value == "trust" and profile.sampler.value == "gp"
