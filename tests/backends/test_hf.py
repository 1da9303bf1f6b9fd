"""The transformers backend against transformers' own `generate`."""

from __future__ import annotations

import threading

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from mi_search.backends.base import chat_prompt_ids
from mi_search.evaluation.decoding import DecodingParams
from mi_search.backends.hf_generate import HFGenerator

PROMPTS = ["What is 12+34?", "What is 4821+3967?", "Hi", "What is 100+2000?"]


@pytest.fixture(scope="module")
def model_and_tokenizer(toy_dirs):
    thinking = toy_dirs[1]
    return AutoModelForCausalLM.from_pretrained(thinking, dtype=torch.float32).eval(), AutoTokenizer.from_pretrained(
        thinking
    )


def _reference_greedy(model, tokenizer, prompt, max_new_tokens):
    ids = torch.tensor([chat_prompt_ids(tokenizer, prompt)])
    out = model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        do_sample=False,
        max_new_tokens=max_new_tokens,
        pad_token_id=tokenizer.pad_token_id,
    )
    return out[0, ids.shape[1] :].tolist()


def test_greedy_batch_matches_unbatched_transformers_generate(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    backend = HFGenerator(model, tokenizer, batch_size=3)  # mixed prompt lengths, split batches, early finishers
    results = backend.generate(PROMPTS, 1, DecodingParams(max_new_tokens=160))
    for prompt, (completion,) in zip(PROMPTS, results):
        reference = _reference_greedy(model, tokenizer, prompt, 160)
        assert completion.text == tokenizer.decode(reference, skip_special_tokens=True)
        assert completion.num_tokens == len(reference)
        assert completion.finish_reason == ("stop" if reference[-1] == tokenizer.eos_token_id else "length")


def test_the_lm_head_runs_on_one_position_per_row_even_in_the_prefill(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    widths: list[int] = []
    hook = model.lm_head.register_forward_hook(lambda _module, args, _out: widths.append(args[0].shape[1]))
    try:
        HFGenerator(model, tokenizer).generate(PROMPTS, 1, DecodingParams(max_new_tokens=4))
    finally:
        hook.remove()
    assert widths and set(widths) == {1}  # the prompts are tens of tokens long: only their last one is read


def test_length_limit_is_reported(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    ((completion,),) = HFGenerator(model, tokenizer).generate(["What is 4821+3967?"], 1, DecodingParams(max_new_tokens=5))
    assert completion.num_tokens == 5
    assert completion.finish_reason == "length"


def test_sampling_is_seeded_and_varies_across_samples(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    backend = HFGenerator(model, tokenizer)
    params = DecodingParams(temperature=3.0, top_p=0.95, max_new_tokens=40, seed=7)
    first = backend.generate(PROMPTS[:2], 4, params)
    again = backend.generate(PROMPTS[:2], 4, params)
    other_seed = backend.generate(PROMPTS[:2], 4, params.model_copy(update={"seed": 8}))
    assert [[c.text for c in q] for q in first] == [[c.text for c in q] for q in again]
    assert [[c.text for c in q] for q in first] != [[c.text for c in q] for q in other_seed]
    assert all(len(q) == 4 for q in first)
    assert len({c.text for c in first[1]}) > 1


def test_samples_scored_in_two_rungs_are_the_samples_scored_at_once(model_and_tokenizer):
    """A rung of samples draws samples 0..s-1 of every question and the next rung s..k-1: common random numbers make
    them the very samples one evaluation of k draws, whatever the batch."""
    from mi_search.evaluation.evaluate import evaluate, gradable
    from mi_search.evaluation.samples import Question
    from mi_search.tasks.math import math_gold

    model, tokenizer = model_and_tokenizer
    backend = HFGenerator(model, tokenizer)
    params = DecodingParams(temperature=3.0, top_p=0.95, max_new_tokens=24, seed=7)
    questions, golds = gradable([Question(f"q{i}", p, "4") for i, p in enumerate(PROMPTS[:3])], math_gold)
    whole = evaluate(backend, questions, k=4, params=params, golds=golds, study_seed=3)
    head = evaluate(backend, questions, k=4, params=params, golds=golds, study_seed=3, samples=range(0, 1))
    tail = evaluate(backend, questions[::-1], k=4, params=params, golds=golds[::-1], study_seed=3, samples=range(1, 4))
    def responses(rows):
        return [[sample.response for sample in row] for row in rows]

    texts = responses(whole.samples)
    assert [a + b for a, b in zip(responses(head.samples), responses(tail.samples[::-1]))] == texts
    assert head.generated_tokens + tail.generated_tokens == whole.generated_tokens
    assert len({t for row in texts for t in row}) > 3  # sampled, not one answer repeated


def test_top_k_one_is_greedy(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    backend = HFGenerator(model, tokenizer)
    greedy = backend.generate(PROMPTS, 1, DecodingParams(max_new_tokens=60))
    top1 = backend.generate(PROMPTS, 1, DecodingParams(temperature=1.0, top_k=1, max_new_tokens=60))
    assert [q[0].text for q in greedy] == [q[0].text for q in top1]


def test_generation_works_off_the_main_thread(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    results = []
    worker = threading.Thread(
        target=lambda: results.append(
            HFGenerator(model, tokenizer).generate(PROMPTS[:1], 1, DecodingParams(max_new_tokens=20))
        )
    )
    worker.start()
    worker.join()
    assert len(results) == 1 and results[0][0][0].num_tokens > 0
