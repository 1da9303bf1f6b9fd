"""The choice among re-scored front points: cheapest-tied (paired on held-out questions) or best."""

from __future__ import annotations

from mi_search.search.config import ChoiceRule
from mi_search.search.paired import QuestionOutcome
from mi_search.search.results import choose
from mi_search.search.trials import TrialRecord

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
