"""The CPU attention that reads grouped key/value heads in place computes what transformers' `sdpa` computes."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from mi_search import open_pair
from mi_search.backends.attention import NAME, register
from mi_search.backends.settings import HFSettings
from mi_search.backends.hf_generate import HFGenerator
from mi_search.evaluation.decoding import DecodingParams
from mi_search.merge.pair import PairConfig


def _left_padded_logits(model, rows: list[list[int]]) -> torch.Tensor:
    width = max(map(len, rows))
    ids = torch.tensor([[0] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask, position_ids=positions).logits


def test_grouped_heads_give_sdpa_logits_and_greedy_tokens_on_a_padded_batch(toy_dirs):
    instruct, _ = toy_dirs
    stock = AutoModelForCausalLM.from_pretrained(instruct, dtype=torch.float32, attn_implementation="sdpa").eval()
    grouped = AutoModelForCausalLM.from_pretrained(instruct, dtype=torch.float32, attn_implementation=register()).eval()
    assert grouped.config.num_attention_heads > grouped.config.num_key_value_heads  # grouped heads: the case at stake
    rows = [[5, 6, 7, 8, 9, 10, 11], [12, 13], [14, 15, 16, 17]]
    assert torch.allclose(_left_padded_logits(stock, rows), _left_padded_logits(grouped, rows), atol=1e-5, rtol=0)

    tokenizer = AutoTokenizer.from_pretrained(instruct)
    prompts = ["What is 12+345?", "What is 98765+4321?", "What is 55+55?"]
    params = DecodingParams(max_new_tokens=60)
    stock_out = HFGenerator(stock, tokenizer).generate(prompts, 1, params)
    grouped_out = HFGenerator(grouped, tokenizer).generate(prompts, 1, params)
    assert [c[0].text for c in stock_out] == [c[0].text for c in grouped_out]
    assert any(c[0].num_tokens > 10 for c in grouped_out)


def test_the_hf_backend_on_a_cpu_loads_the_toy_with_the_grouped_attention():
    backend = open_pair(PairConfig(), HFSettings(device="cpu"))
    assert backend.model.config._attn_implementation == NAME
