"""Re-score each front point once on the held-out part; the result is stored with the study, never repeated."""

from __future__ import annotations

from collections.abc import Callable

import optuna

from mi_search.backends.base import Backend
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import evaluate
from mi_search.search import trials
from mi_search.search.config import StudyConfig
from mi_search.search.inputs import QuestionSet
from mi_search.search.paired import outcomes_from_samples
from mi_search.search.results import StudyResult


def rescore_front(
    study: optuna.Study,
    result: StudyResult,
    backend: Backend,
    holdout: QuestionSet,
    config: StudyConfig,
    decoding: DecodingParams,
    on_point: Callable[[int], None] | None = None,
) -> list[int]:
    """Evaluate the front points that have no held-out scores yet; returns the trial numbers re-scored."""
    done = []
    for number in result.front:
        if trials.has_holdout(study, number):
            continue
        spec, params = config.space.setting(result.record(number).params, decoding)
        backend.merge(spec)
        evaluation = evaluate(
            backend, holdout.questions, k=config.k, params=params, golds=holdout.golds, study_seed=config.seed
        )
        trials.store_holdout(
            study,
            number,
            evaluation.scores,
            objective=config.objectives.accuracy,
            generated=evaluation.generated_tokens,
            outcomes=outcomes_from_samples(evaluation.samples),
        )
        done.append(number)
        if on_point is not None:
            on_point(number)
    return done
