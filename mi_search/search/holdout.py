"""Re-score each front point once on the held-out part; the result is stored with the study, never repeated."""

from __future__ import annotations

from collections.abc import Callable

import optuna

from mi_search.backends.base import Backend, Blender, DecodingParams
from mi_search.evaluate import evaluate
from mi_search.scoring import Gold
from mi_search.search.results import HOLDOUT_ATTR, StudyResult
from mi_search.search.space import SearchSpace
from mi_search.tasks.base import Question


def rescore_front(
    study: optuna.Study,
    result: StudyResult,
    *,
    pair: Blender,
    backend: Backend,
    questions: list[Question],
    golds: list[Gold],
    space: SearchSpace,
    decoding: DecodingParams,
    k: int,
    accuracy_key: str,
    on_point: Callable[[int], None] | None = None,
) -> list[int]:
    """Evaluate the front points that have no held-out scores yet; returns the trial numbers re-scored."""
    done = []
    for number in result.front:
        key = HOLDOUT_ATTR.format(number=number)
        if key in study.user_attrs:
            continue
        spec, params = space.setting(result.record(number).params, decoding)
        pair.merge(spec)
        evaluation = evaluate(backend, questions, k=k, params=params, golds=golds)
        scores = evaluation.scores.as_dict()
        generated = sum(s.num_tokens for row in evaluation.samples for s in row)
        study.set_user_attr(key, {**scores, "objective": scores[accuracy_key], "generated_tokens": generated})
        done.append(number)
        if on_point is not None:
            on_point(number)
    return done
