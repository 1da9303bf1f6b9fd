"""Load the pair on the backend its settings name; every backend offers the same `Backend` interface."""

from __future__ import annotations

from mi_search.backends.base import Backend
from mi_search.backends.pair import ResolvedPair
from mi_search.backends.settings import BackendSettings, HFSettings, VLLMSettings


def load_backend(pair: ResolvedPair, settings: BackendSettings = HFSettings()) -> Backend:
    """Load each source of a resolved pair once; the backend's module is imported only when chosen."""
    if isinstance(settings, HFSettings):
        from mi_search.backends.hf import load_hf

        return load_hf(pair, settings)
    from mi_search.backends.vllm_backend import load_vllm

    return load_vllm(pair, settings)


def check_runnable(model_config: dict, settings: BackendSettings) -> None:
    """What the backend refuses of a model from its config alone (vLLM: an architecture or head size it lacks),
    said before the memory plan, which would otherwise name a less fundamental problem first."""
    if isinstance(settings, VLLMSettings):
        from mi_search.backends.vllm_backend import check_runnable as check_vllm

        check_vllm(model_config, settings)
