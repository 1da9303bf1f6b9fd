"""A promotion and the disk: the room it needs, checked first, and what a promotion that failed midway leaves, removed.

A promotion writes the merged checkpoint three times: our export and MLflow's staged model, both under the
temporary folder, then the artifact store's copy. A disk that fills during any of them used to leave the logged
model's partial artifacts (the size of what fitted) and the MLflow store's own log of every failed write.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from mlflow.tracking import MlflowClient

from mi_search.diskspace import disk_full, no_space
from mi_search.errors import UserError
from mi_search.quiet import muted

_STORE_LOG = "mlflow.store.db.utils"  # logs every failed SQL write with its traceback, then raises it anyway
_MARGIN = 1 << 20  # the tokenizer, config, MLmodel and the shipped modules: well under a MiB


def checkpoint_bytes(directory: Path) -> int:
    """The size of a checkpoint's weights; the merged export has the Instruct side's tensors and dtypes."""
    return sum(path.stat().st_size for path in Path(directory).glob("*.safetensors"))


def local_folder(uri: str | None) -> Path | None:
    """The folder a `file:` artifact URI (or a plain path) names; None for a server's store."""
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    return Path(unquote(parsed.path))


def _free(folder: Path) -> int:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def check_room(weights: int, artifact_root: str | None) -> None:
    """Refuse, before anything is exported or logged, a promotion whose copies cannot fit where they go."""
    needs = [(Path(tempfile.gettempdir()), 2 * weights + _MARGIN)]  # our export, then MLflow's staged copy
    artifacts = local_folder(artifact_root)
    if artifacts is not None:
        needs.append((artifacts, weights + _MARGIN))
    for folder, needed in needs:  # the same disk for both is checked against their sum
        together = sum(n for f, n in needs if _same_disk(f, folder))
        free = _free(folder)
        if free < together:
            raise no_space(folder, together - free)


def _same_disk(a: Path, b: Path) -> bool:
    def device(folder: Path) -> int:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return folder.stat().st_dev

    return device(a) == device(b)


def quiet_store() -> contextlib.AbstractContextManager[None]:
    """MLflow's SQL store logs each failed write (a full disk: hundreds of lines) before raising it; we report it once."""
    return muted(_STORE_LOG, logging.CRITICAL)


def discard_partial(client: MlflowClient, experiment_id: str, run_id: str) -> None:
    """Remove what a failed promotion logged: its logged models' artifact folders first (which frees the room the
    store's own writes need), then the models themselves; the run is marked FAILED. Best effort: the next promotion
    finishes what a still-full store refuses (`_clean_leftovers`)."""
    with contextlib.suppress(Exception):
        for model in client.search_logged_models(experiment_ids=[experiment_id]):
            if model.source_run_id != run_id:
                continue
            folder = local_folder(model.artifact_location)
            if folder is not None and folder.name == "artifacts" and folder.parent.name == model.model_id:
                shutil.rmtree(folder.parent, ignore_errors=True)
            with contextlib.suppress(Exception):
                client.delete_logged_model(model.model_id)
    with contextlib.suppress(Exception):
        client.set_terminated(run_id, "FAILED")


def full_disk(exc: BaseException, folders: list[Path]) -> UserError | None:
    """One line naming the folder whose disk filled, else None: of the places a promotion writes, the one with the
    least room left now, before anything is removed (the OS names MLflow's staging path, wherever the write went)."""
    if disk_full(exc) is None:
        return None
    where = min(folders, key=_free)
    return UserError(
        f"no space left on the disk of {where} while promoting; free space there and rerun (nothing was registered)"
    )
