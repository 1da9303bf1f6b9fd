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
    _matplotlib_config_dir()
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


def check_working_folder() -> None:
    """A deleted current folder is one line now, not a fatal error inside a math library's start-up."""
    from mi_search.errors import UserError

    try:
        os.getcwd()
    except FileNotFoundError:
        raise UserError("the current folder was deleted; cd to an existing folder and run the command again") from None


def _matplotlib_config_dir() -> None:
    """Matplotlib warns twice when HOME cannot be written (a read-only HOME in a container) and then uses a
    temporary folder anyway; we give it that folder first, silently."""
    if "MPLCONFIGDIR" in os.environ:
        return
    home = os.path.expanduser("~")
    config = os.path.join(home, ".config", "matplotlib")
    target = config if os.path.isdir(config) else home
    if os.path.isdir(target) and os.access(target, os.W_OK) and _writable(target):
        return
    import tempfile

    folder = os.path.join(tempfile.gettempdir(), f"mi-search-matplotlib-{os.getuid()}")
    os.makedirs(folder, exist_ok=True)
    os.environ["MPLCONFIGDIR"] = folder


def _writable(folder: str) -> bool:
    """Tried, not guessed: root passes os.access on a read-only mount."""
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(prefix=".mi-search-check.", dir=folder))
    except OSError:
        return False
    return True
