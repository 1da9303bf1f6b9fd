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
    """The runs page state: a section with every trial's accuracy against tokens (parent metrics, child scatter).

    Expanded rows are not part of a shared view (MLflow drops `runsExpanded`), so child runs start collapsed.
    """
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
    # The parent's `trial/accuracy` against its `trial/mean_tokens` (both stepped by trial number): every trial
    # as a point, without expanding the parent's child runs.
    curve = {
        "uuid": "mi-search-trial-points",
        "type": "LINE",
        "isGenerated": False,
        "deleted": False,
        "metricSectionId": _SECTION,
        "displayName": "every trial: accuracy against mean tokens (parent run)",
        "metricKey": "trial/accuracy",
        "selectedMetricKeys": ["trial/accuracy"],
        "xAxisKey": "metric",
        "selectedXAxisMetricKey": "trial/mean_tokens",
        "useGlobalXaxisKey": False,
        "displayPoints": True,
        "lineSmoothness": 0,
        "useGlobalLineSmoothing": False,
        "scaleType": "linear",
        "xAxisScaleType": "linear",
        "yAxisKey": "metric",
        "yAxisExpressions": [],
        "ignoreOutliers": False,
        "range": {},
        "runsCountToCompare": 10,
    }
    section = {"uuid": _SECTION, "name": "Pareto", "display": True, "isReordered": False}
    return {"compareRunCharts": [curve, scatter], "compareRunSections": [section], "hideEmptyCharts": False}


def preset_chart_view(client: MlflowClient, experiment_id: str) -> None:
    """Store the preset on the experiment, in the format of the UI's Share button."""
    client.set_experiment_tag(experiment_id, f"{_TAG_PREFIX}{SHARE_KEY}", json.dumps(chart_state()))


def runs_url(server: str, experiment_id: str, *, chart: bool = False) -> str:
    """The experiment's runs list, or its Chart view with our preset (every trial's accuracy against tokens).

    `workflowType=machine_learning` matters: MLflow 3.17's UI opens every experiment on the GenAI overview
    unless the link or the sidebar's "Model training" switch says otherwise (it reads `mlflow.experimentKind`
    only where that switch is disabled).
    """
    query = "workflowType=machine_learning"
    if chart:
        query += f"&compareRunsMode=CHART&viewStateShareKey={SHARE_KEY}"
    return f"{server.rstrip('/')}/#/experiments/{experiment_id}/runs?{query}"


def study_links(client: MlflowClient, server: str) -> list[tuple[str, str, str]]:
    """(study, runs link, chart link) for every study experiment in the store, newest first."""
    experiments = client.search_experiments(order_by=["creation_time DESC"])
    return [
        (e.name, runs_url(server, e.experiment_id), runs_url(server, e.experiment_id, chart=True))
        for e in experiments
        if e.name != "Default"
    ]
