"""`mi-search front`: a stored study's feasible front and chosen point at any budget, from what it measured.

No model is loaded and no token generated: a budget is a view of the stored evaluations.
"""

from __future__ import annotations

from mi_search.search.settings.budget import parse_budget
from mi_search.search.report.results import StudyResult
from mi_search.search.report.view import result_at_budget
from mi_search.search.store.storage import open_storage
from mi_search.search.store.study import join_study


def front_at(storage: str, study_name: str, budget: str | None = None) -> StudyResult:
    """The study `study_name` in `storage` viewed at `budget` (default: its own)."""
    study, config = join_study(open_storage(storage), study_name)
    return result_at_budget(study, parse_budget(budget) if budget is not None else config.budget)
