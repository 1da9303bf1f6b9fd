"""`trials: auto` on the toy pair through the library entry point: the study stops once its front converged,
says why, stores why, and a converged study resumed runs nothing more; `trials: N` still runs N."""

from __future__ import annotations

import optuna
import pytest

from mi_search import open_pair
from mi_search.backends.settings import HFSettings
from mi_search.merge.pair import PairConfig
from mi_search.search.running.budget_edge import HOLDOUT_EDGE_ATTR
from mi_search.search.running.stopping import COVER_ATTR, STOP_ATTR, judge, widest_gap
from mi_search.search.statistics.convergence import convergence
from mi_search.search.settings.request import StudyRequest
from mi_search.service.runtime import Quiet, Runtime
from mi_search.service.study import run_study

SMALL = {"budget": "4k", "task": {"search_size": 32, "holdout_size": 32}, "halving": {"rungs": [0.25, 1.0]}}


class Notes(Quiet):
    """A quiet observer that keeps the lines a study prints."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def note(self, text: str) -> None:
        self.lines.append(text)


@pytest.fixture(scope="module")
def backend():
    return open_pair(PairConfig(), HFSettings(device="cpu"))


def run(tmp_path, backend, notes: Notes, **changes):
    runtime = Runtime(storage=f"sqlite:///{tmp_path}/studies.db", tracking_uri=None, heartbeat=5, out=tmp_path / "out")
    return run_study(StudyRequest(overrides={**SMALL, **changes}), runtime, notes, backend=backend)


def completed(tmp_path, name: str) -> tuple[optuna.Study, int]:
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path}/studies.db")
    return study, len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))


@pytest.mark.slow  # whole toy studies: tens of seconds
def test_an_auto_study_stops_when_its_front_converged_and_a_rerun_adds_nothing(tmp_path, backend):
    notes = Notes()
    report = run(tmp_path, backend, notes, min_trials=4, max_trials=14)
    study, held = completed(tmp_path, report.config.study_name)
    # trials run after the stop, beside the choice (the budget's edge or a peak), are not the search's
    beside = [t.number for t in study.trials if HOLDOUT_EDGE_ATTR in t.user_attrs]
    searched = held - len(beside)
    reason = study.user_attrs[STOP_ATTR]
    assert 4 <= searched < 14 and reason.startswith(f"stopped after {searched} trials, the front converged")
    assert all(number >= searched for number in beside)
    assert reason in notes.lines  # printed as stored
    evidence = judge(report.config, study)
    assert evidence is not None and evidence.converged and evidence.gain <= evidence.upper <= evidence.margin * evidence.hv
    assert widest_gap(report.config, study) is None, "no λ interval wider than the coverage is left untried"
    # without its last trial it had not converged, held too few, or left an interval untried: it stopped at
    # the first trial it could
    records = sorted((r for r in report.result.records if r.number not in beside), key=lambda r: r.number)
    outcomes = [r.outcomes if r.full and r.repeat_of is None else None for r in records]
    before = convergence(outcomes[:-1], report.config.budget, margin=report.config.stop_margin)
    filled = any(COVER_ATTR in t.user_attrs for t in study.trials)
    assert searched - 1 < 4 or not before.converged or filled
    again = Notes()
    run(tmp_path, backend, again)
    study, after = completed(tmp_path, report.config.study_name)
    assert after == held
    assert study.user_attrs[STOP_ATTR].startswith(f"the study holds {held} trials and its front had converged")


@pytest.mark.slow  # a whole toy study
def test_a_fixed_trial_count_runs_that_many_and_says_so(tmp_path, backend):
    notes = Notes()
    report = run(tmp_path, backend, notes, trials=4, task={"search_size": 8, "holdout_size": 8})  # a count, not scores
    study, held = completed(tmp_path, report.config.study_name)
    assert held == 4 and study.user_attrs[STOP_ATTR] == "ran the 4 trials asked for (trials: 4); the study holds 4"
