"""Bad files and values: each is one line and exit code 2, refused before anything is stored or written.

Text files that are not UTF-8 text, study-file values out of range, data files that do not parse,
devices, grids and memory sizes. Models are in test_bad_models.py; outputs and stores in test_bad_outputs.py.
"""

from __future__ import annotations

import pytest

from mi_search.cli import app

from tests.conftest import assert_user_error, runner, stored_studies

# --- Files that are not text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("budget: 4k\n".encode("utf-16"), "is UTF-16 or UTF-32 text; save it as UTF-8 YAML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file, not YAML text"),
        (b"budget: 4k\nname: caf\xe9\n", "is not UTF-8 text (byte 20)"),
    ],
)
def test_a_study_file_that_is_not_utf8_text(inside, content, fragment):
    (inside / "s.yaml").write_bytes(content)
    assert_user_error(runner.invoke(app, ["--study", "s.yaml"]), fragment)
    assert not (inside / "mi-search.db").exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("lambda,think_ratio\n0,0.1\n".encode("utf-16"), "is UTF-16 or UTF-32 text; save it as UTF-8 CSV"),
        (b"\x00\x01\x02lambda", "is a binary file, not CSV text"),
    ],
)
def test_a_label_csv_that_is_not_utf8_text(inside, content, fragment):
    (inside / "in.csv").write_bytes(content)
    assert_user_error(runner.invoke(app, ["label", "in.csv"]), fragment)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file, not JSONL text"),
        ('{"problem": "1+1", "answer": "2"}\n'.encode("utf-16"), "is UTF-16 or UTF-32 text; save it as UTF-8 JSONL"),
        (b'{"problem": "1+1", "answer": "2"}\n{"problem": \n', "d.jsonl line 2 is not JSON"),
        (b"[1, 2]\n", "d.jsonl line 1 holds a list, not a JSON object"),
    ],
)
def test_a_data_file_that_is_not_jsonl_is_one_line(inside, content, fragment):
    (inside / "d.jsonl").write_bytes(content)
    done = runner.invoke(app, ["--budget", "4k", "--task", "aime25", "--data-file", "d.jsonl"])
    assert_user_error(done, fragment)
    assert done.stdout.strip() == ""  # datasets' own log of the failure is not shown


# --- label --------------------------------------------------------------------------------------------


def test_label_refuses_a_folder_or_an_existing_out_without_force(inside):
    (inside / "in.csv").write_text("lambda,think_ratio\n0,0.0\n1,1.0\n")
    (inside / "folder").mkdir()
    assert_user_error(runner.invoke(app, ["label", "in.csv", "--out", "folder"]), "is a folder")
    (inside / "out.csv").write_text("mine\n")
    assert_user_error(runner.invoke(app, ["label", "in.csv", "--out", "out.csv"]), "already exists; pass --force")
    assert (inside / "out.csv").read_text() == "mine\n"
    assert runner.invoke(app, ["label", "in.csv", "--out", "out.csv", "--force"]).exit_code == 0
    assert (inside / "out.csv").read_text().splitlines()[0] == "lambda,think_ratio,stage,overthinking"


@pytest.mark.parametrize("column", ["lam", "mean_lambda"])
def test_label_reads_a_study_trials_csv(inside, column):
    rows = [(0.0, 0.0), (0.5, 0.4), (1.0, 1.0)]
    (inside / "trials.csv").write_text(f"trial,{column},think_ratio\n" + "".join(f"{i},{l},{r}\n" for i, (l, r) in enumerate(rows)))
    done = runner.invoke(app, ["label", "trials.csv"])
    assert done.exit_code == 0, done.output
    assert [line.split(",")[-2] for line in done.stdout.splitlines()[1:]] == ["1", "2", "3"]


# --- Values out of their range ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "fragment"),
    [
        ("space: {decoding: {temperature: [1.0, 0.0]}}", "a temperature range is [low, high]"),
        ("space: {decoding: {temperature: [-1.0, 1.0]}}", "a temperature range is [low, high]"),
        ("space: {decoding: {top_p: [0.5, 2.0]}}", "a top_p range is [low, high]"),
        ("space: {decoding: {top_p: [0.0, 0.5]}}", "a top_p range is [low, high]"),
        ("space: {decoding: {max_new_tokens: [0, 8]}}", "max_new_tokens takes distinct positive choices"),
        ("space: {decoding: {max_new_tokens: []}}", "max_new_tokens takes distinct positive choices"),
        ("space: {kind: modules, modules: []}", "modules takes distinct module kinds"),
        ("space: {kind: modules, modules: [mlp, mlp]}", "modules takes distinct module kinds"),
        ("k: 1000000000", "`k`: input should be less than or equal to 1024"),
        ("seed: -1", "`seed`: input should be greater than or equal to 0"),
        ("seed: 1099511627776", "`seed`: input should be less than or equal to"),
        ("min_trials: 9\nmax_trials: 4", "`max_trials`: max_trials 4 is below min_trials 9"),
        ("trials: many", "`trials`: input should be a valid integer from 0, or auto"),
        ("stop_margin: 0", "`stop_margin`: input should be greater than 0"),
        ("stop_margin: 1.5", "`stop_margin`: input should be less than 1"),
    ],
)
def test_a_study_file_value_out_of_its_range_is_one_line(inside, keys, fragment):
    (inside / "s.yaml").write_text(f"name: s\nbudget: 4k\n{keys}\n")
    assert_user_error(runner.invoke(app, ["--study", "s.yaml"]), fragment)
    assert not (inside / "mi-search.db").exists() or not stored_studies("sqlite:///mi-search.db")


def test_min_trials_above_max_trials_by_flag_is_one_line_naming_the_flag(inside):
    done = runner.invoke(app, ["--budget", "4k", "--min-trials", "9", "--max-trials", "4"])
    assert_user_error(done, "--max-trials: max_trials 4 is below min_trials 9")
    assert not (inside / "mi-search.db").exists() or not stored_studies("sqlite:///mi-search.db")
    assert not (inside / "runs").exists()


@pytest.mark.parametrize("margin", ["0", "-0.1", "1", "x"])
def test_a_stop_margin_outside_zero_to_one_by_flag_is_one_line_naming_the_flag(inside, margin):
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--stop-margin", margin]), "--stop-margin")
    assert not (inside / "mi-search.db").exists() or not stored_studies("sqlite:///mi-search.db")


@pytest.mark.parametrize("device", ["meta", "mps", "xpu"])
def test_a_device_torch_names_but_we_cannot_run_on_is_one_line(inside, device):
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--device", device]), f"device {device!r} is not supported")
    assert not stored_studies("sqlite:///mi-search.db") if (inside / "mi-search.db").exists() else True


def test_a_lambda_grid_is_bounded(inside):
    assert_user_error(runner.invoke(app, ["sweep", "--lambdas", "0:1:0.0000000001", "--out", "sw"]), "use at most 10000")
    assert not (inside / "sw").exists()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["sweep", "--lambdas", "0:inf:1", "--out", "sw"], "cannot read --lambdas '0:inf:1'"),
        (["sweep", "--lambdas", "0:1:nan", "--out", "sw"], "cannot read --lambdas '0:1:nan'"),
        (["sweep", "--lambdas", "0", "--data", "d.jsonl", "--task", "aime25", "--out", "sw"], "not both; drop --task or --data"),
    ],
)
def test_a_sweep_with_an_unbounded_grid_or_two_tasks_is_one_line(inside, argv, fragment):
    (inside / "d.jsonl").write_text('{"question": "1+1", "answer": "2"}\n')
    assert_user_error(runner.invoke(app, argv), fragment)
    assert not (inside / "sw").exists()


def test_a_sweep_refused_while_loading_shows_no_progress_bar(inside):
    done = runner.invoke(app, ["sweep", "--lambdas", "0", "--limit", "2", "--device", "tpu", "--out", "sw"])
    assert_user_error(done, "unknown device 'tpu'")
    assert done.stdout.strip() == ""
    assert not (inside / "sw").exists()


@pytest.mark.parametrize("size", ["nanGB", "infGB", "-80GB"])
def test_plan_reads_only_finite_positive_memory_sizes(inside, size):
    assert_user_error(runner.invoke(app, ["plan", "--gpu-memory", size]), f"cannot read the memory size {size!r}")
