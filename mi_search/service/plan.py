"""`mi-search plan`: a study's memory plan before anything loads, on this machine or on one described."""

from __future__ import annotations

from mi_search.backends.devices import host_memory as this_host
from mi_search.backends.devices import probe_machine
from mi_search.backends.memory import Machine, MemoryPlan, parse_size
from mi_search.backends.placement import engine_device, plan_pair
from mi_search.merge.checkpoints import resolve_checkpoint
from mi_search.search.settings.config import StudyConfig, build_config
from mi_search.search.settings.request import StudyRequest


def plan_study(
    request: StudyRequest, *, gpu_memory: str | None = None, host_memory: str | None = None
) -> tuple[StudyConfig, MemoryPlan]:
    """The study's configuration and its memory plan; a UserError naming the fix when it cannot fit.

    `gpu_memory` ("80GB") plans for a GPU of that size instead of this machine; `host_memory` for that
    much host memory. A hub pair is planned from its configs and index alone: no weight is fetched.
    """
    config = build_config(request.settings(), source=request.source, names=request.names)
    host = parse_size(host_memory) if host_memory is not None else None
    if gpu_memory is not None:
        machine = Machine("cuda", parse_size(gpu_memory), None, host)
    else:
        probed = probe_machine(engine_device(config.backend))
        machine = Machine(probed.device, probed.device_memory, probed.device_free, host or this_host())
    instruct, _ = config.pair.references()
    metadata = resolve_checkpoint(instruct, weights=False)  # a hub id: configs and the index, never weights
    return config, plan_pair(metadata, config.backend, machine)
