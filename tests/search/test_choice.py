"""The choice among re-scored front points: cheapest-tied (paired on held-out questions) or best."""

from __future__ import annotations

import pytest

from mi_search.search.settings.config import ChoiceRule
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
    choice = choose([WORSE, TIED, BEST], [1, 2, 3], budget=1000)
    assert choice.number == 2 and choice.best == 3 and choice.rule is ChoiceRule.CHEAPEST_TIED
    assert choice.accuracy_diff == -0.01 and choice.accuracy_bound >= 0 and choice.tokens_saved == 100.0


def test_best_keeps_the_most_accurate_point():
    assert choose([WORSE, TIED, BEST], [1, 2, 3], budget=1000, rule=ChoiceRule.BEST).number == 3


def test_a_point_over_budget_on_held_out_questions_is_never_chosen():
    assert choose([WORSE, TIED, BEST], [1, 2, 3], budget=250).number == 2
    assert choose([WORSE, TIED, BEST], [1, 2, 3], budget=150).number == 1


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

    choice = choose(points("accuracy"), [1, 2], budget=1000)
    assert choice.number == 2 and choice.best == 2
    choice = choose(points("pass_at_k"), [1, 2], budget=1000, objective="pass_at_k")
    assert choice.number == 1 and choice.best == 2
    assert choice.accuracy_diff == pytest.approx(-0.01) and choice.accuracy_bound >= 0 and choice.tokens_saved == 200.0


def test_vote_at_k_points_stored_without_votes_are_chosen_by_best():
    records = [sampled(1, 1, 100.0, objective="vote_at_k"), sampled(2, 2, 300.0, votes=False, objective="vote_at_k")]
    choice = choose(records, [1, 2], budget=1000, objective="vote_at_k")
    assert choice.number == choice.best and choice.accuracy_diff is None  # no paired test without votes
    with_votes = [sampled(1, 1, 100.0, objective="vote_at_k"), sampled(2, 2, 300.0, objective="vote_at_k")]
    assert choose(with_votes, [1, 2], budget=1000, objective="vote_at_k").number == 1  # tied on the vote, cheaper


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
