"""The study on the toy pair through the library: trials, halving, repeats, held-out re-scoring, report, resume."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import optuna
import pytest

from mi_search.errors import UserError
from mi_search.search.config import build_config
from mi_search.search.holdout import rescore_front
from mi_search.search.objective import FULL, GENERATED_TOKENS, QUESTIONS, REPEAT_OF
from mi_search.search.results import read_result
from mi_search.search.service import finish_study, load_workbench, run_trials
from mi_search.search.storage import open_storage
from mi_search.search.study import join_study, open_study

SMALL = {"task": {"search_size": 32, "holdout_size": 32}, "halving": {"rungs": [0.25, 1.0]}}


@pytest.fixture(scope="module")
def bench():
    """The toy pair loaded once for the module, with a small search and held-out part."""
    return load_workbench(build_config({"budget": "4k", **SMALL}, source="test"), device="cpu")


def storage(tmp_path):
    return open_storage(f"sqlite:///{tmp_path}/studies.db", heartbeat_interval=5)


def settings(**changes):
    return {"budget": "4k", **SMALL, **changes}


def test_study_writes_a_labelled_front_and_chooses_on_held_out_scores(tmp_path, bench):
    study, config = open_study(storage(tmp_path), settings(trials=6), source="test")
    run_trials(study, config, bench, config.trials)
    result, _ = finish_study(study, config, bench, tmp_path / "out")

    document = json.loads((tmp_path / "out" / "pareto.json").read_text())
    assert document["study"] == "toy-global-4000" and document["budget"] == 4000
    assert document["hypervolume"] == pytest.approx(result.hypervolume) and 0 < result.hypervolume <= 1
    points = document["points"]
    assert [p["trial"] for p in points] == result.front and points
    for point in points:
        assert {
            "trial",
            "params",
            "accuracy",
            "mean_tokens",
            "think_ratio",
            "stage",
            "overthinking",
            "feasible",
        } <= set(point)
        assert point["stage"] in (1, 2, 3) and point["feasible"] is True
        assert point["holdout_accuracy"] is not None and point["holdout_mean_tokens"] is not None
    # Seeds λ=0 (no thinking) and λ=1 (thinking) were both scored; their stages are the toy's.
    by_lambda = {r.params["lam"]: r for r in result.records if r.full}
    assert by_lambda[0.0].stage == 1 and by_lambda[0.0].scores["think_ratio"] == 0
    assert by_lambda[1.0].stage == 3 and by_lambda[1.0].scores["think_ratio"] == 1
    chosen = max(
        (p for p in points if p["holdout_mean_tokens"] <= 4000),
        key=lambda p: (p["holdout_accuracy"], -p["holdout_mean_tokens"]),
    )
    assert document["chosen"] == chosen["trial"]
    rows = (tmp_path / "out" / "trials.csv").read_text().splitlines()
    assert len(rows) == 1 + len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
    for image in ("pareto.png", "stage_map.png"):
        assert (tmp_path / "out" / image).read_bytes()[:4] == b"\x89PNG"


def test_held_out_rescoring_happens_once_per_front_point(tmp_path, bench):
    study, config = open_study(storage(tmp_path), settings(trials=3), source="test")
    run_trials(study, config, bench, config.trials)
    first, _ = finish_study(study, config, bench, tmp_path / "out")
    assert all(first.record(n).holdout for n in first.front)
    again = rescore_front(
        study,
        read_result(study, config.budget),
        pair=bench.pair,
        backend=bench.backend,
        questions=bench.holdout.questions,
        golds=bench.holdout.golds,
        space=config.space,
        decoding=bench.decoding,
        k=1,
        accuracy_key="accuracy",
    )
    assert again == []


def test_seeds_are_enqueued_once_even_when_resumed(tmp_path, bench):
    store = storage(tmp_path)
    study, config = open_study(store, settings(), source="test")
    run_trials(study, config, bench, 1)
    study, config = open_study(store, settings(), source="test")
    run_trials(study, config, bench, 3)
    seeded = [t.params["lam"] for t in study.get_trials() if "fixed_params" in t.system_attrs]
    assert seeded == [0.0, 0.5, 1.0]
    assert len(study.get_trials()) == 4


def test_a_trial_that_cannot_fit_the_budget_stops_at_the_first_rung(tmp_path, bench):
    # The toy's Thinking end answers in ~127 tokens, far over a 90-token budget.
    study, config = open_study(storage(tmp_path), settings(budget=90, name="tight"), source="test")
    run_trials(study, config, bench, 3)
    instruct, _, thinking = study.get_trials()
    assert thinking.user_attrs[QUESTIONS] == 8 and thinking.user_attrs[FULL] is False
    assert thinking.constraints["tokens_over_budget"] > 0
    assert instruct.user_attrs[FULL] is True
    assert thinking.number not in read_result(study, 90).front


def test_repeated_parameters_reuse_the_earlier_scores_at_no_token_cost(tmp_path, bench):
    study, config = open_study(storage(tmp_path), settings(), source="test")
    study.enqueue_trial({"lam": 0.0})  # a second λ=0 behind the seeded one
    run_trials(study, config, bench, 4)
    first, repeat = (t for t in study.get_trials() if t.params["lam"] == 0.0)
    assert repeat.user_attrs[REPEAT_OF] == first.number and repeat.user_attrs[GENERATED_TOKENS] == 0
    assert repeat.values == first.values


def test_a_study_with_other_directions_is_refused_and_left_untouched(tmp_path):
    store = storage(tmp_path)
    optuna.create_study(study_name="theirs", storage=store, directions=["minimize", "minimize"])
    with pytest.raises(UserError, match="not made by mi-search"):
        open_study(store, settings(name="theirs"), source="test")
    untouched = optuna.load_study(study_name="theirs", storage=store)
    assert untouched.user_attrs == {} and untouched.get_trials() == []


def test_joining_a_missing_study_names_the_fix(tmp_path):
    with pytest.raises(UserError, match="mi-search --study nobody --budget"):
        join_study(storage(tmp_path), "nobody")


def test_blocks_space_trials_record_their_mean_lambda(tmp_path, bench):
    study, config = open_study(
        storage(tmp_path), settings(space={"kind": "blocks", "blocks": 3}, name="blocks"), source="test"
    )
    run_trials(study, config, bench, 4)
    trials = study.get_trials()
    assert sorted(trials[3].params) == ["lam"] + sorted(
        f"lam_block{i}_{part}" for i in range(3) for part in ("attention", "mlp")
    )
    assert [t.user_attrs["mean_lambda"] for t in trials[:3]] == pytest.approx([0.0, 0.5, 1.0])
    assert 0 < trials[3].user_attrs["mean_lambda"] < 1


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
