"""`mi-search plan`: where a study's pair will live and whether it fits, from configs and headers alone."""

from __future__ import annotations

from typing import Annotated

import typer

from mi_search.cli.app import app, console, reports_user_errors
from mi_search.cli.options import BACKEND_OPTIONS, PAIR_OPTIONS, Overrides, takes
from mi_search.backends.memory import MemoryPlan, size_text

GpuMemoryOpt = Annotated[
    str | None,
    typer.Option(help="Plan for a GPU of this much memory (e.g. 80GB, 141GB) instead of this machine's device."),
]
HostMemoryOpt = Annotated[
    str | None,
    typer.Option(help="Host memory to plan with (e.g. 512GB); default: this machine's, unchecked with --gpu-memory."),
]


@app.command("plan")
@reports_user_errors
@takes(PAIR_OPTIONS, BACKEND_OPTIONS)
def plan_command(
    study: Annotated[str | None, typer.Option("--study", help="A study YAML file (default: the toy study).")] = None,
    gpu_memory: GpuMemoryOpt = None,
    host_memory: HostMemoryOpt = None,
    *,
    overrides: Overrides,
) -> None:
    """Print the memory plan of a study before anything loads; refuse one that cannot fit, naming the setting that fixes it."""
    from mi_search.search.settings.request import StudyRequest
    from mi_search.service.plan import plan_study

    request = StudyRequest(study, overrides.settings, overrides.names)
    config, plan = plan_study(request, gpu_memory=gpu_memory, host_memory=host_memory)
    instruct, thinking = config.pair.references()
    console.print(
        f"memory plan for study {config.study_name}: {instruct} + {thinking}", highlight=False, soft_wrap=True
    )
    for label, text in plan_lines(plan):
        console.print(f"  {label:<17}{text}", highlight=False, soft_wrap=True)


def plan_lines(plan: MemoryPlan) -> list[tuple[str, str]]:
    """The plan as labelled lines: sizes, placements, vLLM's KV room, the switch cost and its stated bandwidths."""
    request, machine = plan.request, plan.machine
    tp = request.tensor_parallel_size if request.backend == "vllm" else 1
    devices = f"{tp} × " if tp > 1 else ""
    host = "not checked" if machine.host_memory is None else size_text(machine.host_memory)
    lines = [
        (
            "model",
            f"{_count(plan.model_bytes // request.itemsize)} parameters: {size_text(plan.model_bytes)} each in {request.dtype}",
        ),
        (
            "machine",
            f"{devices}{machine.device} {size_text(machine.device_memory)} ({size_text(machine.free)} free); host {host}",
        ),
        ("backend", f"{request.backend}" + (f", tensor_parallel_size {tp}" if tp > 1 else "")),
        ("working model", f"on the device: {size_text(plan.model_bytes / tp)} per device"),
    ]
    if plan.sources == "device" or machine.device == "cpu":
        lines.append(("sources", f"on the device: {size_text(2 * plan.model_bytes)} per device (2 whole models)"))
    else:
        copies = f" ({tp} workers × 2 models)" if tp > 1 else " (2 models)"
        lines.append(("sources", f"on the host: {size_text(plan.host_sources)} of pinned host memory{copies}"))
    lines.append(("device weights", f"{size_text(plan.device_weights)} per device"))
    if plan.kv_room is not None:
        room = f"share {plan.share:.2f} of the device leaves {size_text(plan.kv_room)} per device"
        lines.append(("vLLM KV cache", f"{room}: {plan.kv_tokens:,} tokens (max_model_len {request.max_model_len})"))
    through = 3 * plan.model_bytes  # a lerp reads two sources and writes the blend
    moved = f"{size_text(through)} through device memory at {plan.bandwidths.device / 1e9:,.0f} GB/s"
    if plan.switch_bytes > through:
        link = f"{size_text(plan.switch_bytes - through)} over the host link at {plan.bandwidths.host_link / 1e9:,.0f} GB/s"
        moved = f"{link} + {moved}"
    lines.append(("switch per trial", f"~{plan.switch_seconds:.2f} s per device: {moved}"))
    return lines


def _count(parameters: int) -> str:
    return f"{parameters / 1e9:.2f} B" if parameters >= 1e9 else f"{parameters / 1e6:.2f} M"
