"""MLflow runs for a study: one parent run per study, one nested child run per trial.

The parent run's id is stored with the Optuna study, so a resumed study and every worker log under
the same parent. Each trial stores its child run's id as the user attribute `mlflow_run_id`.
Every call goes through a `Guard`: a tracking store that fails mid-study costs one warning line, never
a trial, and the next run re-syncs the children from the Optuna storage (`resync.py`).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from mi_search.version import __version__
from mi_search.backends.base import Backend
from mi_search.backends.pair import Checkpoint, ResolvedPair
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import Evaluation, write_samples
from mi_search.merge.spec import LambdaSpec
from mi_search.search.store import trials
from mi_search.search.settings.config import StudyConfig, flatten
from mi_search.search.statistics.pareto import hypervolume
from mi_search.search.report.results import StudyResult
from mi_search.tracking.front_data import front_rows
from mi_search.tracking.front_html import write_front_html
from mi_search.tracking.guard import Guard
from mi_search.tracking.keys import metric_key, score_metrics
from mi_search.tracking.resync import resync
from mi_search.tracking.runs import (
    PARENT_RUN_ATTR,
    PARENT_TAG,
    REUSED_TAG,
    ROLE_TAG,
    STOP_TAG,
    STUDY_TAG,
    TRIAL_TAG,
    children,
    lambda_summary,
    open_parent,
    trial_run_name,
)
from mi_search.tracking.store import experiment_for
from mi_search.tracking.tables import log_table
from mi_search.tracking.views import RUN_COLOUR_TAG, preset_chart_view, run_colour

__all__ = ["PARENT_RUN_ATTR", "STUDY_TAG", "TRIAL_TAG", "StudyTracker", "study_tags"]

FRONT_HTML = "pareto_front.html"
_BATCH = 500  # MLflow's limit on params per log_batch call (metrics: 1000)


class StudyTracker:
    """A TrialObserver that logs each trial as a child run of the study's parent run."""

    def __init__(
        self,
        client: MlflowClient,
        guard: Guard,
        parent_run_id: str | None,
        experiment_id: str | None,
        config: StudyConfig,
    ) -> None:
        self.client, self.guard, self.config = client, guard, config
        self.parent_run_id, self.experiment_id = parent_run_id, experiment_id
        self._max_tokens: dict[int, int] = {}  # per trial, for its length histogram

    @classmethod
    def open(
        cls, client: MlflowClient, tracking_uri: str, study: optuna.Study, config: StudyConfig, *, tags: dict[str, str]
    ) -> StudyTracker:
        """Continue the study's parent run, or start it; then log what an earlier run could not (re-sync)."""
        guard = Guard(tracking_uri)
        opened = guard.call(lambda: _open_parent(client, tracking_uri, study, config, tags))
        parent, experiment = opened if opened is not None else (None, None)
        tracker = cls(client, guard, parent, experiment, config)
        tracker.resync(study)
        return tracker

    @property
    def active(self) -> bool:
        return self.parent_run_id is not None and self.guard.healthy

    def resync(self, study: optuna.Study) -> dict[str, list[int]] | None:
        """Child runs rebuilt from the Optuna storage: completed trials FINISHED, dead trials' runs KILLED."""
        if not self.active:
            return None
        summaries = _summaries(study, self.config)
        return self.guard.call(lambda: resync(self.client, self.experiment_id, self.parent_run_id, study, summaries))

    # TrialObserver

    def trial_started(self, trial: optuna.Trial, spec: LambdaSpec, params: DecodingParams) -> None:
        if not self.active:
            return
        name = trial_run_name(trial.study.study_name, trial.number, lambda_summary(spec))
        tags = {PARENT_TAG: self.parent_run_id, TRIAL_TAG: str(trial.number), STUDY_TAG: trial.study.study_name}
        run = self.guard.call(
            lambda: self.client.create_run(self.experiment_id, run_name=name, tags={**tags, ROLE_TAG: "trial"})
        )
        if run is None:
            return
        trials.store_run_id(trial, run.info.run_id)
        self._max_tokens[trial.number] = params.max_new_tokens
        logged = {**trial.params, **params.model_dump(), "k": self.config.k, "spec": spec.describe()}
        batch = [Param(metric_key(n), str(v)) for n, v in logged.items()]
        self.guard.call(lambda: self.client.log_batch(run.info.run_id, params=batch))

    def rung_scored(self, trial: optuna.Trial, scored: int, total: int) -> None:
        run_id = trials.run_id_of(trial)
        if self.active and run_id is not None:
            self.guard.call(lambda: self.client.log_metric(run_id, "questions_scored", scored))

    def trial_finished(self, trial: optuna.Trial, evaluation: Evaluation) -> None:
        run_id = trials.run_id_of(trial)
        if not self.active or run_id is None:
            return
        values = {
            **score_metrics(evaluation.scores),
            "feasible": float(trials.is_feasible(trial)),
            "questions": float(len(evaluation.samples)),
            "generated_tokens": float(evaluation.generated_tokens),
        }
        self._log_metrics(run_id, values)
        origin = trials.reused_from(trial)
        if origin is not None:  # a stored evaluation, taken at no token cost
            self.guard.call(lambda: self.client.set_tag(run_id, REUSED_TAG, origin))
        if evaluation.samples:  # a repeated trial reuses scores and has no samples of its own
            title = trial_run_name(trial.study.study_name, trial.number, _summary_of(trial, self.config))
            limit = self._max_tokens.get(trial.number)
            self.guard.call(lambda: self._log_samples(run_id, evaluation, title, limit))
        self.guard.call(lambda: self.client.set_terminated(run_id, "FINISHED"))

    def trial_failed(self, trial: optuna.Trial) -> None:
        """FAILED for an error; KILLED when the user stopped the study (Ctrl-C, or SIGTERM handled as it)."""
        run_id = trials.run_id_of(trial)
        status = "KILLED" if isinstance(sys.exc_info()[1], KeyboardInterrupt) else "FAILED"
        if self.active and run_id is not None:
            self.guard.call(lambda: self.client.set_terminated(run_id, status))

    # Study-level

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Optuna callback: the parent's hypervolume and best feasible accuracy, and the trial's point, as it goes."""
        if not self.active:
            return
        points = trials.front_points(study)
        step = len(trials.completed(study))
        values = {"hypervolume": hypervolume(points, self.config.budget) if points else 0.0}
        if points:
            values["best_feasible_accuracy"] = max(p.accuracy for p in points)
        self._log_metrics(self.parent_run_id, values, step=step)
        if trial.state is optuna.trial.TrialState.COMPLETE:
            self._log_metrics(self.parent_run_id, _trial_point(trial.values), step=trial.number)

    def close_dead_children(self, study: optuna.Study) -> list[int]:
        """Mark KILLED the child runs still RUNNING whose trial is no longer running (its process died)."""
        done = self.resync(study)
        return done["killed"] if done else []

    def tag_stop(self, reason: str) -> None:
        """Why the run stopped, as a tag of the parent run (MLflow caps a tag's value at 8,000 characters)."""
        if self.active:
            self.guard.call(lambda: self.client.set_tag(self.parent_run_id, STOP_TAG, reason[:8000]))

    def report(self, study: optuna.Study, result: StudyResult, files: list[Path], *, finished: bool) -> None:
        """Stages and held-out scores onto each trial's run; the study folder, front and tables onto the parent."""
        if not self.active:
            return
        self.resync(study)
        self.guard.call(lambda: self._report(study, result, files))
        if finished and self.active:
            self.guard.call(lambda: self.client.set_terminated(self.parent_run_id, "FINISHED"))

    def _report(self, study: optuna.Study, result: StudyResult, files: list[Path]) -> None:
        runs = children(self.client, self.experiment_id, self.parent_run_id)
        for record in result.records:
            run = runs.get(record.number)
            if run is None:
                continue
            values = {
                "stage": record.stage,
                "overthinking": record.overthinking,
                "on_front": record.number in result.front,
            }
            if record.holdout:
                values.update({f"holdout_{name}": value for name, value in record.holdout.items() if name != "k"})
            self._log_metrics(run.info.run_id, values)
            colour = run_colour(record.stage, chosen=record.number == result.chosen)
            if run.data.tags.get(RUN_COLOUR_TAG) != colour:  # MLflow's charts colour each run by this tag
                self.client.set_tag(run.info.run_id, RUN_COLOUR_TAG, colour)
        summary = {"hypervolume": result.hypervolume, "trials": len(result.records), "front_size": len(result.front)}
        if result.chosen is not None:
            chosen = result.record(result.chosen)
            summary.update(chosen_trial=chosen.number, chosen_holdout_accuracy=chosen.holdout["objective"])
        self._log_metrics(self.parent_run_id, summary, step=len(result.records))
        self._log_trial_points(result)
        names = {number: run.info.run_name for number, run in runs.items()}
        rows = front_rows(result.rows, names, _summaries(study, self.config))
        log_table(self.client, self.parent_run_id, rows, "tables/trials.json")
        log_table(self.client, self.parent_run_id, [r for r in rows if r["on_front"]], "tables/front.json")
        with tempfile.TemporaryDirectory() as folder:
            title = f"{result.name}: {len(rows)} trials, hypervolume {result.hypervolume:.3f} (hover a point)"
            page = write_front_html(rows, Path(folder) / FRONT_HTML, title=title, budget=result.budget)
            self.client.log_artifact(self.parent_run_id, str(page))
        for path in files:
            self.client.log_artifact(self.parent_run_id, str(path))
        preset_chart_view(self.client, self.experiment_id)

    def _log_trial_points(self, result: StudyResult) -> None:
        """`trial/accuracy` and `trial/mean_tokens` stepped by trial number: MLflow charts one against the other."""
        logged = {m.step for m in self.client.get_metric_history(self.parent_run_id, "trial/accuracy")}
        for record in result.records:
            if record.number not in logged:
                self._log_metrics(
                    self.parent_run_id, _trial_point((record.accuracy, record.mean_tokens)), step=record.number
                )

    def _log_samples(self, run_id: str, evaluation: Evaluation, title: str, max_tokens: int | None) -> None:
        from mi_search.plots.tokens import plot_token_histogram

        with tempfile.TemporaryDirectory() as folder:
            write_samples(Path(folder) / "samples.jsonl", [({}, evaluation)])
            samples = [s for row in evaluation.samples for s in row]
            plot_token_histogram(
                [s.num_tokens for s in samples],
                Path(folder) / "token_lengths.png",
                correct=[bool(s.correct) for s in samples],
                title=title,
                max_tokens=max_tokens,
            )
            self.client.log_artifacts(run_id, folder)

    def _log_metrics(self, run_id: str, values: dict[str, Any], step: int = 0) -> None:
        now = int(time.time() * 1000)
        metrics = [Metric(metric_key(name), float(value), now, step) for name, value in values.items()]
        self.guard.call(lambda: self.client.log_batch(run_id, metrics=metrics))


def _open_parent(
    client: MlflowClient, tracking_uri: str, study: optuna.Study, config: StudyConfig, tags: dict[str, str]
) -> tuple[str, str]:
    experiment_id = experiment_for(client, tracking_uri, study.study_name)
    parent, created = open_parent(client, experiment_id, study, tags)
    if created:
        flat = flatten(json.loads(config.model_dump_json()))
        params = [Param(key, str(value)[:6000]) for key, value in flat.items()]
        for start in range(0, len(params), _BATCH):
            client.log_batch(parent, params=params[start : start + _BATCH])
    else:
        client.update_run(parent, status="RUNNING")
    return parent, experiment_id


def _trial_point(values: tuple[float, float] | list[float]) -> dict[str, float]:
    return {"trial/accuracy": values[0], "trial/mean_tokens": values[1]}


def _summary_of(trial: optuna.Trial | optuna.trial.FrozenTrial, config: StudyConfig) -> str:
    spec, _ = config.space.setting(trial.params, DecodingParams())
    return lambda_summary(spec, trial.user_attrs.get("mean_lambda"))


def _summaries(study: optuna.Study, config: StudyConfig) -> dict[int, str]:
    """Each trial's λ summary (for run names and hover text); trials without λ parameters are left out."""
    found = {}
    for trial in study.get_trials(deepcopy=False):
        try:
            found[trial.number] = _summary_of(trial, config)
        except (KeyError, ValueError):
            continue
    return found


def study_tags(
    config: StudyConfig,
    *,
    storage: str,
    pair: ResolvedPair | None,
    backend: Backend,
    search_size: int,
    holdout_size: int,
) -> dict[str, str]:
    """What the parent run is tagged with: enough to tell studies apart and to find their sources.

    `pair` is None when a given backend (a benchmark's simulated pair) stands for the pair: its directories are tagged.
    """
    from mi_search.tracking.sources import source_tags

    if pair is not None:
        instruct, thinking = pair.instruct, pair.thinking
    else:
        instruct, thinking = (Checkpoint(str(d), Path(d)) for d in (backend.instruct_dir, backend.thinking_dir))
    return {
        STUDY_TAG: config.study_name,
        "mi_search.storage": storage,
        "mi_search.budget": str(config.budget),
        **source_tags("instruct", instruct),
        **source_tags("thinking", thinking),
        "mi_search.task": config.task.data or config.task.name,
        "mi_search.search_questions": str(search_size),
        "mi_search.holdout_questions": str(holdout_size),
        "mi_search.space": config.space.kind.value,
        "mi_search.sampler": config.sampler.value,
        "mi_search.version": __version__,
    }
