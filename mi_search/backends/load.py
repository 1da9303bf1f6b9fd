"""Load the pair on the backend its settings name; every backend offers the same `Backend` interface."""

from __future__ import annotations

from mi_search.backends.base import Backend
from mi_search.backends.pair import ResolvedPair
from mi_search.backends.settings import BackendSettings, HFSettings


def load_backend(pair: ResolvedPair, settings: BackendSettings = HFSettings()) -> Backend:
    """Load each source of a resolved pair once; the backend's module is imported only when chosen."""
    if isinstance(settings, HFSettings):
        from mi_search.backends.hf import load_hf

        return load_hf(pair, settings)
    from mi_search.backends.vllm_backend import load_vllm

    return load_vllm(pair, settings)
