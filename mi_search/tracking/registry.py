"""Register a merged checkpoint as a new version of an MLflow registered model, all or nothing, then move an alias.

The model is logged from code (`model_code.py`: no pickle, so no CloudPickle warning) in a promote run nested
under the study's parent run. The version is created with its tags and description in one call and marked
pending; the alias moves; then the version is marked registered. A version left pending by a killed or failed
promotion is deleted by the next one (`clean_incomplete`).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mi_search.version import __version__
from mi_search.errors import UserError
from mi_search.evaluation.decoding import DecodingParams
from mi_search.tracking.locations import absolute_uri
from mi_search.tracking.pyfunc_model import CHECKPOINT_ARTIFACT

_FORBIDDEN_IN_NAMES = (".", "/", ":")
STATE_TAG, PENDING, REGISTERED = "mi_search.registration", "pending", "registered"
_MODEL_VERSIONS_TAG = "mlflow.modelVersions"  # how MLflow links a logged model to its registered versions
MODEL_CODE = Path(__file__).with_name("model_code.py")
# The modules the registered model runs, shipped inside it (MLflow's code_paths): a serving machine needs
# no mi-search install (mi-search is not on a package registry), only the requirements below.
SERVING_MODULES = (
    "__init__.py",
    "version.py",
    "backends/__init__.py",
    "backends/base.py",
    "backends/hf_generate.py",
    "backends/thinking.py",
    "errors.py",
    "evaluation/__init__.py",
    "evaluation/decoding.py",
    "evaluation/seeds.py",
    "tracking/__init__.py",
    "tracking/pyfunc_model.py",
)


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
    bad = [c for c in name if c in _FORBIDDEN_IN_NAMES or not c.isprintable()]
    if not name.strip() or bad:
        found = f"contains {bad[0]!r}" if bad else "is empty"
        raise UserError(
            f"registered model name {name!r} {found}: MLflow names may not contain '.', '/', ':' "
            "or control characters; "
            "choose a name like toy-merge"
        )


def check_alias(alias: str) -> None:
    """Refuse an alias MLflow would refuse after registering (reserved `latest` and `v<N>`, bad characters, length)."""
    try:
        for check in _mlflow_alias_checks():
            check(alias)
    except MlflowException as exc:
        reason = str(exc.message).splitlines()[0].rstrip(".")
        raise UserError(f"alias {alias!r} cannot be used ({reason}); pass --alias with a name like champion") from None


def _mlflow_alias_checks() -> list[Callable[[str], None]]:
    """MLflow's own alias checks, so that ours never drift from what registering refuses. They are private and
    MLflow 3.18 renamed them (`_validate_model_alias_name` became `_validate_alias_name`): both spellings are
    looked up, and where neither exists registering still refuses the alias and `clean_incomplete` tidies up."""
    from mlflow.utils import validation

    for names in (
        ("_validate_alias_name", "_validate_alias_name_reserved"),
        ("_validate_model_alias_name", "_validate_model_alias_name_reserved"),
    ):
        checks = [getattr(validation, name, None) for name in names]
        if all(checks):
            return checks
    return []


def clean_incomplete(client: MlflowClient, name: str) -> list[str]:
    """Delete the versions of `name` an interrupted promotion left pending; finish one whose alias already moved."""
    handled = []
    for version in client.search_model_versions(f"name = '{name}' and tags.`{STATE_TAG}` = '{PENDING}'"):
        if version.aliases:
            client.set_model_version_tag(name, version.version, STATE_TAG, REGISTERED)
        else:
            client.delete_model_version(name, version.version)
        handled.append(str(version.version))
    return handled


def log_checkpoint(checkpoint: Path, *, run_id: str, decoding: DecodingParams, tracking_uri: str) -> str:
    """Log `checkpoint` as a models-from-code pyfunc in run `run_id`; the logged model's id."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(fluent_uri(tracking_uri))
        stack.enter_context(mlflow.start_run(run_id=run_id, nested=True))
        stack.enter_context(warnings.catch_warnings())
        # MLflow suggests an input example; one would make it load the whole model while logging.
        warnings.filterwarnings("ignore", message=".*input example.*")
        code = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mi-search-serving-")))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(MODEL_CODE),
            artifacts={CHECKPOINT_ARTIFACT: str(checkpoint)},
            model_config=decoding.model_dump(),
            code_paths=[str(serving_code(code))],
            pip_requirements=serving_requirements(),
        )
    return info.model_id


def serving_code(folder: Path) -> Path:
    """A copy of just the modules the registered model runs, as a `mi_search` package under `folder`."""
    source = Path(__file__).resolve().parents[1]  # the mi_search package folder
    for module in SERVING_MODULES:
        target = folder / "mi_search" / module
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / module, target)
    return folder / "mi_search"


def serving_requirements() -> list[str]:
    """What the shipped modules import, from a package registry, at the versions the study ran with."""
    import pydantic
    import torch
    import transformers

    def release(version: str) -> str:  # `2.13.0+cpu` is a local build; its release is on PyPI
        return re.sub(r"\+.*$", "", version)

    return [
        f"torch>={release(torch.__version__)}",
        f"transformers=={transformers.__version__}",
        f"pydantic>={release(pydantic.VERSION)}",
    ]


@contextlib.contextmanager
def fluent_uri(tracking_uri: str) -> Iterator[None]:
    """MLflow's fluent API (log_model, and the registry resolving `models:/<id>`) reads the global URIs."""
    saved = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(absolute_uri(tracking_uri))
    mlflow.set_registry_uri(absolute_uri(tracking_uri))
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved[0])
        mlflow.set_registry_uri(saved[1])


def register(
    client: MlflowClient,
    tracking_uri: str,
    *,
    name: str,
    alias: str,
    model_id: str,
    source_run_id: str,
    tags: dict[str, str],
    description: str,
) -> RegisteredVersion:
    """A new version of `name` from the logged model, complete with tags and description, then the alias."""
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    with fluent_uri(tracking_uri):
        version = client.create_model_version(
            name,
            source=f"models:/{model_id}",
            run_id=source_run_id,
            tags={**tags, STATE_TAG: PENDING},
            description=description,
            model_id=model_id,
        ).version
    try:
        _link_logged_model(client, model_id, name, str(version))
        client.set_registered_model_alias(name, alias, str(version))
        client.set_model_version_tag(name, str(version), STATE_TAG, REGISTERED)
    except BaseException:
        with contextlib.suppress(Exception):  # the store may be what failed; the next promotion cleans up then
            clean_incomplete(client, name)
        raise
    return RegisteredVersion(name, str(version), alias)


def _link_logged_model(client: MlflowClient, model_id: str, name: str, version: str) -> None:
    """What `mlflow.register_model` records on the logged model, so its page lists the version."""
    model = client.get_logged_model(model_id)
    linked = json.loads(model.tags.get(_MODEL_VERSIONS_TAG, "[]")) + [{"name": name, "version": version}]
    client.set_logged_model_tags(model_id, {_MODEL_VERSIONS_TAG: json.dumps(linked)})
