"""Reach an MLflow tracking store before a study starts, and the experiment a study logs to."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mi_search.errors import UserError
from mi_search.store_kinds import MLFLOW_STORE, check_store_kind
from mi_search.store_lock import creating
from mi_search.tracking.fresh_store import seed_new_store
from mi_search.tracking.guard import bounded_requests
from mi_search.tracking.locations import DEFAULT_TRACKING_URI, absolute_uri

ARTIFACTS_DIR = "mlartifacts"
# The experiment kind MLflow 3 reads to open an experiment on its runs, not on the GenAI overview.
EXPERIMENT_KIND_TAG, CUSTOM_MODEL_KIND = "mlflow.experimentKind", "custom_model_development"
# Where an experiment tracker may live (MLflow's schemes, less those a study never uses).
TRACKING_SCHEMES = ("sqlite", "http", "https", "postgresql", "mysql", "mssql", "file")


def check_tracking_uri(uri: str) -> None:
    """Refuse, without opening it, a tracking URI MLflow cannot use or a SQLite file that holds a study storage."""
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme.split("+")[0] not in TRACKING_SCHEMES:
        raise UserError(
            f"--tracking-uri {uri} is not a tracking store MLflow can use; give sqlite:///mlflow.db or http://HOST:PORT"
        )
    check_store_kind(uri, "--tracking-uri", MLFLOW_STORE, DEFAULT_TRACKING_URI)


def connect(tracking_uri: str) -> MlflowClient:
    """A client for `tracking_uri` (also the registry), or one line saying the store cannot be reached.

    A URI MLflow cannot use, or a SQLite file of another kind, is refused before MLflow opens (and migrates) it.
    """
    check_tracking_uri(tracking_uri)
    with bounded_requests(10), creating(tracking_uri):  # one short try; a new SQLite store migrated by one process
        try:
            seed_new_store(tracking_uri)
            absolute = absolute_uri(tracking_uri)
            client = MlflowClient(tracking_uri=absolute, registry_uri=absolute)
            client.search_experiments(max_results=1)
            client.search_registered_models(max_results=1)  # the registry's store runs its own migrations
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


def check_artifact_root(client: MlflowClient, tracking_uri: str, name: str) -> None:
    """Refuse a local store whose experiment `name` keeps its artifacts outside the store's folder.

    MLflow stores an experiment's artifact root as an absolute URI and cannot change it: a project
    folder copied or moved elsewhere would write every artifact of its runs into the original folder
    (and overwrite its tables). Nothing is written before this check.
    """
    expected = artifact_location(tracking_uri)
    experiment = client.get_experiment_by_name(name) if expected is not None else None
    if experiment is None or experiment.artifact_location == expected:
        return
    found = experiment.artifact_location
    if found.startswith("file:") and found != expected:
        raise UserError(
            f"the MLflow experiment {name!r} in {tracking_uri} keeps its artifacts in {found}, outside this store's "
            f"folder (a copied or moved project?); pass a new --tracking-uri, e.g. sqlite:///mlflow-copy.db, or run "
            "in the original folder"
        )


def experiment_for(client: MlflowClient, tracking_uri: str, name: str) -> str:
    """The id of the experiment `name`, created on first use, of the kind that opens on its runs."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(
                name, artifact_location=artifact_location(tracking_uri), tags={EXPERIMENT_KIND_TAG: CUSTOM_MODEL_KIND}
            )
        except MlflowException:  # a worker created it a moment ago
            experiment = client.get_experiment_by_name(name)
    if experiment.tags.get(EXPERIMENT_KIND_TAG) != CUSTOM_MODEL_KIND:  # made by an earlier version
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, CUSTOM_MODEL_KIND)
    return experiment.experiment_id
