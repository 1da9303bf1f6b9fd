"""A question set by content: its ordered ids, prompts and gold answers, hashed.

A task named by the same file or benchmark can change under its name (a gold answer corrected or
broken in a --data-file); scores measured against other golds are not the same measurement.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mi_search.evaluation.samples import Question


def questions_fingerprint(questions: Sequence[Question]) -> str:
    """SHA-256 of the questions in order: id, prompt, gold answer and (IFEval) instructions."""
    digest = hashlib.sha256()
    for question in questions:
        row = [question.id, question.prompt, question.answer, list(question.instructions)]
        digest.update(json.dumps(row, sort_keys=True, separators=(",", ":"), default=str).encode() + b"\n")
    return digest.hexdigest()
