"""Paired successive halving at the TrialRunner level over questions, on trials whose per-question outcomes are known.

The backend is scripted (`halving_scripts`): at each λ it answers a chosen set of questions right, with a
chosen length. Rungs over samples and the study's accuracy objectives are in `test_halving_samples.py`.
"""

from __future__ import annotations

import pytest

from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import gradable
from mi_search.search.store import trials
from mi_search.search.settings.config import build_config
from mi_search.search.running.inputs import QuestionSet
from mi_search.search.running.objective import TrialRunner, study_order
from mi_search.search.report.results import read_result
from mi_search.search.store.storage import open_storage
from mi_search.search.store.study import open_study
from mi_search.tasks.math import math_gold
from tests.search.halving_scripts import N, QUESTIONS, ScriptedBackend, Silent


def run(tmp_path, script: dict[float, tuple[set[int], int]], order: list[float], level: float = 0.95):
    settings = {"budget": 500, "seed_lambdas": order, "trials": len(order), "halving": {"rungs": [0.25, 1.0], "level": level}}
    config = build_config(settings, source="test")
    study = open_study(open_storage(f"sqlite:///{tmp_path}/s.db"), config, None)
    backend = ScriptedBackend(script)
    runner = TrialRunner(backend, QuestionSet(*gradable(QUESTIONS, math_gold)), config, DecodingParams(), Silent())
    study.optimize(runner, n_trials=len(order))
    return study, {t.params["lam"]: t for t in trials.completed(study)}


EVEN = {i for i in range(N) if i % 2 == 0}


def test_a_challenger_better_on_the_same_questions_is_never_stopped(tmp_path):
    # The incumbent (λ=0) answers the even questions at 100 tokens. Each challenger answers a superset
    # of what every earlier trial answered, at no more tokens; the last ties the best exactly.
    better = EVEN | {i for i in range(N) if i % 4 == 1}
    script = {0.0: (EVEN, 100), 0.1: (EVEN | {1, 3}, 100), 0.2: (better, 90), 0.3: (better, 90)}
    _, by_lam = run(tmp_path, script, [0.0, 0.1, 0.2, 0.3])
    for lam in (0.1, 0.2, 0.3):
        assert trials.is_full(by_lam[lam]), (lam, by_lam[lam].user_attrs.get("stopped"))


def test_a_clearly_worse_challenger_is_stopped_with_its_reason_recorded(tmp_path):
    # Far enough below that one more of its questions right would not save it (1 of 16 against 1 of 2).
    script = {0.0: (EVEN, 100), 0.5: ({i for i in range(N) if i % 16 == 0}, 180)}
    study, by_lam = run(tmp_path, script, [0.0, 0.5])
    worse = by_lam[0.5]
    assert not trials.is_full(worse) and worse.user_attrs["questions"] == N // 4
    stop = worse.user_attrs["stopped"]
    assert stop["reason"] == "dominated" and stop["against"] == by_lam[0.0].number and stop["rung"] == N // 4
    assert stop["accuracy_margin"] > 0 and stop["tokens_margin"] > 0 and stop["level"] == 0.95
    record = read_result(study, 500).record(worse.number)
    assert record.stop == stop and len(record.outcomes) == N // 4


def test_a_hopeless_trial_under_the_front_is_stopped_though_no_point_beats_it_in_both(tmp_path):
    # The cheap point's answers at nearly the rich point's tokens: neither front point beats it with
    # confidence in both objectives (the dominance rule keeps it), yet at its best case it adds a sliver.
    rich = {i for i in range(N) if i % 10 != 0}
    script = {0.0: (EVEN, 100), 1.0: (rich, 300), 0.5: (EVEN, 300)}
    study, by_lam = run(tmp_path, script, [0.0, 1.0, 0.5])
    stop = by_lam[0.5].user_attrs["stopped"]
    assert stop["reason"] == "no_gain" and stop["rung"] == N // 4 and stop["gain"] <= stop["min_gain"] == 0.01
    assert trials.is_full(by_lam[0.0]) and trials.is_full(by_lam[1.0])
    assert "adds at most" in read_result(study, 500).row(by_lam[0.5].number).stopped


@pytest.mark.parametrize(("rung", "stops"), [(0.1, False), (0.25, True)])
def test_one_questions_answers_never_stop_a_trial(tmp_path, rung, stops):
    # The same sliver as above. On a first rung of 8 questions, without the question most in the stop's
    # favour it would have room to add to the front, so it is not stopped (the rule without that check
    # stopped it there); on 20 questions the stop holds either way.
    rich = {i for i in range(N) if i % 10 != 0}
    settings = {"budget": 500, "seed_lambdas": [0.0, 1.0, 0.5], "trials": 3, "halving": {"rungs": [rung, 1.0]}}
    config = build_config(settings, source="test")
    study = open_study(open_storage(f"sqlite:///{tmp_path}/s.db"), config, None)
    script = {0.0: (EVEN, 100), 1.0: (rich, 300), 0.5: (EVEN, 300)}
    runner = TrialRunner(ScriptedBackend(script), QuestionSet(*gradable(QUESTIONS, math_gold)), config, DecodingParams(), Silent())
    study.optimize(runner, n_trials=3)
    challenger = {t.params["lam"]: t for t in trials.completed(study)}[0.5]
    assert trials.is_full(challenger) is not stops
    if stops:
        assert challenger.user_attrs["stopped"]["reason"] == "no_gain" and challenger.user_attrs["questions"] == 20


def test_a_near_front_point_is_kept_under_the_strict_rule(tmp_path):
    # min_gain 0: only a best case the front dominates is a stop; a sliver above it is kept.
    rich = {i for i in range(N) if i % 10 != 0}
    script = {0.0: (EVEN, 100), 1.0: (rich, 300), 0.5: (EVEN, 290)}
    settings = {"budget": 500, "seed_lambdas": [0.0, 1.0, 0.5], "trials": 3, "halving": {"min_gain": 0.0}}
    config = build_config(settings, source="test")
    study = open_study(open_storage(f"sqlite:///{tmp_path}/s.db"), config, None)
    runner = TrialRunner(ScriptedBackend(script), QuestionSet(*gradable(QUESTIONS, math_gold)), config, DecodingParams(), Silent())
    study.optimize(runner, n_trials=3)
    assert all(trials.is_full(t) for t in trials.completed(study))


def test_worse_accuracy_alone_or_cheaper_is_not_a_stop(tmp_path):
    # Fewer right answers but also fewer tokens: a new cheap end of the front, kept.
    script = {0.0: (EVEN, 100), 0.5: ({i for i in range(N) if i % 8 == 0}, 40)}
    _, by_lam = run(tmp_path, script, [0.0, 0.5])
    assert trials.is_full(by_lam[0.5])


def test_over_budget_with_confidence_is_a_stop(tmp_path):
    script = {0.0: (EVEN, 100), 1.0: (set(range(N)), 900)}
    _, by_lam = run(tmp_path, script, [0.0, 1.0])
    stop = by_lam[1.0].user_attrs["stopped"]
    assert stop["reason"] == "over_budget" and stop["tokens_margin"] > 0


def test_the_partial_score_is_compared_on_the_same_questions_not_with_the_full_mean(tmp_path):
    # The incumbent's mean over all 80 questions (0.5) is above what either scores on the first rung's
    # questions if those are the hard ones; the challenger, right wherever the incumbent is, must go on.
    config = build_config({"budget": 500}, source="test")
    first = {int(q.id[1:]) for q in study_order(QuestionSet(*gradable(QUESTIONS, math_gold)), config.seed).questions[: N // 4]}
    incumbent = set(range(N)) - first  # wrong on every question of the first rung
    script = {0.0: (incumbent, 100), 0.5: (incumbent | {min(first)}, 100)}
    _, by_lam = run(tmp_path, script, [0.0, 0.5])
    assert trials.is_full(by_lam[0.5])


def test_a_stopped_trial_tells_the_sampler_its_paired_estimate_not_its_first_rungs_mean(tmp_path):
    # The first rung's questions are the incumbent's easy ones: a raw partial mean there flatters any trial.
    config = build_config({"budget": 500}, source="test")
    first = sorted(int(q.id[1:]) for q in study_order(QuestionSet(*gradable(QUESTIONS, math_gold)), config.seed).questions[: N // 4])
    rest = sorted(set(range(N)) - set(first))
    incumbent = set(first) | set(rest[::2])  # 20 + 30 of 80 right: 0.625
    script = {0.0: (incumbent, 100), 0.5: (set(first[::2]), 180)}  # half the first rung right, more tokens
    _, by_lam = run(tmp_path, script, [0.0, 0.5])
    stopped = by_lam[0.5]
    assert stopped.user_attrs["stopped"]["reason"] == "dominated"
    assert stopped.user_attrs["scores"]["accuracy"] == 0.5  # its scores on the questions it answered
    assert stopped.values[0] == pytest.approx(0.625 - 0.5) and stopped.values[1] == pytest.approx(180.0)


def test_every_trial_sees_the_questions_in_one_shuffled_order(tmp_path):
    script = {0.0: (EVEN, 100), 0.5: (EVEN, 100)}
    _, by_lam = run(tmp_path, script, [0.0, 0.5])
    ids = [o.question_id for o in trials.outcomes_of(by_lam[0.0])]
    assert ids == [o.question_id for o in trials.outcomes_of(by_lam[0.5])]
    assert ids != [q.id for q in QUESTIONS] and sorted(ids) == sorted(q.id for q in QUESTIONS)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5])
def test_a_level_outside_the_unit_interval_is_refused(level):
    from mi_search.errors import UserError

    with pytest.raises(UserError, match="level must be a confidence in"):
        build_config({"budget": 500, "halving": {"level": level}}, source="test")


@pytest.mark.parametrize("share", [-0.01, 1.0, 2.0])
def test_a_min_gain_outside_zero_to_one_is_refused(share):
    from mi_search.errors import UserError

    with pytest.raises(UserError, match=r"min_gain must be a share of the front's hypervolume in \[0, 1\)"):
        build_config({"budget": 500, "halving": {"min_gain": share}}, source="test")




def _outcomes(right: set[int], tokens: float, n: int = N) -> tuple:
    from mi_search.search.statistics.outcomes import QuestionOutcome

    return tuple(QuestionOutcome(f"q{i:02d}", int(i in right), 1, tokens, 1.0) for i in range(n))


def test_one_question_never_flags_overthinking_nor_moves_the_stage_3_start():
    from mi_search.evaluation.stages import StagePoint, label_stages
    from mi_search.search.report.results import PairedComparison

    best = set(range(0, N, 2)) | {1}
    points = [
        StagePoint(0.8, 1.0, len(best) / N, 100, _outcomes(best, 100)),
        StagePoint(0.9, 1.0, (len(best) - 1) / N, 101, _outcomes(best - {1}, 101)),  # one question less, 1 token more
        StagePoint(1.0, 1.0, 10 / N, 300, _outcomes(set(range(10)), 300)),  # clearly beaten
    ]
    paired = label_stages(points, PairedComparison(0.95))
    assert [label.overthinking for label in paired] == [False, False, True]
    unpaired = label_stages([StagePoint(p.lam, p.think_ratio, p.accuracy, p.mean_tokens) for p in points])
    assert unpaired[1].overthinking  # what the point estimates alone would have said
