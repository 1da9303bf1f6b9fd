"""The stopping rule of `trials: auto`: the last trials' hypervolume gain, shown below a margin by a paired bound."""

from __future__ import annotations

import numpy as np
import pytest

from mi_search.search.statistics.convergence import convergence, hypervolumes
from mi_search.search.statistics.outcomes import QuestionOutcome
from mi_search.search.statistics.pareto import Point, hypervolume

BUDGET = 100.0
MARGIN = 0.01


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
    evidence = convergence([*earlier, new], BUDGET, margin=MARGIN, window=1)
    assert evidence.gain == pytest.approx(0.3 * 0.7 - 0.3 * 0.2, abs=1e-9)  # it adds (0.6 − 0.3) × (70 − 20) / 100
    assert evidence.upper >= evidence.gain > MARGIN * evidence.hv and not evidence.converged


def test_trials_far_below_the_front_converge_and_near_ones_on_few_questions_do_not() -> None:
    """Points far below the front add nothing in any resample: converged, trials stopped early (None) passed
    over. Points just below it on 30 questions (5 points less accurate, other questions right) add nothing
    on the questions asked, but a resample can lift them onto the front: not shown converged."""
    n = 30
    front = [trial(answers(n, 0.3, 1), 20.0), trial(answers(n, 0.6, 2), 80.0)]
    far = [trial(answers(n, 0.0, 3), 60.0), trial(answers(n, 0.1, 4), 90.0)]
    evidence = convergence([*front, far[0], None, far[1], None], BUDGET, margin=MARGIN, window=2)
    assert evidence.gain == pytest.approx(0.0, abs=1e-12) and evidence.upper == 0.0 and evidence.converged
    assert "within 0.01 of its hypervolume" in evidence.describe() and "30 questions" in evidence.describe()
    near = [trial(answers(n, 0.25, 3), 60.0), trial(answers(n, 0.2, 4), 90.0)]
    evidence = convergence([*front, near[0], None, near[1], None], BUDGET, margin=MARGIN, window=2)
    assert evidence.gain == pytest.approx(0.0, abs=1e-12) and not evidence.converged


def test_trials_stopped_early_do_not_fill_the_window() -> None:
    """Proposals the budget refused after the seeds: the last fully scored trial still counts, and it added a
    clear part of the front; nor can a study whose only points are the window's converge."""
    n = 200
    seeds = [trial(answers(n, 0.3, 1), 20.0), trial(answers(n, 0.7, 2), 50.0)]
    evidence = convergence([*seeds, None, None, None, None], BUDGET, margin=MARGIN, window=1)
    assert evidence.full == 2 and not evidence.converged
    assert evidence.gain == pytest.approx(0.4 * 0.5, abs=1e-9)
    alone = convergence([seeds[0], None], BUDGET, margin=MARGIN, window=1)
    assert alone.full == 1 and not alone.converged


def tie(n: int, changed: float) -> list[list[QuestionOutcome]]:
    """Two seeds, then a last point as accurate as the dear seed at the same tokens, right on other questions:
    `changed` of the questions swap a right answer for a wrong one and as many the other way."""
    cheap, dear = trial(answers(n, 0.40, 11), 20.0), answers(n, 0.60, 12)
    swapped = list(dear)
    right = [i for i, c in enumerate(dear) if c][: round(changed * n)]
    wrong = [i for i, c in enumerate(dear) if not c][: round(changed * n)]
    for i, j in zip(right, wrong):
        swapped[i], swapped[j] = 0, 1
    return [cheap, trial(dear, 60.0), trial(swapped, 60.0)]


def test_a_tie_on_few_questions_is_no_evidence_of_convergence() -> None:
    """The last point adds nothing on the questions asked, but on 20 questions a resample can favour it by
    several points: its gain is not shown below the margin, so the study goes on. On 4,000 questions the
    same tie is shown to add less than 1 % of the hypervolume, and the study stops."""
    few, many = convergence(tie(20, 0.05), BUDGET, margin=MARGIN, window=1), convergence(
        tie(4000, 0.05), BUDGET, margin=MARGIN, window=1
    )
    assert few.gain == pytest.approx(0.0, abs=1e-12) and many.gain == pytest.approx(0.0, abs=1e-12)
    assert few.upper > MARGIN * few.hv and not few.converged
    assert "not shown within 0.01" in few.describe()
    assert many.upper <= MARGIN * many.hv and many.converged


def test_a_real_gain_above_the_margin_goes_on_and_one_below_it_stops() -> None:
    """On 4,000 questions the bound is tight: a last point 3 points more accurate at equal tokens adds 3 % of
    the hypervolume (go on); one 0.25 points more accurate adds 0.25 % (stop). The rule asks how
    much was added, not whether anything was."""

    def study(n: int, better: float) -> list[list[QuestionOutcome]]:
        cheap, dear = trial(answers(n, 0.40, 11), 20.0), answers(n, 0.60, 12)
        improved = list(dear)
        for i in [i for i, c in enumerate(dear) if not c][: round(better * n)]:
            improved[i] = 1
        return [cheap, trial(dear, 60.0), trial(improved, 60.0)]

    large = convergence(study(4000, 0.03), BUDGET, margin=MARGIN, window=1)
    small = convergence(study(4000, 0.0025), BUDGET, margin=MARGIN, window=1)
    assert large.gain > MARGIN * large.hv and not large.converged
    assert 0 < small.gain <= small.upper <= MARGIN * small.hv and small.converged
    assert convergence(study(4000, 0.0025), BUDGET, margin=MARGIN / 10, window=1).converged is False
    # The same last gain with 8 trials still to run: at that pace they could add 2-3 % (a slow, steady climb)
    ahead = convergence(study(4000, 0.0025), BUDGET, margin=MARGIN, window=1, remaining=8)
    assert ahead.pace == 8 and not ahead.converged and "8 more trials at that pace" in ahead.describe()


def test_the_noise_is_paired_over_questions() -> None:
    """Two points whose outcomes differ only in tokens: the bootstrap draws the same questions for both, so the
    cheaper one always dominates and the gain of the costlier one is zero in every resample."""
    n = 50
    right = answers(n, 0.5, 5)
    evidence = convergence([trial(right, 30.0), trial(right, 40.0)], BUDGET, margin=MARGIN, window=1)
    assert evidence.gain == 0.0 and evidence.converged


def test_only_questions_every_trial_scored_are_compared() -> None:
    a = trial([1, 0, 1, 1], 10.0)
    b = trial([1, 1, 1, 1], 10.0)[:2]  # two questions shared
    evidence = convergence([a, b], BUDGET, margin=MARGIN, window=1)
    assert evidence.questions == 2
    with pytest.raises(ValueError, match="share no scored question"):
        convergence([a, trial([1], 10.0, tag="other")], BUDGET, margin=MARGIN)
    with pytest.raises(ValueError, match="window must be at least 1"):
        convergence([a], BUDGET, margin=MARGIN, window=0)


def test_the_window_grows_with_the_numbers_searched_from_three_to_sixteen() -> None:
    """One trial per number searched past two (6 to 16): a profile study judged on 4 quiet trials had settled on
    the front's cheap end and stopped at 95 % of its front."""
    from mi_search.search.running.stopping import stop_window

    assert [stop_window(d) for d in (1, 2, 3, 8, 12, 72)] == [3, 3, 6, 8, 12, 16]
