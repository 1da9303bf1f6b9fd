"""A budget is a view: the front and the chosen point at any budget from a study's stored evaluations, nothing generated."""

from __future__ import annotations

import optuna
import pytest

from mi_search.search.settings.request import StudyRequest
from mi_search.service.front import front_at
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study
from tests.conftest import assert_user_error, run

pytestmark = pytest.mark.slow  # every test here runs whole toy studies

QUICK = {"task": {"search_size": 4, "holdout_size": 4}, "backend": {"device": "cpu"}, "holdout_points": 3}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MI_SEARCH_CACHE", str(tmp_path / "cache"))


def test_the_front_at_another_budget_is_read_from_the_stored_trials(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    report = run_study(
        StudyRequest(overrides={**QUICK, "name": "view", "budget": "200tokens", "trials": 3}),
        Runtime(storage=url, tracking_uri=None, heartbeat=5, out=tmp_path / "out"),
    )
    tokens = sorted(r.mean_tokens for r in report.result.records)
    cut = (tokens[0] + tokens[1]) / 2  # only the cheapest point is within it
    trials_before = len(optuna.load_study(study_name="view", storage=url).get_trials())
    view = front_at(url, "view", f"{int(cut)}tokens")
    assert view.budget == int(cut)
    assert [view.record(n).mean_tokens for n in view.front] == [tokens[0]]
    assert all(r.feasible == (r.mean_tokens <= int(cut)) for r in view.records)
    assert len(optuna.load_study(study_name="view", storage=url).get_trials()) == trials_before  # nothing stored
    done = run("front", "--study", "view", "--budget", f"{int(cut)}tokens", "--storage", url)
    assert done.exit_code == 0, done.output
    assert f"budget {int(cut)} tokens" in done.output
    assert_user_error(run("front", "--study", "nope", "--storage", url), "no study named 'nope'")
