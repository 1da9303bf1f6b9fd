"""Where the MLflow tracking store lives by default (no heavy imports: the CLI reads it)."""

from __future__ import annotations

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
