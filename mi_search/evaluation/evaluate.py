"""Evaluate the model as it is now: generate k samples per question, grade them, compute the paper's metrics."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mi_search.errors import UserError
from mi_search.evaluation.decoding import DecodingParams, Generator
from mi_search.evaluation.grading import Gold
from mi_search.evaluation.samples import Question, Sample
from mi_search.evaluation.scores import Scores, score_samples
from mi_search.evaluation.seeds import question_seed


@dataclass(frozen=True)
class Evaluation:
    scores: Scores
    samples: list[list[Sample]]  # per question, k samples
    generated_tokens: int = 0  # what generation cost: greedy samples are generated once, then repeated


def gradable(
    questions: list[Question], grader: Callable[[Question], Gold | None]
) -> tuple[list[Question], list[Gold]]:
    """The questions `grader` can grade, with their golds."""
    kept, golds = [], []
    for question in questions:
        gold = grader(question)
        if gold is not None:
            kept.append(question)
            golds.append(gold)
    if not kept:
        raise UserError("no question has a gold answer this task can grade; check the answer column")
    return kept, golds


def evaluate(
    generator: Generator,
    questions: list[Question],
    *,
    k: int,
    params: DecodingParams,
    golds: list[Gold],
    study_seed: int = 0,
    samples: range | None = None,
) -> Evaluation:
    """Generate `k` samples per question with `params` and grade them against `golds` (see `gradable`).

    Sample j of a question draws from a seed of (study_seed, params.seed, question id, j), whatever
    else is evaluated with it: any two evaluations of a question are paired (common random numbers).
    Greedy decoding gives the same sample k times, so it is generated and graded once and repeated.
    `samples`: only these of the k samples (sampled decoding), so a trial can score samples 0..s-1 of
    every question first and add the rest later, the same samples as scoring all k at once; the scores
    are then over the samples generated.
    """
    if samples is not None and not params.greedy:
        if not 0 <= samples.start < samples.stop <= k or samples.step != 1:
            raise ValueError(f"samples must be a contiguous range within 0..{k - 1}, got {samples}")
        first, n, repeat = samples.start, len(samples), 1
    else:  # every sample; greedy decoding generates one and repeats it k times
        first, n = 0, 1 if params.greedy else k
        repeat = k // n
    seeds = [question_seed(study_seed, params.seed, q.id) for q in questions]
    completions = generator.generate([q.prompt for q in questions], n, params, seeds=seeds, first=first)
    rows = []
    for question, gold, outs in zip(questions, golds, completions):
        row = []
        for out in outs:
            graded = gold.grade(out.text, truncated=out.finish_reason == "length")
            row.append(
                Sample(
                    question.id,
                    question.prompt,
                    out.text,
                    out.num_tokens,
                    out.finish_reason,
                    graded.extracted,
                    graded.correct,
                    graded.loose,
                    out.forced_close,
                )
            )
        rows.append(row * repeat)
    generated = sum(out.num_tokens for outs in completions for out in outs)
    return Evaluation(score_samples(rows, n * repeat, budgeted=params.thinking_budget is not None), rows, generated)


def write_samples(path: Path, evaluations: Iterable[tuple[dict[str, Any], Evaluation]]) -> None:
    """`samples.jsonl`: one line per sample, every `Sample` field, after the context it was drawn in (e.g. λ)."""
    with open(path, "w") as handle:
        for context, evaluation in evaluations:
            for row in evaluation.samples:
                handle.writelines(json.dumps({**context, **asdict(sample)}) + "\n" for sample in row)
