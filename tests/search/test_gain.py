"""The optimistic hypervolume gain behind early stopping, on per-question outcomes chosen question by question."""

from __future__ import annotations

import pytest

from mi_search.search.statistics.gain import Incumbent, at_least_as_good, optimistic_gain, paired_estimate
from mi_search.search.statistics.outcomes import QuestionOutcome

N = 40
BUDGET = 500


def outcomes(right: set[int], tokens: float, questions: range = range(N), k: int = 8) -> list[QuestionOutcome]:
    """k of k right on the questions in `right`, none elsewhere, `tokens` per answer."""
    return [QuestionOutcome(f"q{i:02d}", k if i in right else 0, k, tokens) for i in questions]


def share(n: int, every: int) -> set[int]:
    return {i for i in range(n) if i % every != 0}


CHEAP = Incumbent(0, 0.5, 100.0, outcomes(set(range(0, N, 2)), 100.0))  # half right at 100 tokens
RICH = Incumbent(1, 0.9, 300.0, outcomes(share(N, 10), 300.0))  # 90 % right at 300 tokens
FRONT = [CHEAP, RICH]


def test_a_trial_better_on_the_same_questions_than_a_front_point_is_never_stopped():
    # One more question right than CHEAP, at its tokens: its optimistic gain is tiny, but it would take
    # CHEAP's place on the front, so no gain threshold may stop it; the same holds for a tie.
    better = outcomes(set(range(0, N, 2)) | {1}, 100.0)
    assert at_least_as_good(better, CHEAP.outcomes, "accuracy")
    assert optimistic_gain(better, FRONT, BUDGET) is None
    assert optimistic_gain(outcomes(set(range(0, N, 2)), 100.0), FRONT, BUDGET) is None
    cheaper = outcomes(set(range(0, N, 2)), 99.0)[:10]  # on the first rung's 10 questions only
    assert optimistic_gain(cheaper, FRONT, BUDGET) is None


def test_a_hopeless_trial_adds_nothing_even_at_its_best_case():
    # Right on a subset of RICH's questions (6 fewer of the first 20), more tokens: its optimistic point
    # is dominated by RICH.
    hopeless = outcomes(share(N, 10) - {1, 2, 3, 5, 6, 7}, 380.0)[:20]
    gain = optimistic_gain(hopeless, FRONT, BUDGET)
    assert gain is not None and gain.share == 0.0
    assert gain.accuracy < RICH.accuracy and gain.mean_tokens > RICH.mean_tokens  # RICH dominates its best case


def test_a_trial_under_the_front_between_two_points_adds_a_sliver():
    # CHEAP's accuracy at nearly RICH's tokens: neither point beats it with confidence in both objectives,
    # yet at its best case it adds a sliver of the front's hypervolume: a stop at min_gain 1 %.
    between = outcomes(set(range(0, N, 2)), 290.0)
    gain = optimistic_gain(between, FRONT, BUDGET)
    assert gain is not None and 0.0 < gain.share < 0.01


def test_a_new_cheap_end_adds_much():
    cheap_end = outcomes(set(range(0, N, 4)), 40.0)
    gain = optimistic_gain(cheap_end, FRONT, BUDGET)
    assert gain is not None and gain.share > 0.05


def test_the_bound_is_paired_on_the_questions_scored_so_far():
    # On CHEAP's hard questions (the odd ones, all wrong) the challenger is as wrong as CHEAP: its partial
    # mean (0) is far below CHEAP's full mean (0.5), but paired it ties CHEAP on them, at CHEAP's tokens.
    hard = range(1, N, 2)
    challenger = outcomes(set(), 100.0, questions=hard)
    assert optimistic_gain(challenger, FRONT, BUDGET) is None


def test_no_evidence_is_no_stop():
    assert optimistic_gain(outcomes(set(), 900.0)[:1], FRONT, BUDGET) is None
    assert optimistic_gain(outcomes(set(), 900.0), [], BUDGET) is None


@pytest.mark.parametrize("level", [0.0, 1.0])
def test_a_level_outside_the_unit_interval_is_refused(level):
    with pytest.raises(ValueError, match="level"):
        optimistic_gain(outcomes(set(), 100.0), FRONT, BUDGET, level)


def test_the_paired_estimate_corrects_a_partial_mean_by_the_incumbents_full_score():
    # On CHEAP's odd (all wrong) questions a challenger right on a quarter of them: raw mean 0.25 there, but
    # paired with CHEAP (0.5 over all) it is 0.75, at CHEAP's tokens plus its 20 more.
    hard = range(1, N, 2)
    challenger = outcomes({i for i in hard if i % 8 == 1}, 120.0, questions=hard)
    estimate = paired_estimate(challenger, CHEAP)
    assert estimate.accuracy == pytest.approx(0.5 + 0.25) and estimate.mean_tokens == pytest.approx(120.0)
    assert paired_estimate(challenger, Incumbent(9, 0.5, 100.0, outcomes(set(), 100.0, questions=range(0, N, 2)))) is None


def test_the_decisive_question_is_the_one_most_in_a_stops_favour_and_nothing_else_changes():
    from mi_search.search.statistics.paired import without_decisive_question

    front = [QuestionOutcome(q, 6, 8, 100.0) for q in "abcde"]
    given = [
        QuestionOutcome("a", 8, 8, 50.0),  # better than the front point here
        QuestionOutcome("b", 3, 8, 90.0),
        QuestionOutcome("c", 1, 8, 120.0),  # 5 of 8 worse: the decisive one
        QuestionOutcome("d", 1, 8, 110.0),  # as far behind, but 10 tokens cheaper than c
        QuestionOutcome("z", 0, 8, 300.0),  # the front point never scored it: not paired, kept
    ]
    assert without_decisive_question(given, front, "accuracy") == [given[i] for i in (0, 1, 3, 4)]
    assert without_decisive_question(given, [], "accuracy") == given  # nothing shared: nothing to leave out
