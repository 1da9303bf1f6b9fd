"""Grading with math-verify: extraction after the thinking, equivalences, truncation, threads."""

from __future__ import annotations

import threading

from mi_search.evaluation.grading import final_answer_text
from mi_search.tasks.math import grade, parse_gold


def test_equivalent_forms_are_correct():
    assert grade("so it is \\boxed{0.5}", parse_gold("\\frac{1}{2}"), truncated=False).correct
    assert grade("The answer is \\boxed{8788}.", parse_gold("8788"), truncated=False).correct


def test_wrong_and_missing_answers():
    wrong = grade("The answer is \\boxed{8789}.", parse_gold("8788"), truncated=False)
    assert not wrong.correct and wrong.extracted == "8789"
    missing = grade("I cannot say.", parse_gold("8788"), truncated=False)
    assert not missing.correct and missing.extracted is None


def test_answer_is_read_after_the_thinking():
    response = "<think>\nmaybe \\boxed{1}\n</think>\n\nThe answer is \\boxed{2}."
    assert final_answer_text(response).strip() == "The answer is \\boxed{2}."
    assert grade(response, parse_gold("2"), truncated=False).correct
    assert not grade(response, parse_gold("1"), truncated=False).correct


def test_truncated_response_counts_as_wrong_even_if_right():
    assert not grade("The answer is \\boxed{8788}.", parse_gold("8788"), truncated=True).correct


def test_unparseable_gold_is_reported_apart():
    assert parse_gold("no number here") is None


def test_grading_off_the_main_thread():
    outcome = []
    worker = threading.Thread(
        target=lambda: outcome.append(grade("\\boxed{3}", parse_gold("3"), truncated=False).correct)
    )
    worker.start()
    worker.join()
    assert outcome == [True]
