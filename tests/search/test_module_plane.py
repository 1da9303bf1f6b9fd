"""The modules plane first, then every λ: what it proposes, in real Optuna studies, and when the study uses it."""

from __future__ import annotations

import optuna
import pytest

from mi_search.search.sampling.module_plane import ModulePlaneSampler
from mi_search.search.settings.config import build_config
from mi_search.search.settings.space import SearchSpace, plane_groups
from mi_search.search.store.study import make_sampler

NAMES = SearchSpace(kind="profile", knots=3, layers=6).lambda_names()  # 3 attention knots, 3 MLP knots


def objective(trial: optuna.Trial) -> tuple[float, float]:
    values = {name: trial.suggest_float(name, 0.0, 1.0) for name in NAMES}
    attention = [v for n, v in values.items() if "attention" in n]
    mlp = [v for n, v in values.items() if "mlp" in n]
    accuracy = sum(attention) / len(attention) - (sum(mlp) / len(mlp) - 0.6) ** 2  # attention buys quality
    return accuracy, sum(mlp) / len(mlp)  # MLP λ cost tokens


def on_plane(params: dict[str, float]) -> bool:
    return all(
        max(v for n, v in params.items() if part in n) - min(v for n, v in params.items() if part in n) < 1e-9
        for part in ("attention", "mlp")
    )


def plane_study(plane_trials: int, storage: optuna.storages.BaseStorage | None = None) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fine = optuna.samplers.GPSampler(seed=0, n_startup_trials=4)
    sampler = ModulePlaneSampler(NAMES, fine, plane_trials=plane_trials, seed=0)
    return optuna.create_study(
        study_name="plane", storage=storage, directions=["maximize", "minimize"], sampler=sampler, load_if_exists=True
    )


def test_the_first_trials_lie_on_the_plane_then_every_lambda_moves() -> None:
    study = plane_study(8)
    for lam in (0.5, 0.0, 1.0):  # the seeded uniform λ, as a study queues them
        study.enqueue_trial({name: lam for name in NAMES})
    study.optimize(objective, n_trials=13)
    trials = study.get_trials()
    assert all(on_plane(t.params) for t in trials[:8])
    assert len({(round(t.params[NAMES[0]], 6), round(t.params[NAMES[-1]], 6)) for t in trials[3:8]}) == 5  # new pairs
    assert sum(not on_plane(t.params) for t in trials[8:]) >= 3  # the fine GP moves knots apart


def test_the_plane_gp_learns_from_the_plane() -> None:
    """Quality grows with attention and the MLP's best is 0.6: the plane's GP proposals go there."""
    study = plane_study(14)
    for lam in (0.5, 0.0, 1.0):
        study.enqueue_trial({name: lam for name in NAMES})
    study.optimize(objective, n_trials=14)
    late = study.get_trials()[9:14]
    attention = [t.params[NAMES[0]] for t in late]
    assert sum(a > 0.7 for a in attention) >= 3  # random pairs would put about one in three there


def test_a_resumed_study_goes_on_in_the_phase_it_was_in(tmp_path) -> None:
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/plane.db")
    first = plane_study(6, storage)
    first.enqueue_trial({name: 0.5 for name in NAMES})
    first.optimize(objective, n_trials=4)
    second = plane_study(6, storage)  # a new process: a new sampler object over the same trials
    second.optimize(objective, n_trials=2)
    assert all(on_plane(t.params) for t in second.get_trials())
    third = plane_study(6, storage)
    third.optimize(objective, n_trials=3)
    assert sum(not on_plane(t.params) for t in third.get_trials()[6:]) >= 2


def test_trials_off_the_plane_are_left_out_of_its_fit() -> None:
    sampler = ModulePlaneSampler(NAMES, optuna.samplers.RandomSampler(seed=0), plane_trials=4)
    spread = {name: i / 10 for i, name in enumerate(NAMES)}
    assert sampler._on_plane(spread) is None
    flat = {name: (0.3 if "attention" in name else 0.8) for name in NAMES}
    assert sampler._on_plane(flat) == {"attention": 0.3, "mlp": 0.8}


def test_only_spaces_that_resolve_attention_and_mlp_by_depth_have_a_plane() -> None:
    assert plane_groups(NAMES) == {"attention": NAMES[:3], "mlp": NAMES[3:]}
    assert plane_groups(SearchSpace(kind="layers", layers=4).lambda_names()) is not None
    blocks = SearchSpace(kind="blocks").lambda_names()  # its global λ (the weights outside blocks) is a third number
    assert plane_groups(blocks) == {
        "attention": [n for n in blocks if n.endswith("attention")], "mlp": [n for n in blocks if n.endswith("mlp")], "rest": ["lam"]
    }
    for kind in ("global", "modules"):  # nothing resolved by depth: they are the plane already
        assert plane_groups(SearchSpace(kind=kind).lambda_names()) is None
    with pytest.raises(ValueError, match="attention and MLP"):
        ModulePlaneSampler(["lam"], optuna.samplers.RandomSampler(), plane_trials=4)


def test_in_blocks_the_plane_has_the_global_lambda_as_a_third_number() -> None:
    config = build_config({"budget": 100, "space": {"kind": "blocks"}}, source="test")
    names = config.space.lambda_names()
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(config))
    for lam in (0.5, 0.0, 1.0):
        study.enqueue_trial({name: lam for name in names})

    def scored(trial: optuna.Trial) -> tuple[float, float]:
        values = {name: trial.suggest_float(name, 0.0, 1.0) for name in names}
        return values["lam_block0_attention"] - values["lam"] / 4, values["lam_block2_mlp"]

    study.optimize(scored, n_trials=7)
    blocks = [{n: t.params[n] for n in names if n != "lam"} for t in study.get_trials()]
    assert all(on_plane(b) for b in blocks)
    assert len({round(t.params["lam"] - t.params["lam_block0_attention"], 6) for t in study.get_trials()[3:]}) > 1


def test_the_study_uses_it_for_depth_resolved_spaces_for_min_trials() -> None:
    profile = build_config({"budget": 100, "space": {"kind": "profile", "layers": 36}}, source="test")
    sampler = make_sampler(profile)
    assert isinstance(sampler, ModulePlaneSampler) and isinstance(sampler.fine, optuna.samplers.GPSampler)
    assert sampler.plane_trials == profile.min_trials == 20
    profile_seeds_only = {"space": {"kind": "profile", "layers": 36}, "min_trials": 3}  # the 3 seeds: nothing to propose
    for settings in ({"space": {"kind": "global"}}, {"space": {"kind": "modules"}}, profile_seeds_only):
        config = build_config({"budget": 100, **settings}, source="test")
        assert not isinstance(make_sampler(config), ModulePlaneSampler)


def test_decoding_parameters_are_drawn_beside_the_plane() -> None:
    config = build_config(
        {"budget": 100, "space": {"kind": "profile", "layers": 6, "knots": 2, "decoding": {"temperature": [0.3, 1.0]}}},
        source="test",
    )
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(config))
    names = config.space.lambda_names()
    for lam in (0.5, 0.0, 1.0):
        study.enqueue_trial({name: lam for name in names})

    def scored(trial: optuna.Trial) -> tuple[float, float]:
        values = [trial.suggest_float(name, 0.0, 1.0) for name in names]
        temperature = trial.suggest_float("temperature", 0.3, 1.0)
        return values[0] - temperature / 10, values[-1]

    study.optimize(scored, n_trials=8)
    assert all(on_plane({n: t.params[n] for n in names}) for t in study.get_trials())
    assert len({round(t.params["temperature"], 6) for t in study.get_trials()[3:]}) == 5


def test_a_proposal_logs_nothing_of_its_own(caplog: pytest.LogCaptureFixture) -> None:
    """The plane is asked through a study in memory per proposal; a library user at INFO sees no line for it."""
    sampler = ModulePlaneSampler(NAMES, optuna.samplers.RandomSampler(seed=0), plane_trials=6, seed=0)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    saved = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    optuna.logging.enable_propagation()
    try:
        with caplog.at_level("INFO", logger="optuna"):
            study.optimize(objective, n_trials=5)
    finally:
        optuna.logging.disable_propagation()
        optuna.logging.set_verbosity(saved)
    assert sum("Trial" in r.getMessage() for r in caplog.records) == 5  # the study's own lines do come through
    assert not [r for r in caplog.records if "created in memory" in r.getMessage()]

