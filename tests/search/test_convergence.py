"""The stopping rule of `trials: auto`: the last trials' hypervolume gain against the front's noise over questions."""

from __future__ import annotations

import numpy as np
import pytest

from mi_search.search.statistics.convergence import convergence, hypervolumes
from mi_search.search.statistics.outcomes import QuestionOutcome
from mi_search.search.statistics.pareto import Point, hypervolume

BUDGET = 100.0


def trial(correct: list[int], tokens: float, *, samples: int = 1, tag: str = "q") -> list[QuestionOutcome]:
    """Per-question outcomes: `correct[i]` of `samples` right on question i, every question at `tokens`."""
    return [QuestionOutcome(f"{tag}{i}", c, samples, tokens) for i, c in enumerate(correct)]


def answers(n: int, accuracy: float, seed: int) -> list[int]:
    """n questions of which round(accuracy·n) are right, in a shuffled order."""
    right = np.zeros(n, int)
    right[: round(accuracy * n)] = 1
    return list(np.random.default_rng(seed).permutation(right))


def test_batched_hypervolume_is_the_front_hypervolume() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 9))
        accuracy, tokens = rng.random(n).round(1), rng.integers(0, 130, n).astype(float)
        expected = hypervolume([Point(a, t) for a, t in zip(accuracy, tokens)], BUDGET)
        assert hypervolumes(accuracy, tokens, BUDGET) == pytest.approx(expected, abs=1e-12)
    stacked = hypervolumes(np.array([[0.5, 0.8], [0.5, 0.8]]), np.array([[10.0, 50.0], [10.0, 120.0]]), BUDGET)
    assert stacked == pytest.approx([0.5 * 0.9 + 0.3 * 0.5, 0.5 * 0.9])  # past the budget: nothing


def test_a_last_trial_that_opens_a_new_region_of_the_front_is_beyond_the_noise() -> None:
    """Seeds at 20 and 80 tokens, then a cheap point as accurate as the expensive one: a large, clear gain."""
    n = 200
    earlier = [trial(answers(n, 0.3, 1), 20.0), trial(answers(n, 0.6, 2), 80.0), trial(answers(n, 0.5, 3), 90.0)]
    new = trial(answers(n, 0.6, 4), 30.0)
    evidence = convergence([*earlier, new], BUDGET, window=1)
    assert evidence.gain == pytest.approx(0.3 * 0.7 - 0.3 * 0.2, abs=1e-9)  # it adds (0.6 − 0.3) × (70 − 20) / 100
    assert evidence.gain > 5 * evidence.noise and not evidence.converged


def test_trials_that_add_nothing_converge_whatever_the_noise() -> None:
    """Dominated points add no hypervolume: gain 0, converged; trials stopped early (None) are passed over."""
    n = 30
    front = [trial(answers(n, 0.3, 1), 20.0), trial(answers(n, 0.6, 2), 80.0)]
    dominated = [trial(answers(n, 0.25, 3), 60.0), trial(answers(n, 0.2, 4), 90.0)]
    evidence = convergence([*front, dominated[0], None, dominated[1], None], BUDGET, window=2)
    assert evidence.gain == pytest.approx(0.0, abs=1e-12) and evidence.converged
    assert "within its noise" in evidence.describe() and "30 questions" in evidence.describe()


def test_trials_stopped_early_do_not_fill_the_window() -> None:
    """Proposals the budget refused after the seeds: the last fully scored trial still counts, and it added a
    clear part of the front; nor can a study whose only points are the window's converge."""
    n = 200
    seeds = [trial(answers(n, 0.3, 1), 20.0), trial(answers(n, 0.7, 2), 50.0)]
    evidence = convergence([*seeds, None, None, None, None], BUDGET, window=1)
    assert evidence.full == 2 and not evidence.converged
    assert evidence.gain == pytest.approx(0.4 * 0.5, abs=1e-9)
    alone = convergence([seeds[0], None], BUDGET, window=1)
    assert alone.full == 1 and not alone.converged


def test_the_same_small_gain_is_noise_on_few_questions_and_real_on_many() -> None:
    """A last point 5 points more accurate than the front at equal tokens: within the noise of 20
    questions, beyond that of 4,000 (the noise falls as 1/√n, the gain does not)."""

    def study(n: int) -> list[list[QuestionOutcome]]:
        cheap = trial(answers(n, 0.40, 11), 20.0)
        dear = answers(n, 0.60, 12)
        better = list(dear)
        wrong = [i for i, c in enumerate(dear) if not c][: round(0.05 * n)]  # the same questions, 5 % more right
        for i in wrong:
            better[i] = 1
        return [cheap, trial(dear, 60.0), trial(better, 60.0)]

    few, many = convergence(study(20), BUDGET, window=1), convergence(study(4000), BUDGET, window=1)
    assert few.gain == pytest.approx(many.gain, rel=0.05) and few.gain > 0
    assert few.converged and not many.converged
    assert many.noise < few.noise / 5


def test_the_noise_is_paired_over_questions() -> None:
    """Two points whose outcomes differ only in tokens: the bootstrap draws the same questions for both, so the
    cheaper one always dominates and the gain of the costlier one is zero in every resample."""
    n = 50
    right = answers(n, 0.5, 5)
    evidence = convergence([trial(right, 30.0), trial(right, 40.0)], BUDGET, window=1)
    assert evidence.gain == 0.0 and evidence.converged


def test_only_questions_every_trial_scored_are_compared() -> None:
    a = trial([1, 0, 1, 1], 10.0)
    b = trial([1, 1, 1, 1], 10.0)[:2]  # two questions shared
    evidence = convergence([a, b], BUDGET, window=1)
    assert evidence.questions == 2
    with pytest.raises(ValueError, match="share no scored question"):
        convergence([a, trial([1], 10.0, tag="other")], BUDGET)
    with pytest.raises(ValueError, match="window must be at least 1"):
        convergence([a], BUDGET, window=0)
