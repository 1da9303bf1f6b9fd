"""A study read back at another budget: feasibility recomputed from the measurements, nothing generated.

What a trial measured (accuracy, mean tokens, per-question outcomes, held-out scores) does not
depend on the budget; only which points are feasible does. So the front and the chosen point at any
budget are a view of the stored trials: the same records, each feasible when its search mean tokens
are within that budget.
"""

from __future__ import annotations

from dataclasses import replace

import optuna

from mi_search.search.report.results import StudyResult, completed_records, result_of


def result_at_budget(study: optuna.Study, budget: int) -> StudyResult:
    """The study's front, hypervolume and chosen point had its budget been `budget`."""
    from mi_search.search.store.study import stored_config

    config = stored_config(study)
    level, objective = config.halving.level, config.objectives.accuracy
    records = [replace(r, feasible=r.mean_tokens <= budget) for r in completed_records(study, objective)]
    return result_of(study.study_name, records, budget, config.choose, level, objective)
