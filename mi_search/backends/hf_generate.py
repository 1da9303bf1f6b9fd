"""Batched decoding for transformers models: a KV cache, left padding, and finished rows dropped.

`generate()` of transformers keeps every row of a batch until the longest one ends; here a row that
emits EOS leaves the batch (and the KV cache) at once, so short answers stop costing work.

Sampling draws from one generator per row, seeded by (prompt seed, sample index): a row's sample
does not depend on which rows share its batch, so every trial of a study samples question q's j-th
response from the same random numbers (common random numbers, `evaluation.seeds`).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

from mi_search.backends.thinking import Raw, Request, generate_grouped
from mi_search.evaluation.decoding import Completion, DecodingParams


class HFGenerator:
    """Decodes with a transformers model, whatever weights it holds right now."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *, batch_size: int = 256) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        eos = tokenizer.eos_token_id
        self.stop_ids = torch.tensor(sorted({eos} | set(_as_list(model.generation_config.eos_token_id))))

    def generate(
        self, prompts: list[str], n: int, params: DecodingParams, *, seeds: Sequence[int] | None = None, first: int = 0
    ) -> list[list[Completion]]:
        return generate_grouped(
            self.tokenizer, lambda requests: self._run(requests, params), prompts, n, params, seeds, first
        )

    def _run(self, requests: list[Request], params: DecodingParams) -> list[Raw]:
        """Each request decoded with its own limit and seed; similar prompt lengths share a batch (less padding)."""
        order = sorted(range(len(requests)), key=lambda i: len(requests[i].prompt))
        results: list[Raw | None] = [None] * len(requests)
        for start in range(0, len(order), self.batch_size):
            chunk = [requests[i] for i in order[start : start + self.batch_size]]
            generators = [torch.Generator().manual_seed(r.seed) for r in chunk]
            decoded = self._decode([r.prompt for r in chunk], [r.limit for r in chunk], params, generators)
            for i, raw in zip(order[start : start + self.batch_size], decoded):
                results[i] = raw
        return results

    @torch.no_grad()
    def _decode(
        self, batch: list[list[int]], limits: list[int], params: DecodingParams, generators: list[torch.Generator]
    ) -> list[Raw]:
        device = self.model.device
        width = max(map(len, batch))
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in batch], device=device)
        attention = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in batch], device=device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        keyword = _cache_keyword(self.model)
        last_only = _last_logits_only(self.model)
        live = torch.arange(len(batch), device=device)  # original row of each live batch row
        generated: list[list[int]] = [[] for _ in batch]
        finish: list[str] = ["length"] * len(batch)
        stop_ids = self.stop_ids.to(device)
        logits = self.model(
            input_ids=input_ids,
            attention_mask=attention,
            position_ids=positions,
            use_cache=True,
            **{keyword: cache},
            **last_only,
        ).logits[:, -1, :]
        row_limits = torch.tensor(limits, device=device)
        for step in range(1, max(limits) + 1):
            tokens = _next_tokens(logits, params, [generators[row] for row in live.tolist()])
            for row, token in zip(live.tolist(), tokens.tolist()):
                generated[row].append(token)
            ended = torch.isin(tokens, stop_ids)
            for row in live[ended].tolist():
                finish[row] = "stop"
            stopped = ended | (row_limits[live] <= step)  # a row at its own limit leaves as cut by length
            keep = (~stopped).nonzero().squeeze(-1)
            if keep.numel() == 0:
                break
            if keep.numel() < live.numel():
                cache.reorder_cache(keep)
                live, tokens, attention, positions = live[keep], tokens[keep], attention[keep], positions[keep]
            attention = torch.cat([attention, attention.new_ones(len(live), 1)], dim=-1)
            positions = positions[:, -1:] + 1
            logits = self.model(
                input_ids=tokens[:, None],
                attention_mask=attention,
                position_ids=positions,
                use_cache=True,
                **{keyword: cache},
            ).logits[:, -1, :]
        return [Raw(ids, self.tokenizer.decode(ids, skip_special_tokens=True), reason) for ids, reason in zip(generated, finish)]


def _cache_keyword(model: PreTrainedModel) -> str:
    """The name `forward` takes the KV cache by: transformers 5.2x renamed `past_key_values` to `cache` and warns
    (FutureWarning) on the old name; earlier 5.x releases know only the old one."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _last_logits_only(model: PreTrainedModel) -> dict[str, int]:
    """Ask the prefill for the last position's logits only, where `forward` takes `logits_to_keep`: the decoder reads
    no other. Otherwise the LM head runs over every prompt token, and for a real vocabulary (Qwen3: 151,936) a
    batch of 256 prompts of 200 tokens would hold 7.8 billion logits (15.6 GB in bf16) for one step."""
    return {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}


def _next_tokens(logits: torch.Tensor, params: DecodingParams, generators: list[torch.Generator]) -> torch.Tensor:
    """Each row's next token; a sampled row inverts its distribution's CDF at a uniform from its own generator."""
    if params.greedy:
        return logits.argmax(-1)
    logits = logits.float() / params.temperature
    if params.top_k:
        kth = logits.topk(min(params.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if params.top_p < 1.0:
        sorted_logits, sorted_idx = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        # Drop a token once the mass before it already reaches top_p; the first token always stays.
        drop = (cumulative - sorted_logits.softmax(-1)) >= params.top_p
        logits = logits.scatter(-1, sorted_idx, sorted_logits.masked_fill(drop, float("-inf")))
    cdf = logits.softmax(-1).cumsum(-1)
    uniforms = torch.stack([torch.rand((), generator=g) for g in generators]).to(cdf.device, cdf.dtype)
    picked = torch.searchsorted(cdf, (uniforms * cdf[:, -1])[:, None], right=True).squeeze(-1)
    return picked.clamp(max=cdf.shape[-1] - 1)


def _as_list(value: int | list[int] | None) -> list[int]:
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)
