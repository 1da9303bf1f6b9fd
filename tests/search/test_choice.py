"""The choice among re-scored front points: best, cheapest-within a margin (non-inferiority) or cheapest-tied."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mi_search.search.settings.config import ChoiceConfig, ChoiceRule
from mi_search.search.statistics.outcomes import QuestionOutcome
from mi_search.search.report.results import choose
from mi_search.search.store.trials import TrialRecord

N = 100


def record(number: int, right: set[int], tokens: float) -> TrialRecord:
    outcomes = tuple(QuestionOutcome(f"h{i}", int(i in right), 1, tokens) for i in range(N))
    accuracy = len(right) / N
    holdout = {"accuracy": accuracy, "objective": accuracy, "mean_tokens": tokens}
    return TrialRecord(
        number, {"lam": number / 10}, {}, accuracy, tokens, N, True, True, number / 10, 0, None, holdout, None,
        holdout_outcomes=outcomes,
    )


BEST = record(3, set(range(80)), 300.0)
TIED = record(2, set(range(79)), 200.0)  # one question less for a third fewer tokens: not significantly below
WORSE = record(1, set(range(50)), 100.0)  # clearly below


def test_cheapest_tied_takes_the_cheap_point_one_question_below_the_best():
    choice = choose([WORSE, TIED, BEST], [1, 2, 3], budget=1000, rule=ChoiceRule.CHEAPEST_TIED)
    assert choice.number == 2 and choice.best == 3 and choice.rule is ChoiceRule.CHEAPEST_TIED
    assert choice.accuracy_diff == -0.01 and choice.accuracy_bound >= 0 and choice.tokens_saved == 100.0


def test_best_keeps_the_most_accurate_point_and_is_the_default():
    assert choose([WORSE, TIED, BEST], [1, 2, 3], budget=1000, rule=ChoiceRule.BEST).number == 3
    choice = choose([WORSE, TIED, BEST], [1, 2, 3], budget=1000)
    assert choice.number == 3 and choice.rule is ChoiceRule.BEST
    names = {a.name: a for a in choice.alternatives}
    assert names["best"].trial == 3 and names["best"].loss is None
    # one question in a hundred below the best cannot be shown within 0.01: the best is also the cheapest within it
    assert names["cheapest-within-0.01"].trial == 3
    assert names["knee"].trial == 2  # 0.79 for 200 tokens bends the front: 0.50 at 100, 0.80 at 300


def points_n_worse(n: int, worse_by: float, k: int) -> list[TrialRecord]:
    """Two re-scored front points on `n` held-out questions: a cheap one `worse_by` below the best in Mean@k,
    the loss spread over as few questions as k samples allow (one sample of k on each)."""
    misses = round(worse_by * n * k)
    def point(number: int, tokens: float, missing: int) -> TrialRecord:
        outcomes = tuple(QuestionOutcome(f"h{i}", k - (1 if i < missing else 0), k, tokens) for i in range(n))
        accuracy = sum(o.correct for o in outcomes) / (n * k)
        holdout = {"accuracy": accuracy, "objective": accuracy, "mean_tokens": tokens}
        return TrialRecord(
            number, {"lam": number / 10}, {}, accuracy, tokens, n, True, True, number / 10, 0, None, holdout, None,
            holdout_outcomes=outcomes,
        )
    return [point(1, 100.0, misses), point(2, 300.0, 0)]


def test_cheapest_within_takes_a_point_half_a_point_worse_on_1000_questions_but_not_on_20():
    rule = ChoiceConfig(rule=ChoiceRule.CHEAPEST_WITHIN, margin=0.01)
    many = choose(points_n_worse(1000, 0.005, 1), [1, 2], budget=1000, rule=rule)
    assert many.number == 1 and many.best == 2 and many.loss_bound < 0.01 and many.tokens_saved == 200.0
    assert many.accuracy_diff == pytest.approx(-0.005)
    few = choose(points_n_worse(20, 0.005, 10), [1, 2], budget=1000, rule=rule)
    assert few.number == 2 == few.best  # 20 questions cannot show a loss under 0.01: the best is kept
    # a wider margin, shown on the same 20 questions, takes the cheap point
    wide = choose(points_n_worse(20, 0.005, 10), [1, 2], budget=1000, rule=ChoiceConfig(rule=ChoiceRule.CHEAPEST_WITHIN, margin=0.2))
    assert wide.number == 1


def test_identical_outcomes_on_few_questions_are_no_evidence_of_equivalence():
    from mi_search.search.statistics.choice import accuracy_loss

    same = [QuestionOutcome(f"h{i}", 1, 1, 10.0) for i in range(20)]
    assert accuracy_loss(same, same).mean == 0.0 and not accuracy_loss(same, same).within(0.01)
    many = [QuestionOutcome(f"h{i}", 1, 1, 10.0) for i in range(1000)]
    assert accuracy_loss(many, many).within(0.01)


def test_a_point_over_the_budget_is_never_chosen():
    assert choose([WORSE, TIED, BEST], [1, 2, 3], budget=250).number == 2
    assert choose([WORSE, TIED, BEST], [1, 2, 3], budget=150).number == 1
    assert choose([WORSE, TIED, BEST], [1, 2, 3], budget=90) is None


def test_feasibility_is_judged_on_search_and_held_out_questions_together():
    # BEST spent 300 on its 100 held-out questions; on 100 search questions 180 makes 240 on all 200
    cheap_on_search = replace(BEST, mean_tokens=180.0)
    assert choose([WORSE, TIED, cheap_on_search], [1, 2, 3], budget=250).number == 3
    # TIED spent 200 on held-out questions; 320 on search makes 260 on all: past a budget of 250
    dear_on_search = replace(TIED, mean_tokens=320.0)
    assert choose([WORSE, dear_on_search, replace(BEST, mean_tokens=400.0)], [1, 2, 3], budget=250).number == 1


# --- the choice on the study's accuracy objective ------------------------------------------------------

K = 4


def sampled(
    number: int, correct: int, tokens: float, *, votes: bool = True, objective: str = "accuracy", misses: int = 0
) -> TrialRecord:
    """A front point right `correct` times in k = 4 on every held-out question but the first `misses`
    (none right there); its majority vote is right wherever a sample is."""
    counts = [0 if i < misses else correct for i in range(N)]
    outcomes = tuple(
        QuestionOutcome(f"h{i}", c, K, tokens, 1.0, (c > 0) if votes else None) for i, c in enumerate(counts)
    )
    scores = {
        "accuracy": sum(counts) / K / N,
        "pass_at_k": sum(c > 0 for c in counts) / N,
        "vote_at_k": sum(c > 0 for c in counts) / N,
    }
    holdout = {**scores, "objective": scores[objective], "mean_tokens": tokens}
    return TrialRecord(
        number, {"lam": number / 10}, scores, scores[objective], tokens, N, True, True, number / 10, 0, None, holdout,
        None, holdout_outcomes=outcomes, objective=objective,
    )


def test_the_cheapest_point_tied_on_pass_at_k_is_chosen_where_mean_at_k_keeps_the_expensive_one():
    # Right twice in 4 at 300 tokens, or once (and never on one question) at 100: Mean@k 0.5 against
    # 0.2475, significantly below; Pass@k 1 against 0.99, one question below: tied.
    def points(objective: str) -> list[TrialRecord]:
        return [sampled(1, 1, 100.0, objective=objective, misses=1), sampled(2, 2, 300.0, objective=objective)]

    choice = choose(points("accuracy"), [1, 2], budget=1000, rule=ChoiceRule.CHEAPEST_TIED)
    assert choice.number == 2 and choice.best == 2
    choice = choose(points("pass_at_k"), [1, 2], budget=1000, rule=ChoiceRule.CHEAPEST_TIED, objective="pass_at_k")
    assert choice.number == 1 and choice.best == 2
    assert choice.accuracy_diff == pytest.approx(-0.01) and choice.accuracy_bound >= 0 and choice.tokens_saved == 200.0


def test_vote_at_k_points_stored_without_votes_are_chosen_by_best():
    records = [sampled(1, 1, 100.0, objective="vote_at_k"), sampled(2, 2, 300.0, votes=False, objective="vote_at_k")]
    choice = choose(records, [1, 2], budget=1000, rule=ChoiceRule.CHEAPEST_TIED, objective="vote_at_k")
    assert choice.number == choice.best and choice.accuracy_diff is None  # no paired test without votes
    with_votes = [sampled(1, 1, 100.0, objective="vote_at_k"), sampled(2, 2, 300.0, objective="vote_at_k")]
    assert choose(with_votes, [1, 2], budget=1000, rule=ChoiceRule.CHEAPEST_TIED, objective="vote_at_k").number == 1  # tied, cheaper


def test_a_records_intervals_are_over_its_objective():
    record = sampled(1, 1, 100.0, objective="pass_at_k")
    accuracy, tokens = record.intervals(holdout=True)
    assert accuracy.mean == 1.0 and tokens.mean == 100.0
    assert record.intervals(holdout=True, objective="accuracy")[0].mean == 0.25
    assert sampled(2, 1, 100.0, votes=False, objective="vote_at_k").intervals(holdout=True) is None


def test_outcomes_stored_before_votes_were_kept_read_back_without_one():
    import optuna

    from mi_search.search.store import trials

    old = {"ids": ["a", "b"], "correct": [1, 4], "samples": [4, 4], "tokens": [10.0, 20.0], "think": [0.0, 1.0]}
    frozen = optuna.trial.create_trial(values=[0.5, 15.0], user_attrs={"outcomes": old})
    outcomes = trials.outcomes_of(frozen)
    assert [(o.correct, o.vote_correct) for o in outcomes] == [(1, None), (4, None)]
    new = [QuestionOutcome("a", 1, 4, 10.0, 0.0, False), QuestionOutcome("b", 4, 4, 20.0, 1.0, True)]
    packed = trials._pack(new)
    assert packed == {**old, "vote": [0, 1]} and trials._unpack(packed) == tuple(new)


def test_the_knee_of_a_front_whose_cheapest_point_is_also_the_most_accurate_is_none():
    from mi_search.search.statistics.choice import knee

    # held-out scores can reorder a front: the cheapest point re-scores as the most accurate
    assert knee({1: (0.9, 50.0), 2: (0.8, 60.0), 3: (0.85, 70.0)}) is None
    assert knee({1: (0.5, 10.0), 2: (0.9, 20.0), 3: (0.95, 100.0)}) == 2
