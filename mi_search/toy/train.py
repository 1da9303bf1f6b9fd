"""Train the toy models: a shared base on both styles, then one specialist per style."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import torch
from transformers import PreTrainedTokenizerBase, Qwen3Config, Qwen3ForCausalLM

from mi_search.toy.problems import Problem, base_example, instruct_example, sample_problems, thinking_example

MakeResponse = Callable[[Problem, random.Random], str]


def toy_config(tokenizer: PreTrainedTokenizerBase) -> Qwen3Config:
    """Six layers so that early, middle and late blocks exist; head_dim 32 is vLLM's CPU attention minimum."""
    return Qwen3Config(
        vocab_size=128,
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=6,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )


def new_model(tokenizer: PreTrainedTokenizerBase, seed: int) -> Qwen3ForCausalLM:
    torch.manual_seed(seed)
    return Qwen3ForCausalLM(toy_config(tokenizer))


def encode_batch(
    tokenizer: PreTrainedTokenizerBase, problems: list[Problem], responses: list[str]
) -> dict[str, torch.Tensor]:
    """Right-padded ids with the loss on the response and its closing `<|im_end|>` only."""
    rows, labels = [], []
    for problem, response in zip(problems, responses):
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": problem.question}], add_generation_prompt=True, tokenize=False
        )
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        rows.append(prompt_ids + answer_ids)
        labels.append([-100] * len(prompt_ids) + answer_ids)
    width = max(map(len, rows))
    pad = tokenizer.pad_token_id
    return {
        "input_ids": torch.tensor([r + [pad] * (width - len(r)) for r in rows]),
        "attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows]),
        "labels": torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels]),
    }


def _learning_rate(step: int, steps: int, peak: float) -> float:
    warmup = max(1, steps // 20)
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def train(
    model: Qwen3ForCausalLM,
    tokenizer: PreTrainedTokenizerBase,
    make_response: MakeResponse,
    *,
    steps: int,
    lr: float,
    seed: int,
    batch_size: int = 64,
    on_step: Callable[[int, float], None] | None = None,
) -> None:
    """AdamW with warm-up and cosine decay, in fp32 (bf16 autocast is ~10x slower on CPUs without AVX-512)."""
    rng = random.Random(seed)
    pool = sample_problems(20_000, seed=seed, heldout=False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
    model.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(step, steps, lr)
        problems = rng.sample(pool, batch_size)
        loss = _accumulate_sorted(model, tokenizer, problems, [make_response(p, rng) for p in problems])
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if on_step is not None:
            on_step(step, loss)
    model.eval()


def _accumulate_sorted(
    model: Qwen3ForCausalLM, tokenizer: PreTrainedTokenizerBase, problems: list[Problem], responses: list[str]
) -> float:
    """Back-propagate the batch as two length-sorted halves: far less padding than one ragged batch."""
    order = sorted(range(len(problems)), key=lambda i: len(responses[i]))
    halves = [order[: len(order) // 2], order[len(order) // 2 :]]
    batches = [encode_batch(tokenizer, [problems[i] for i in h], [responses[i] for i in h]) for h in halves]
    counts = [int((b["labels"] != -100).sum()) for b in batches]
    total = 0.0
    for batch, count in zip(batches, counts):
        loss = model(**batch).loss * (count / sum(counts))
        loss.backward()
        total += loss.item()
    return total


STYLES: dict[str, MakeResponse] = {"base": base_example, "instruct": instruct_example, "thinking": thinking_example}
