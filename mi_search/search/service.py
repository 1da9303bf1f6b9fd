"""A study from start to report: what one process keeps resident, the trials it runs, the front it re-scores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from mi_search.backends.base import Backend, Blender, DecodingParams
from mi_search.backends.select import open_models
from mi_search.checkpoints import preflight_pair
from mi_search.evaluate import gradable
from mi_search.scoring import Gold
from mi_search.search.config import StudyConfig
from mi_search.search.holdout import rescore_front
from mi_search.search.objective import TrialObserver, TrialRunner
from mi_search.search.report import write_report
from mi_search.search.results import StudyResult, read_result
from mi_search.search.study import make_sampler
from mi_search.tasks.base import Question
from mi_search.tasks.registry import load_task
from mi_search.tasks.split import split_questions


@dataclass(frozen=True)
class QuestionSet:
    questions: list[Question]
    golds: list[Gold]


@dataclass(frozen=True)
class StudyInputs:
    """What a study reads before any model is loaded: both question sets with their golds, the decoding."""

    search: QuestionSet
    holdout: QuestionSet
    decoding: DecodingParams  # the task's default decoding with the study's overrides


@dataclass(frozen=True)
class Workbench:
    """Everything a study process loads once: the pair (both sources resident), the backend, the inputs."""

    pair: Blender
    backend: Backend
    search: QuestionSet
    holdout: QuestionSet
    decoding: DecodingParams


def prepare_inputs(config: StudyConfig) -> StudyInputs:
    """Load and split the task and check the pair from its configs: every input problem, before any weight moves."""
    task = config.task
    setup = load_task(
        task.name,
        limit=task.pool,
        data=task.data,
        data_files=task.data_files,
        prompt_suffix=task.prompt_suffix,
        question_column=task.question_column,
        answer_column=task.answer_column,
        split=task.split,
    )
    search, holdout = split_questions(
        setup.questions,
        holdout_fraction=task.holdout_fraction,
        search_size=task.search_size,
        holdout_size=task.holdout_size,
    )
    preflight_pair(*config.pair.references())
    return StudyInputs(
        search=QuestionSet(*gradable(search, setup.grader)),
        holdout=QuestionSet(*gradable(holdout, setup.grader)),
        decoding=config.decoding.apply(setup.decoding),
    )


def load_workbench(
    config: StudyConfig,
    inputs: StudyInputs | None = None,
    *,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int = 256,
) -> Workbench:
    """Open the models once (after `prepare_inputs`, which runs here unless given)."""
    inputs = inputs or prepare_inputs(config)
    instruct, thinking = config.pair.references()
    pair, backend = open_models(
        config.backend,
        instruct,
        thinking,
        device=device,
        dtype=dtype,
        trust_remote_code=config.pair.trust_remote_code,
        batch_size=batch_size,
        vllm=config.vllm,
        chat_template=config.pair.chat_template,
    )
    pair.plan.lambdas(config.space.spec_for(config.space.uniform(0.5)))  # a space the model cannot express fails here
    return Workbench(pair, backend, inputs.search, inputs.holdout, inputs.decoding)


def run_trials(
    study: optuna.Study,
    config: StudyConfig,
    bench: Workbench,
    trials: int,
    *,
    observer: TrialObserver | None = None,
    callbacks: list[Any] | None = None,
) -> None:
    """Run `trials` more trials of `study` in this process (Optuna's n_trials), merging in place for each."""
    runner = TrialRunner(
        pair=bench.pair,
        backend=bench.backend,
        questions=bench.search.questions,
        golds=bench.search.golds,
        space=config.space,
        decoding=bench.decoding,
        k=config.k,
        budget=config.budget,
        halving=config.halving,
        accuracy_key=config.objectives.accuracy,
        observer=observer,
    )
    study.sampler = make_sampler(config)
    study.optimize(runner, n_trials=trials, callbacks=callbacks, gc_after_trial=False)


def finish_study(
    study: optuna.Study, config: StudyConfig, bench: Workbench, out: Path, *, on_rescored: Any = None
) -> tuple[StudyResult, list[Path]]:
    """Re-score new front points on the held-out part, choose, and write the study folder (its files returned)."""
    result = read_result(study, config.budget)
    rescore_front(
        study,
        result,
        pair=bench.pair,
        backend=bench.backend,
        questions=bench.holdout.questions,
        golds=bench.holdout.golds,
        space=config.space,
        decoding=bench.decoding,
        k=config.k,
        accuracy_key=config.objectives.accuracy,
        on_point=on_rescored,
    )
    result = read_result(study, config.budget)
    extra = {
        "objectives": {"maximize": config.objectives.accuracy, "minimize": "mean_tokens"},
        "space": config.space.kind.value,
        "search_questions": len(bench.search.questions),
        "holdout_questions": len(bench.holdout.questions),
        "k": config.k,
        "trials": len(result.records),
        "generated_tokens": sum(r.generated_tokens for r in result.records),
    }
    return result, write_report(out, result, extra)
