"""Budget forcing in the simulation: what a thought closed at N tokens costs and answers. An ASSUMPTION, not data.

Kept apart because it is the one part of the simulation with no calibrated table behind it. The
Qwen3 technical report (arXiv 2505.09388, "thinking budget" figure) shows accuracy rising smoothly
and roughly linearly in the logarithm of the thinking budget, from about 1k to 32k tokens, for
AIME'24/'25 among others. Its numbers could not be read offline here, so the shape is taken, not
the values:

* A thinking response of L tokens holds a thought of L − ANSWER_TOKENS tokens. Under a budget N
  shorter than its thought, the thought is cut at N, the close (Qwen3's early-stop sentence and
  `</think>`, CLOSE_TOKENS) is forced, and the answer follows: N + CLOSE_TOKENS + ANSWER_TOKENS.
* The share kept s = N / thought weighs the answer's logit between the blend's own (s = 1) and an
  answer with no thought (s → 0), linearly in log s down to SHARE_FLOOR:
  w(s) = clip(1 + log(s) / log(1 / SHARE_FLOOR), 0, 1); logit = (1 − w)·logit₀ + w·logit_λ.
  Five halvings (1/32) of a thought leave an answer no better than not thinking. logit₀(q) =
  a₀ − d_q with a₀ solved for a mean accuracy of NO_THOUGHT_ACCURACY: about what the Qwen3
  report's tables give Qwen3-4B on AIME'25 in non-thinking mode (≈ 19 %; recalled, not checked
  offline). Not the Instruct model's accuracy: Instruct-2507 reaches its 47 % with 15k tokens of
  untagged working, which a forced close does not buy.
* The same uniform decides correctness as without a budget (common random numbers), so a budget
  only ever moves a sample from right to wrong where the no-thinking logit is lower.
* A response that does not think, or whose thought fits, is untouched; a forced close does not
  count towards Think #R.
"""

from __future__ import annotations

import numpy as np

ANSWER_TOKENS = 400  # the answer after `</think>`: a worked solution's write-up, a fraction of the thought
CLOSE_TOKENS = 30  # Qwen3's early-stop sentence and `</think>`
SHARE_FLOOR = 1 / 32  # a thought cut to this share (or less) answers as the model without thinking
NO_THOUGHT_ACCURACY = 0.19  # mean accuracy of answers with an empty thought (assumption, see above)


def kept_weight(share: np.ndarray) -> np.ndarray:
    """w(s): how much of the thought's gain in logit a thought cut to share s keeps (log-linear, in [0, 1])."""
    share = np.clip(np.asarray(share, float), 1e-12, None)
    return np.clip(1.0 + np.log(share) / np.log(1.0 / SHARE_FLOOR), 0.0, 1.0)


def forced(thinks: np.ndarray, tokens: np.ndarray, budget: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which samples are closed by force, their tokens after the close, and the share of thought each keeps."""
    thought = np.maximum(tokens - ANSWER_TOKENS, 1)
    if budget is None:
        return np.zeros(len(tokens), bool), tokens, np.ones(len(tokens))
    cut = thinks & (thought > budget)
    new_tokens = np.where(cut, budget + CLOSE_TOKENS + ANSWER_TOKENS, tokens)
    return cut, new_tokens, np.where(cut, budget / thought, 1.0)


def forced_p(p_blend: float, p_no_thought: float, share: np.ndarray) -> np.ndarray:
    """P(correct) of answers after a thought cut to `share`, between the no-thinking and the blend's own."""
    logit = lambda p: np.log(np.clip(p, 1e-12, 1 - 1e-12)) - np.log1p(-np.clip(p, 1e-12, 1 - 1e-12))  # noqa: E731
    w = kept_weight(share)
    mixed = (1 - w) * logit(p_no_thought) + w * logit(p_blend)
    return 1.0 / (1.0 + np.exp(-mixed))
