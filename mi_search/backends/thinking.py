"""Budget forcing, written once for every backend: a thought that reaches its budget is closed for the model.

The rule (`generate_budgeted`): a response is generated up to `thinking_budget` tokens. One that
stops there by length while its thought is open (the template or the response opened it, nothing
closed it) gets the close text (`thinking_close`, default `\\n</think>\\n\\n`; Qwen3's early-stop
sentence goes in front of the marker) and a second request continues it from the prompt, the
generated thought and that text, within what is left of `max_new_tokens`. A response that reached
the budget with its thought closed, or with none opened, is continued as it was. Its tokens are
every token the model generated plus the forced text's: one count, the one Token #N reports. If
the forced text does not fit in what is left, the response ends there, unclosed, cut by length.

Each backend gives one primitive, `Decode`: requests of (prompt ids, token limit, seed) in, raw
outputs out. The continuation draws from its own seed (`continuation_seed`), so a sampled
response is a pure function of its sample seed, as without a budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mi_search.backends.base import chat_prompt_text
from mi_search.evaluation.decoding import Completion, DecodingParams
from mi_search.evaluation.seeds import default_question_seeds, sample_seed

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"  # Qwen3's and DeepSeek-R1's markers, which Think #R reads
# Files of a checkpoint that name its tokens and chat template: where a pair's thinking markers show.
_TEMPLATE_FILES = ("tokenizer_config.json", "tokenizer.json", "chat_template.jinja", "chat_template.json")


@dataclass(frozen=True)
class Request:
    prompt: list[int]
    limit: int  # tokens to generate at most, >= 1
    seed: int


@dataclass(frozen=True)
class Raw:
    ids: list[int]
    text: str
    finish_reason: str


Decode = Callable[[list[Request]], list[Raw]]


def has_thinking_markers(template_dir: Path) -> bool:
    """Whether the checkpoint's tokenizer or chat template knows the end-of-thinking marker."""
    return any(
        THINK_CLOSE in (template_dir / name).read_text(errors="replace")
        for name in _TEMPLATE_FILES
        if (template_dir / name).is_file()
    )


def check_thinking(params: DecodingParams, searched: tuple[int, int] | None, template_dir: Path | None) -> None:
    """Refuse, in one line, a thinking budget that cannot apply: above max_new_tokens, or on a pair without markers.

    `searched`: the space's [low, high] budget range, if it searches one; `template_dir` None (a simulated
    pair) skips the marker check.
    """
    from mi_search.errors import UserError

    budgets = [b for b in (params.thinking_budget, *(searched or ())) if b is not None]
    if not budgets:
        return
    limit = params.max_new_tokens
    if max(budgets) > limit:
        raise UserError(
            f"thinking_budget {max(budgets)} is above max_new_tokens {limit}: a thought cannot outgrow its response; "
            f"use a budget from 1 to {limit} or raise max_new_tokens"
        )
    if template_dir is not None and not has_thinking_markers(template_dir):
        raise UserError(
            f"the pair's chat template and tokenizer ({template_dir}) have no {THINK_CLOSE} marker, so a thinking "
            "budget has no thought to close; drop thinking_budget or use a pair whose Thinking model writes "
            f"{THINK_OPEN}…{THINK_CLOSE}"
        )


def close_text(params: DecodingParams) -> str:
    return params.thinking_close if params.thinking_close is not None else f"\n{THINK_CLOSE}\n\n"


def prompt_opens_thought(prompt_text: str) -> bool:
    """Whether the chat template opened the thought itself (as Qwen3-Thinking-2507's does)."""
    return prompt_text.rfind(THINK_OPEN) > prompt_text.rfind(THINK_CLOSE)


def thought_open(opened_by_prompt: bool, response: str) -> bool:
    return THINK_CLOSE not in response and (opened_by_prompt or THINK_OPEN in response)


def continuation_seed(seed: int) -> int:
    """The seed of the request that continues a response after its budget (its own stream, drawn from the first's)."""
    return sample_seed(seed, -1)


def generate_budgeted(
    decode: Decode,
    prompts: Sequence[list[int]],
    opened_by_prompt: Sequence[bool],
    seeds: Sequence[int],
    params: DecodingParams,
    encode: Callable[[str], list[int]],
) -> list[Completion]:
    """One completion per (prompt ids, seed) under `params`, its thought closed at `params.thinking_budget`."""
    budget = params.thinking_budget
    first_limit = params.max_new_tokens if budget is None else min(budget, params.max_new_tokens)
    firsts = decode([Request(list(p), first_limit, s) for p, s in zip(prompts, seeds)])
    if budget is None or budget >= params.max_new_tokens:
        return [Completion(r.text, len(r.ids), r.finish_reason) for r in firsts]
    forced_text = close_text(params)
    forced_ids = encode(forced_text)
    later: list[tuple[int, Request, bool]] = []
    for i, raw in enumerate(firsts):
        if raw.finish_reason != "length":
            continue
        force = thought_open(opened_by_prompt[i], raw.text)
        extra = forced_ids if force else []
        left = params.max_new_tokens - len(raw.ids) - len(extra)
        if left >= 1:
            later.append((i, Request([*prompts[i], *raw.ids, *extra], left, continuation_seed(seeds[i])), force))
    out = [Completion(r.text, len(r.ids), r.finish_reason) for r in firsts]
    for (i, _, force), raw in zip(later, decode([request for _, request, _ in later])):
        first = firsts[i]
        text = first.text + (forced_text if force else "") + raw.text
        tokens = len(first.ids) + (len(forced_ids) if force else 0) + len(raw.ids)
        out[i] = Completion(text, tokens, raw.finish_reason, forced_close=force)
    return out


def generate_grouped(
    tokenizer: PreTrainedTokenizerBase,
    decode: Decode,
    prompts: list[str],
    n: int,
    params: DecodingParams,
    seeds: Sequence[int] | None,
    first: int = 0,
) -> list[list[Completion]]:
    """`n` completions per user message, sample j (from `first`) of prompt i from `sample_seed(seeds[i], j)` (the
    backends' `generate`)."""
    seeds = list(seeds) if seeds is not None else default_question_seeds(params.seed, len(prompts))
    texts = [chat_prompt_text(tokenizer, p) for p in prompts]

    def encode(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    encoded = [encode(t) for t in texts]
    rows = [(q, sample_seed(seeds[q], j)) for q in range(len(prompts)) for j in range(first, first + n)]
    completions = generate_budgeted(
        decode,
        [encoded[q] for q, _ in rows],
        [prompt_opens_thought(texts[q]) for q, _ in rows],
        [seed for _, seed in rows],
        params,
        encode,
    )
    return [completions[i * n : (i + 1) * n] for i in range(len(prompts))]
