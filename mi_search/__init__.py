"""mi-search: search the interpolation between an Instruct and a Thinking model.

The public API, for notebooks, benchmarks and tests::

    from mi_search import StudyRequest, Runtime, run_study
    report = run_study(StudyRequest(overrides={"budget": "100tokens"}), Runtime(tracking_uri=None))

Names are imported on first use (PEP 562), so `import mi_search` loads neither torch, Optuna nor
MLflow, and the command line starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mi_search.version import __version__

# Public name → the module that defines it.
_EXPORTS = {
    "run_study": "mi_search.service.study",
    "run_worker": "mi_search.service.study",
    "promote_stored": "mi_search.service.study",
    "StudyReport": "mi_search.service.study",
    "run_sweep_config": "mi_search.service.sweep",
    "run_sweep": "mi_search.service.sweep",
    "SweepConfig": "mi_search.service.sweep",
    "resolve_pair": "mi_search.service.pair",
    "open_pair": "mi_search.service.pair",
    "export_merge": "mi_search.service.pair",
    "Runtime": "mi_search.service.runtime",
    "StudyObserver": "mi_search.service.runtime",
    "StudyRequest": "mi_search.search.settings.request",
    "StudyConfig": "mi_search.search.settings.config",
    "PairConfig": "mi_search.merge.pair",
    "LambdaSpec": "mi_search.merge.spec",
    "Backend": "mi_search.backends.base",
    "ResolvedPair": "mi_search.backends.pair",
    "load_backend": "mi_search.backends.load",
    "HFSettings": "mi_search.backends.settings",
    "VLLMSettings": "mi_search.backends.settings",
    "DecodingParams": "mi_search.evaluation.decoding",
    "UserError": "mi_search.errors",
}
__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from mi_search.backends.base import Backend
    from mi_search.backends.load import load_backend
    from mi_search.backends.pair import ResolvedPair
    from mi_search.backends.settings import HFSettings, VLLMSettings
    from mi_search.errors import UserError
    from mi_search.evaluation.decoding import DecodingParams
    from mi_search.merge.pair import PairConfig
    from mi_search.merge.spec import LambdaSpec
    from mi_search.search.settings.config import StudyConfig
    from mi_search.search.settings.request import StudyRequest
    from mi_search.service.pair import export_merge, open_pair, resolve_pair
    from mi_search.service.runtime import Runtime, StudyObserver
    from mi_search.service.study import StudyReport, promote_stored, run_study, run_worker
    from mi_search.service.sweep import SweepConfig, run_sweep, run_sweep_config


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mi_search' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
