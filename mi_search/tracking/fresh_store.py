"""A new SQLite tracking store starts as a copy of an empty, migrated one.

MLflow builds a new SQLite store by creating its first tables and then running every Alembic migration
since (dozens on MLflow 3): about 1.3 s of CPU for each new store, in every process, for the same empty
file each time. MLflow has no cache of it (`mlflow db upgrade` migrates in place), so the migrated
empty store is built once per MLflow version in the cache folder and copied. The copy holds no
experiment: on first open MLflow adds its Default experiment with this store's own artifact root, as
it does for a store it built itself. Anything unusual (no cache folder, a damaged template, a file
system without hard links) leaves the store to MLflow, as before.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from mi_search.cache_dir import cache_dir
from mi_search.store_lock import sqlite_path
from mi_search.tracking.locations import absolute_uri


def template_path() -> Path:
    import mlflow

    return cache_dir() / f"mlflow-{mlflow.__version__}-empty.db"


def seed_new_store(tracking_uri: str) -> bool:
    """Put the migrated empty store where `tracking_uri`'s SQLite file would be created; True if copied.

    Call it while holding the store's creation lock (`store_lock.creating`). A file already there is
    never touched: it is linked into place, which fails rather than overwrite.
    """
    path = sqlite_path(absolute_uri(tracking_uri))
    if path is None or path.exists() or not path.parent.is_dir():
        return False
    template = _template()
    if template is None:
        return False
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(template, staging)
        os.link(staging, path)
    except OSError:  # already there, or no hard links here: MLflow opens or builds it itself
        return False
    finally:
        staging.unlink(missing_ok=True)
    return True


def _template() -> Path | None:
    """The migrated empty store for this MLflow version, built on first use; None where it cannot be."""
    target = template_path()
    if _is_template(target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _build(target)
    except (OSError, sqlite3.Error):
        return None
    return target if _is_template(target) else None


def _build(target: Path) -> None:
    """Let MLflow create and migrate a store under a temporary name, empty it of experiments, rename it into place."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    try:
        with tempfile.TemporaryDirectory() as artifacts:
            store = SqlAlchemyStore(f"sqlite:///{staging}", Path(artifacts).as_uri())
            store.engine.dispose()
        with closing(sqlite3.connect(staging)) as db, db:  # closed, after one committed transaction
            db.execute("DELETE FROM experiment_tags")
            db.execute("DELETE FROM experiments")
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)


def _is_template(path: Path) -> bool:
    """A readable SQLite file stamped with an MLflow schema revision and holding no experiment."""
    if not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            stamped = db.execute("SELECT version_num FROM alembic_version").fetchone()
            experiments = db.execute("SELECT COUNT(*) FROM experiments").fetchone()[0]
    except sqlite3.Error:
        return False
    return stamped is not None and experiments == 0
