"""The feasible Pareto front of accuracy (up) against mean tokens (down), and its hypervolume.

Computed here rather than by Optuna or its dashboard, which ignore constraints when drawing fronts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    accuracy: float
    mean_tokens: float
    feasible: bool = True


def dominates(a: Point, b: Point) -> bool:
    """`a` is at least as good in both objectives and better in one."""
    no_worse = a.accuracy >= b.accuracy and a.mean_tokens <= b.mean_tokens
    return no_worse and (a.accuracy > b.accuracy or a.mean_tokens < b.mean_tokens)


def pareto_front(points: Sequence[Point]) -> list[int]:
    """Indices of the feasible points no other feasible point dominates, fewest tokens first.

    Of several identical points only the first is kept, so the front lists each trade-off once.
    """
    feasible = [i for i, p in enumerate(points) if p.feasible]
    front = []
    for i in feasible:
        dominated = any(dominates(points[j], points[i]) for j in feasible if j != i)
        duplicate = any(points[j] == points[i] for j in front)
        if not dominated and not duplicate:
            front.append(i)
    return sorted(front, key=lambda i: (points[i].mean_tokens, -points[i].accuracy))


def hypervolume(points: Sequence[Point], budget: float) -> float:
    """Area dominated by the feasible front inside [0, budget] tokens × [0, 1] accuracy, over budget.

    1.0 would be perfect accuracy at zero tokens; points past the budget add nothing.
    """
    if budget <= 0:
        raise ValueError(f"budget must be positive, got {budget}")
    area, best_accuracy = 0.0, 0.0
    for i in pareto_front(points):  # fewest tokens first, so accuracy rises along the front
        point = points[i]
        if point.mean_tokens >= budget or point.accuracy <= best_accuracy:
            continue
        area += (point.accuracy - best_accuracy) * (budget - point.mean_tokens)
        best_accuracy = point.accuracy
    return area / budget
