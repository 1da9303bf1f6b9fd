"""The paper's benchmarks, loaded from local files in their published schemas: prompts, extraction, scoring."""

from __future__ import annotations

import json

import pytest

from mi_search.errors import UserError
from mi_search.evaluation.evaluate import gradable
from mi_search.evaluation.grading import Gold
from mi_search.tasks.base import MATH_PROMPT_SUFFIX
from mi_search.tasks.choice import CHOICE_PROMPT_SUFFIX, extract_letter
from mi_search.tasks.config import TaskConfig
from mi_search.tasks.registry import KNOWN_TASKS, PAPER_DECODING, load_task

NO_ARGS = {"num_words": None, "relation": None, "num_bullets": None, "keywords": None}  # as published: all keys, nulls


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def _golds(setup) -> list[Gold]:
    return gradable(setup.questions, setup.grader)[1]


def _correct(gold: Gold, response: str, *, truncated: bool = False) -> bool:
    return gold.grade(response, truncated=truncated).correct


def test_every_benchmark_is_known():
    assert set(KNOWN_TASKS) == {"toy", "aime25", "math500", "gsm8k", "gpqa-diamond", "ifeval"}
    with pytest.raises(UserError, match=r"unknown task 'aime'; known tasks: toy, aime25, math500, gsm8k"):
        load_task(TaskConfig(name="aime"))


def test_aime25_gets_the_paper_prompt_and_math_verify(tmp_path):
    data = _jsonl(
        tmp_path / "aime25.jsonl",
        [{"problem": "Find half of one.", "answer": "\\frac{1}{2}", "id": 7}, {"problem": "Find 70.", "answer": "70", "id": 8}],
    )
    setup = load_task(TaskConfig(name="aime25", data_files=data))
    assert [q.id for q in setup.questions] == ["7", "8"]
    assert setup.questions[0].prompt == "Find half of one." + MATH_PROMPT_SUFFIX
    assert setup.decoding == PAPER_DECODING
    half, seventy = _golds(setup)
    assert _correct(half, "so it is \\boxed{0.5}")
    assert _correct(seventy, "<think>\nmaybe \\boxed{71}\n</think>\n\nThe answer is $\\boxed{70}$.")
    assert not _correct(seventy, "<think>\nmaybe \\boxed{70}\n</think>\n\nThe answer is $\\boxed{71}$.")
    assert not _correct(seventy, "The answer is \\boxed{70}", truncated=True)


def test_math500_reads_its_parquet_schema(tmp_path):
    import pandas as pd

    path = tmp_path / "math500.parquet"
    pd.DataFrame(
        {
            "problem": ["Compute $\\sqrt{16}$."],
            "solution": ["$\\sqrt{16} = \\boxed{4}$"],
            "answer": ["4"],
            "subject": ["Algebra"],
            "level": [1],
            "unique_id": ["test/algebra/1.json"],
        }
    ).to_parquet(path)
    setup = load_task(TaskConfig(name="math500", data_files=str(path)))
    assert setup.questions[0].id == "test/algebra/1.json"
    assert _correct(_golds(setup)[0], "\\boxed{4}") and not _correct(_golds(setup)[0], "\\boxed{8}")


def test_gsm8k_gold_is_the_number_after_the_marker(tmp_path):
    data = _jsonl(
        tmp_path / "gsm8k.jsonl",
        [
            {"question": "Tom has 1,200 apples.", "answer": "He has 1200 <<1200=1200>> apples.\n#### 1,200"},
            {"question": "How many?", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"},
        ],
    )
    setup = load_task(TaskConfig(name="gsm8k", data_files=data))
    assert [q.answer for q in setup.questions] == ["1200", "7"]
    assert setup.questions[1].prompt == "How many?" + MATH_PROMPT_SUFFIX
    thousand, seven = _golds(setup)
    assert _correct(thousand, "The answer is \\boxed{1200}.") and _correct(seven, "\\boxed{7}")
    assert not _correct(seven, "\\boxed{4}")
    broken = _jsonl(tmp_path / "broken.jsonl", [{"question": "q", "answer": "no marker here"}])
    with pytest.raises(UserError, match=r"broken.jsonl: row 0 has no '####'"):
        load_task(TaskConfig(name="gsm8k", data_files=broken))


def _gpqa_row(record_id: str, **override) -> dict:
    row = {
        "Question": "Which particle carries the electromagnetic force?",
        "Correct Answer": "photon",
        "Incorrect Answer 1": "gluon",
        "Incorrect Answer 2": "W boson",
        "Incorrect Answer 3": "graviton",
        "Record ID": record_id,
        "High-level domain": "Physics",
    }
    return {**row, **override}


def test_gpqa_shuffles_options_by_question_and_grades_the_letter(tmp_path):
    rows = [_gpqa_row(f"rec{i}") for i in range(8)]
    setup = load_task(TaskConfig(name="gpqa-diamond", data_files=_jsonl(tmp_path / "gpqa.jsonl", rows)))
    first = setup.questions[0]
    assert first.prompt.startswith("Which particle carries the electromagnetic force?\n\nA) ")
    assert first.prompt.endswith(CHOICE_PROMPT_SUFFIX)
    assert f"{first.answer}) photon" in first.prompt  # the gold letter names the correct option
    assert len({q.answer for q in setup.questions}) > 1  # positions differ between questions
    again = load_task(TaskConfig(name="gpqa-diamond", data_files=_jsonl(tmp_path / "reordered.jsonl", rows[::-1])))
    assert {q.id: q.prompt for q in again.questions} == {q.id: q.prompt for q in setup.questions}
    gold = _golds(setup)[0]
    wrong = next(letter for letter in "ABCD" if letter != first.answer)
    assert _correct(gold, f"<think>\nnot {wrong}\n</think>\n\nThe answer is \\boxed{{{first.answer}}}.")
    assert _correct(gold, f"Answer: ({first.answer})")
    assert not _correct(gold, f"\\boxed{{{wrong}}}")
    assert gold.grade("I am not sure.", truncated=False).extracted is None


def test_letter_extraction_prefers_the_boxed_answer():
    assert extract_letter("Option A looks wrong; the answer is (B). Final: \\boxed{\\text{C}}") == "C"
    assert extract_letter("The correct answer is **D**.") == "D"
    assert extract_letter("<think>\\boxed{A}</think>\nB") == "B"


def test_gpqa_row_with_a_missing_option_is_named(tmp_path):
    rows = [_gpqa_row("rec0"), _gpqa_row("rec1", **{"Incorrect Answer 2": None})]
    with pytest.raises(UserError, match=r"gpqa.jsonl: row 1 has an empty 'Incorrect Answer 2'"):
        load_task(TaskConfig(name="gpqa-diamond", data_files=_jsonl(tmp_path / "gpqa.jsonl", rows)))


def test_missing_column_names_the_schema(tmp_path):
    data = _jsonl(tmp_path / "aime.jsonl", [{"question": "1+1?", "answer": "2"}])
    with pytest.raises(UserError, match=r"has no column 'problem' \(columns: question, answer\); aime25 reads math-ai/aime25"):
        load_task(TaskConfig(name="aime25", data_files=data))


def _ifeval_row(key: int, prompt: str, ids: list[str], kwargs: list[dict]) -> dict:
    return {"key": key, "prompt": prompt, "instruction_id_list": ids, "kwargs": [{**NO_ARGS, **k} for k in kwargs]}


def test_ifeval_strict_and_loose(tmp_path):
    rows = [
        _ifeval_row(1000, "Write about cats without commas, in lowercase.", ["punctuation:no_comma", "change_case:english_lowercase"], [{}, {}]),
        _ifeval_row(1001, "Describe dogs in fewer than 10 words.", ["length_constraints:number_words"], [{"relation": "less than", "num_words": 10}]),
    ]
    setup = load_task(TaskConfig(name="ifeval", data_files=_jsonl(tmp_path / "ifeval.jsonl", rows)))
    assert setup.questions[0].prompt == "Write about cats without commas, in lowercase."  # the prompt as published
    assert setup.questions[0].id == "1000"
    cats, dogs = _golds(setup)
    assert _correct(cats, "<think>\nOkay, Commas, Capitals.\n</think>\n\ncats purr and sleep all day")
    assert not _correct(cats, "Cats purr, and sleep.")
    assert _correct(dogs, "dogs are loyal friends") and not _correct(dogs, " ".join(["woof"] * 12))
    # loose accepts a response once its first line is dropped; strict does not
    graded = cats.grade("Sure, Here It Is:\ncats purr and sleep", truncated=False)
    assert (graded.correct, graded.loose) == (False, True)
    assert cats.grade("cats purr", truncated=True).loose is False


def test_ifeval_scores_report_loose_accuracy(tmp_path):
    from mi_search.evaluation.samples import Sample
    from mi_search.evaluation.scores import score_samples

    def sample(correct: bool, loose: bool | None) -> Sample:
        return Sample("q", "p", "r", 3, "stop", None, correct, loose)

    assert score_samples([[sample(False, True), sample(True, True)]], 2).loose_accuracy == 1.0
    assert "loose_accuracy" not in score_samples([[sample(True, None)]], 1).as_dict()


def test_ifeval_unknown_instruction_and_missing_punkt(tmp_path, monkeypatch):
    import nltk

    unknown = [_ifeval_row(1, "p", ["keywords:made_up"], [{}])]
    with pytest.raises(UserError, match="unknown IFEval instruction 'keywords:made_up'"):
        load_task(TaskConfig(name="ifeval", data_files=_jsonl(tmp_path / "unknown.jsonl", unknown)))
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "no-nltk-data")])
    sentences = [_ifeval_row(2, "p", ["length_constraints:number_sentences"], [{"relation": "less than", "num_sentences": 3}])]
    with pytest.raises(UserError, match="punkt_tab"):
        load_task(TaskConfig(name="ifeval", data_files=_jsonl(tmp_path / "sentences.jsonl", sentences)))


def test_prompt_suffix_replaces_the_instruction(tmp_path):
    data = _jsonl(tmp_path / "aime25.jsonl", [{"problem": "What is 1+2?", "answer": "3"}])
    assert load_task(TaskConfig(name="aime25", data_files=data, prompt_suffix="")).questions[0].prompt == "What is 1+2?"
    with pytest.raises(UserError, match="toy task has no data files"):
        load_task(TaskConfig(name="toy", data_files=data))
