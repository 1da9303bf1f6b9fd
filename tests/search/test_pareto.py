"""The feasible front and its hypervolume on hand-checked cases."""

from __future__ import annotations

import itertools
import random

import pytest

from mi_search.search.statistics.pareto import Point, dominates, hypervolume, pareto_front


def test_front_drops_dominated_and_infeasible_points():
    points = [
        Point(0.2, 30),  # 0: cheapest
        Point(0.1, 40),  # 1: dominated by 0
        Point(0.7, 100),  # 2
        Point(0.7, 120),  # 3: dominated by 2
        Point(1.0, 125),  # 4
        Point(1.0, 90, feasible=False),  # 5: would dominate 2 and 4, but is over budget
    ]
    assert pareto_front(points) == [0, 2, 4]


def test_front_keeps_one_of_identical_points():
    assert pareto_front([Point(0.5, 10), Point(0.5, 10)]) == [0]


def test_front_matches_brute_force_on_random_points():
    rng = random.Random(0)
    points = [Point(round(rng.random(), 1), rng.randint(1, 10), rng.random() < 0.8) for _ in range(40)]
    front = set(pareto_front(points))
    for i, point in enumerate(points):
        beaten = any(dominates(q, point) for q in points if q.feasible)
        if not point.feasible or beaten:
            assert i not in front
    for i, j in itertools.combinations(front, 2):
        assert not dominates(points[i], points[j]) and not dominates(points[j], points[i])


def test_hypervolume_by_hand():
    # Front (30 tok, 0.2), (100 tok, 0.7), (125 tok, 1.0) under a 200-token budget:
    # 0.2*170 + 0.5*100 + 0.3*75 = 34 + 50 + 22.5 = 106.5, over 200 = 0.5325.
    points = [Point(0.2, 30), Point(0.7, 100), Point(1.0, 125), Point(0.1, 40)]
    assert hypervolume(points, 200) == pytest.approx(0.5325)


def test_points_past_the_budget_add_nothing():
    inside = [Point(0.5, 50)]
    assert hypervolume(inside + [Point(1.0, 250)], 200) == hypervolume(inside, 200) == pytest.approx(0.375)


def test_hypervolume_grows_with_a_better_point_and_needs_a_positive_budget():
    base = [Point(0.5, 100)]
    assert hypervolume(base + [Point(0.6, 90)], 200) > hypervolume(base, 200)
    assert hypervolume([], 200) == 0.0
    with pytest.raises(ValueError):
        hypervolume(base, 0)
