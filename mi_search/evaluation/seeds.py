"""Common random numbers: one seed per (study seed, decoding seed, question) and one per sample of it.

Every trial of a study samples question q's j-th response from the same seed, whatever the λ, the
batch it shares or the order the questions come in. Two trials then differ only by their weights,
and their per-question differences measure the weights, not the sampling noise.
"""

from __future__ import annotations

import hashlib

_BITS = 31  # within every consumer's seed range (torch, vLLM, numpy)


def _digest(*parts: object) -> int:
    text = "\0".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") >> (64 - _BITS)


def question_seed(study_seed: int, decoding_seed: int, question_id: str) -> int:
    """The seed of one question's samples in a study."""
    return _digest("question", study_seed, decoding_seed, question_id)


def sample_seed(question: int, index: int) -> int:
    """The seed of sample `index` of a question whose seed is `question`."""
    return _digest("sample", question, index)


def default_question_seeds(decoding_seed: int, count: int) -> list[int]:
    """Seeds for prompts given without ids: by position, for callers that do not pair trials."""
    return [_digest("prompt", decoding_seed, i) for i in range(count)]
