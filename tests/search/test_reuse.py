"""The evaluation store: a blend measured once is never paid for again, across budgets, spaces and workers."""

from __future__ import annotations

import csv
import warnings

import optuna
import pytest

from mi_search.search.settings.request import StudyRequest
from mi_search.search.store.evaluations import STORE_STUDY, StoreWarning
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study, run_worker

pytestmark = pytest.mark.slow  # every test here runs whole toy studies

QUICK = {"task": {"search_size": 4, "holdout_size": 4}, "backend": {"device": "cpu"}, "holdout_points": 2}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MI_SEARCH_CACHE", str(tmp_path / "cache"))


def runtime(url: str, out) -> Runtime:
    return Runtime(storage=url, tracking_uri=None, heartbeat=5, out=out)


def study(url, tmp_path, name, **changes):
    request = StudyRequest(overrides={**QUICK, "name": name, **changes})
    return run_study(request, runtime(url, tmp_path / name))


def search_tokens(report) -> int:
    return sum(r.generated_tokens for r in report.result.records)


def reused_column(tmp_path, name) -> list[str]:
    with open(tmp_path / name / "trials.csv") as table:
        return [row["reused"] for row in csv.DictReader(table)]


@pytest.mark.parametrize("storage", ["sqlite", "journal"])
def test_another_budget_takes_every_stored_evaluation_and_generates_no_search_token(tmp_path, storage):
    url = f"sqlite:///{tmp_path}/s.db" if storage == "sqlite" else f"journal:{tmp_path}/s.log"
    first = study(url, tmp_path, "wide", budget="80tokens", trials=4)
    assert search_tokens(first) > 0
    second = study(url, tmp_path, "narrow", budget="70tokens", trials=4)
    assert search_tokens(second) == 0
    records = second.result.records
    assert len(records) == 4 and all(r.reused_from and r.reused_from.startswith("wide#") for r in records)
    # the budget constraint is this study's: the same blend may be feasible at 80 and not at 70
    by_lambda = {r.params["lam"]: r for r in first.result.records}
    for record in records:
        assert record.feasible == (record.mean_tokens <= 70)
        assert record.mean_tokens == by_lambda[record.params["lam"]].mean_tokens
    assert all(column.startswith("wide#") for column in reused_column(tmp_path, "narrow"))
    assert not any(reused_column(tmp_path, "wide"))


def test_a_modules_study_takes_the_global_points_and_pays_only_for_its_own(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    first = study(url, tmp_path, "global", budget="80tokens", trials=3)  # the seeds: λ 0, 0.5, 1
    second = study(url, tmp_path, "modules", budget="80tokens", trials=4, space={"kind": "modules"})
    reused = [r for r in second.result.records if r.reused_from]
    assert sorted(r.params["lam_attention"] for r in reused) == [0.0, 0.5, 1.0]
    assert all(r.params["lam"] == r.params["lam_mlp"] == r.params["lam_attention"] for r in reused)
    own = [r for r in second.result.records if not r.reused_from]
    assert len(own) == 1 and own[0].generated_tokens > 0
    assert search_tokens(second) == own[0].generated_tokens
    assert {r.params["lam"]: r.accuracy for r in reused} == {r.params["lam"]: r.accuracy for r in first.result.records}


def test_a_worker_takes_blends_another_study_measured_as_it_runs(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    study(url, tmp_path, "queued", budget="80tokens", trials=0)  # stored, seeds queued, nothing measured
    study(url, tmp_path, "measured", budget="90tokens", trials=3)  # measures the same three seeds
    run_worker("queued", {"trials": 3}, runtime(url, tmp_path / "w"))
    done = optuna.load_study(study_name="queued", storage=url).get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(done) == 3
    assert all(t.user_attrs["generated_tokens"] == 0 and t.user_attrs["reused_from"].startswith("measured#") for t in done)


def test_another_decoding_is_never_mixed_in_and_a_damaged_entry_is_skipped(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    study(url, tmp_path, "short", budget="80tokens", trials=2)
    other = study(url, tmp_path, "long", budget="80tokens", trials=2, decoding={"max_new_tokens": 100})
    assert not any(r.reused_from for r in other.result.records) and search_tokens(other) > 0
    store = optuna.load_study(study_name=STORE_STUDY, storage=url)
    key = next(name for name, value in store.user_attrs.items() if value.get("origin") == "short#0")
    store.set_user_attr(key, {"format": 1, "scores": "broken"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        third = study(url, tmp_path, "again", budget="80tokens", trials=2)
    assert [str(w.message) for w in caught if w.category is StoreWarning][:1]
    assert sum(1 for r in third.result.records if r.reused_from) == 1  # the damaged one was measured again
    assert search_tokens(third) > 0
    assert optuna.load_study(study_name=STORE_STUDY, storage=url).user_attrs[key]["origin"] == "again#1"  # replaced


def test_a_point_stopped_over_budget_serves_smaller_budgets_only(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    sixteen = {"task": {"search_size": 16, "holdout_size": 4}}
    first = study(url, tmp_path, "b80", budget="80tokens", trials=3, **sixteen)  # λ=1 (~122 tokens) stops at rung 4
    thinking = next(r for r in first.result.records if r.params["lam"] == 1.0)
    assert not thinking.full and thinking.stop["reason"] == "over_budget"
    smaller = study(url, tmp_path, "b70", budget="70tokens", trials=3, **sixteen)
    assert search_tokens(smaller) == 0
    taken = next(r for r in smaller.result.records if r.params["lam"] == 1.0)
    assert not taken.full and taken.reused_from == f"b80#{thinking.number}" and not taken.feasible
    larger = study(url, tmp_path, "b200", budget="200tokens", trials=3, **sixteen)
    measured = next(r for r in larger.result.records if r.params["lam"] == 1.0)
    # measured anew (not taken as stopped over a smaller budget); halving may still stop it for adding no gain
    assert measured.reused_from is None and measured.generated_tokens > 0
    assert measured.full or measured.stop["reason"] != "over_budget"


def test_a_sweep_of_a_study_feeds_it_and_every_study_with_its_measurement(tmp_path):
    from mi_search.service.study_sweep import run_study_sweep

    url = f"sqlite:///{tmp_path}/s.db"
    first = study(url, tmp_path, "swept", budget="80tokens", trials=2)  # the seeds λ 0 and 0.5
    grid = [0.0, 0.25, 0.5, 0.75]
    result, taken = run_study_sweep(url, "swept", grid, tmp_path / "sweep")
    assert taken == 2  # λ 0 and 0.5: the study's own trials, read back, not generated
    by_lambda = {r.params["lam"]: r for r in first.result.records}
    assert [row.scores.accuracy for row in result.rows[::2]] == [by_lambda[0.0].accuracy, by_lambda[0.5].accuracy]
    assert (tmp_path / "sweep" / "sweep.csv").is_file()
    _, again = run_study_sweep(url, "swept", grid, tmp_path / "again")
    assert again == len(grid)  # everything stored: nothing generated the second time
    # another budget, same measurement: the sweep's points come in as completed trials, for no token
    other = study(url, tmp_path, "other", budget="70tokens", trials=4)
    assert search_tokens(other) == 0
    assert sorted(r.params["lam"] for r in other.result.records) == grid
    assert {r.reused_from for r in other.result.records if r.params["lam"] in (0.25, 0.75)} == {
        "sweep:swept@0.25",
        "sweep:swept@0.75",
    }
    # the swept study itself takes them on its next run, once each, and runs no trial for them
    resumed = study(url, tmp_path, "swept", trials=2)
    assert sorted(r.params["lam"] for r in resumed.result.records) == grid
    assert search_tokens(resumed) == search_tokens(first)


def test_a_sweep_of_a_study_refuses_settings_of_its_own(tmp_path):
    from typer.testing import CliRunner

    from mi_search.cli.app import app

    done = CliRunner().invoke(app, ["sweep", "--study", "x", "--out", str(tmp_path / "o"), "--k", "2", "--limit", "9"])
    assert done.exit_code == 2
    assert done.output.strip().splitlines()[-1].endswith("drop --k, --limit") or "drop --k, --limit" in done.output
    assert not (tmp_path / "o").exists()


def test_a_layers_study_starts_from_the_global_points_and_only_refines(tmp_path):
    # Coarse to fine: the global study's five λ are points of the layers space, taken at no token cost;
    # the study then proposes on the modules plane (attention λ apart from MLP λ), never a uniform λ again.
    url = f"sqlite:///{tmp_path}/s.db"
    study(url, tmp_path, "global", budget="80tokens", trials=5)
    layers = study(url, tmp_path, "layers", budget="80tokens", trials=8, space={"kind": "layers"}, sampler="trust")
    reused = [r for r in layers.result.records if r.reused_from]
    own = [r for r in layers.result.records if not r.reused_from]
    assert len(reused) == 5 and all(len(set(r.params.values())) == 1 for r in reused)
    assert len(own) == 3 and all(len(set(r.params.values())) > 1 for r in own)
    assert search_tokens(layers) == sum(r.generated_tokens for r in own) > 0


def test_a_blocks_study_starts_from_a_modules_study_and_a_profile_only_from_its_uniform_points(tmp_path):
    # A modules point (its own global λ, attention λ, MLP λ) is one blend with the blocks point that puts every
    # block there; a profile gives the other weights the layers' mean, so only the uniform points are its blends.
    url = f"sqlite:///{tmp_path}/s.db"
    modules = study(url, tmp_path, "modules", budget="80tokens", trials=5, space={"kind": "modules"})
    measured = {r.params["lam_attention"]: r for r in modules.result.records}
    assert sum(len(set(r.params.values())) > 1 for r in measured.values()) == 2  # two points off the diagonal
    blocks = study(url, tmp_path, "blocks", budget="80tokens", trials=6, space={"kind": "blocks"})
    reused = [r for r in blocks.result.records if r.reused_from]
    assert len(reused) == 5 and search_tokens(blocks) == sum(r.generated_tokens for r in blocks.result.records if not r.reused_from)
    for record in reused:
        source = measured[record.params["lam_block0_attention"]]
        assert record.params["lam"] == source.params["lam"] and record.params["lam_block2_mlp"] == source.params["lam_mlp"]
        assert record.accuracy == source.accuracy and record.mean_tokens == source.mean_tokens
    profile = study(url, tmp_path, "profile", budget="80tokens", trials=4, space={"kind": "profile", "knots": 2})
    taken = [r for r in profile.result.records if r.reused_from]
    assert sorted(r.params["lam_attention_knot0"] for r in taken) == [0.0, 0.5, 1.0]
