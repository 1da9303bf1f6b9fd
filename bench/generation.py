"""The HF backend against transformers' `generate` on one mixed-length batch, side by side.

Run from the repository root: python -m bench.generation [--lam 0.6] [--questions 200]
At λ=0.6 the toy blend answers some questions in ~40 tokens and others in ~160: `generate` keeps
every finished row in the batch until the longest ends, our decoder drops rows as they finish.
Both decode greedily, so they must produce the same tokens; the bench checks that too.
"""

from __future__ import annotations

import argparse
import time

import torch

from mi_search.backends.base import chat_prompt_ids
from mi_search import open_pair
from mi_search.backends.hf_generate import HFGenerator
from mi_search.backends.settings import HFSettings
from mi_search.evaluation.decoding import DecodingParams
from mi_search.merge.pair import PairConfig
from mi_search.merge.spec import LambdaSpec
from mi_search.tasks.toy import toy_questions


def generate_reference(backend: HFGenerator, prompts: list[str], max_new_tokens: int) -> list[int]:
    """Token counts from one left-padded `model.generate` call over all prompts."""
    tokenizer, model = backend.tokenizer, backend.model
    encoded = [chat_prompt_ids(backend.tokenizer, p) for p in prompts]
    width = max(map(len, encoded))
    ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(e)) + e for e in encoded])
    mask = (torch.arange(width)[None, :] >= torch.tensor([width - len(e) for e in encoded])[:, None]).long()
    out = model.generate(
        ids, attention_mask=mask, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id
    )
    counts = []
    for row in out[:, width:].tolist():
        counts.append(row.index(tokenizer.eos_token_id) + 1 if tokenizer.eos_token_id in row else len(row))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lam", type=float, default=0.6)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--max-new-tokens", type=int, default=384)
    args = parser.parse_args()
    prompts = [q.prompt for q in toy_questions(args.questions)]
    pair = open_pair(PairConfig(), HFSettings(device="cpu", batch_size=len(prompts)))
    pair.merge(LambdaSpec(lam=args.lam))
    backend = pair.generator
    params = DecodingParams(max_new_tokens=args.max_new_tokens)

    start = time.perf_counter()
    ours = [q[0].num_tokens for q in backend.generate(prompts, 1, params)]
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    reference = generate_reference(backend, prompts, args.max_new_tokens)
    reference_s = time.perf_counter() - start

    tokens = sum(ours)
    print(
        f"λ={args.lam} questions={len(prompts)} tokens={tokens} shortest={min(ours)} longest={max(ours)} same_tokens={ours == reference}"
    )
    print(
        f"ours_s={ours_s:.2f} ({tokens / ours_s:.0f} tok/s) generate_s={reference_s:.2f} ({tokens / reference_s:.0f} tok/s)"
    )
    print(f"speedup={reference_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
