"""A thinking budget that cannot apply is refused in one line, exit 2, nothing stored; a good one runs end to end."""

from __future__ import annotations

import csv
import json
import shutil

import optuna
import pytest

from mi_search.search.store.storage import open_storage
from tests.conftest import assert_user_error, copy_pair, in_process, run

QUICK = "name: s\nbudget: 4k\ntrials: 1\ntask: {search_size: 4, holdout_size: 4}\n"


def no_study_stored(folder) -> bool:
    db = folder / "mi-search.db"
    return not db.exists() or not optuna.study.get_all_study_names(open_storage(f"sqlite:///{db}"))


def markerless_pair(tmp_path):
    """The toy pair with `</think>` gone from its tokenizer files: a template that knows no thought."""
    instruct, thinking = copy_pair(tmp_path)
    for directory in (instruct, thinking):
        for name in ("tokenizer.json", "tokenizer_config.json"):
            path = directory / name
            path.write_text(path.read_text().replace("</think>", "</ponder>"))
    return instruct, thinking


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--thinking-budget", "0"], "--thinking-budget: input should be greater than or equal to 1"),
        (["--thinking-budget", "-3"], "--thinking-budget"),
        (["--thinking-budget", "5000"], "above max_new_tokens"),
    ],
)
def test_a_budget_out_of_range_is_refused_and_nothing_stored(inside, flags, fragment):
    (inside / "s.yaml").write_text(QUICK)
    assert_user_error(run("search", "--study", "s.yaml", *flags), fragment)
    assert no_study_stored(inside)


def test_a_range_with_low_above_high_is_refused(inside):
    (inside / "s.yaml").write_text(QUICK + "space: {decoding: {thinking_budget: [64, 8]}}\n")
    assert_user_error(run("search", "--study", "s.yaml"), "1 <= low <= high")
    assert no_study_stored(inside)


def test_a_range_above_max_new_tokens_is_refused(inside):
    (inside / "s.yaml").write_text(QUICK + "space: {decoding: {thinking_budget: [8, 100000]}}\n")
    assert_user_error(run("search", "--study", "s.yaml"), "above max_new_tokens")
    assert no_study_stored(inside)


def test_a_budget_on_a_pair_without_thinking_markers_is_refused(inside):
    instruct, thinking = markerless_pair(inside)
    (inside / "s.yaml").write_text(QUICK)
    args = ("--instruct", instruct, "--thinking", thinking, "--thinking-budget", "16")
    assert_user_error(run("search", "--study", "s.yaml", *args), "no </think> marker")
    assert no_study_stored(inside)
    assert_user_error(run("sweep", "--out", "sw", "--lambdas", "0,1", *args), "no </think> marker")
    assert not (inside / "sw").exists()


@pytest.mark.parametrize("text", ["4,x", "0,16", "4,4", "-1"])
def test_unreadable_sweep_budgets_are_refused(inside, text):
    assert_user_error(run("sweep", "--out", "sw", "--lambdas", "0,1", "--thinking-budgets", text), "--thinking-budgets")
    assert not (inside / "sw").exists()


def test_both_budget_flags_on_a_sweep_are_refused(inside):
    args = ("--thinking-budgets", "4,none", "--thinking-budget", "4")
    assert_user_error(run("sweep", "--out", "sw", "--lambdas", "0,1", *args), "not both")


@pytest.mark.slow
def test_a_sweep_crosses_lambdas_with_budgets(inside):
    done = run("sweep", "--out", "sw", "--lambdas", "0.5,1", "--thinking-budgets", "4,none", "--limit", "4", "--max-new-tokens", "160")
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader((inside / "sw" / "sweep.csv").open()))
    assert [(r["lambda"], r["thinking_budget"]) for r in rows] == [("0.5", "4"), ("0.5", ""), ("1.0", "4"), ("1.0", "")]
    at_one = {r["thinking_budget"]: r for r in rows if r["lambda"] == "1.0"}
    assert float(at_one["4"]["forced_close_rate"]) == 1.0 and at_one[""]["forced_close_rate"] == ""
    assert float(at_one["4"]["think_ratio"]) == 0.0 < float(at_one[""]["think_ratio"])
    samples = [json.loads(line) for line in (inside / "sw" / "samples.jsonl").open()]
    budgets = {(s["lambda"], s["thinking_budget"]): [x["question_id"] for x in samples if (x["lambda"], x["thinking_budget"]) == (s["lambda"], s["thinking_budget"])] for s in samples}
    assert len({tuple(ids) for ids in budgets.values()}) == 1  # the same questions at every (λ, budget)
    shutil.rmtree(inside / "sw")


@pytest.mark.slow
def test_a_study_searches_lambda_and_thinking_budget_together(inside):
    (inside / "s.yaml").write_text(
        "name: s\nbudget: 4k\ntrials: 5\ntask: {search_size: 4, holdout_size: 4}\ndecoding: {max_new_tokens: 160}\n"
        "space: {decoding: {thinking_budget: [4, 160]}}\n"
    )
    in_process("search", "--study", "s.yaml", "--out", "report", cwd=inside)
    document = json.loads((inside / "report" / "pareto.json").read_text())
    assert document["points"]
    for point in document["points"]:
        assert 0.0 <= point["params"]["lam"] <= 1.0 and 4 <= point["thinking_budget"] <= 160
        assert point["thinking_budget"] == point["params"]["thinking_budget"] and 0.0 <= point["forced_close_rate"] <= 1.0
    rows = list(csv.DictReader((inside / "report" / "trials.csv").open()))
    assert len(rows) == 5 and all(4 <= int(r["thinking_budget"]) <= 160 and r["forced_close_rate"] != "" for r in rows)
    assert (inside / "report" / "blend_and_cap.png").stat().st_size > 0  # the report's figure of both searched
