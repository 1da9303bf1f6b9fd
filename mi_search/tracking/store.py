"""Reach an MLflow tracking store before a study starts, and the experiment a study logs to."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mi_search.errors import UserError
from mi_search.search.locations import DEFAULT_TRACKING_URI

ARTIFACTS_DIR = "mlartifacts"


@contextmanager
def _fail_fast():
    """MLflow retries an unreachable server for minutes by default; one short try says enough."""
    saved = {name: os.environ.get(name) for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    os.environ.update(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="10")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def connect(tracking_uri: str) -> MlflowClient:
    """A client for `tracking_uri` (also the registry), or one line saying the store cannot be reached."""
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    with _fail_fast():
        try:
            client.search_experiments(max_results=1)
        except (MlflowException, OSError) as exc:
            reason = str(exc).splitlines()[0][:200]
            raise UserError(
                f"cannot reach the MLflow tracking store {tracking_uri} ({reason}); start the server or pass "
                f"--tracking-uri {DEFAULT_TRACKING_URI}"
            ) from None
    return client


def artifact_location(tracking_uri: str) -> str | None:
    """Artifacts of a local SQLite store go to `mlartifacts/` beside the database; a server decides its own."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme != "sqlite":
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    return (database.resolve().parent / ARTIFACTS_DIR).as_uri()


def experiment_for(client: MlflowClient, tracking_uri: str, name: str) -> str:
    """The id of the experiment named after the study, created on first use."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location(tracking_uri))
    except MlflowException:  # a worker created it a moment ago
        return client.get_experiment_by_name(name).experiment_id
