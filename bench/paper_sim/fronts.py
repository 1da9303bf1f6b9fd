"""The true (expected, noise-free) Pareto fronts a benchmark measures a study against, and their hypervolumes.

Kept apart because it is the reference, not the simulation: it reads the model's expected scores only, for
one global λ, for a search space's λ vectors, or for any λ vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mi_search.search.statistics.pareto import Point, hypervolume, pareto_front
from mi_search.search.settings.space import SearchSpace

from .model import PaperModel, _sigmoid
from .surface import _family

@dataclass(frozen=True)
class FrontPoint:
    accuracy: float
    mean_tokens: float
    think_lam: float
    quality_lam: float

    def point(self) -> Point:
        return Point(self.accuracy, self.mean_tokens)


def global_curve(model: PaperModel, grid: int = 201) -> list[FrontPoint]:
    """Expected (noise-free) accuracy and tokens of one λ everywhere, on a fine grid of [0, 1]."""
    lams = np.linspace(0.0, 1.0, grid)
    accuracy = _sigmoid(model.logits(lams, lams)).mean(axis=-1)
    return [FrontPoint(float(a), float(model.tokens_curve(x)), float(x), float(x)) for a, x in zip(accuracy, lams)]


def _pareto(points: Sequence[FrontPoint]) -> list[FrontPoint]:
    return [points[i] for i in pareto_front([p.point() for p in points])]


def space_generators(model: PaperModel, space: SearchSpace) -> np.ndarray:
    """(λ_T, λ_Q) contributed by each of the space's λ at 1 with the rest at 0: both are linear in them."""
    names = space.lambda_names()
    rows = []
    for name in names:
        spec = space.spec_for({other: float(other == name) for other in names})
        lambdas = model.plan.lambdas(spec)
        rows.append((sum(w * lambdas[n] for n, w in model.think_coef.items()),
                     sum(w * lambdas[n] for n, w in model.quality_coef.items())))
    return np.asarray(rows)


def per_group_generators(model: PaperModel) -> np.ndarray:
    """Generators when every module of every layer may take its own λ: the bound over any λ vector."""
    totals: dict[tuple[str | None, int | None], list[float]] = {}
    for name, role in model.plan.roles.items():
        if name in model.think_coef:
            pair = totals.setdefault((_family(role.module), role.layer), [0.0, 0.0])
            pair[0] += model.think_coef[name]
            pair[1] += model.quality_coef[name]
    return np.asarray(list(totals.values()))


def _chain(generators: np.ndarray, upper: bool) -> tuple[np.ndarray, np.ndarray]:
    """The upper (or lower) edge of the zonotope the generators span, as λ_Q over λ_T."""
    slope = np.where(generators[:, 0] > 0, generators[:, 1] / np.maximum(generators[:, 0], 1e-300), np.inf)
    order = np.argsort(-slope if upper else slope, kind="stable")
    points = np.vstack([[0.0, 0.0], np.cumsum(generators[order], axis=0)])
    xs, ys = [], []
    for x, y in points:  # a vertical step keeps the highest (upper) or lowest (lower) λ_Q at that λ_T
        if xs and abs(x - xs[-1]) < 1e-12:
            ys[-1] = max(ys[-1], y) if upper else ys[-1]
        else:
            xs.append(x)
            ys.append(y)
    return np.asarray(xs), np.asarray(ys)


def true_front(
    model: PaperModel, space: SearchSpace | None = None, *, any_vector: bool = False, grid: int = 401
) -> list[FrontPoint]:
    """The expected Pareto front: of one global λ (default), of `space`'s λ vectors, or of any λ vector.

    For a vector space this is exact up to the grid: tokens depend on λ_T alone, so for each λ_T on
    the grid the best λ_Q is found by a fine scan over the λ_Q the space can reach at that λ_T (the
    zonotope its generators span, see `space_generators`).
    """
    if space is None and not any_vector:
        return _pareto(global_curve(model, grid))
    generators = per_group_generators(model) if any_vector else space_generators(model, space)
    upper, lower = _chain(generators, True), _chain(generators, False)
    think = np.linspace(0.0, 1.0, grid)
    hi, lo = np.interp(think, *upper), np.interp(think, *lower)
    quality = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, 201)[None, :]
    accuracy = _sigmoid(model.logits(np.broadcast_to(think[:, None], quality.shape), quality)).mean(axis=-1)
    best = accuracy.argmax(axis=1)
    tokens = model.tokens_curve(think)
    points = [
        FrontPoint(float(accuracy[i, best[i]]), float(tokens[i]), float(think[i]), float(quality[i, best[i]]))
        for i in range(grid)
    ]
    return _pareto(points)


def front_hypervolume(points: Sequence[FrontPoint], budget: float) -> float:
    return hypervolume([p.point() for p in points], budget)
