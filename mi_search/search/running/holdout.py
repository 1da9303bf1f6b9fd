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

    First the answer: the front's most accurate points on the search questions, down until one is
    within the budget on search and held-out questions together (at the budget's edge the best point
    is often just past it), at most half of `holdout_points`. Then the front's shape (`worth_rescoring`).
    Returns the trial numbers re-scored.
    """
    done: list[int] = []
    known = {n: result.record(n).holdout["mean_tokens"] for n in result.front if result.record(n).holdout}

    def rescore(number: int) -> float:
        if number not in known and trials.has_holdout(study, number):  # another process re-scored it meanwhile
            known[number] = trials.holdout_tokens(study, number)
        if number not in known:
            known[number] = rescore_point(study, result, number, backend, holdout, config, decoding, reuse)
            done.append(number)
            if on_point is not None:
                on_point(number)
        return known[number]

    def within(number: int) -> bool:  # as the choice judges it: on every question scored (`TrialRecord.within`)
        record = result.record(number)
        tokens = trials.pooled_mean(record.mean_tokens, record.questions, rescore(number), len(holdout.questions))
        return tokens <= config.budget

    ranked = sorted(result.front, key=lambda n: (-result.record(n).accuracy, result.record(n).mean_tokens))
    for number in ranked[: max(1, config.holdout_points // 2)]:
        if config.budget is None or within(number):
            break
    for number in worth_rescoring(result, config.holdout_points, rescored=set(known)):
        rescore(number)
    return done


def rescore_point(
    study: optuna.Study,
    result: StudyResult,
    number: int,
    backend: Backend,
    holdout: QuestionSet,
    config: StudyConfig,
    decoding: DecodingParams,
    reuse: Reuse | None,
) -> float:
    """One front point's held-out scores, stored with the study (from the evaluation store when it has them);
    returns its held-out mean tokens."""
    spec, params = config.space.setting(result.record(number).params, decoding)
    stored = reuse.lookup(spec, params, holdout=True) if reuse is not None else None
    if stored is not None:  # re-scored before, by this or another study: no token spent
        outcomes = list(trials.unpack_outcomes(stored.outcomes))
        trials.store_holdout(
            study, number, stored.score_values, objective=config.objectives.accuracy, generated=0, outcomes=outcomes
        )
        return stored.score_values.mean_tokens
    backend.merge(spec)
    evaluation = evaluate(backend, holdout.questions, k=config.k, params=params, golds=holdout.golds, study_seed=config.seed)
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
    return evaluation.scores.mean_tokens


def worth_rescoring(result: StudyResult, limit: int, rescored: set[int] = frozenset()) -> list[int]:
    """At most `limit` front points: the most accurate, then those that keep the front's shape.

    Why not every point: a noisy front holds many points within noise of their neighbours, and each
    held-out evaluation costs as much as a search trial. Points already re-scored are kept. The most
    accurate point on the search questions comes next whatever it adds to the hypervolume: it is the
    study's best estimate of the answer asked for (the best blend within the budget), and at the
    budget's edge it adds almost no area (a point 0.5 points above its neighbour, 200 tokens short of
    the budget, would lose to the cheap end). The rest are added greedily by their hypervolume
    contribution on the search scores (the classic subset selection), so the cheapest and the knees
    come next. Returned fewest tokens first.
    """
    front = [result.record(n) for n in result.front]
    kept = [r for r in front if r.holdout or r.number in rescored]
    top = max(front, key=lambda r: (r.accuracy, -r.mean_tokens), default=None)
    if top is not None and top not in kept and len(kept) < limit:
        kept.append(top)
    others = [r for r in front if r not in kept]
    while others and len(kept) < limit:
        best = max(others, key=lambda r: (hypervolume([p.point for p in (*kept, r)], result.budget), -r.point.mean_tokens))
        kept.append(best)
        others.remove(best)
    return [r.number for r in front if r in kept]
