"""The toy addition task, drawn from problems the toy pair never saw in training."""

from __future__ import annotations

from mi_search.evaluation.samples import Question
from mi_search.toy.problems import sample_problems

TOY_SEED = 2510


def toy_questions(limit: int = 200) -> list[Question]:
    """The first `limit` held-out addition questions; the same list on every machine."""
    return [
        Question(id=f"toy-{i}", prompt=p.question, answer=p.answer)
        for i, p in enumerate(sample_problems(limit, seed=TOY_SEED, heldout=True))
    ]
