"""The paper's metrics over k samples per question: Mean@k, Pass@k, Vote@k, Token #N, Think #R, truncation.

Every aggregate takes per-question lists of per-sample values: the outer list is the questions, the
inner list the samples drawn for that question.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

THINK_CLOSE = "</think>"

T = TypeVar("T")


def _check_questions(per_question: Sequence[Sequence[object]], what: str) -> None:
    if not per_question:
        raise ValueError(f"no questions to compute {what} over; pass at least one question's samples")


def _flatten(per_question: Sequence[Sequence[T]], what: str) -> list[T]:
    _check_questions(per_question, what)
    flat = [value for row in per_question for value in row]
    if not flat:
        raise ValueError(f"no samples to compute {what} over; every question has an empty sample list")
    return flat


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased Pass@k from n samples with c correct: 1 − C(n−c, k)/C(n, k) (Chen et al. 2021)."""
    if n < 0 or c < 0 or k < 0:
        raise ValueError(f"pass@k needs non-negative n, c, k; got n={n}, c={c}, k={k}")
    if c > n or k > n:
        raise ValueError(f"pass@k needs c <= n and k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0  # every k-subset holds a correct sample
    # Product form of the binomial ratio: no huge integers, no cancellation.
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def mean_at_k(correct: Sequence[Sequence[bool]]) -> float:
    """Mean@k: the mean over questions of each question's share of correct samples."""
    _check_questions(correct, "Mean@k")
    shares = []
    for index, row in enumerate(correct):
        if not row:
            raise ValueError(f"question {index} has no samples; Mean@k needs at least one per question")
        shares.append(sum(map(bool, row)) / len(row))
    return sum(shares) / len(shares)


def mean_pass_at_k(correct: Sequence[Sequence[bool]], k: int) -> float:
    """Pass@k averaged over questions, each from its own n samples."""
    _check_questions(correct, "Pass@k")
    return sum(pass_at_k(len(row), sum(map(bool, row)), k) for row in correct) / len(correct)


def _vote_winner(answers: Sequence[str | None]) -> int | None:
    """Index of the first sample carrying the most common non-None answer; earliest wins ties."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    first_index: dict[str, int] = {}
    for index, answer in enumerate(answers):
        if answer is not None:
            first_index.setdefault(answer, index)
    return min(first_index.values(), key=lambda i: (-counts[answers[i]], i))


def vote_correct(answers: Sequence[str | None], correct: Sequence[bool]) -> bool:
    """One question's Vote@k: whether the majority answer of its samples is right (its first sample's grade)."""
    if len(answers) != len(correct):
        raise ValueError(f"{len(answers)} answers but {len(correct)} correctness flags; give one of each per sample")
    winner = _vote_winner(answers)
    return winner is not None and bool(correct[winner])


def vote_at_k(answers: Sequence[Sequence[str | None]], correct: Sequence[Sequence[bool]]) -> float:
    """Vote@k: per question, majority vote over extracted answers; scored by the winner's first sample."""
    _check_questions(answers, "Vote@k")
    if len(answers) != len(correct):
        raise ValueError(f"Vote@k got answers for {len(answers)} questions but correctness for {len(correct)}")
    score = 0
    for index, (row_answers, row_correct) in enumerate(zip(answers, correct)):
        try:
            score += vote_correct(row_answers, row_correct)
        except ValueError as exc:
            raise ValueError(f"question {index} has {exc}") from None
    return score / len(answers)


def mean_tokens(token_counts: Sequence[Sequence[int]]) -> float:
    """Token #N: mean response length in tokens over all responses."""
    flat = _flatten(token_counts, "Token #N")
    return sum(flat) / len(flat)


def closed_by_model(text: str, forced: bool = False) -> bool:
    """Whether the model closed its thought itself: a thought closed at the thinking budget does not count,
    whatever the model wrote after the forced close."""
    return not forced and THINK_CLOSE in text


def think_ratio(texts: Sequence[Sequence[str]], forced: Sequence[Sequence[bool]] | None = None) -> float:
    """Think #R: the share of all responses that close a thinking block themselves (`closed_by_model`)."""
    flat = _flatten(texts, "Think #R")
    flags = _flatten(forced, "Think #R") if forced is not None else [False] * len(flat)
    return sum(closed_by_model(text, f) for text, f in zip(flat, flags)) / len(flat)


def forced_close_rate(forced: Sequence[Sequence[bool]]) -> float:
    """The share of all responses whose thought was closed at the thinking budget."""
    flat = _flatten(forced, "the forced-close rate")
    return sum(map(bool, flat)) / len(flat)


def truncation_rate(finish_reasons: Sequence[Sequence[str]]) -> float:
    """The share of all responses cut off by the length limit."""
    flat = _flatten(finish_reasons, "the truncation rate")
    return sum(reason == "length" for reason in flat) / len(flat)
