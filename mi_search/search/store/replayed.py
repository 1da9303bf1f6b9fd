"""What a journal's replay accepted but Optuna's own writes never produce, refused when the journal is opened.

Optuna replays a journal record by record and checks only what it needs to apply each one: a trial created
COMPLETE without values (or with one value for two objectives, or NaN), a parameter outside its distribution,
a parameter without one, a FAIL with values, a finished trial with no start, a queued trial whose fixed λ is
not a number: all replay, and then fail (or, worse, run) at the next ask, tell or report, after a trial
was started. The checks are Optuna's own (`FrozenTrial._validate`, which its `create_trial` runs) plus the
number of objectives each study declares.
"""

from __future__ import annotations

from numbers import Real

from optuna.distributions import BaseDistribution, check_distribution_compatibility
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from mi_search.errors import UserError
from mi_search.search.store.trials import record_problem


def check_replayed(storage: BaseStorage, path: str) -> None:
    """Refuse a journal holding a trial Optuna could not have written, naming the trial and the fix."""
    for study in storage.get_all_studies():
        objectives = len(study.directions)
        trials = storage.get_all_trials(study._study_id, deepcopy=False)
        known: dict[str, BaseDistribution] = {}
        for t in trials:  # the space the study samples: each parameter's first distribution, as Optuna compares
            for name, distribution in t.distributions.items():
                known.setdefault(name, distribution)
        ours = any(key.startswith("mi_search_") for key in study.user_attrs)  # a study mi-search made: its records
        for trial in trials:
            problem = trial_problem(trial, objectives, known)
            if problem is None and ours and trial.state == TrialState.COMPLETE:
                problem = record_problem(trial)
            if problem is not None:
                raise UserError(
                    f"{path}: trial {trial.number} of study {study.study_name!r} {problem} (an edited or foreign record: "
                    f"Optuna and mi-search never write one); restore the journal from a backup or delete the record "
                    f"that made trial {trial.number} so, or pass a new journal path"
                )


def trial_problem(trial: FrozenTrial, objectives: int, known: dict[str, BaseDistribution]) -> str | None:
    """Why a replayed trial could not have come from Optuna's writes, or None; `known` holds the distribution
    each parameter has in the study's other trials, which a queued trial's fixed value must fall in."""
    values = trial.values
    if values is not None:
        if not isinstance(values, list) or not all(isinstance(v, Real) and not isinstance(v, bool) for v in values):
            return f"has values {values!r} that are not numbers"
        if trial.state == TrialState.COMPLETE and len(values) != objectives:
            return f"has {len(values)} values for {objectives} objectives"
    for name, distribution in trial.distributions.items():
        try:
            check_distribution_compatibility(known.get(name, distribution), distribution)
        except ValueError:
            return f"has {name} from {distribution}, where the study's trials have {known[name]}"
    try:
        trial._validate()  # the invariants Optuna's create_trial enforces: states, times, values, parameters
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"is inconsistent ({reason.rstrip('.')[:140]})"
    fixed = trial.system_attrs.get("fixed_params")
    if fixed is None or trial.state != TrialState.WAITING:
        return None
    if not isinstance(fixed, dict):
        return f"is queued with fixed parameters {str(fixed)[:80]} that are not a mapping"
    for name, value in fixed.items():
        distribution = known.get(name)
        if distribution is None:
            continue
        try:  # Optuna would run a value outside the space with a warning, and fail on one of the wrong type
            inside = distribution._contains(distribution.to_internal_repr(value))
        except (ValueError, TypeError):
            inside = False
        if not inside:
            return f"is queued with {name}={value!r}, outside the study's {distribution}"
    return None
