"""MLflow runs for a study: one parent run per study, one nested child run per trial.

The parent run's id is stored with the Optuna study, so a resumed study and every worker log under
the same parent. Each trial stores its child run's id as the user attribute `mlflow_run_id`.
Child runs end FINISHED or FAILED with their trial; a child left RUNNING by a killed process is
marked KILLED once its trial is no longer running in the study.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import optuna
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from mi_search import __version__
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import Evaluation, write_samples
from mi_search.search import trials
from mi_search.search.config import StudyConfig, flatten
from mi_search.search.pareto import hypervolume
from mi_search.search.results import StudyResult
from mi_search.merge.spec import LambdaSpec
from mi_search.tracking.keys import metric_key
from mi_search.tracking.store import experiment_for

PARENT_RUN_ATTR = "mlflow_parent_run_id"
TRIAL_TAG = "mi_search.trial"
STUDY_TAG = "mi_search.study"
_BATCH = 500  # MLflow's limit on params per log_batch call (metrics: 1000)


class StudyTracker:
    """A TrialObserver that logs each trial as a child run of the study's parent run."""

    def __init__(self, client: MlflowClient, parent_run_id: str, experiment_id: str, config: StudyConfig) -> None:
        self.client, self.parent_run_id, self.experiment_id, self.config = client, parent_run_id, experiment_id, config

    @classmethod
    def open(
        cls, client: MlflowClient, tracking_uri: str, study: optuna.Study, config: StudyConfig, *, tags: dict[str, str]
    ) -> StudyTracker:
        """Continue the study's parent run, or start it with the study's tags and configuration."""
        experiment_id = experiment_for(client, tracking_uri, study.study_name)
        parent = study.user_attrs.get(PARENT_RUN_ATTR)
        if parent is not None and _run_exists(client, parent):
            client.update_run(parent, status="RUNNING")
        else:
            run = client.create_run(
                experiment_id, run_name=study.study_name, tags={STUDY_TAG: study.study_name, **tags}
            )
            parent = run.info.run_id
            study.set_user_attr(PARENT_RUN_ATTR, parent)
            flat = flatten(json.loads(config.model_dump_json()))
            params = [Param(key, str(value)[:6000]) for key, value in flat.items()]
            for start in range(0, len(params), _BATCH):
                client.log_batch(parent, params=params[start : start + _BATCH])
        tracker = cls(client, parent, experiment_id, config)
        tracker.close_dead_children(study)
        return tracker

    # TrialObserver

    def trial_started(self, trial: optuna.Trial, spec: LambdaSpec, params: DecodingParams) -> None:
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"trial-{trial.number}",
            tags={
                "mlflow.parentRunId": self.parent_run_id,
                TRIAL_TAG: str(trial.number),
                STUDY_TAG: trial.study.study_name,
            },
        )
        trials.store_run_id(trial, run.info.run_id)
        logged = {**trial.params, **params.model_dump(), "k": self.config.k, "spec": spec.describe()}
        self.client.log_batch(run.info.run_id, params=[Param(metric_key(n), str(v)) for n, v in logged.items()])

    def rung_scored(self, trial: optuna.Trial, scored: int, total: int) -> None:
        self.client.log_metric(trials.run_id_of(trial), "questions_scored", scored)

    def trial_finished(self, trial: optuna.Trial, evaluation: Evaluation) -> None:
        run_id = trials.run_id_of(trial)
        values = {
            **evaluation.scores.mlflow_metrics(),
            "feasible": float(trials.is_feasible(trial)),
            "questions": float(len(evaluation.samples)),
            "generated_tokens": float(evaluation.generated_tokens),
        }
        self._log_metrics(run_id, values)
        if evaluation.samples:  # a repeated trial reuses scores and has no samples of its own
            with tempfile.TemporaryDirectory() as folder:
                write_samples(Path(folder) / "samples.jsonl", [({}, evaluation)])
                _plot_lengths(evaluation, Path(folder))
                self.client.log_artifacts(run_id, folder)
        self.client.set_terminated(run_id, "FINISHED")

    def trial_failed(self, trial: optuna.Trial) -> None:
        run_id = trials.run_id_of(trial)
        if run_id is not None:
            self.client.set_terminated(run_id, "FAILED")

    # Study-level

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Optuna callback: the parent's hypervolume and best feasible accuracy, as the study goes."""
        points = trials.front_points(study)
        step = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        values = {"hypervolume": hypervolume(points, self.config.budget) if points else 0.0}
        if points:
            values["best_feasible_accuracy"] = max(p.accuracy for p in points)
        self._log_metrics(self.parent_run_id, values, step=step)

    def close_dead_children(self, study: optuna.Study) -> list[str]:
        """Mark KILLED the child runs still RUNNING whose trial is no longer running (its process died)."""
        running = {t.number for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))}
        killed = []
        children = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{self.parent_run_id}' and attributes.status = 'RUNNING'",
        )
        for run in children:
            if int(run.data.tags.get(TRIAL_TAG, -1)) not in running:
                self.client.set_terminated(run.info.run_id, "KILLED")
                killed.append(run.info.run_id)
        return killed

    def report(self, study: optuna.Study, result: StudyResult, files: list[Path], *, finished: bool) -> None:
        """Stages and held-out scores onto each trial's run; the study folder and summary onto the parent."""
        self.close_dead_children(study)
        for record in result.records:
            run_id = record.run_id
            if run_id is None:
                continue
            values = {
                "stage": record.stage,
                "overthinking": record.overthinking,
                "on_front": record.number in result.front,
            }
            if record.holdout:
                values.update({f"holdout_{name}": value for name, value in record.holdout.items() if name != "k"})
            self._log_metrics(run_id, values)
        summary = {"hypervolume": result.hypervolume, "trials": len(result.records), "front_size": len(result.front)}
        if result.chosen is not None:
            chosen = result.record(result.chosen)
            summary.update(chosen_trial=chosen.number, chosen_holdout_accuracy=chosen.holdout["objective"])
        self._log_metrics(self.parent_run_id, summary, step=len(result.records))
        for path in files:
            self.client.log_artifact(self.parent_run_id, str(path))
        if finished:
            self.client.set_terminated(self.parent_run_id, "FINISHED")

    def _log_metrics(self, run_id: str, values: dict[str, Any], step: int = 0) -> None:
        now = _now_ms()
        metrics = [Metric(metric_key(name), float(value), now, step) for name, value in values.items()]
        self.client.log_batch(run_id, metrics=metrics)


def study_tags(
    config: StudyConfig, *, storage: str, instruct: Path, thinking: Path, search_size: int, holdout_size: int
) -> dict[str, str]:
    """What the parent run is tagged with: enough to tell studies apart and to find their sources."""
    return {
        STUDY_TAG: config.study_name,
        "mi_search.storage": storage,
        "mi_search.budget": str(config.budget),
        "mi_search.instruct": str(instruct),
        "mi_search.thinking": str(thinking),
        "mi_search.instruct_revision": revision_of(Path(instruct)),
        "mi_search.thinking_revision": revision_of(Path(thinking)),
        "mi_search.task": config.task.data or config.task.name,
        "mi_search.search_questions": str(search_size),
        "mi_search.holdout_questions": str(holdout_size),
        "mi_search.space": config.space.kind.value,
        "mi_search.sampler": config.sampler.value,
        "mi_search.version": __version__,
    }


def revision_of(checkpoint: Path) -> str:
    """The hub commit of a checkpoint from the HF cache (`…/snapshots/<commit>`), else `local`."""
    parts = checkpoint.resolve().parts
    return parts[-1] if len(parts) > 1 and parts[-2] == "snapshots" else "local"


def _plot_lengths(evaluation: Evaluation, folder: Path) -> None:
    from mi_search.plots.tokens import plot_token_histogram

    plot_token_histogram([s.num_tokens for row in evaluation.samples for s in row], folder / "token_lengths.png")


def _run_exists(client: MlflowClient, run_id: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client.get_run(run_id)
    except MlflowException:
        return False
    return True


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
