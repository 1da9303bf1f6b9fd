"""Budget forcing on the transformers backend, on the toy's Thinking model: the forced close, its token count, pairing."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from mi_search.backends.hf_generate import HFGenerator
from mi_search.backends.thinking import has_thinking_markers
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import evaluate
from mi_search.tasks.math import math_gold
from mi_search.tasks.toy import toy_questions

QUESTIONS = toy_questions(3)
PROMPTS = [q.prompt for q in QUESTIONS]
LIMIT = 60  # past the budgets, short of a whole thought: the continuation runs, the test stays fast


@pytest.fixture(scope="module")
def generators(toy_dirs):
    def load(directory):
        model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
        return HFGenerator(model, AutoTokenizer.from_pretrained(directory))

    return {"instruct": load(toy_dirs[0]), "thinking": load(toy_dirs[1])}


@pytest.mark.parametrize("budget", [4, 16])
def test_a_thought_at_its_budget_is_closed_and_continued(generators, budget):
    thinking = generators["thinking"]
    tokenizer = thinking.tokenizer
    free = thinking.generate(PROMPTS, 1, DecodingParams(max_new_tokens=LIMIT))
    capped = thinking.generate(PROMPTS, 1, DecodingParams(max_new_tokens=LIMIT, thinking_budget=budget))
    forced = tokenizer("\n</think>\n\n", add_special_tokens=False)["input_ids"]
    for (whole,), (cut,) in zip(free, capped):
        assert whole.text.startswith("<think>") and not whole.forced_close
        head = tokenizer.decode(tokenizer(whole.text, add_special_tokens=False)["input_ids"][:budget])
        assert cut.forced_close
        assert cut.text.startswith(head + "\n</think>\n\n")  # the model's first `budget` tokens, then the close
        assert cut.text != whole.text
        assert cut.num_tokens == LIMIT and cut.finish_reason == "length"  # forced tokens count towards the limit
        assert budget + len(forced) < cut.num_tokens


def test_a_response_that_opened_no_thought_is_continued_unchanged(generators):
    instruct = generators["instruct"]  # answers untagged: nothing to close
    free = instruct.generate(PROMPTS, 1, DecodingParams(max_new_tokens=LIMIT))
    capped = instruct.generate(PROMPTS, 1, DecodingParams(max_new_tokens=LIMIT, thinking_budget=4))
    assert not any("<think>" in row[0].text for row in free)
    assert capped == free


def test_questions_and_seeds_stay_paired_across_budgets(generators):
    """Sampled: under any budget a question's sample j starts with the same tokens as without one (same seed)."""
    thinking = generators["thinking"]
    golds = [math_gold(q) for q in QUESTIONS]
    params = DecodingParams(temperature=0.7, max_new_tokens=LIMIT, seed=3)
    runs = {
        budget: evaluate(thinking, QUESTIONS, k=2, params=params.model_copy(update={"thinking_budget": budget}), golds=golds)
        for budget in (None, 4, 16)
    }
    for budget, run in runs.items():
        assert [row[0].question_id for row in run.samples] == [q.id for q in QUESTIONS]
        assert (run.scores.forced_close_rate is None) == (budget is None)
    for budget in (4, 16):
        for free_row, cut_row in zip(runs[None].samples, runs[budget].samples):
            for free, cut in zip(free_row, cut_row):
                assert cut.forced_close  # every sampled thought is longer than 16 tokens
                thought = cut.response.split("\n</think>\n\n")[0]
                assert len(thought) > 0 and free.response.startswith(thought)  # the same seed drew the same start
        assert runs[budget].samples[0][0].response != runs[budget].samples[0][1].response  # samples still differ
    assert runs[4].scores.forced_close_rate == 1.0
    assert all("</think>" in s.response for row in runs[4].samples for s in row)
    assert runs[4].scores.think_ratio == 0.0  # a forced close is not the model closing its thought


def test_the_toy_template_knows_the_markers_and_a_plain_one_does_not(toy_dirs, tmp_path):
    import json

    from mi_search.toy.tokenizer import CHAT_TEMPLATE

    assert has_thinking_markers(toy_dirs[1])  # added tokens in tokenizer.json, not its template
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": CHAT_TEMPLATE}))
    assert not has_thinking_markers(tmp_path)
