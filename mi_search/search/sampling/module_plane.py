"""Coarse to fine for the depth-resolved spaces (`blocks`, `profile`, `layers`): the modules plane first, then every λ.

A point whose attention λ are all one value and whose MLP λ are all another lies on the modules
plane: two numbers, split where the paper finds the split that matters (MLP weights carry the
thinking pattern, attention its quality). Searched in all its numbers from the start, a 72-λ space
spends its first trials on vectors far from any front, and an 8-λ GP on random vectors and then on
small moves at the front's cheap end.

So the first `plane_trials` trials (the study's `min_trials`: trials it runs before it may stop
anyway) are proposed on the plane: every finished trial that lies on it (the seeded uniform λ
included) is projected to (attention, MLP), a two-number GP proposes the next pair, and the pair is
spread over every block, knot or layer (in `blocks` the global λ of the weights outside the blocks
is a third number: the plane is then the `modules` space). Then the fine sampler (GP, or `trust` above 16 numbers) proposes in
every number, from the front the plane found. Decoding parameters a space searches are drawn beside
the plane by a random sampler, and by the fine sampler after. Both phases read the study's trials,
so a resumed study or a worker goes on in the phase it was in.

Measured on the simulated paper pair (`bench/vector_spaces.py`, seeds 0–2, default trials): `profile`
99.05, 98.54, 99.18 % of its true front for 60M, 47M, 54M tokens (98.2, 97.9, 98.2 % for 65M, 53M,
66M with GP alone); `layers` 99.37, 98.97, 99.27 % for 89M, 90M, 80M (97.5, 95.4, 96.4 % for 127M,
94M, 126M with `trust` alone); `blocks` 98.86, 98.40, 98.86 % for 44M, 47M, 51M (97.73, 96.26, 98.55 %
for 57M, 45M, 59M with GP alone). That pair's plane holds 99.95 % of the `profile` front, so the plane
does most of the work there; on a pair whose layers differ more, the fine phase is what finds it.

Why our own: Optuna has no subspace phase for a sampler. The plane's GP is Optuna's `GPSampler`,
asked through an in-memory study that holds the projected trials (how a sampler sees trials it did
not propose).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from mi_search.quiet import muted
from mi_search.search.settings.space import plane_groups

PLANE_STARTUP = 4  # the plane GP's random start: the three seeded uniform λ and one more pair
_ON_PLANE = 1e-9  # two λ closer than this are one value


class ModulePlaneSampler(optuna.samplers.BaseSampler):
    """A GP on the modules plane for the first `plane_trials` trials, then `fine` over every λ; see the module docstring."""

    def __init__(
        self, names: Sequence[str], fine: optuna.samplers.BaseSampler, *, plane_trials: int, seed: int | None = None
    ) -> None:
        groups = plane_groups(list(names))
        if groups is None:
            raise ValueError(f"the modules plane needs attention and MLP λ by depth, got {list(names)[:4]}…")
        self.groups, self.plane_trials, self.fine = groups, plane_trials, fine
        self.plane = optuna.samplers.GPSampler(seed=seed, n_startup_trials=PLANE_STARTUP)
        self.independent = optuna.samplers.RandomSampler(seed=seed)

    def reseed_rng(self) -> None:
        for sampler in (self.fine, self.plane, self.independent):
            sampler.reseed_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.fine.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        finished = _finished(study)
        if len(finished) >= self.plane_trials:
            return self.fine.sample_relative(study, trial, search_space)
        if not search_space:  # no finished trial yet (a study without seeds): its first λ are drawn at random
            return {}
        point = self._plane_proposal(study, finished)
        return {name: point[part] for part, names in self.groups.items() for name in names if name in search_space}

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        if len(_finished(study)) >= self.plane_trials:
            return self.fine.sample_independent(study, trial, param_name, param_distribution)
        return self.independent.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.fine.before_trial(study, trial)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self.fine.after_trial(study, trial, state, values)

    def _plane_proposal(self, study: optuna.Study, finished: list[FrozenTrial]) -> dict[str, float]:
        """The plane GP's next point (attention, MLP and, in `blocks`, rest), fitted on the finished trials on the plane."""
        distributions = {part: FloatDistribution(0.0, 1.0) for part in self.groups}
        projected = []
        for trial in finished:
            point = self._on_plane(trial.params)
            if point is not None and trial.values is not None:
                projected.append(optuna.trial.create_trial(params=point, distributions=distributions, values=trial.values))
        with muted("optuna.storages._in_memory", logging.WARNING):  # its "study created" line, once per proposal
            shadow = optuna.create_study(directions=study.directions, sampler=self.plane)
        shadow.add_trials(projected)
        return shadow.ask(distributions).params

    def _on_plane(self, params: dict[str, Any]) -> dict[str, float] | None:
        """The trial's point on the plane: each module's one value; None when a module's λ differ."""
        point = {}
        for part, names in self.groups.items():
            values = [params.get(name) for name in names]
            if any(v is None for v in values) or max(values) - min(values) > _ON_PLANE:
                return None
            point[part] = float(values[0])
        return point


def _finished(study: optuna.Study) -> list[FrozenTrial]:
    """The study's finished trials: how many says the phase, those on the plane are the plane GP's data."""
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
