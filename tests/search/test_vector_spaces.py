"""The per-layer spaces end to end on the toy pair: names from its layer count, a report that stays readable."""

from __future__ import annotations

import json

import optuna
import pytest

from mi_search import open_pair
from mi_search.backends.settings import HFSettings
from mi_search.errors import UserError
from mi_search.merge.pair import PairConfig
from mi_search.search.settings.request import StudyRequest
from mi_search.search.settings.space import SearchSpace, describe_params, profile_values
from mi_search.search.store.storage import open_storage, study_exists
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study

SMALL = {"task": {"search_size": 12, "holdout_size": 8}, "halving": {"rungs": [0.5, 1.0]}, "trials": 4}


@pytest.fixture(scope="module")
def backend():
    return open_pair(PairConfig(), HFSettings(device="cpu"))


def runtime(tmp_path) -> Runtime:
    return Runtime(storage=f"sqlite:///{tmp_path}/s.db", tracking_uri=None, heartbeat=5, out=tmp_path / "out")


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
@pytest.mark.parametrize(("kind", "names"), [("layers", 12), ("profile", 8)])
def test_per_layer_spaces_run_on_the_toy_and_report_a_summary(tmp_path, backend, kind, names):
    report = run_study(StudyRequest(overrides={"budget": "4k", "space": {"kind": kind}, **SMALL}), runtime(tmp_path), backend=backend)
    assert report.config.space.layers == 6  # from the pair's config
    records = report.result.records
    assert len(records) == 4 and all(len(r.params) == names for r in records)
    document = json.loads((tmp_path / "out" / "pareto.json").read_text())
    assert document["space"] == kind
    for point in document["points"]:
        assert set(point["lambda_summary"]) == {"attention", "mlp"}
        assert set(point["lambda_summary"]["mlp"]) == {"mean", "early", "middle", "late"}
    assert (tmp_path / "out" / "lambda_profile.png").read_bytes()[:4] == b"\x89PNG"
    # λ=0.5 everywhere is one of the seeds: its mean λ is 0.5 and its summary says so
    half = next(r for r in records if set(r.params.values()) == {0.5})
    assert half.mean_lambda == pytest.approx(0.5)
    assert describe_params(half.params).startswith("attention 0.50 (early 0.50")


def test_more_knots_than_layers_is_one_line_and_stores_nothing(tmp_path, backend):
    request = StudyRequest(overrides={"budget": "4k", "space": {"kind": "profile", "knots": 7}, **SMALL})
    with pytest.raises(UserError, match="7 knots for a model of 6 layers; use knots between 2 and 6") as error:
        run_study(request, runtime(tmp_path), backend=backend)
    assert "\n" not in str(error.value)
    assert not study_exists(open_storage(f"sqlite:///{tmp_path}/s.db"), "toy-profile-4000")


def test_a_resumed_study_with_other_knots_or_seed_is_refused(tmp_path, backend):
    overrides = {"budget": "4k", "space": {"kind": "profile", "knots": 3}, **SMALL, "trials": 1}
    run_study(StudyRequest(overrides=overrides), runtime(tmp_path), backend=backend)
    for change in ({"space": {"kind": "profile", "knots": 4}}, {"seed": 3}, {"halving": {"rungs": [0.5, 1.0], "level": 0.9}}):
        with pytest.raises(UserError, match="was created with"):
            run_study(StudyRequest(overrides={**overrides, **change}), runtime(tmp_path), backend=backend)
    study = optuna.load_study(study_name="toy-profile-4000", storage=f"sqlite:///{tmp_path}/s.db")
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 1  # the refusals ran nothing


def test_profile_values_are_piecewise_linear_through_the_knots():
    assert profile_values([0.0, 1.0], 5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert profile_values([0.2, 0.8, 0.4], 5) == pytest.approx([0.2, 0.5, 0.8, 0.6, 0.4])
    space = SearchSpace(kind="profile", knots=3, layers=5)
    spec = space.spec_for({"lam_attention_knot0": 0.0, "lam_attention_knot1": 1.0, "lam_attention_knot2": 0.0,
                           "lam_mlp_knot0": 1.0, "lam_mlp_knot1": 1.0, "lam_mlp_knot2": 1.0})
    assert [b.attention for b in spec.blocks] == [0.0, 0.5, 1.0, 0.5, 0.0]
    assert [b.mlp for b in spec.blocks] == [1.0] * 5
