"""Coarse to fine for the vector spaces: global λ first, then steps around the front in every dimension.

Why our own sampler: Optuna's GP slows down past ~16 numbers, and TPE, multivariate or not, samples
72 per-layer λ nearly independently from the start, so it spends its trials far from any front
point (the issue's measurement: 90-94 % of the `layers` front, below what 9 global λ hold). Optuna
has no trust-region sampler; BoTorch's TuRBO is single-objective and an optional extra.

Two phases, both read from the study's trials, so a resumed study or a worker continues them:

1. Coarse. A global λ is a point of every vector space (each tensor at one λ), so the study first
   holds `coarse_points` uniform vectors: what the evaluation store already scored in coarser
   spaces is warm-started into the study at no token cost and counts; the rest are proposed from a
   fixed bisection order of [0, 1], skipping λ already held. A study whose space has a modules plane
   runs the plane first (`sampling.module_plane`) and this phase not at all (`coarse_points=0`).
2. Fine. Each proposal perturbs one feasible front point (fully scored, drawn at random) by a normal
   step of the current radius, clipped to [0, 1], at one of three scales drawn with equal odds: every
   λ of a module together (all attention λ by one step, all MLP λ by another: the `modules` space's
   move), the λ of one third of the depth together (per module), or single λ (each moves with
   probability `min(1, active / dimension)`). Coarse moves find the directions a 72-λ space shares
   with small ones; single λ refine. The radius halves after every `patience` trials in a row that
   did not join the front (TuRBO's rule), down to `min_radius`, and is back to `radius` once one does.

Decoding parameters, when the space searches any, are sampled by the fallback (independent) sampler.
The front is given as a function (`store.trials.front_trials`), so this module imports nothing of the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from mi_search.search.settings.space import vector_position

Front = Callable[[optuna.Study], list[FrozenTrial]]  # the study's fully scored feasible front trials

COARSE_ORDER = (0.5, 0.25, 0.75, 0.625, 0.375, 0.875, 0.125, 0.0, 1.0)


class TrustRegionSampler(optuna.samplers.BaseSampler):
    """Uniform λ first, then normal steps around the front's points; see the module docstring."""

    def __init__(
        self,
        names: Sequence[str],
        front: Front,
        *,
        seed: int | None = None,
        coarse_points: int = 5,
        radius: float = 0.2,
        min_radius: float = 0.02,
        patience: int = 3,
        active: float = 8.0,
    ) -> None:
        self.names, self.front = list(names), front
        positions = [vector_position(n) for n in self.names]
        modules = sorted({p[0] for p in positions if p is not None})
        depth = {m: max(p[1] for p in positions if p is not None and p[0] == m) for m in modules}
        # module of each λ (a number; -1: a scalar λ, moved only singly) and its depth in [0, 1]
        self.parts = np.array([modules.index(p[0]) if p is not None else -1 for p in positions])
        self.depths = np.array([p[1] / max(depth[p[0]], 1) if p is not None else 0.0 for p in positions])
        self.coarse_points, self.radius, self.min_radius, self.patience, self.active = (
            coarse_points, radius, min_radius, patience, active,
        )
        self._rng = np.random.default_rng(seed)
        self._fallback = optuna.samplers.RandomSampler(seed=seed)

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._fallback.reseed_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {name: FloatDistribution(0.0, 1.0) for name in self.names}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        held = [t for t in study.get_trials(deepcopy=False) if all(n in t.params for n in self.names)]
        coarse = self._coarse(held)
        if coarse is not None:
            return {name: coarse for name in self.names}
        front = [t for t in self.front(study) if all(n in t.params for n in self.names)]
        if not front:
            return {name: float(self._rng.uniform()) for name in self.names}
        center = front[int(self._rng.integers(len(front)))]
        radius = self.current_radius(study, {t.number for t in front})
        x = np.array([center.params[n] for n in self.names])
        return {name: float(v) for name, v in zip(self.names, np.clip(x + self._step(radius), 0.0, 1.0))}

    def _step(self, radius: float) -> np.ndarray:
        """One move at a scale drawn with equal odds: whole modules, a third of the depth per module, single λ."""
        d = len(self.names)
        scale = int(self._rng.integers(3)) if (self.parts >= 0).any() else 2
        if scale < 2:
            groups = self.parts if scale == 0 else self.parts * 3 + np.minimum((self.depths * 3).astype(int), 2)
            if scale == 1:  # one third of the depth moves; the rest stays
                third = int(self._rng.integers(3))
                groups = np.where(np.minimum((self.depths * 3).astype(int), 2) == third, groups, -1)
            moves = {g: self._rng.normal(0.0, radius) for g in np.unique(groups) if g >= 0}
            return np.array([moves.get(g, 0.0) if g >= 0 else 0.0 for g in groups])
        move = self._rng.uniform(size=d) < min(1.0, self.active / d)
        if not move.any():
            move[int(self._rng.integers(d))] = True
        return np.where(move, self._rng.normal(0.0, radius, size=d), 0.0)

    def _coarse(self, held: list[FrozenTrial]) -> float | None:
        """The next uniform λ while the study holds fewer than `coarse_points` (any state but failed); else None."""
        uniform = {
            round(t.params[self.names[0]], 9)
            for t in held
            if t.state is not TrialState.FAIL and len({t.params[n] for n in self.names}) == 1
        }
        if len(uniform) >= self.coarse_points:
            return None
        return next((lam for lam in COARSE_ORDER if round(lam, 9) not in uniform), None)

    def current_radius(self, study: optuna.Study, front: set[int]) -> float:
        """`radius`, halved for every `patience` trials in a row since the last that is on the front now."""
        done = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number)
        misses = 0
        for t in reversed(done):
            if t.number in front:
                break
            misses += 1
        return max(self.min_radius, self.radius * 0.5 ** (misses // self.patience))

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)
