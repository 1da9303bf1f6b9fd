"""Grouped-query attention on a CPU without copying the KV cache once per step.

transformers' `sdpa` attention repeats every key and value head to the query heads' count whenever an
attention mask is passed (its rule is written for the CUDA kernels, which cannot take a mask and grouped
heads together). Our decoder always passes a mask (left padding), so on a CPU each decode step copied the
whole cache twice per layer, which cost more than the attention itself. PyTorch's CPU kernels take a mask
and `enable_gqa` together, so here the heads share their key/value head instead; elsewhere (GPU, no
grouping, no mask) transformers' own function runs unchanged.

The same attention, summed in another order: logits agree to within 1e-5 and the greedy texts are the
same (`tests/backends/test_attention.py`; on the toy pair, 0 of 1,600 greedy completions over 8 λ
differed). That is the rounding a change of batch shape or thread count already brings, so it is not
part of a study's engine fingerprint, as a patch release of transformers is not.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

NAME = "sdpa_grouped"


def grouped_sdpa(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """`sdpa` whose grouped heads read the shared key/value heads in place when a CPU has a mask to apply."""
    grouped = getattr(module, "num_key_value_groups", 1) > 1
    plain = kwargs.get("position_bias") is None and kwargs.get("cache") is None
    if query.device.type != "cpu" or attention_mask is None or not grouped or not plain:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    out = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attention_mask, dropout_p=dropout, scale=scaling, enable_gqa=True
    )
    return out.transpose(1, 2).contiguous(), None


def supported() -> bool:
    """Whether this torch's `scaled_dot_product_attention` takes `enable_gqa` (2.5 and later; we allow 2.4)."""
    return torch.__version__ >= "2.5"  # a TorchVersion: compared as a version, not as text


def register() -> str:
    """Make `grouped_sdpa` loadable by name (idempotent); returns the `attn_implementation` to load with."""
    AttentionInterface.register(NAME, grouped_sdpa)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)
    return NAME
