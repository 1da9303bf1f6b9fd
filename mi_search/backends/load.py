"""Load the pair on the backend its settings name; every backend offers the same `Backend` interface."""

from __future__ import annotations

from mi_search.backends.base import Backend
from mi_search.backends.settings import BackendSettings, HFSettings
from mi_search.merge.pair import PairConfig


def load_backend(pair: PairConfig, settings: BackendSettings = HFSettings()) -> Backend:
    """Check the pair, then load each source once; the backend's module is imported only when chosen."""
    if isinstance(settings, HFSettings):
        from mi_search.backends.hf import load_hf

        return load_hf(pair, settings)
    from mi_search.backends.vllm_backend import load_vllm

    return load_vllm(pair, settings)
