"""Paired statistics: the decisions early stopping and the cheapest-tied choice rest on."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from mi_search.evaluation.samples import Sample
from mi_search.search.statistics.choice import cheapest_tied, not_significantly_below
from mi_search.search.statistics.intervals import (
    accuracy_interval,
    confidently_over_budget,
    mean_interval,
    tokens_interval,
)
from mi_search.search.statistics.outcomes import QuestionOutcome, outcomes_from_samples
from mi_search.search.statistics.paired import (
    confidently_dominated,
    confidently_worse,
    pair_outcomes,
    paired_difference,
    t_quantile,
)

K = 64


def trial(correct: list[int], tokens: list[float], *, prefix: str = "q", start: int = 0) -> list[QuestionOutcome]:
    return [
        QuestionOutcome(f"{prefix}{start + i}", c, K, t, 1.0) for i, (c, t) in enumerate(zip(correct, tokens))
    ]


def spread_trial(n: int, seed: int, *, shift: int = 0, token_shift: float = 0.0) -> list[QuestionOutcome]:
    """n questions of varied difficulty; `shift` adds correct samples per question (clipped to [0, k])."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, K + 1, size=n)
    tokens = rng.uniform(3000, 20000, size=n)
    return trial([int(min(K, max(0, c + shift))) for c in base], [t + token_shift for t in tokens])


# --- outcomes and the t quantile ------------------------------------------------------------------


def test_outcome_accuracy_and_validation() -> None:
    assert QuestionOutcome("a", 16, 64, 100.0).accuracy == 0.25
    for bad in (dict(correct=65, samples=64), dict(correct=-1, samples=64), dict(correct=0, samples=0)):
        with pytest.raises(ValueError):
            QuestionOutcome("a", mean_tokens=1.0, **bad)
    with pytest.raises(ValueError):
        QuestionOutcome("a", 1, 2, -1.0)
    with pytest.raises(ValueError):
        QuestionOutcome("a", 1, 2, 1.0, think_fraction=1.5)


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [(0.975, 10, 2.228138852), (0.95, 1, 6.313751515), (0.95, 29, 1.699127027), (0.5, 7, 0.0), (0.05, 4, -2.131846786)],
)
def test_t_quantile_known_values(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-7)


# --- the paired difference ------------------------------------------------------------------------


def test_paired_difference_matches_the_hand_computed_t_bound() -> None:
    a = trial([40, 50, 30, 60, 20], [1000, 1100, 900, 1200, 800])
    b = trial([32, 48, 20, 50, 18], [1200, 1000, 1000, 1300, 900])
    diffs = [(x - y) / K for x, y in zip([40, 50, 30, 60, 20], [32, 48, 20, 50, 18])]
    smoothed = [(c + 0.5) / (K + 1) for c in [40, 50, 30, 60, 20, 32, 48, 20, 50, 18]]
    floor = math.sqrt(sum(p * (1 - p) / K for p in smoothed)) / 5
    half = t_quantile(0.95, 4) * max(statistics.stdev(diffs) / math.sqrt(5), floor)
    result = paired_difference(a, b, metric="accuracy", side="lower", level=0.95)
    assert result.n == 5
    assert result.mean_diff == pytest.approx(statistics.fmean(diffs))
    assert result.bound == pytest.approx(statistics.fmean(diffs) - half)
    assert result.significant == (result.bound > 0)
    tokens = paired_difference(a, b, metric="tokens", side="upper", level=0.9)
    assert tokens.mean_diff == pytest.approx(-80.0)


def test_pairing_matches_ids_in_the_first_trials_order() -> None:
    a = trial([1, 2, 3], [1, 2, 3])
    b = list(reversed(trial([4, 5, 6, 7], [4, 5, 6, 7])))
    pairs = pair_outcomes(a, b)
    assert [(x.question_id, y.question_id) for x, y in pairs] == [("q0", "q0"), ("q1", "q1"), ("q2", "q2")]
    assert [y.correct for _, y in pairs] == [4, 5, 6]


def test_difference_is_antisymmetric() -> None:
    a, b = spread_trial(40, 1), spread_trial(40, 2)
    ab = paired_difference(a, b, metric="accuracy", side="lower")
    ba = paired_difference(b, a, metric="accuracy", side="upper")
    assert ab.mean_diff == pytest.approx(-ba.mean_diff)
    assert ab.bound == pytest.approx(-ba.bound)
    assert ab.significant == ba.significant


def test_duplicate_ids_and_bad_levels_are_errors() -> None:
    a = trial([1, 2], [1, 2])
    with pytest.raises(ValueError, match="twice"):
        pair_outcomes(a + a[:1], a)
    for level in (0.0, 1.0, 95):
        with pytest.raises(ValueError, match="level"):
            paired_difference(a, a, metric="accuracy", side="lower", level=level)


def test_zero_spread_small_accuracy_difference_is_not_certainty() -> None:
    """Three questions each one sample better: the binomial floor keeps this from reading as proof."""
    a, b = trial([33, 33, 33], [1, 1, 1]), trial([32, 32, 32], [1, 1, 1])
    result = paired_difference(a, b, metric="accuracy", side="lower")
    assert result.mean_diff == pytest.approx(1 / K)
    assert not result.significant and math.isfinite(result.bound)


def test_bootstrap_is_seeded_and_agrees_with_t_on_a_clear_case() -> None:
    better, worse = spread_trial(60, 3, shift=10), spread_trial(60, 3)
    one = paired_difference(better, worse, metric="accuracy", side="lower", method="bootstrap", seed=7)
    two = paired_difference(better, worse, metric="accuracy", side="lower", method="bootstrap", seed=7)
    t = paired_difference(better, worse, metric="accuracy", side="lower")
    assert one == two
    assert one.significant and t.significant


# --- early stopping --------------------------------------------------------------------------------


def hard_subset_case() -> tuple[list[QuestionOutcome], list[QuestionOutcome]]:
    """Incumbent: 200 questions, the first 50 hard. Challenger: scored only on those 50, better on each."""
    rng = np.random.default_rng(11)
    hard = rng.integers(5, 20, size=50)
    easy = rng.integers(50, 64, size=150)
    tokens = rng.uniform(8000, 12000, size=200)
    incumbent = trial([int(c) for c in [*hard, *easy]], list(tokens))
    challenger = trial([int(c) + 4 for c in hard], list(tokens[:50] + 50.0))  # more accurate, a bit longer
    return challenger, incumbent


def test_a_challenger_better_on_the_same_questions_is_never_stopped() -> None:
    challenger, incumbent = hard_subset_case()
    challenger_mean = statistics.fmean(o.accuracy for o in challenger)
    incumbent_mean = statistics.fmean(o.accuracy for o in incumbent)
    assert challenger_mean < incumbent_mean - 0.3  # an unpaired comparison would call it far worse
    for level in (0.5, 0.8, 0.95, 0.99):
        assert not confidently_worse(challenger, incumbent, level)
    assert not confidently_dominated(challenger, [incumbent, incumbent[:60]], 0.95)


def test_a_challenger_cheaper_on_the_same_questions_is_never_stopped() -> None:
    incumbent = spread_trial(100, 5)
    cheaper = [
        QuestionOutcome(o.question_id, max(0, o.correct - 20), K, o.mean_tokens * 0.9) for o in incumbent
    ]
    assert not confidently_worse(cheaper, incumbent, 0.95)


def test_a_clearly_worse_challenger_is_stopped() -> None:
    incumbent = spread_trial(30, 4, shift=0)
    challenger = spread_trial(30, 4, shift=-12, token_shift=800.0)
    assert confidently_worse(challenger, incumbent, 0.95)
    assert confidently_worse(challenger[:10], incumbent, 0.95)  # a first rung of 10 questions is enough here
    assert confidently_dominated(challenger, [spread_trial(30, 9), incumbent], 0.95)


def test_a_higher_level_stops_less() -> None:
    incumbent = spread_trial(40, 13)
    rng = np.random.default_rng(1)
    challenger = [
        QuestionOutcome(
            o.question_id,
            int(np.clip(o.correct - 3 + rng.integers(-4, 5), 0, K)),
            K,
            o.mean_tokens + 300 + float(rng.normal(0, 300)),
        )
        for o in incumbent
    ]
    decisions = [confidently_worse(challenger, incumbent, level) for level in (0.6, 0.8, 0.9, 0.95, 0.99, 0.9999)]
    assert decisions[0] and not decisions[-1]
    assert decisions == sorted(decisions, reverse=True)  # once kept, kept at every higher level


def test_less_accurate_but_not_confidently_longer_is_kept() -> None:
    incumbent = spread_trial(50, 6)
    rng = np.random.default_rng(0)
    challenger = [
        QuestionOutcome(o.question_id, max(0, o.correct - 15), K, o.mean_tokens + float(rng.normal(0, 500)))
        for o in incumbent
    ]
    assert paired_difference(challenger, incumbent, metric="accuracy", side="upper").significant
    assert not paired_difference(challenger, incumbent, metric="tokens", side="lower").significant
    assert not confidently_worse(challenger, incumbent, 0.95)


def with_one_question_changed(outcomes: list[QuestionOutcome], index: int, correct: int, tokens: float):
    changed = list(outcomes)
    changed[index] = QuestionOutcome(outcomes[index].question_id, correct, K, tokens)
    return changed


@pytest.mark.parametrize("index", [0, 57, 199])
@pytest.mark.parametrize(("correct", "tokens"), [(0, 0.0), (K, 0.0), (0, 40000.0), (K, 40000.0)])
def test_one_question_in_200_never_flips_a_decision(index: int, correct: int, tokens: float) -> None:
    base = spread_trial(200, 8)
    same_but_one = with_one_question_changed(base, index, correct, tokens)
    assert not confidently_worse(same_but_one, base, 0.95)
    assert not confidently_worse(base, same_but_one, 0.95)
    assert not_significantly_below(same_but_one, base, 0.95)
    assert not_significantly_below(base, same_but_one, 0.95)

    worse = spread_trial(200, 8, shift=-10, token_shift=600.0)
    assert confidently_worse(worse, base, 0.95)
    assert confidently_worse(with_one_question_changed(worse, index, correct, tokens), base, 0.95)
    assert not not_significantly_below(with_one_question_changed(worse, index, correct, tokens), base, 0.95)


def test_edge_cases_give_no_decision() -> None:
    one = trial([0], [50000])
    best = trial([64], [10])
    assert not confidently_worse(one, best, 0.95)  # n = 1: no evidence
    assert paired_difference(one, best, metric="accuracy", side="upper").bound == math.inf
    assert not_significantly_below(one, best, 0.95)
    identical = spread_trial(50, 12)
    assert not confidently_worse(identical, identical, 0.95)
    assert not_significantly_below(identical, identical, 0.95)
    assert paired_difference(identical, identical, metric="tokens", side="lower").mean_diff == 0.0


def test_disjoint_question_sets() -> None:
    a = trial([1, 2, 3], [1, 2, 3], prefix="a")
    b = trial([60, 60, 60], [1, 1, 1], prefix="b")
    assert not confidently_worse(a, b, 0.95)  # early stopping: no shared evidence, keep going
    with pytest.raises(ValueError, match="share no question"):
        paired_difference(a, b, metric="accuracy", side="lower")
    with pytest.raises(ValueError, match="share no question"):
        not_significantly_below(a, b, 0.95)


def test_over_budget_uses_the_lower_bound() -> None:
    rng = np.random.default_rng(2)
    outcomes = trial([32] * 50, list(rng.normal(1000, 100, size=50)))
    mean = statistics.fmean(o.mean_tokens for o in outcomes)
    assert confidently_over_budget(outcomes, mean - 60, 0.95)
    assert not confidently_over_budget(outcomes, mean - 5, 0.95)
    assert not confidently_over_budget(outcomes, mean + 1, 0.95)
    assert not confidently_over_budget(outcomes[:1], 0.0, 0.95)  # one question: no decision


# --- the cheapest-tied choice -----------------------------------------------------------------------


def test_cheapest_tied_picks_the_cheapest_point_not_significantly_below_the_best() -> None:
    best = spread_trial(60, 20, shift=6)
    candidates = {
        "best": best,
        "tied_cheaper": [QuestionOutcome(o.question_id, max(0, o.correct - (i % 2)), K, o.mean_tokens / 2)
                         for i, o in enumerate(best)],
        "much_worse_cheapest": [QuestionOutcome(o.question_id, max(0, o.correct - 25), K, 100.0) for o in best],
    }
    assert cheapest_tied(candidates, 0.95) == "tied_cheaper"
    assert cheapest_tied({"only": best}, 0.95) == "only"
    with pytest.raises(ValueError):
        cheapest_tied({}, 0.95)


# --- intervals and conversion ------------------------------------------------------------------------


def test_intervals() -> None:
    outcomes = trial([0, 32, 64, 16], [10, 20, 30, 1000])
    acc = accuracy_interval(outcomes, 0.95)
    assert acc.mean == pytest.approx(0.4375) and 0.0 <= acc.low < acc.mean < acc.high <= 1.0
    tokens = tokens_interval(outcomes, 0.95)
    half = t_quantile(0.975, 3) * statistics.stdev([10, 20, 30, 1000]) / 2
    assert tokens.mean == 265 and tokens.high == pytest.approx(265 + half)
    assert tokens.low == 0.0  # clipped
    single = mean_interval([5.0])
    assert single.low == -math.inf and single.high == math.inf
    with pytest.raises(ValueError):
        mean_interval([])


def test_outcomes_from_samples() -> None:
    rows = [
        [Sample("x", "p", "<think>a</think> \\boxed{1}", 10, "stop", "1", True),
         Sample("x", "p", "\\boxed{2}", 30, "stop", "2", False)],
        [Sample("y", "p", "\\boxed{3}", 5, "length", None, False)],
    ]
    x, y = outcomes_from_samples(rows)
    assert (x.question_id, x.correct, x.samples, x.mean_tokens, x.think_fraction) == ("x", 1, 2, 20.0, 0.5)
    assert (y.correct, y.samples, y.think_fraction) == (0, 1, 0.0)
    assert x.vote_correct is True and y.vote_correct is False  # a 1-1 tie goes to the earlier answer; none loses


# --- the study's accuracy objective, per question -----------------------------------------------------


def test_per_question_values_average_to_the_study_scores() -> None:
    from mi_search.evaluation.scores import ACCURACY_OBJECTIVES, score_samples

    rng = np.random.default_rng(5)
    k, rows = 4, []
    for q in range(40):
        answers = [str(a) for a in rng.integers(0, 3, size=k)]  # "0" is right; ties and majorities both occur
        rows.append([Sample(f"q{q}", "p", a, 10, "stop", a, a == "0") for a in answers])
    scores, outcomes = score_samples(rows, k), outcomes_from_samples(rows)
    for objective in ACCURACY_OBJECTIVES:
        assert statistics.fmean(o.value(objective) for o in outcomes) == pytest.approx(getattr(scores, objective))
    assert len({scores.accuracy, scores.pass_at_k, scores.vote_at_k}) == 3  # the three objectives differ here


def outcomes_of_k4(correct: list[int], tokens: float, votes: list[bool] | None = None) -> list[QuestionOutcome]:
    """k = 4 outcomes with a spread of lengths, so token differences have a spread too."""
    votes = votes or [c > 2 for c in correct]
    return [QuestionOutcome(f"q{i}", c, 4, tokens + i % 7, 1.0, v) for i, (c, v) in enumerate(zip(correct, votes))]


N_OBJ = 40
ALTERNATING = [2 if i % 2 == 0 else 0 for i in range(N_OBJ)]  # Mean@k 0.25, Pass@k 0.5


@pytest.mark.parametrize(
    ("challenger", "incumbent", "stops"),
    [
        # one right in 4 everywhere against two in 4: lower Mean@k, the same Pass@k (1 on every question)
        (outcomes_of_k4([1] * N_OBJ, 200), outcomes_of_k4([2] * N_OBJ, 100), {"accuracy": True, "pass_at_k": False}),
        # two right in 4 on half the questions, none on the rest, against one everywhere: the same
        # Mean@k, but Pass@k 0.5 against 1
        (outcomes_of_k4(ALTERNATING, 200), outcomes_of_k4([1] * N_OBJ, 100), {"accuracy": False, "pass_at_k": True}),
        # the same correct counts, but the majority answer is wrong where the incumbent's is right
        (
            outcomes_of_k4([2] * N_OBJ, 200, [False] * N_OBJ),
            outcomes_of_k4([2] * N_OBJ, 100, [True] * N_OBJ),
            {"accuracy": False, "vote_at_k": True},
        ),
    ],
)
def test_halving_pairs_on_the_studys_objective(challenger, incumbent, stops) -> None:
    for objective, expected in stops.items():
        assert confidently_worse(challenger, incumbent, 0.95, objective=objective) is expected, objective
        assert confidently_dominated(challenger, [incumbent], 0.95, objective=objective) is expected, objective


def test_the_choice_pairs_on_the_studys_objective() -> None:
    # An expensive point right twice in 4 everywhere, a cheap one once: Mean@k keeps the expensive
    # one; on Pass@k both are right on every question, so the cheap one is tied and taken.
    candidates = {"expensive": outcomes_of_k4([2] * N_OBJ, 300), "cheap": outcomes_of_k4([1] * N_OBJ, 100)}
    assert cheapest_tied(candidates, 0.95) == "expensive"
    assert cheapest_tied(candidates, 0.95, objective="accuracy") == "expensive"
    assert cheapest_tied(candidates, 0.95, objective="pass_at_k") == "cheap"
    assert not_significantly_below(candidates["cheap"], candidates["expensive"], objective="pass_at_k")
    assert not not_significantly_below(candidates["cheap"], candidates["expensive"], objective="accuracy")


def test_pass_and_vote_bounds_keep_the_noise_of_one_draw_per_question() -> None:
    # Identical differences (zero spread): the bound keeps the noise of one 0/1 draw per question and
    # trial, p smoothed to 1.5/2 or 0.5/2 (variance 0.1875), instead of collapsing onto the mean.
    a, b = outcomes_of_k4([1] * 4, 100, [True] * 4), outcomes_of_k4([0] * 4, 100, [False] * 4)
    floor = t_quantile(0.95, 3) * math.sqrt(8 * 0.1875) / 4
    for objective in ("pass_at_k", "vote_at_k"):
        diff = paired_difference(a, b, metric=objective, side="lower")
        assert diff.mean_diff == 1.0 and diff.bound == pytest.approx(1.0 - floor)
        assert not paired_difference(a[:2], b[:2], metric=objective, side="lower").significant  # two cannot show it


def test_outcomes_without_votes_give_no_vote_decision() -> None:
    new = outcomes_of_k4([4] * N_OBJ, 100)
    old = [QuestionOutcome(o.question_id, o.correct, o.samples, o.mean_tokens) for o in new]  # stored before votes
    worse = outcomes_of_k4([0] * N_OBJ, 200)
    assert confidently_worse(worse, old, 0.95)  # Mean@k needs no vote
    assert not confidently_worse(worse, old, 0.95, objective="vote_at_k")  # no evidence: keep going
    assert confidently_worse(worse, new, 0.95, objective="vote_at_k")
    with pytest.raises(ValueError, match="stored without its vote"):
        cheapest_tied({"old": old, "new": worse}, objective="vote_at_k")
