"""The stage rule on a sweep shaped like the paper's, shuffled, with missing measurements, and at its edges."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from mi_search.evaluation.stages import (
    ACCURACY_TOLERANCE,
    THINK_ONSET,
    THINK_SATURATED,
    StageLabel,
    StagePoint,
    label_stages,
    stage3_start,
    stage_of,
)

# λ, Think #R, accuracy, mean tokens: answers lengthen without thinking, thinking switches on and
# accuracy climbs, then Think #R saturates, accuracy peaks at λ=0.8 and dips while tokens keep growing.
PAPER_LIKE = [
    StagePoint(0.0, 0.00, 0.30, 400),
    StagePoint(0.1, 0.00, 0.32, 450),
    StagePoint(0.2, 0.02, 0.35, 520),
    StagePoint(0.3, 0.05, 0.36, 600),
    StagePoint(0.4, 0.40, 0.50, 1500),
    StagePoint(0.5, 0.85, 0.65, 2500),
    StagePoint(0.6, 0.995, 0.72, 3200),  # saturated, yet accuracy is still climbing: stage 2
    StagePoint(0.7, 1.00, 0.79, 3800),  # within tolerance of the plateau: stage 3 starts
    StagePoint(0.8, 1.00, 0.80, 4200),  # the best stage-3 point
    StagePoint(0.9, 1.00, 0.78, 4800),  # more tokens, less accuracy: overthinking
    StagePoint(1.0, 1.00, 0.76, 5200),  # overthinking
]
PAPER_STAGES = [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3]
PAPER_OVERTHINKING = [False] * 9 + [True, True]


def _stages(labels: list[StageLabel]) -> list[int]:
    return [label.stage for label in labels]


def _flags(labels: list[StageLabel]) -> list[bool]:
    return [label.overthinking for label in labels]


def test_paper_like_sweep():
    labels = label_stages(PAPER_LIKE)
    assert _stages(labels) == PAPER_STAGES
    assert _flags(labels) == PAPER_OVERTHINKING


def test_stage_3_point_with_fewer_tokens_than_the_best_is_not_overthinking():
    assert not label_stages(PAPER_LIKE)[7].overthinking  # λ=0.7: lower accuracy but cheaper than the best


def test_unsorted_input_gets_labels_in_input_order():
    order = [9, 2, 10, 0, 6, 4, 7, 1, 8, 5, 3]
    labels = label_stages([PAPER_LIKE[i] for i in order])
    assert _stages(labels) == [PAPER_STAGES[i] for i in order]
    assert _flags(labels) == [PAPER_OVERTHINKING[i] for i in order]


def test_without_accuracy_every_saturated_point_is_stage_3_and_nothing_is_flagged():
    points = [StagePoint(p.lam, p.think_ratio) for p in PAPER_LIKE]
    labels = label_stages(points)
    assert _stages(labels) == [1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3]
    assert not any(_flags(labels))


def test_accuracy_missing_on_one_saturated_point_disables_the_plateau_split():
    points = list(PAPER_LIKE)
    points[9] = replace(points[9], accuracy=None)
    assert _stages(label_stages(points))[6] == 3


def test_without_tokens_stages_still_split_but_nothing_is_flagged():
    points = [replace(p, mean_tokens=None) for p in PAPER_LIKE]
    labels = label_stages(points)
    assert _stages(labels) == PAPER_STAGES
    assert not any(_flags(labels))


def test_think_ratio_thresholds_are_inclusive_where_documented():
    assert stage_of(0.0) == 1
    assert stage_of(THINK_ONSET - 1e-6) == 1
    assert stage_of(THINK_ONSET) == 2
    assert stage_of(THINK_SATURATED - 1e-6) == 2
    assert stage_of(THINK_SATURATED) == 3
    assert stage_of(1.0) == 3


def test_saturation_means_think_ratio_near_one_as_in_the_paper():
    # Wu et al. call Think #R of 93.8 % and 97.1 % stage 2; their stage-3 points all sit at >= 99.6 %.
    assert stage_of(0.938) == 2 and stage_of(0.971) == 2
    assert stage_of(0.996) == 3 and stage_of(0.999) == 3


def test_a_comparison_decides_the_stage_3_start_and_the_flag():
    class Strict:  # nothing is tied unless equal, and every lower accuracy at more tokens is beaten
        def tied(self, point, best):
            return point.accuracy == best.accuracy

        def beaten(self, point, best):
            return point.mean_tokens > best.mean_tokens and point.accuracy < best.accuracy

    class Lenient:  # every pair is tied and none is beaten: no flag can come from noise
        def tied(self, point, best):
            return True

        def beaten(self, point, best):
            return False

    assert _stages(label_stages(PAPER_LIKE, Strict()))[6:] == [2, 2, 3, 3, 3]
    lenient = label_stages(PAPER_LIKE, Lenient())
    assert _stages(lenient)[6:] == [3, 3, 3, 3, 3] and not any(_flags(lenient))


def test_accuracy_exactly_at_the_tolerance_starts_stage_3():
    plateau = 0.80
    points = [
        StagePoint(0.6, 1.0, plateau - ACCURACY_TOLERANCE - 1e-4),
        StagePoint(0.7, 1.0, plateau - ACCURACY_TOLERANCE),
        StagePoint(0.8, 1.0, plateau),
    ]
    assert _stages(label_stages(points)) == [2, 3, 3]


def test_a_dip_after_stage_3_starts_stays_stage_3():
    points = [StagePoint(0.7, 1.0, 0.80, 100), StagePoint(0.8, 1.0, 0.40, 200), StagePoint(0.9, 1.0, 0.79, 300)]
    assert label_stages(points) == [StageLabel(3, False), StageLabel(3, True), StageLabel(3, True)]


def test_best_point_ties_go_to_fewer_tokens_and_equal_accuracy_is_not_overthinking():
    points = [StagePoint(0.8, 1.0, 0.8, 500), StagePoint(0.9, 1.0, 0.8, 300), StagePoint(1.0, 1.0, 0.7, 400)]
    # The best is λ=0.9 (same accuracy, fewer tokens); λ=0.8 costs more but is not less accurate.
    assert _flags(label_stages(points)) == [False, False, True]


def test_duplicate_lambda_at_the_stage_3_start_share_its_stage():
    points = [
        StagePoint(0.5, 0.95, 0.60, 100),
        StagePoint(0.7, 1.0, 0.70, 300),
        StagePoint(0.7, 1.0, 0.80, 200),
        StagePoint(0.9, 1.0, 0.79, 250),
    ]
    labels = label_stages(points)
    assert _stages(labels) == [2, 3, 3, 3]
    assert _flags(labels) == [False, True, False, True]


def test_single_points_and_empty_input():
    assert label_stages([]) == []
    assert label_stages([StagePoint(1.0, 1.0, 0.5, 1000)]) == [StageLabel(3, False)]
    assert label_stages([StagePoint(0.0, 0.0, 0.5, 1000)]) == [StageLabel(1, False)]


def test_no_saturated_points_means_no_stage_3():
    points = [StagePoint(0.0, 0.0, 0.3, 100), StagePoint(0.5, 0.5, 0.6, 900), StagePoint(1.0, 0.89, 0.5, 2000)]
    assert label_stages(points) == [StageLabel(1, False), StageLabel(2, False), StageLabel(2, False)]


@pytest.mark.parametrize("bad", [1.2, -0.1, 35.0, math.nan])
def test_think_ratio_outside_unit_interval_names_lambda_and_value(bad):
    with pytest.raises(ValueError, match=r"λ=0\.5") as caught:
        label_stages([StagePoint(0.0, 0.0), StagePoint(0.5, bad)])
    assert str(bad) in str(caught.value)
    with pytest.raises(ValueError):
        stage_of(bad)


def test_nan_lambda_or_accuracy_is_rejected():
    with pytest.raises(ValueError, match="λ"):
        label_stages([StagePoint(math.nan, 0.5)])
    with pytest.raises(ValueError, match="accuracy"):
        label_stages([StagePoint(0.5, 1.0, math.nan, 10)])


def _outcomes(correct: list[int], tokens: float):
    from mi_search.search.statistics.outcomes import QuestionOutcome

    return tuple(QuestionOutcome(f"q{i:04d}", c, 1, tokens, 1.0, bool(c)) for i, c in enumerate(correct))


@pytest.mark.parametrize(
    ("questions", "starts_early"),
    [(20, False), (2000, True)],
    ids=["20 questions show nothing", "2000 questions show equivalence"],
)
def test_the_stage3_start_needs_evidence_of_equivalence(questions, starts_early):
    """A saturated point that misses one question the plateau answers starts stage 3 only when the questions
    can show it is within the margin: on 20 questions its unseen loss could be 15 points (rule of three)."""
    from mi_search.search.report.results import PairedComparison

    answers = [i % 2 for i in range(questions)]
    plateau = [1] + answers[1:]  # one more right answer
    points = [
        StagePoint(0.2, 0.0, 0.2, 100),
        StagePoint(0.6, 1.0, sum(answers) / questions, 300, _outcomes(answers, 300)),
        StagePoint(0.8, 1.0, sum(plateau) / questions, 400, _outcomes(plateau, 400)),
    ]
    start = stage3_start(points, PairedComparison(0.95))
    assert start == (0.6 if starts_early else 0.8)


def test_a_saturated_point_a_little_worse_on_many_questions_is_not_tied():
    """On 2,000 questions a point 5 points below the plateau is shown outside the margin: stage 2."""
    from mi_search.search.report.results import PairedComparison

    plateau = [1 if i % 2 == 0 else 0 for i in range(2000)]
    worse = [c if i % 20 else 0 for i, c in enumerate(plateau)]  # loses every 10th correct answer: −0.05
    points = [StagePoint(0.6, 1.0, 0.45, 300, _outcomes(worse, 300)), StagePoint(0.8, 1.0, 0.5, 400, _outcomes(plateau, 400))]
    assert stage3_start(points, PairedComparison(0.95)) == 0.8
