"""The paper's metrics: Pass@k against hand counts and brute force, Vote@k ties, Think #R, truncation."""

from __future__ import annotations

from itertools import combinations
from math import comb

import pytest

from mi_search.evaluation.metrics import (
    THINK_CLOSE,
    mean_at_k,
    mean_pass_at_k,
    mean_tokens,
    pass_at_k,
    think_ratio,
    truncation_rate,
    vote_at_k,
)


def _brute_pass_at_k(n: int, c: int, k: int) -> float:
    """Share of all k-subsets of n samples (the first c correct) that hold a correct one."""
    subsets = list(combinations(range(n), k))
    return sum(any(i < c for i in subset) for subset in subsets) / len(subsets)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (4, 1, 1, 0.25),
        (4, 1, 2, 0.5),
        (10, 3, 5, 1 - 21 / 252),
        (10, 3, 5, 1 - comb(7, 5) / comb(10, 5)),
        (16, 0, 4, 0.0),
        (5, 5, 1, 1.0),
    ],
)
def test_pass_at_k_hand_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 2, 2), (6, 1, 3), (7, 3, 4), (8, 4, 1), (8, 2, 8), (9, 0, 3)])
def test_pass_at_k_matches_brute_force(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(_brute_pass_at_k(n, c, k), abs=1e-12)


def test_pass_at_k_is_one_when_every_subset_must_hold_a_correct_sample():
    assert pass_at_k(4, 3, 2) == 1.0  # n − c = 1 < k
    assert pass_at_k(8, 1, 8) == 1.0


def test_pass_at_k_large_n_stays_finite_and_close_to_exact():
    assert pass_at_k(1000, 7, 50) == pytest.approx(1 - comb(993, 50) / comb(1000, 50), rel=1e-9)


@pytest.mark.parametrize(("n", "c", "k"), [(4, 1, 5), (4, 5, 1), (-1, 0, 1), (4, -1, 1), (4, 1, -1)])
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_mean_at_k_averages_per_question_shares_not_all_samples():
    # 1/4 and 2/2 → (0.25 + 1.0) / 2, whereas pooling all samples would give 3/6.
    assert mean_at_k([[True, False, False, False], [True, True]]) == pytest.approx(0.625)


def test_mean_pass_at_k_averages_over_questions():
    correct = [[True, False, False, False], [False] * 4, [True] * 4]
    assert mean_pass_at_k(correct, 2) == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    with pytest.raises(ValueError):
        mean_pass_at_k(correct, 5)


def test_vote_majority_wins_even_when_its_first_sample_is_later():
    answers = [["1", "2", "2", "3"]]
    assert vote_at_k(answers, [[True, True, False, False]]) == 1.0  # "2" wins; its first sample is right
    assert vote_at_k(answers, [[True, False, True, True]]) == 0.0  # "2" wins; its first sample is wrong


def test_vote_tie_goes_to_the_answer_seen_first():
    answers = [["7", "5", "5", "7"]]
    assert vote_at_k(answers, [[True, False, False, True]]) == 1.0
    assert vote_at_k(answers, [[False, True, True, False]]) == 0.0


def test_vote_ignores_none_and_scores_zero_when_nothing_was_extracted():
    answers = [[None, None, "4"], [None, None, None]]
    assert vote_at_k(answers, [[False, False, True], [False, False, False]]) == pytest.approx(0.5)
    # None never wins a vote, however common.
    assert vote_at_k([[None, None, "4", "5"]], [[False, False, False, True]]) == 0.0


def test_vote_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        vote_at_k([["1"]], [[True], [False]])
    with pytest.raises(ValueError):
        vote_at_k([["1", "2"]], [[True]])


def test_mean_tokens_pools_all_responses():
    assert mean_tokens([[10, 20, 30], [100]]) == pytest.approx(40.0)


def test_think_ratio_counts_responses_that_close_thinking():
    texts = [[f"<think>a{THINK_CLOSE}b", "plain answer"], ["<think>cut off before closing", f"x{THINK_CLOSE}"]]
    assert THINK_CLOSE == "</think>"
    assert think_ratio(texts) == pytest.approx(0.5)


def test_truncation_rate_counts_length_stops_only():
    assert truncation_rate([["stop", "length"], ["length", "stop"], ["eos", "stop"]]) == pytest.approx(2 / 6)


@pytest.mark.parametrize(
    "call",
    [
        lambda: mean_at_k([]),
        lambda: mean_pass_at_k([], 1),
        lambda: vote_at_k([], []),
        lambda: mean_tokens([]),
        lambda: think_ratio([]),
        lambda: truncation_rate([]),
        lambda: mean_tokens([[], []]),
        lambda: mean_at_k([[True], []]),
    ],
)
def test_no_questions_or_samples_is_an_error(call):
    with pytest.raises(ValueError, match="no "):
        call()
