"""Create, continue or join an Optuna study whose configuration is stored with it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.study import StudyDirection

from mi_search.errors import UserError
from mi_search.merge.plan import MergePlan
from mi_search.search.sampling.module_plane import ModulePlaneSampler
from mi_search.search.store import trials
from mi_search.search.settings.config import SamplerName, StudyConfig, build_config, merge_settings, resume_config
from mi_search.search.settings.space import PER_LAYER, plane_groups
from mi_search.search.store.storage import MAX_RETRIES, study_exists

CONFIG_ATTR = "mi_search_config"
# A live process records itself first thing in the objective, milliseconds after `study.ask()`; a
# RUNNING trial with no record after this long was asked for by a process that died before it could.
ASK_WINDOW_S = 10
DIRECTIONS = [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE]  # accuracy ↑, mean response tokens ↓


def resolve_config(
    storage: BaseStorage,
    settings: dict[str, Any],
    *,
    source: str,
    names: dict[str, str] | None = None,
    fresh: StudyConfig | None = None,
) -> tuple[StudyConfig, optuna.Study | None]:
    """The configuration this run uses, and the stored study it continues (None: a new one). Nothing is written.

    `fresh` is `settings` already validated on their own, when the caller has them.
    """
    fresh = fresh or build_config(settings, source=source, names=names)
    name = fresh.study_name
    if study_exists(storage, name):
        study = load_created(storage, name)
        stored = stored_config(study)
        if "pair" in settings and not trials.completed(study):  # nothing measured yet: a corrected pair is taken
            stored = stored.model_copy(update={"pair": fresh.pair})
        return resume_config(stored, settings, source=source, names=names), study
    config = fresh
    check_sampler_installed(config.sampler)
    if config.budget is None:
        raise UserError("no token budget given; pass --budget 4000tokens or set `budget:` in the study file")
    return config, None


def bind_layers(
    config: StudyConfig, settings: dict[str, Any], layers: int, *, source: str, names: dict[str, str] | None = None
) -> StudyConfig:
    """A new study's per-layer space bound to the pair's depth, and stored so: its names depend on it.

    A depth given in the settings stays (a benchmark's backend may stand for a pair of another depth);
    the defaults that follow the space's dimension (trials, sampler) are derived again.
    """
    if config.space.kind not in PER_LAYER:
        return config
    space = config.space.bound(config.space.layers or layers).model_dump(mode="json")
    return build_config(merge_settings(settings, {"space": space}), source=source, names=names)


def check_space(config: StudyConfig, plan: MergePlan) -> None:
    """The space maps onto the pair's tensors (its depth, blocks within it, modules the model has); headers only."""
    space = config.space.bound(plan.num_layers)
    plan.lambdas(space.spec_for(space.uniform(0.5)))


def open_study(
    storage: BaseStorage,
    config: StudyConfig,
    existing: optuna.Study | None,
    warm_start: Callable[[optuna.Study], object] | None = None,
) -> optuna.Study:
    """The study `resolve_config` found, or a new one created with `config` stored and the seed λ enqueued.

    `warm_start` adds completed trials (stored evaluations it lacks) before seeds are enqueued, so a seed
    λ already measured is not queued again.
    """
    if existing is not None:
        if stored_config(existing).pair != config.pair:  # a pair corrected before any trial completed
            existing.set_user_attr(CONFIG_ATTR, json.loads(config.model_dump_json()))
        if warm_start is not None:  # what was stored since its last run: a sweep of it, another study's trials
            warm_start(existing)
        queue_seeds(existing, config)  # a run killed while it queued them left some out
        return existing
    study = optuna.create_study(study_name=config.study_name, storage=storage, directions=DIRECTIONS, load_if_exists=True)
    if CONFIG_ATTR not in study.user_attrs:  # another worker may have created it a moment ago
        study.set_user_attr(CONFIG_ATTR, json.loads(config.model_dump_json()))
    if warm_start is not None and not study.get_trials(deepcopy=False):
        warm_start(study)  # completed trials first: a seed λ already measured is then not queued again
    queue_seeds(study, config)
    return study


def queue_seeds(study: optuna.Study, config: StudyConfig) -> int:
    """Queue the seed λ the study holds no trial for (in any state), in order; returns how many were queued.

    Resumable: a run killed or interrupted while queuing leaves the rest to the next run. The study's
    trials are read once (Optuna's `enqueue_trial(skip_if_exists=True)` reads them all for every
    point, which is quadratic in the grid's size).
    """
    names = sorted(config.space.uniform(0.0))
    trials_ = study.get_trials(deepcopy=False)
    known = {_key(t.params or t.system_attrs.get("fixed_params", {}), names) for t in trials_}
    queued = 0
    for lam in config.seed_lambdas:
        params = config.space.uniform(lam)
        if _key(params, names) in known:
            continue
        study.enqueue_trial(params)
        known.add(_key(params, names))
        queued += 1
    return queued


def _key(params: dict[str, Any], names: list[str]) -> tuple | None:
    """The λ values of a trial's parameters (decoding parameters left out); None if some λ is missing."""
    try:
        return tuple(float(params[name]) for name in names)
    except (KeyError, TypeError, ValueError):
        return None


def join_study(storage: BaseStorage, name: str) -> tuple[optuna.Study, StudyConfig]:
    """An existing study, as a worker or a promotion joins it: its stored configuration decides everything."""
    if not study_exists(storage, name):
        raise UserError(f"no study named {name!r} in this storage; start it with `mi-search --study {name} --budget …`")
    study = load_created(storage, name)
    return study, stored_config(study)


CREATION_WAIT_S = 30.0  # how long a study of ours with no configuration and no trial is taken to be in creation


def load_created(storage: BaseStorage, name: str) -> optuna.Study:
    """The study `name`, once the process creating it has stored its configuration.

    Optuna creates a study and we then store its configuration: two writes, with no transaction across
    them in any storage. A second first start of the same study in that moment would find a study of
    ours with no configuration (and no trial yet: the seeds are queued after it). So while that is what it
    finds, it waits, up to `CREATION_WAIT_S`; a study that stays so is refused by `stored_config`.
    """
    deadline = time.monotonic() + CREATION_WAIT_S
    while True:
        study = optuna.load_study(study_name=name, storage=storage)
        being_made = study.directions == DIRECTIONS and CONFIG_ATTR not in study.user_attrs
        if not being_made or study.get_trials(deepcopy=False) or time.monotonic() > deadline:
            return study
        time.sleep(0.2)


def stored_config(study: optuna.Study) -> StudyConfig:
    if study.directions != DIRECTIONS:
        raise UserError(
            f"study {study.study_name!r} optimizes {[d.name.lower() for d in study.directions]}, not "
            "[maximize accuracy, minimize tokens]; it was not made by mi-search: choose another --study name"
        )
    raw = study.user_attrs.get(CONFIG_ATTR)
    if raw is None:
        raise UserError(f"study {study.study_name!r} has no mi-search configuration; choose another --study name")
    return build_config(raw, source=f"the stored configuration of study {study.study_name!r}")


def make_sampler(config: StudyConfig, worker: str | None = None) -> optuna.samplers.BaseSampler:
    """The study's sampler (its default depends on the space's dimension: `config.default_sampler`).

    GP's random start is kept short: the seeded λ values (0.5, 0, 1 by default) already span the range.
    In `blocks`, `profile` and `layers`, GP and trust propose on the modules plane first (`sampling.module_plane`).
    `worker` (a worker's id) gives that worker its own seed, so parallel workers propose different λ.
    """
    seed = worker_seed(config.seed, worker)
    sampler = config.sampler
    if sampler is SamplerName.GP:
        startup = min(10, len(config.seed_lambdas) + 2 * config.space.dimension)
        return _plane_first(config, optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup), seed)
    if sampler is SamplerName.TPE:
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
    if sampler is SamplerName.RANDOM:
        return optuna.samplers.RandomSampler(seed=seed)
    if sampler is SamplerName.TRUST:
        from mi_search.search.sampling.trust_region import TrustRegionSampler

        uniform = {"coarse_points": 0} if _has_plane(config) else {}  # the plane's trials hold the seeded uniform λ
        trust = TrustRegionSampler(config.space.lambda_names(), trials.front_trials, seed=seed, **uniform)
        return _plane_first(config, trust, seed)
    if sampler is SamplerName.BOTORCH:
        check_sampler_installed(sampler)
        from optuna_integration import BoTorchSampler
        from optuna_integration.botorch import qnehvi_candidates_func

        startup = min(10, len(config.seed_lambdas) + 2 * config.space.dimension)
        return BoTorchSampler(candidates_func=qnehvi_candidates_func, n_startup_trials=startup, seed=seed)
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=8)


def _has_plane(config: StudyConfig) -> bool:
    proposed = config.min_trials - len(config.seed_lambdas)  # the seeds lie on the plane and are queued, not proposed
    return proposed > 0 and plane_groups(config.space.lambda_names()) is not None


def _plane_first(config: StudyConfig, fine: optuna.samplers.BaseSampler, seed: int | None) -> optuna.samplers.BaseSampler:
    """`fine` after `min_trials` trials on the modules plane, for a depth-resolved space (`sampling.module_plane`);
    `fine` alone for any other space. The plane takes the trials the study runs before it may stop anyway."""
    if not _has_plane(config):
        return fine
    return ModulePlaneSampler(config.space.lambda_names(), fine, plane_trials=config.min_trials, seed=seed)


def check_sampler_installed(sampler: SamplerName | None) -> None:
    """BoTorch is an optional extra: its absence is one line before anything is stored."""
    if sampler is SamplerName.BOTORCH and not all(_installed(m) for m in ("optuna_integration", "botorch")):
        raise UserError("sampler botorch needs optuna-integration and botorch; pip install 'mi-search[botorch]'")


def _installed(module: str) -> bool:
    if module in sys.modules:  # optuna_integration is a lazy module whose __spec__ is None once imported
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def worker_seed(seed: int, worker: str | None) -> int:
    """The study seed itself for the study's own process (a run is reproducible); for a worker, a seed
    drawn from the study seed and the worker's id, so no two workers propose the same λ sequence."""
    if worker is None:
        return seed
    digest = hashlib.sha256(f"{seed}:{worker}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def reap_orphans(study: optuna.Study) -> list[int]:
    """Fail, and queue again with the same parameters, the RUNNING trials no live process runs.

    A trial recorded by a process on this host is an orphan as soon as that process is gone; one
    recorded on another host is left to the storage's heartbeat. A trial with no record at all is an
    orphan once ASK_WINDOW_S have passed since it started. Returns the numbers of the trials reaped.
    """
    now = datetime.now()
    reaped = []
    for trial in trials.running(study):
        owner = trials.owner_of(trial)
        if owner is None:
            started = trial.datetime_start
            gone = started is None or (now - started).total_seconds() > ASK_WINDOW_S
        else:
            gone = owner.on_this_host() and not owner.alive()
        if gone and _fail(study, trial._trial_id):
            reaped.append(trial)
    with warnings.catch_warnings():  # Optuna's retry callback is "experimental"; it is the heartbeat's retry too
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)
        for trial in reaped:
            retry(study, study._storage.get_trial(trial._trial_id))
    return [t.number for t in reaped]


def _fail(study: optuna.Study, trial_id: int) -> bool:
    """Mark a trial FAIL; False when another process finished or reaped it first."""
    try:
        return study._storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
