"""A preset Chart view for a study's experiment: accuracy against mean tokens over every trial run.

MLflow stores no chart layout per run. Its "Share" button, though, saves the runs page's state as the
experiment tag `mlflow.sharedViewState.<key>` and opens it from `?viewStateShareKey=<key>`; we write
that tag ourselves, so one link opens a scatter of all trials (the UI's own default shows bars of ten runs).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from mlflow.tracking import MlflowClient

from mi_search.plots.style import STAGE_EDGES, UNLABELLED
from mi_search.tracking.runs import find_parent

SHARE_KEY = "mi-search-pareto"
_TAG_PREFIX = "mlflow.sharedViewState."
_SECTION = "mi-search-pareto"
RUN_COLOUR_TAG = "mlflow.runColor"  # the UI's own key: its colour picker writes it, its charts and table read it
CHOSEN_COLOUR = "#000000"
TRIALS_FILTER = "tags.`mi_search.role` = 'trial'"
# Ordering by a metric (not by date) lists child runs flat, beside their parent: no row to expand.
TRIALS_ORDER = "metrics.`mean_tokens`"


def chart_state() -> dict:
    """The runs page state: one scatter, each trial run a point at (mean tokens, accuracy) in its run's colour.

    The filter keeps trial runs only, listed flat (a filtered list nests no runs), so every trial is a point
    without expanding the parent; `SHOW_ALL` lifts the UI's default of charting the first ten runs.
    Expanded rows are not part of a shared view (MLflow drops `runsExpanded`), hence the filter.
    """
    scatter = {
        "uuid": "mi-search-accuracy-vs-tokens",
        "type": "SCATTER",
        "isGenerated": False,
        "deleted": False,
        "metricSectionId": _SECTION,
        "displayName": "accuracy against mean tokens: every trial, by stage (chosen: black)",
        "xaxis": {"key": "mean_tokens", "type": "METRIC"},
        "yaxis": {"key": "accuracy", "type": "METRIC"},
        "runsCountToCompare": 500,
    }
    section = {"uuid": _SECTION, "name": "Pareto", "display": True, "isReordered": False}
    return {
        "compareRunCharts": [scatter],
        "compareRunSections": [section],
        "hideEmptyCharts": True,
        "runsHiddenMode": "SHOW_ALL",
        "searchFilter": TRIALS_FILTER,
        "orderByKey": TRIALS_ORDER,
        "orderByAsc": True,
    }


def run_colour(stage: int | None, *, chosen: bool) -> str:
    """A trial run's colour in MLflow's charts and runs list: its stage's, as in pareto.png; black if chosen."""
    return CHOSEN_COLOUR if chosen else STAGE_EDGES.get(stage, UNLABELLED)


def preset_chart_view(client: MlflowClient, experiment_id: str) -> None:
    """Store the preset on the experiment, in the format of the UI's Share button."""
    client.set_experiment_tag(experiment_id, f"{_TAG_PREFIX}{SHARE_KEY}", json.dumps(chart_state()))


# MLflow 3.17's UI picks its layout (GenAI or machine learning) from the link's `workflowType`, else from the
# browser's own setting (local storage, default GenAI, changed only by the sidebar's "Model training" switch);
# it ignores the experiment's `mlflow.experimentKind` tag while that switch is shown, and no server setting
# changes the default. Its own links (a run's name in the runs list) drop `workflowType`, so every link we
# print carries it, and the README says to click "Model training" once for the rest.
_LAYOUT = "workflowType=machine_learning"


def runs_url(server: str, experiment_id: str, *, chart: bool = False) -> str:
    """The experiment's runs list (trials flat, by tokens), or its Chart view with our preset."""
    query = _LAYOUT
    if chart:
        query += f"&compareRunsMode=CHART&viewStateShareKey={SHARE_KEY}"
    else:
        query += f"&orderByKey={quote(TRIALS_ORDER)}&orderByAsc=true"
    return f"{server.rstrip('/')}/#/experiments/{experiment_id}/runs?{query}"


def run_url(server: str, experiment_id: str, run_id: str) -> str:
    """A run's page (the study's parent run: its front, tables and report files) in the machine-learning layout."""
    return f"{server.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?{_LAYOUT}"


def model_url(server: str, name: str, version: str | None = None) -> str:
    """A registered model's page, or one version's, in the machine-learning layout."""
    path = f"models/{quote(name)}" + (f"/versions/{version}" if version is not None else "")
    return f"{server.rstrip('/')}/#/{path}?{_LAYOUT}"


def study_links(client: MlflowClient, server: str) -> list[tuple[str, dict[str, str]]]:
    """(study, {"study run": …, "runs": …, "front chart": …}) for every study experiment in the store, newest first."""
    found = []
    for e in client.search_experiments(order_by=["creation_time DESC"]):
        if e.name == "Default":
            continue
        links = {"runs": runs_url(server, e.experiment_id), "front chart": runs_url(server, e.experiment_id, chart=True)}
        parent = find_parent(client, e.experiment_id, e.name)
        if parent is not None:
            links = {"study run": run_url(server, e.experiment_id, parent), **links}
        found.append((e.name, links))
    return found


def model_links(client: MlflowClient, server: str) -> list[tuple[str, str]]:
    """(registered model, its page) for every model in the store's registry."""
    return [(m.name, model_url(server, m.name)) for m in client.search_registered_models()]
