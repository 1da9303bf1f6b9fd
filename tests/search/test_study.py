"""The study on the toy pair through the library entry point: trials, halving, repeats, held-out re-scoring, resume."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

import optuna
import pytest

from mi_search import open_pair
from mi_search.backends.settings import HFSettings
from mi_search.errors import UserError
from mi_search.merge.pair import PairConfig
from mi_search.search.running.holdout import rescore_front
from mi_search.search.running.inputs import prepare_inputs
from mi_search.search.settings.request import StudyRequest
from mi_search.search.report.results import read_result
from mi_search.search.store.storage import open_storage
from mi_search.search.store.study import join_study, resolve_config
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study

SMALL = {"task": {"search_size": 32, "holdout_size": 32}, "halving": {"rungs": [0.25, 1.0]}}
FEW = {"search_size": 8, "holdout_size": 8}  # for tests of what is stored and run, not of what scores say


@pytest.fixture(scope="module")
def backend():
    """The toy pair loaded once for the module."""
    return open_pair(PairConfig(), HFSettings(device="cpu"))


def runtime(tmp_path, out: str = "out") -> Runtime:
    return Runtime(storage=f"sqlite:///{tmp_path}/studies.db", tracking_uri=None, heartbeat=5, out=tmp_path / out)


def study_of(tmp_path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path}/studies.db")


def run(tmp_path, backend, **changes):
    request = StudyRequest(overrides={"budget": "4k", **SMALL, **changes})
    return run_study(request, runtime(tmp_path), backend=backend)


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_study_writes_a_labelled_front_and_chooses_on_held_out_scores(tmp_path, backend):
    report = run(tmp_path, backend, trials=6)
    result = report.result
    document = json.loads((tmp_path / "out" / "pareto.json").read_text())
    assert document["study"] == "toy-global-4000" and document["budget"] == 4000
    assert document["hypervolume"] == pytest.approx(result.hypervolume) and 0 < result.hypervolume <= 1
    points = document["points"]
    assert [p["trial"] for p in points] == result.front and points
    for point in points:
        assert {"trial", "params", "accuracy", "mean_tokens", "think_ratio", "stage", "overthinking", "feasible"} <= set(point)
        assert point["stage"] in (1, 2, 3) and point["feasible"] is True
        assert point["holdout_accuracy"] is not None and point["holdout_mean_tokens"] is not None
    # Seeds λ=0 (no thinking) and λ=1 (thinking) were both scored; their stages are the toy's.
    by_lambda = {r.params["lam"]: r for r in result.records if r.full}
    assert by_lambda[0.0].stage == 1 and by_lambda[0.0].scores["think_ratio"] == 0
    assert by_lambda[1.0].stage == 3 and by_lambda[1.0].scores["think_ratio"] == 1
    # best (the default): the most accurate re-scored point within the budget on held-out questions,
    # fewer held-out tokens on ties; the alternatives come with it
    rescored = [p for p in points if p["holdout_accuracy"] is not None and p["holdout_mean_tokens"] <= 4000]
    best = max(rescored, key=lambda p: (p["holdout_accuracy"], -p["holdout_mean_tokens"]))["trial"]
    assert document["chosen"] == best and document["choice"]["rule"] == "best"
    assert document["choice"]["best_accuracy_trial"] == best
    alternatives = {a["name"]: a for a in document["choice"]["alternatives"]}
    assert alternatives["best"]["trial"] == best and "cheapest-within-0.01" in alternatives
    assert all(a["holdout_tokens_interval"][0] <= a["holdout_mean_tokens"] <= a["holdout_tokens_interval"][1] for a in alternatives.values())
    for point in points:
        assert point["intervals"]["holdout_accuracy"]["low"] <= point["holdout_accuracy"] <= point["intervals"]["holdout_accuracy"]["high"]
    study = study_of(tmp_path, "toy-global-4000")
    rows = (tmp_path / "out" / "trials.csv").read_text().splitlines()
    assert len(rows) == 1 + len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
    for image in ("pareto.png", "stage_map.png"):
        assert (tmp_path / "out" / image).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_held_out_rescoring_happens_once_per_front_point(tmp_path, backend):
    report = run(tmp_path, backend, trials=3, task=FEW)
    assert all(report.result.record(n).holdout for n in report.result.front)
    study = study_of(tmp_path, "toy-global-4000")
    inputs = prepare_inputs(report.config)
    again = rescore_front(study, read_result(study, 4000), backend, inputs.holdout, report.config, inputs.decoding)
    assert again == []


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_seeds_are_enqueued_once_even_when_resumed(tmp_path, backend):
    run(tmp_path, backend, trials=1, task=FEW)
    run(tmp_path, backend, trials=3, task=FEW)
    study = study_of(tmp_path, "toy-global-4000")
    seeded = [t.params["lam"] for t in study.get_trials() if "fixed_params" in t.system_attrs]
    assert seeded == [0.5, 0.0, 1.0]  # the middle first
    assert len(study.get_trials()) == 4


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_a_trial_that_cannot_fit_the_budget_stops_at_the_first_rung(tmp_path, backend):
    # The toy's Thinking end answers in ~127 tokens, far over a 90-token budget.
    report = run(tmp_path, backend, budget=90, name="tight", trials=3)
    instruct, _, thinking = (report.result.record(n) for n in (0, 1, 2))
    assert thinking.questions == 8 and thinking.full is False and thinking.feasible is False
    assert study_of(tmp_path, "tight").trials[2].constraints["tokens_over_budget"] > 0
    assert instruct.full is True
    assert thinking.number not in report.result.front


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_repeated_parameters_reuse_the_earlier_scores_at_no_token_cost(tmp_path, backend):
    run(tmp_path, backend, trials=0, task=FEW)
    study_of(tmp_path, "toy-global-4000").enqueue_trial({"lam": 0.0})  # a second λ=0 behind the seeds
    report = run(tmp_path, backend, trials=4, task=FEW)
    first, repeat = (r for r in report.result.records if r.params["lam"] == 0.0)
    assert repeat.repeat_of == first.number and repeat.generated_tokens == 0
    assert (repeat.accuracy, repeat.mean_tokens) == (first.accuracy, first.mean_tokens)
    assert repeat.stage == first.stage


def test_a_study_with_other_directions_is_refused_and_left_untouched(tmp_path, backend):
    store = open_storage(f"sqlite:///{tmp_path}/studies.db")
    optuna.create_study(study_name="theirs", storage=store, directions=["minimize", "minimize"])
    with pytest.raises(UserError, match="not made by mi-search"):
        run(tmp_path, backend, name="theirs")
    untouched = optuna.load_study(study_name="theirs", storage=store)
    assert untouched.user_attrs == {} and untouched.get_trials() == []


def test_a_new_study_is_resolved_without_writing_to_the_storage(tmp_path):
    store = open_storage(f"sqlite:///{tmp_path}/studies.db")
    config, existing = resolve_config(store, {"budget": "4k"}, source="test")
    assert existing is None and config.study_name == "toy-global-4000"
    assert optuna.get_all_study_summaries(store) == []


def test_joining_a_missing_study_names_the_fix(tmp_path):
    with pytest.raises(UserError, match="mi-search --study nobody --budget"):
        join_study(open_storage(f"sqlite:///{tmp_path}/studies.db"), "nobody")


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_blocks_space_trials_record_their_mean_lambda(tmp_path, backend):
    report = run(tmp_path, backend, space={"kind": "blocks", "blocks": 3}, name="blocks", trials=4, task=FEW)
    records = report.result.records
    assert sorted(records[3].params) == ["lam"] + sorted(
        f"lam_block{i}_{part}" for i in range(3) for part in ("attention", "mlp")
    )
    assert [r.mean_lambda for r in records[:3]] == pytest.approx([0.5, 0.0, 1.0])
    assert 0 < records[3].mean_lambda < 1


def test_sqlite_workers_never_pop_the_same_waiting_trial(tmp_path):
    """Each process has its own engine; every enqueued trial must go to exactly one of them."""
    url = f"sqlite:///{tmp_path}/race.db"
    study = optuna.create_study(study_name="race", storage=open_storage(url))
    for lam in range(40):
        study.enqueue_trial({"lam": lam / 40})
    workers = [open_storage(url) for _ in range(6)]
    waiting = [t._trial_id for t in study.get_trials(deepcopy=False)]

    def pop_all(storage) -> list[int]:
        return [i for i in waiting if storage.set_trial_state_values(i, optuna.trial.TrialState.RUNNING)]

    with ThreadPoolExecutor(len(workers)) as pool:
        popped = [i for got in pool.map(pop_all, workers) for i in got]
    assert sorted(popped) == sorted(waiting)  # none lost, none run twice


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_a_study_with_the_botorch_sampler_proposes_after_its_start(tmp_path, backend):
    from optuna_integration import BoTorchSampler

    from mi_search.search.store.study import make_sampler

    # 8 questions each: what is tested is who proposes the third trial, not its scores.
    report = run(tmp_path, backend, trials=3, sampler="botorch", seed_lambdas=[], task=FEW)
    assert isinstance(make_sampler(report.config), BoTorchSampler)  # qLogNEHVI after 2 random trials
    numbers = [r.number for r in report.result.records]
    assert numbers == [0, 1, 2] and len({r.params["lam"] for r in report.result.records}) == 3


def test_the_botorch_sampler_missing_is_one_line_before_anything_is_stored(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.delitem(sys.modules, "botorch", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "botorch" else real(name, *a))
    with pytest.raises(UserError, match=r"pip install 'mi-search\[botorch\]'"):
        run(tmp_path, None, sampler="botorch")
    assert optuna.study.get_all_study_names(open_storage(f"sqlite:///{tmp_path}/studies.db")) == []


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_the_budget_edge_is_narrowed_on_held_out_questions_and_the_choice_fits_there(tmp_path, backend):
    from mi_search.search.running.budget_edge import HOLDOUT_EDGE_ATTR, HOLDOUT_MOST, HOLDOUT_RESOLUTION, holdout_step

    # The toy's tokens rise from ~57 (λ 0) to ~127 (λ 1) and its accuracy up to λ ~0.6: 75 tokens binds there.
    report = run(tmp_path, backend, budget=75, name="edge", trials="auto", min_trials=3, max_trials=4)
    result = report.result
    study = study_of(tmp_path, "edge")
    ran = [t.number for t in study.trials if HOLDOUT_EDGE_ATTR in t.user_attrs]
    rescored = [r for r in result.records if r.holdout]
    assert 1 <= len(ran) <= HOLDOUT_MOST  # the search questions left the edge wider than 0.02 λ
    for number in ran:  # run in full unless over the budget (halving's other stops do not apply), never a seed again
        record = result.record(number)
        assert record.full or record.stop["reason"] == "over_budget"
        assert record.params["lam"] not in (0.0, 0.5, 1.0) and record.repeat_of is None
    # the edge is resolved on held-out questions, or the run's steps are spent
    assert holdout_step(result.records, ["lam"], 75) is None or len(ran) == HOLDOUT_MOST
    within = max((r for r in rescored if r.within(75)), key=lambda r: r.params["lam"])
    past = min((r for r in result.records if r.params["lam"] > within.params["lam"] and not r.within(75)), key=lambda r: r.params["lam"])
    narrow = past.params["lam"] - within.params["lam"] <= HOLDOUT_RESOLUTION + 1e-9
    assert narrow or past.accuracy < within.accuracy or len(ran) == HOLDOUT_MOST  # resolved, falling, or spent
    chosen = result.record(result.chosen)
    assert chosen.within(75)
    assert chosen.holdout["objective"] == max(r.holdout["objective"] for r in rescored if r.within(75))


@pytest.mark.slow  # a whole toy study: seconds to tens of seconds
def test_a_fixed_trial_count_is_the_spend_and_nothing_is_run_beside_the_choice(tmp_path, backend):
    report = run(tmp_path, backend, budget=75, name="fixed", trials=4, task=FEW)
    assert len(report.result.records) == 4 and len(study_of(tmp_path, "fixed").trials) == 4


def test_a_study_found_in_creation_is_waited_for_and_one_left_without_configuration_is_refused(tmp_path, monkeypatch):
    import threading

    from mi_search.search.store import study as study_store

    store = open_storage(f"sqlite:///{tmp_path}/studies.db")
    config, _ = resolve_config(store, {"budget": "4k", "name": "racing"}, source="test")
    # another first start: Optuna has created the study, its configuration comes a moment later
    made = optuna.create_study(study_name="racing", storage=store, directions=study_store.DIRECTIONS)
    later = threading.Timer(0.5, lambda: made.set_user_attr(study_store.CONFIG_ATTR, json.loads(config.model_dump_json())))
    later.start()
    resolved, existing = resolve_config(store, {"budget": "4k", "name": "racing"}, source="test")
    later.join()
    assert existing is not None and resolved.study_name == "racing"
    # a study of ours that never gets its configuration is refused once the wait is over
    monkeypatch.setattr(study_store, "CREATION_WAIT_S", 0.3)
    optuna.create_study(study_name="bare", storage=store, directions=study_store.DIRECTIONS)
    with pytest.raises(UserError, match="has no mi-search configuration"):
        resolve_config(store, {"budget": "4k", "name": "bare"}, source="test")
