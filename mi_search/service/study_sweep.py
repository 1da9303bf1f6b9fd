"""`mi-search sweep --study NAME`: a grid of global λ scored on a stored study's own search questions.

What the grid measures goes into the storage's evaluation store under the study's measurement (its
pair, questions, decoding, k and seed), so it feeds studies: the study itself on its next run, and
every study with the same measurement (another budget, another space: a global λ is a point of
every space) takes the grid's points as completed trials without generating a token
(`Reuse.warm_start`). Points the store already holds, a study's or an earlier sweep's, are read
back rather than generated again; the model pair is loaded only if some point is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from mi_search.atomic import check_out_folder
from mi_search.backends.load import load_backend
from mi_search.evaluation.evaluate import Evaluation, evaluate
from mi_search.evaluation.scores import Scores
from mi_search.merge.spec import LambdaSpec
from mi_search.search.running.inputs import prepare_inputs
from mi_search.search.running.reuse import Reuse
from mi_search.search.statistics.outcomes import outcomes_from_samples
from mi_search.search.store.identity import check_fingerprint, study_fingerprint
from mi_search.search.store.storage import open_storage
from mi_search.search.store.study import join_study
from mi_search.search.store.trials import pack_outcomes, unpack_outcomes
from mi_search.service.pair import resolve_pair
from mi_search.service.sweep import SweepResult, label_rows, write_sweep


def run_study_sweep(
    storage_url: str,
    study_name: str,
    lambdas: list[float],
    out: Path,
    *,
    overwrite: bool = False,
    step: Callable[[str], AbstractContextManager[object]] = lambda message: nullcontext(),
    on_point: Callable[[float, Scores], None] | None = None,
) -> tuple[SweepResult, int]:
    """Score `lambdas` on the study's search questions, store them, write `out`; and how many were taken from the store."""
    check_out_folder(out, overwrite=overwrite)
    storage = open_storage(storage_url)
    study, config = join_study(storage, study_name)
    with step("checking the study's task and model pair"):
        inputs = prepare_inputs(config)
        pair = resolve_pair(config.pair, config.backend)
    fingerprint = study_fingerprint(config, inputs, pair)
    check_fingerprint(study, fingerprint)  # a changed model or data file: refused before anything is stored
    reuse = Reuse(storage, fingerprint, pair.plan, config, study_name)
    backend = None
    evaluations, outcomes, taken = [], [], 0
    for lam in lambdas:
        spec = LambdaSpec(lam=lam)
        stored = reuse.store.get(reuse.key(spec, inputs.decoding))
        if stored is not None and stored.stop is None:  # measured in full before: read, not generated
            evaluations.append(Evaluation(stored.score_values, []))
            outcomes.append(unpack_outcomes(stored.outcomes))
            taken += 1
        else:
            if backend is None:
                with step(f"loading the model pair ({config.backend.kind})"):
                    backend = load_backend(pair, config.backend)
            backend.merge(spec)
            search = inputs.search
            evaluation = evaluate(
                backend, search.questions, k=config.k, params=inputs.decoding, golds=search.golds, study_seed=config.seed
            )
            scored = outcomes_from_samples(evaluation.samples)
            reuse.keep(
                spec,
                inputs.decoding,
                {
                    "scores": evaluation.scores.as_dict(),
                    "outcomes": pack_outcomes(scored),
                    "questions": len(scored),
                    "mean_lambda": pair.plan.mean_lambda(spec),
                    "generated_tokens": evaluation.generated_tokens,
                },
                origin=f"sweep:{study_name}@{lam:g}",
            )
            evaluations.append(evaluation)
            outcomes.append(tuple(scored))
        if on_point is not None:
            on_point(lam, evaluations[-1].scores)
    rows = label_rows(lambdas, [e.scores for e in evaluations], outcomes)
    write_sweep(out, rows, evaluations, overwrite=overwrite)
    return SweepResult(f"study {study_name}", len(inputs.search.questions), 0, rows), taken
