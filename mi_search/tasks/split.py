"""The one deterministic split of a task into a search part and a held-out part."""

from __future__ import annotations

import hashlib

from mi_search.errors import UserError
from mi_search.evaluation.samples import Question
from mi_search.tasks.config import TaskConfig


def is_heldout(question: Question, holdout_fraction: float) -> bool:
    """Decided by a hash of the question alone: the same on every machine, whatever the order or size of the pool."""
    digest = hashlib.sha256(f"{question.id}\0{question.prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < holdout_fraction


def split_questions(questions: list[Question], task: TaskConfig) -> tuple[list[Question], list[Question]]:
    """(search, held-out): the first `search_size` and `holdout_size` questions of each side, in pool order."""
    holdout_fraction = task.holdout_fraction
    search = [q for q in questions if not is_heldout(q, holdout_fraction)][: task.search_size]
    heldout = [q for q in questions if is_heldout(q, holdout_fraction)][: task.holdout_size]
    if not search or not heldout:
        raise UserError(
            f"splitting {len(questions)} questions at holdout_fraction={holdout_fraction} leaves "
            f"{len(search)} to search and {len(heldout)} held out; use more questions or a fraction nearer 0.5"
        )
    return search, heldout
