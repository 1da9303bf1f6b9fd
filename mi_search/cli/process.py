"""Process-wide set-up for a command-line run: done once at start, never when the package is imported."""

from __future__ import annotations

import logging
import os
import warnings


def configure_process() -> None:
    """Once per command-line run, before torch loads: threads that yield, and our displays instead of libraries'."""
    # Idle OpenMP threads that spin starve every other process on a small CPU machine (5-8x slower steps were
    # measured on 2 cores); this must be set before torch starts its thread pool.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # not "Creating initial MLflow database tables..."
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # the same, where MLflow is already imported
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress bars replace its per-trial lines
    # Library notices a user cannot act on: deprecations inside transformers and MLflow, Optuna's experimental tags.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*experimental.*")
