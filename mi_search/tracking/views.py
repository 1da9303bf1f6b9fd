"""A preset Chart view for a study's experiment: accuracy against mean tokens over every trial run.

MLflow stores no chart layout per run. Its "Share" button, though, saves the runs page's state as the
experiment tag `mlflow.sharedViewState.<key>` and opens it from `?viewStateShareKey=<key>`; we write
that tag ourselves, so one link opens a scatter of all trials (the UI's own default shows bars of ten runs).
"""

from __future__ import annotations

import json

from mlflow.tracking import MlflowClient

SHARE_KEY = "mi-search-pareto"
_TAG_PREFIX = "mlflow.sharedViewState."
_SECTION = "mi-search-pareto"


def chart_state() -> dict:
    """The runs page state: one section holding the accuracy-against-tokens scatter of up to 500 runs."""
    scatter = {
        "uuid": "mi-search-accuracy-vs-tokens",
        "type": "SCATTER",
        "isGenerated": False,
        "deleted": False,
        "metricSectionId": _SECTION,
        "displayName": "accuracy against mean tokens (every trial)",
        "xaxis": {"key": "mean_tokens", "type": "METRIC"},
        "yaxis": {"key": "accuracy", "type": "METRIC"},
        "runsCountToCompare": 500,
    }
    section = {"uuid": _SECTION, "name": "Pareto", "display": True, "isReordered": False}
    return {"compareRunCharts": [scatter], "compareRunSections": [section], "runsExpanded": {}, "hideEmptyCharts": True}


def preset_chart_view(client: MlflowClient, experiment_id: str) -> None:
    """Store the preset once per experiment (the Share button's format)."""
    experiment = client.get_experiment(experiment_id)
    if f"{_TAG_PREFIX}{SHARE_KEY}" not in experiment.tags:
        client.set_experiment_tag(experiment_id, f"{_TAG_PREFIX}{SHARE_KEY}", json.dumps(chart_state()))


def chart_view_url(server: str, experiment_id: str) -> str:
    """The link that opens the preset: the experiment's runs in Chart mode with the shared state applied."""
    return f"{server.rstrip('/')}/#/experiments/{experiment_id}/runs?compareRunsMode=CHART&viewStateShareKey={SHARE_KEY}"
