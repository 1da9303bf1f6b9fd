"""Where the MLflow tracking store lives by default (no heavy imports: the CLI reads it)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def absolute_uri(tracking_uri: str) -> str:
    """A relative SQLite URI made absolute, so the store is the one in today's working directory.

    MLflow caches one store per URI string for the whole process: a relative `sqlite:///mlflow.db` reached again
    after the working directory changed (a notebook, a test session) would reuse the first folder's database.
    """
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix) or tracking_uri.startswith(prefix + "/"):
        return tracking_uri
    path, _, query = tracking_uri.removeprefix(prefix).partition("?")
    if path in ("", ":memory:"):
        return tracking_uri
    return f"{prefix}{Path(path).absolute()}" + (f"?{query}" if query else "")
