"""Re-score each front point once on the held-out part; the result is stored with the study, never repeated."""

from __future__ import annotations

from collections.abc import Callable

import optuna

from mi_search.backends.base import Backend
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import evaluate
from mi_search.search.store import trials
from mi_search.search.settings.config import StudyConfig
from mi_search.search.running.inputs import QuestionSet
from mi_search.search.running.reuse import Reuse
from mi_search.search.statistics.outcomes import outcomes_from_samples
from mi_search.search.statistics.pareto import hypervolume
from mi_search.search.report.results import StudyResult


def rescore_front(
    study: optuna.Study,
    result: StudyResult,
    backend: Backend,
    holdout: QuestionSet,
    config: StudyConfig,
    decoding: DecodingParams,
    on_point: Callable[[int], None] | None = None,
    reuse: Reuse | None = None,
) -> list[int]:
    """Evaluate the front points chosen for held-out questions that have no held-out scores yet.

    Returns the trial numbers re-scored.
    """
    done = []
    for number in worth_rescoring(result, config.holdout_points):
        if trials.has_holdout(study, number):
            continue
        spec, params = config.space.setting(result.record(number).params, decoding)
        stored = reuse.lookup(spec, params, holdout=True) if reuse is not None else None
        if stored is not None:  # re-scored before, by this or another study: no token spent
            trials.store_holdout(
                study,
                number,
                stored.score_values,
                objective=config.objectives.accuracy,
                generated=0,
                outcomes=list(trials.unpack_outcomes(stored.outcomes)),
            )
            done.append(number)
            continue
        backend.merge(spec)
        evaluation = evaluate(
            backend, holdout.questions, k=config.k, params=params, golds=holdout.golds, study_seed=config.seed
        )
        outcomes = outcomes_from_samples(evaluation.samples)
        trials.store_holdout(
            study,
            number,
            evaluation.scores,
            objective=config.objectives.accuracy,
            generated=evaluation.generated_tokens,
            outcomes=outcomes,
        )
        if reuse is not None:
            packed = trials.pack_outcomes(outcomes)
            reuse.keep_holdout(number, spec, params, evaluation.scores, packed, evaluation.generated_tokens)
        done.append(number)
        if on_point is not None:
            on_point(number)
    return done


def worth_rescoring(result: StudyResult, limit: int) -> list[int]:
    """At most `limit` front points, those that keep the front's shape: why not every point.

    A noisy front holds many points within noise of their neighbours, and each held-out evaluation
    costs as much as a search trial. Points already re-scored are kept; the rest are added greedily
    by their hypervolume contribution on the search scores (the classic subset selection), so the
    cheapest, the most accurate and the knees between them come first. Returned fewest tokens first.
    """
    front = [result.record(n) for n in result.front]
    kept = [r for r in front if r.holdout]
    others = [r for r in front if not r.holdout]
    while others and len(kept) < limit:
        best = max(others, key=lambda r: (hypervolume([p.point for p in (*kept, r)], result.budget), -r.point.mean_tokens))
        kept.append(best)
        others.remove(best)
    return [r.number for r in front if r in kept]
