"""Register a merged checkpoint as a new version of an MLflow registered model and move an alias to it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import mlflow

from mi_search import __version__
from mi_search.evaluation.decoding import DecodingParams
from mi_search.errors import UserError
from mi_search.tracking.pyfunc_model import CHECKPOINT_ARTIFACT, MergedModel
from mi_search.tracking.store import connect, experiment_for

PROMOTIONS_EXPERIMENT = "mi-search-promotions"
_FORBIDDEN_IN_NAMES = (".", "/", ":")


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    alias: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}@{self.alias}"


def check_model_name(name: str) -> None:
    """Refuse a registered model name MLflow would reject or mangle, before anything is exported or logged."""
    bad = [c for c in _FORBIDDEN_IN_NAMES if c in name]
    if not name.strip() or bad:
        found = f"contains {bad[0]!r}" if bad else "is empty"
        raise UserError(
            f"registered model name {name!r} {found}: MLflow names may not contain '.', '/' or ':'; "
            "choose a name like toy-merge"
        )


def register_checkpoint(
    checkpoint: Path,
    *,
    name: str,
    alias: str,
    decoding: DecodingParams,
    tags: dict[str, str],
    description: str,
    tracking_uri: str,
) -> RegisteredVersion:
    """Log `checkpoint` as a pyfunc model, register it as a new version of `name`, tag it, move `alias` to it."""
    check_model_name(name)
    client = connect(tracking_uri)
    experiment_id = experiment_for(client, tracking_uri, PROMOTIONS_EXPERIMENT)
    saved = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_uri)  # log_model only speaks the fluent API
    mlflow.set_registry_uri(tracking_uri)
    try:
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"promote-{name}"), warnings.catch_warnings():
            # MLflow suggests an input example; one would make it load the whole model while logging.
            warnings.filterwarnings("ignore", message=".*input example.*")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=MergedModel(),
                artifacts={CHECKPOINT_ARTIFACT: str(checkpoint)},
                model_config=decoding.model_dump(),
                registered_model_name=name,
                pip_requirements=[f"mi-search=={__version__}", "torch", "transformers"],
            )
    finally:
        mlflow.set_tracking_uri(saved[0])
        mlflow.set_registry_uri(saved[1])
    version = str(info.registered_model_version)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    client.update_model_version(name, version, description=description)
    client.set_registered_model_alias(name, alias, version)
    return RegisteredVersion(name, version, alias)
