"""A study as one library call: resolve the configuration, check the inputs, run trials, re-score, report, promote.

`run_study` is what `mi-search` runs; `run_worker` joins a stored study from another process. Both
load the pair once, merge in place for every trial, and report through a `StudyObserver`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.storages import BaseStorage
from mlflow.tracking import MlflowClient

from mi_search.backends.base import Backend
from mi_search.backends.load import load_backend
from mi_search.errors import UserError
from mi_search.backends.pair import ResolvedPair
from mi_search.search.settings.config import StudyConfig, build_config, resume_config
from mi_search.search.running.budget_edge import HOLDOUT_EDGE_ATTR, HOLDOUT_MOST, BudgetEdge, holdout_step, peak_step
from mi_search.search.running.holdout import rescore_front, rescore_point
from mi_search.search.running.inputs import StudyInputs, prepare_inputs
from mi_search.search.store.locations import study_folder
from mi_search.search.running.objective import Observers, TrialRunner
from mi_search.search.report.folder import check_report_folder, write_report
from mi_search.search.settings.request import StudyRequest
from mi_search.search.report.results import StudyResult, read_result, unbound_budget_line
from mi_search.search.running.reuse import Reuse
from mi_search.search.running.stopping import StopWhenConverged, record_stop, stop_reason, trials_to_run
from mi_search.search.store.storage import open_storage
from mi_search.search.store import trials
from mi_search.search.store.identity import check_fingerprint, record_fingerprint, study_fingerprint, study_uid
from mi_search.search.store.owner import this_process, worker_id
from mi_search.search.store.study import (
    bind_layers,
    check_space,
    join_study,
    make_sampler,
    open_study,
    reap_orphans,
    resolve_config,
)
from mi_search.service.pair import resolve_pair
from mi_search.backends.thinking import check_thinking
from mi_search.service.runtime import Quiet, Runtime, StudyObserver
from mi_search.tracking.promote import Promotion, check_promotion, promote
from mi_search.tracking.store import check_artifact_root, connect
from mi_search.tracking.study_runs import StudyTracker, study_tags


@dataclass(frozen=True)
class StudyReport:
    """What a study run leaves: its configuration, the result read back, the folder written, a promotion."""

    config: StudyConfig
    result: StudyResult
    folder: Path
    files: list[Path]
    promotion: Promotion | None = None


def run_study(
    request: StudyRequest, runtime: Runtime = Runtime(), observer: StudyObserver = Quiet(), *, backend: Backend | None = None
) -> StudyReport:
    """Run or continue the study `request` names; every input is checked before the study is stored.

    `backend` replaces loading the pair (a benchmark's simulated pair, a notebook's resident one).
    """
    settings = request.settings()
    fresh = build_config(settings, source=request.source, names=request.names)  # a typo fails before anything opens
    folder = runtime.out or study_folder(fresh.study_name)
    check_report_folder(folder, fresh.study_name)  # a folder that cannot be written fails now, not after every trial ran
    client = _connect(runtime)  # unreachable: one line, now
    if client is not None:
        check_artifact_root(client, runtime.tracking_uri, fresh.study_name)  # a copied project folder: refused now
    if runtime.promote is not None:
        check_promotion(runtime.promote, runtime.alias)
    storage = open_storage(runtime.storage, heartbeat_interval=runtime.heartbeat)
    config, existing = resolve_config(storage, settings, source=request.source, names=request.names, fresh=fresh)
    with observer.step("checking the task"):
        inputs = prepare_inputs(config)
    pair = None
    if backend is None:  # a given backend (a benchmark's simulated pair) stands for the pair
        with observer.step("checking the model pair" if existing else "checking the model pair and its weights"):
            pair = resolve_pair(config.pair, config.backend, read_values=existing is None)  # a new study: weights that load
    if existing is None:
        plan = backend.plan if pair is None else pair.plan
        config = bind_layers(config, settings, plan.num_layers, source=request.source, names=request.names)
    check_space(config, backend.plan if pair is None else pair.plan)  # a corrected pair's included
    check_thinking(inputs.decoding, config.space.decoding.thinking_budget, None if pair is None else pair.template_dir)
    fingerprint = study_fingerprint(config, inputs, pair)
    if pair is None and getattr(backend, "fingerprint", None):  # a given backend that says what it stands for
        fingerprint["pair"] = backend.fingerprint
    if existing is not None:
        check_fingerprint(existing, fingerprint)  # weights, golds, dtype changed: refused before anything is written
    reuse = _reuse(storage, fingerprint, pair, config, backend)
    warmed: list[int] = []
    warm = None if reuse is None else (lambda new: warmed.append(reuse.warm_start(new, inputs.decoding)))
    study = open_study(storage, config, existing, warm_start=warm)
    record_fingerprint(study, fingerprint)
    study_uid(study)
    reap_orphans(study)
    if existing is not None:
        had = len(trials.completed(study))
        adds = "trials until its front converges" if config.trials == "auto" else config.trials
        observer.note(f"continuing study {config.study_name!r}: it has {had} finished trials, this run adds {adds}")
    backend, tracker = _open(study, config, inputs, runtime, client, observer, backend, pair)
    n_trials = trials_to_run(config, study, sum(warmed))  # stored evaluations taken count as this run's trials
    run = _Run(study, config, inputs, backend, tracker, observer, reuse)
    _run_trials(run, n_trials=n_trials)
    with observer.step("re-scoring new front points on the held-out questions"):
        rescore_front(
            study, read_result(study, config.budget), backend, inputs.holdout, config, inputs.decoding, reuse=reuse
        )
    if n_trials:  # a rerun of a converged study runs nothing, beside the choice too
        _sharpen_choice(run)
    with observer.step("writing the report"):
        result = read_result(study, config.budget)
        files = write_report(folder, result, _report_extra(config, inputs, result))
        if tracker is not None:
            tracker.report(study, result, files, finished=True)
    unbound = unbound_budget_line(result)
    if unbound is not None:
        observer.note(unbound)
    promotion = None
    if runtime.promote is not None:
        with observer.step(f"exporting the chosen point and registering it as {runtime.promote}"):
            exported = pair or resolve_pair(config.pair, None)
            promotion = promote(
                study, config, exported, name=runtime.promote, alias=runtime.alias, tracking_uri=runtime.tracking_uri
            )
    return StudyReport(config, result, folder, files, promotion)


def run_worker(
    name: str,
    overrides: dict | None = None,
    runtime: Runtime = Runtime(),
    observer: StudyObserver = Quiet(),
    *,
    names: dict[str, str] | None = None,
) -> StudyConfig:
    """Join the stored study `name` and run trials for it; `overrides` may change how (backend, trials), not what.

    `names` says how the caller spelled each overridden key (a flag), so an error names what the user typed.
    """
    client = _connect(runtime)
    if client is not None:
        check_artifact_root(client, runtime.tracking_uri, name)
    storage = open_storage(runtime.storage, heartbeat_interval=runtime.heartbeat)
    study, stored = join_study(storage, name)
    config = resume_config(stored, overrides or {}, source="the command line", names=names)
    with observer.step("checking the task and the model pair"):
        inputs = prepare_inputs(config)
        pair = resolve_pair(config.pair, config.backend)
    check_space(config, pair.plan)
    check_thinking(inputs.decoding, config.space.decoding.thinking_budget, pair.template_dir)
    fingerprint = study_fingerprint(config, inputs, pair)
    check_fingerprint(study, fingerprint)  # before a trial is reaped, run or tracked
    record_fingerprint(study, fingerprint)
    study_uid(study)
    reap_orphans(study)
    backend, tracker = _open(study, config, inputs, runtime, client, observer, None, pair)
    reuse = _reuse(storage, fingerprint, pair, config)
    _run_trials(_Run(study, config, inputs, backend, tracker, observer, reuse), worker=worker_id())
    return config


def promote_stored(
    study_name: str, runtime: Runtime, *, name: str, trial: int | None = None, force: bool = False
) -> Promotion:
    """Register a stored study's chosen point (or `trial`) as a new version of `name`, alias `runtime.alias`."""
    check_promotion(name, runtime.alias)
    _connect(runtime)
    study, config = join_study(open_storage(runtime.storage, heartbeat_interval=runtime.heartbeat), study_name)
    reap_orphans(study)
    pair = resolve_pair(config.pair, None)  # exported from the checkpoints: no memory plan, no engine
    return promote(
        study, config, pair, name=name, alias=runtime.alias, tracking_uri=runtime.tracking_uri, trial=trial, force=force
    )


def _connect(runtime: Runtime) -> MlflowClient | None:
    """The tracking store, checked first: a URI MLflow cannot use or a file that is a study storage is refused untouched."""
    if not runtime.tracking_uri:
        return None
    return connect(runtime.tracking_uri)


def _open(
    study: optuna.Study,
    config: StudyConfig,
    inputs: StudyInputs,
    runtime: Runtime,
    client: MlflowClient | None,
    observer: StudyObserver,
    backend: Backend | None,
    pair: ResolvedPair | None,
) -> tuple[Backend, StudyTracker | None]:
    """Load the pair once (unless a backend is given) and open the study's parent run."""
    if backend is None:
        assert pair is not None, "a study runs on a given backend or on its resolved pair"
        with observer.step(f"loading the model pair ({config.backend.kind})"):
            backend = load_backend(pair, config.backend)
    if client is None:
        return backend, None
    tags = study_tags(
        config,
        storage=runtime.storage,
        pair=pair,
        backend=backend,
        search_size=len(inputs.search.questions),
        holdout_size=len(inputs.holdout.questions),
    )
    return backend, StudyTracker.open(client, runtime.tracking_uri, study, config, tags=tags)


@dataclass(frozen=True)
class _Run:
    """What this invocation's trials run with: the study, its settings and inputs, the loaded pair, the tracker."""

    study: optuna.Study
    config: StudyConfig
    inputs: StudyInputs
    backend: Backend
    tracker: StudyTracker | None
    observer: StudyObserver
    reuse: Reuse | None = None


def _run_trials(run: _Run, *, worker: str | None = None, n_trials: int | None = None) -> None:
    """This invocation's trials (`stopping.trials_to_run`, as Optuna's n_trials), merging in place for each;
    then why it stopped, printed and stored (`_stopped`).

    Each trial first records the process running it, so a kill at any point is reaped at once by
    the next process that opens the study on this host (`reap_orphans`).
    """
    study, config = run.study, run.config
    n_trials = trials_to_run(config, study) if n_trials is None else n_trials
    stopper = StopWhenConverged(config)  # trials: auto stops the run once the front converged
    if not n_trials:
        return _stopped(study, config, stopper, 0, run.tracker, run.observer)
    callbacks = [stopper, BudgetEdge(config, n_trials, stopper)]  # the stop first: no edge point queued past it
    _optimize(run, n_trials, callbacks, worker=worker)
    _stopped(study, config, stopper, n_trials, run.tracker, run.observer)


def _optimize(run: _Run, n_trials: int, callbacks: list, *, worker: str | None = None) -> None:
    """Optuna's optimize for `n_trials`, each trial owned by this process and tracked; `callbacks` after the tracker's."""
    study, config, inputs, tracker = run.study, run.config, run.inputs, run.tracker
    callbacks = ([tracker.after_trial] if tracker is not None else []) + callbacks
    me = this_process()
    with run.observer.trials(n_trials, len(inputs.search.questions)) as progress:
        watchers = Observers(progress, *([tracker] if tracker is not None else []))
        runner = TrialRunner(run.backend, inputs.search, config, inputs.decoding, watchers, run.reuse)

        def owned(trial: optuna.Trial) -> tuple[float, float]:
            trials.store_owner(trial, me)
            reap_orphans(study)  # a worker beside this one may have died since the study was opened
            try:
                values = runner(trial)
            except optuna.exceptions.UpdateFinishedTrialError:  # reaped while this process was paused
                raise TakenOver(trial.number) from None
            if not trials.still_running(study, trial):
                raise TakenOver(trial.number)
            return values

        study.sampler = make_sampler(config, worker or resume_key(study))
        try:
            study.optimize(owned, n_trials=n_trials, callbacks=callbacks, gc_after_trial=False)
        except TakenOver as taken:
            raise UserError(
                f"trial {taken.number} was given up while this process was stopped past its heartbeat (another "
                "process failed it and queued it again); nothing of it was kept; run the same command to go on"
            ) from None


def _sharpen_choice(run: _Run) -> None:
    """Narrow where the answer lies once front points are re-scored: the budget's edge (`budget_edge.holdout_step`),
    then the interval beside the choice that may hold a peak (`peak_step`). Trials inside are re-scored, a middle is
    run when none is, at most `HOLDOUT_MOST` of each per run. One-λ spaces with `trials: auto` only: a fixed
    `--trials N` is the spend the user set."""
    study, config, inputs = run.study, run.config, run.inputs
    names = config.space.lambda_names()
    if config.budget is None or len(names) != 1 or config.trials != "auto":
        return
    rescored = ran = 0
    while rescored < HOLDOUT_MOST:
        result = read_result(study, config.budget)
        step = holdout_step(result.records, names, config.budget) or peak_step(
            result.records, names, config.budget, result.chosen
        )
        if step is None:
            break
        if step.rescore is not None:
            with run.observer.step(f"re-scoring trial {step.rescore} on the held-out questions, beside the choice"):
                rescore_point(study, result, step.rescore, run.backend, inputs.holdout, config, inputs.decoding, run.reuse)
            rescored += 1
            continue
        if ran == HOLDOUT_MOST:
            break
        study.enqueue_trial(config.space.uniform(step.lam), user_attrs={HOLDOUT_EDGE_ATTR: True})
        _optimize(run, 1, [])
        ran += 1
    if rescored or ran:
        run.observer.note(
            f"beside the choice (the budget's edge, or a peak below it): {ran} more trial{'s' * (ran != 1)} run, "
            f"{rescored} re-scored on the held-out questions"
        )


def _stopped(
    study: optuna.Study,
    config: StudyConfig,
    stopper: StopWhenConverged,
    asked: int,
    tracker: StudyTracker | None,
    observer: StudyObserver,
) -> None:
    """Why the run stopped: printed, stored with the study and tagged on its MLflow run."""
    reason = stop_reason(config, study, stopper, asked)
    record_stop(study, reason)
    if tracker is not None:
        tracker.tag_stop(reason)
    observer.note(reason)


class TakenOver(BaseException):
    """This process's trial was failed (reaped) by another process while this one was paused.

    A BaseException, so that Optuna's `optimize` does not catch it to tell the trial FAIL: it already is,
    and telling it again raises "Cannot tell a FAIL trial" from deep inside Optuna.
    """

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


def resume_key(study: optuna.Study) -> str | None:
    """The sampler's seed key for the study's own process: none for a new study (a run is reproducible); for a
    resumed one the number of trials it holds, so a rerun does not replay the random start of the run before it."""
    started = sum(t.state is not optuna.trial.TrialState.WAITING for t in study.get_trials(deepcopy=False))
    return f"resumed after {started}" if started else None


def _reuse(
    storage: BaseStorage, fingerprint: dict, pair: ResolvedPair | None, config: StudyConfig, backend: Backend | None = None
) -> Reuse | None:
    """The evaluation store of this storage, as this study sees it; none for a given backend (no checkpoints to key
    by) unless it names what it stands for (`backend.fingerprint`, as the benchmarks' simulated pair does)."""
    if pair is not None:
        return Reuse(storage, fingerprint, pair.plan, config, config.study_name)
    if backend is not None and "pair" in fingerprint:
        return Reuse(storage, fingerprint, backend.plan, config, config.study_name)
    return None


def _report_extra(config: StudyConfig, inputs: StudyInputs, result: StudyResult) -> dict:
    return {
        "objectives": {"maximize": config.objectives.accuracy, "minimize": "mean_tokens"},
        "space": config.space.kind.value,
        "search_questions": len(inputs.search.questions),
        "holdout_questions": len(inputs.holdout.questions),
        "k": config.k,
        "thinking_budget": inputs.decoding.thinking_budget,  # fixed for every trial unless the space searches it
        "trials": len(result.records),
        "generated_tokens": sum(r.generated_tokens for r in result.records),
    }
