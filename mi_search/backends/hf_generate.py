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

from mi_search.backends.base import chat_prompt_ids
from mi_search.evaluation.decoding import Completion, DecodingParams
from mi_search.evaluation.seeds import default_question_seeds, sample_seed


class HFGenerator:
    """Decodes with a transformers model, whatever weights it holds right now."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *, batch_size: int = 256) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        eos = tokenizer.eos_token_id
        self.stop_ids = torch.tensor(sorted({eos} | set(_as_list(model.generation_config.eos_token_id))))

    def generate(
        self, prompts: list[str], n: int, params: DecodingParams, *, seeds: Sequence[int] | None = None
    ) -> list[list[Completion]]:
        encoded = [chat_prompt_ids(self.tokenizer, p) for p in prompts]
        seeds = list(seeds) if seeds is not None else default_question_seeds(params.seed, len(prompts))
        rows = [(q, encoded[q], sample_seed(seeds[q], j)) for q in range(len(prompts)) for j in range(n)]
        # Similar prompt lengths share a batch: less padding in the prefill.
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][1]))
        results: list[Completion | None] = [None] * len(rows)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            generators = [torch.Generator().manual_seed(rows[i][2]) for i in chunk]
            for i, completion in zip(chunk, self._decode([rows[i][1] for i in chunk], params, generators)):
                results[i] = completion
        grouped: list[list[Completion]] = [[] for _ in prompts]
        for (question, _, _), completion in zip(rows, results):
            grouped[question].append(completion)
        return grouped

    @torch.no_grad()
    def _decode(
        self, batch: list[list[int]], params: DecodingParams, generators: list[torch.Generator]
    ) -> list[Completion]:
        device = self.model.device
        width = max(map(len, batch))
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in batch], device=device)
        attention = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in batch], device=device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        keyword = _cache_keyword(self.model)
        live = torch.arange(len(batch), device=device)  # original row of each live batch row
        generated: list[list[int]] = [[] for _ in batch]
        finish: list[str] = ["length"] * len(batch)
        stop_ids = self.stop_ids.to(device)
        logits = self.model(
            input_ids=input_ids, attention_mask=attention, position_ids=positions, use_cache=True, **{keyword: cache}
        ).logits[:, -1, :]
        for _ in range(params.max_new_tokens):
            tokens = _next_tokens(logits, params, [generators[row] for row in live.tolist()])
            for row, token in zip(live.tolist(), tokens.tolist()):
                generated[row].append(token)
            stopped = torch.isin(tokens, stop_ids)
            for row in live[stopped].tolist():
                finish[row] = "stop"
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
        return [
            Completion(self.tokenizer.decode(ids, skip_special_tokens=True), len(ids), reason)
            for ids, reason in zip(generated, finish)
        ]


def _cache_keyword(model: PreTrainedModel) -> str:
    """The name `forward` takes the KV cache by: transformers 5.2x renamed `past_key_values` to `cache` and warns
    (FutureWarning) on the old name; earlier 5.x releases know only the old one."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


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
