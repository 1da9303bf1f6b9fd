"""Every bad input is one line and exit code 2, refused before anything is stored or written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import optuna
import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from mi_search.cli import app
from mi_search.search.storage import open_storage
from mi_search.toy import toy_pair_dirs

from .test_cli import assert_user_error

runner = CliRunner()


def stored_studies(url: str) -> list[str]:
    return optuna.study.get_all_study_names(open_storage(url))


def copy_pair(tmp_path, name="pair"):
    instruct, thinking = toy_pair_dirs()
    root = tmp_path / name
    shutil.copytree(instruct, root / "instruct")
    shutil.copytree(thinking, root / "thinking")
    return root / "instruct", root / "thinking"


def study_file(folder, name="s"):
    """A quick study: 4 search and 4 held-out questions."""
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\ntask: {{search_size: 4, holdout_size: 4}}\n")
    return path


@pytest.fixture
def inside(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- Files that are not text -------------------------------------------------------------------


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


# --- label ---------------------------------------------------------------------------------------


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


# --- Weights --------------------------------------------------------------------------------------


def corrupt(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(os.urandom(4096))
    else:  # one NaN in one tensor: the file itself is well formed
        tensors = load_file(path)
        name = next(n for n, t in tensors.items() if t.is_floating_point())
        tensors[name].view(-1)[0] = float("nan")
        save_file(tensors, path, metadata={"format": "pt"})


@pytest.mark.parametrize(
    ("how", "fragment"),
    [("truncated", "is not a readable safetensors file"), ("garbage", "is not a readable safetensors file"), ("nan", "holds NaN or infinite values")],
)
def test_bad_weights_are_refused_before_the_study_is_stored(inside, how, fragment):
    instruct, thinking = copy_pair(inside)
    corrupt(thinking / "model.safetensors", how)
    args = ["--budget", "4k", "--instruct", instruct, "--thinking", thinking, "--trials", "1", "--study", "w"]
    assert_user_error(runner.invoke(app, list(map(str, args))), fragment)
    assert stored_studies("sqlite:///mi-search.db") == []


def test_a_study_with_no_completed_trial_takes_a_corrected_pair(inside):
    first, _ = copy_pair(inside, "first")
    fixed_instruct, fixed_thinking = copy_pair(inside, "fixed")
    # A study stored with a pair, no trial run yet; then the same name with another pair: taken.
    base = ["--budget", "4k", "--study", str(study_file(inside, "w")), "--trials", "0"]
    assert runner.invoke(app, [*base, "--instruct", str(first), "--thinking", str(first.parent / "thinking")]).exit_code == 0
    done = runner.invoke(app, [*base, "--instruct", str(fixed_instruct), "--thinking", str(fixed_thinking)])
    assert done.exit_code == 0, done.output
    stored = optuna.load_study(study_name="w", storage=open_storage("sqlite:///mi-search.db")).user_attrs["mi_search_config"]
    assert stored["pair"]["instruct"] == str(fixed_instruct)
    # Once a trial completed, the pair is what the study is: another one is refused.
    assert runner.invoke(app, [*base[:-2], "--trials", "1"]).exit_code == 0
    assert_user_error(
        runner.invoke(app, [*base, "--instruct", str(first), "--thinking", str(first.parent / "thinking")]), "was created with pair"
    )


# --- Where a study writes -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["/abs/dir", "../../x", ".", "..", "x/y", "x\\y", "a" * 300])
def test_a_study_name_is_a_name(inside, name):
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--study", name, "--trials", "0"]), "is not a name")
    assert not (inside / "mi-search.db").exists() and not (inside / "runs").exists()


def test_a_search_out_that_is_a_file_or_holds_other_files_is_refused_before_storing(inside):
    (inside / "report").write_text("not a folder")
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--out", "report", "--trials", "0"]), "is a file")
    (inside / "folder").mkdir()
    (inside / "folder" / "notes.txt").write_text("mine")
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--out", "folder", "--trials", "0"]), "holds files that are not a study report")
    assert not (inside / "mi-search.db").exists()


def test_a_read_only_out_is_refused_before_any_trial(inside):
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only tmpfs needs root")
    (inside / "ro").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(inside / "ro")], check=True)
    try:
        assert_user_error(runner.invoke(app, ["--budget", "4k", "--out", "ro/study", "--trials", "1"]), "does not take new files")
    finally:
        subprocess.run(["umount", str(inside / "ro")], check=True)
    assert not (inside / "mi-search.db").exists()


def test_the_report_folder_is_replaced_whole_with_no_stray_files(inside):
    args = ["--budget", "4k", "--study", str(study_file(inside, "r")), "--trials", "1"]
    assert runner.invoke(app, args).exit_code == 0
    folder = inside / "runs" / "r"
    first = json.loads((folder / "pareto.json").read_text())
    assert runner.invoke(app, args).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == ["pareto.json", "pareto.png", "stage_map.png", "trials.csv"]
    assert json.loads((folder / "pareto.json").read_text())["trials"] == first["trials"] + 1
    assert sorted(p.name for p in (inside / "runs").iterdir()) == ["r"]  # no staging folder, no .tmp.png left
    mode = 0o777 & ~_umask()
    assert folder.stat().st_mode & 0o777 == mode and (folder / "pareto.png").stat().st_mode & 0o777 == mode & 0o666


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# --- Storage and tracking URIs --------------------------------------------------------------------


def test_storage_and_tracking_files_swapped_are_refused_untouched(inside):
    tracking = f"sqlite:///{inside}/mlflow.db"  # absolute: MLflow caches stores by URI across tests
    assert runner.invoke(app, ["--budget", "4k", "--study", str(study_file(inside)), "--trials", "0", "--tracking-uri", tracking]).exit_code == 0
    optuna_db, mlflow_db = (inside / "mi-search.db").read_bytes(), (inside / "mlflow.db").read_bytes()
    assert_user_error(
        runner.invoke(app, ["--budget", "4k", "--storage", tracking, "--trials", "0"]), "is an MLflow tracking database"
    )
    assert_user_error(
        runner.invoke(app, ["--budget", "4k", "--tracking-uri", "sqlite:///mi-search.db", "--trials", "0"]), "is an Optuna study storage"
    )
    assert (inside / "mi-search.db").read_bytes() == optuna_db and (inside / "mlflow.db").read_bytes() == mlflow_db


def test_a_tracking_uri_mlflow_cannot_use_is_one_line(inside):
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--tracking-uri", "foo://bar"]), "is not a tracking store MLflow can use")
    assert not (inside / "mi-search.db").exists()


@pytest.mark.parametrize("torn", [False, True])
def test_a_garbage_or_truncated_journal_on_the_command_line(inside, torn):
    if torn:  # a journal that a full disk left with half a record at its end
        optuna.create_study(study_name="other", storage=open_storage("journal:s.log"))
        content = (inside / "s.log").read_bytes() + b'{"op_co'
    else:
        content = os.urandom(2048)
    (inside / "s.log").write_bytes(content)
    done = runner.invoke(app, ["--budget", "4k", "--storage", "journal:s.log", "--trials", "0", "--study", str(study_file(inside))])
    if torn:  # cut with a notice, then the study runs
        assert done.exit_code == 0, done.output
        assert "ended in a record cut short" in done.stderr
    else:
        assert_user_error(done, "is not an Optuna journal")
        assert (inside / "s.log").read_bytes() == content


def test_a_lambda_grid_is_bounded(inside):
    assert_user_error(runner.invoke(app, ["sweep", "--lambdas", "0:1:0.0000000001", "--out", "sw"]), "use at most 10000")
    assert not (inside / "sw").exists()


# --- Inputs bench/bad_input_probe.py found accepted or unexplained ----------------------------------


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
    ],
)
def test_a_study_file_value_out_of_its_range_is_one_line(inside, keys, fragment):
    (inside / "s.yaml").write_text(f"name: s\nbudget: 4k\n{keys}\n")
    assert_user_error(runner.invoke(app, ["--study", "s.yaml"]), fragment)
    assert not (inside / "mi-search.db").exists() or not stored_studies("sqlite:///mi-search.db")


def test_a_space_for_another_depth_is_refused_before_the_study_is_stored(inside):
    (inside / "s.yaml").write_text("name: s\nbudget: 4k\nspace: {kind: layers, layers: 5}\n")
    done = runner.invoke(app, ["--study", "s.yaml"])
    assert_user_error(done, "space layers=5, but the pair has 6 decoder layers")
    assert done.stdout.strip() == ""  # no progress bar before the refusal
    assert stored_studies("sqlite:///mi-search.db") == []


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


@pytest.mark.parametrize("device", ["meta", "mps", "xpu"])
def test_a_device_torch_names_but_we_cannot_run_on_is_one_line(inside, device):
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--device", device]), f"device {device!r} is not supported")
    assert not stored_studies("sqlite:///mi-search.db") if (inside / "mi-search.db").exists() else True


def test_a_sweep_refused_while_loading_shows_no_progress_bar(inside):
    done = runner.invoke(app, ["sweep", "--lambdas", "0", "--limit", "2", "--device", "tpu", "--out", "sw"])
    assert_user_error(done, "unknown device 'tpu'")
    assert done.stdout.strip() == ""
    assert not (inside / "sw").exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_an_out_in_a_folder_that_takes_no_files_is_refused_before_any_trial(inside):
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--out", "/proc/mi-search-out"]), "does not take new files")
    assert not (inside / "mi-search.db").exists() or not stored_studies("sqlite:///mi-search.db")


def test_a_sqlite_file_of_another_kind_is_refused_untouched(inside):
    import sqlite3

    with sqlite3.connect(inside / "other.db") as db:
        db.executescript("CREATE TABLE studies (x TEXT); CREATE TABLE experiments (y TEXT);")
    before = (inside / "other.db").read_bytes()
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--storage", "sqlite:///other.db"]), "holds another database")
    assert_user_error(
        runner.invoke(app, ["--budget", "4k", "--tracking-uri", f"sqlite:///{inside}/other.db"]), "holds another database"
    )
    assert (inside / "other.db").read_bytes() == before


def test_a_journal_storage_that_is_a_folder_is_one_line(inside):
    (inside / "j").mkdir()
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--storage", "journal:j"]), "names no journal file")


def test_ui_refuses_a_tracking_store_of_another_kind_before_mlflow_opens_it(inside):
    optuna.create_study(study_name="x", storage=open_storage("sqlite:///mi-search.db"))
    before = (inside / "mi-search.db").read_bytes()
    assert_user_error(runner.invoke(app, ["ui", "--tracking-uri", "sqlite:///mi-search.db"]), "is an Optuna study storage")
    assert_user_error(runner.invoke(app, ["ui", "--tracking-uri", "foo://bar"]), "is not a tracking store MLflow can use")
    (inside / "g.db").write_bytes(os.urandom(3000))
    assert_user_error(runner.invoke(app, ["ui", "--tracking-uri", "sqlite:///g.db"]), "is not a SQLite database")
    assert (inside / "mi-search.db").read_bytes() == before


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (bytes(range(256)) * 16, "promise"),  # garbage: its first 8 bytes promise an enormous header
        (b"\x10\x00\x00\x00\x00\x00\x00\x00[1, 2, 3]       ", "the header is not a table of tensors"),
    ],
)
def test_plan_on_weights_with_a_garbage_header_is_one_line(inside, content, fragment):
    instruct, thinking = copy_pair(inside)
    (instruct / "model.safetensors").write_bytes(content)
    fragment = "has no readable safetensors header" if fragment == "promise" else fragment
    assert_user_error(runner.invoke(app, ["plan", "--instruct", str(instruct), "--thinking", str(thinking)]), fragment)


def test_a_sqlite_uri_naming_a_folder_is_one_line_at_once(inside):
    (inside / "fold").mkdir()
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--tracking-uri", "sqlite:///fold"]), "names the folder fold")
    assert_user_error(runner.invoke(app, ["--budget", "4k", "--storage", "sqlite:///fold"]), "names the folder fold")


def test_a_pair_storing_a_weight_as_integers_is_refused_before_storing(inside):
    instruct, thinking = copy_pair(inside)
    tensors = load_file(thinking / "model.safetensors")
    name = next(n for n, t in tensors.items() if t.is_floating_point())
    tensors[name] = tensors[name].to(torch.int32)
    save_file(tensors, thinking / "model.safetensors", metadata={"format": "pt"})
    done = runner.invoke(app, ["--budget", "4k", "--study", str(study_file(inside)), "--instruct", str(instruct), "--thinking", str(thinking)])
    assert_user_error(done, f"tensor {name} is BF16 in instruct but I32 in thinking")
    assert stored_studies("sqlite:///mi-search.db") == []


def test_merge_refuses_a_checkpoint_with_nan_and_writes_nothing(inside):
    instruct, thinking = copy_pair(inside)
    tensors = load_file(thinking / "model.safetensors")
    name = next(n for n, t in tensors.items() if t.is_floating_point())
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, thinking / "model.safetensors", metadata={"format": "pt"})
    done = runner.invoke(app, ["merge", "--lam", "0.5", "--instruct", str(instruct), "--thinking", str(thinking), "--out", "m"])
    assert_user_error(done, f"tensor {name} of the thinking checkpoint holds NaN")
    assert not (inside / "m").exists()
    assert not [p for p in inside.iterdir() if p.name.startswith(".m.")]


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("config.json", '{"model_type": "qwen3"}'.encode("utf-16"), "config.json is UTF-16 or UTF-32 text"),
        ("config.json", b"[1, 2]", "config.json holds a list, not a model config"),
        ("config.json", b"{nope", "config.json is not JSON"),
        ("tokenizer.json", b"\x00\x01garbage", "tokenizer.json is a binary file, not JSON text"),
        ("tokenizer.json", None, "has no tokenizer (tokenizer.json, tokenizer.model, vocab.json)"),
    ],
)
def test_a_model_folder_with_an_unreadable_config_or_tokenizer_is_one_line(inside, name, content, fragment):
    instruct, thinking = copy_pair(inside)
    if content is None:
        (instruct / name).unlink()
    else:
        (instruct / name).write_bytes(content)
    done = runner.invoke(app, ["--budget", "4k", "--study", str(study_file(inside)), "--instruct", str(instruct), "--thinking", str(thinking)])
    assert_user_error(done, fragment)
    assert stored_studies("sqlite:///mi-search.db") == []


OUT_COMMANDS = {
    "merge": ["merge", "--lam", "0.5"],
    "sweep": ["sweep", "--lambdas", "0", "--limit", "2", "--max-new-tokens", "4", "--device", "cpu"],
    "toy build": ["toy", "build", "--base-steps", "1", "--specialist-steps", "1"],
}


@pytest.mark.parametrize("command", list(OUT_COMMANDS))
@pytest.mark.parametrize(
    ("out", "fragment"),
    [
        ("f", "--out f is a file"),
        ("f/sub", "lies under"),
        ("/proc/mi-search-out", "does not take new files"),
    ],
)
def test_an_out_that_cannot_become_a_folder_is_refused_before_any_work(inside, command, out, fragment):
    (inside / "f").write_text("mine\n")
    extra = ["--overwrite"] if command != "toy build" and out == "f" else []
    done = runner.invoke(app, [*OUT_COMMANDS[command], "--out", out, *extra])
    assert_user_error(done, fragment)
    assert done.stdout.strip() == ""
    assert (inside / "f").read_text() == "mine\n"
    assert sorted(p.name for p in inside.iterdir()) == ["f"]  # no staging folder, no storage


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_label_out_where_no_file_can_be_made_is_one_line(inside):
    (inside / "in.csv").write_text("lambda,think_ratio\n0,0.0\n1,1.0\n")
    assert_user_error(runner.invoke(app, ["label", "in.csv", "--out", "/proc/labelled.csv"]), "does not take new files")


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


@pytest.mark.parametrize(
    ("space", "fragment"),
    [
        ("{kind: blocks, blocks: 1000}", "1000 layer blocks for a model of 6 layers"),
        ("{kind: modules, modules: [experts]}", "has no experts weights"),
    ],
)
def test_a_space_the_pair_cannot_express_is_refused_before_the_study_is_stored(inside, space, fragment):
    (inside / "s.yaml").write_text(f"name: s\nbudget: 4k\nspace: {space}\n")
    done = runner.invoke(app, ["--study", "s.yaml"])
    assert_user_error(done, fragment)
    assert stored_studies("sqlite:///mi-search.db") == []


def test_plan_refuses_a_tensor_parallel_size_that_does_not_divide_the_heads(inside):
    done = runner.invoke(app, ["plan", "--backend", "vllm", "--tensor-parallel-size", "3"])
    assert_user_error(done, "tensor_parallel_size 3 does not divide the model's 4 attention heads; use one of 1, 2, 4")
    (inside / "s.yaml").write_text("name: s\nbudget: 4k\nbackend: {kind: vllm, tensor_parallel_size: 3}\n")
    assert_user_error(runner.invoke(app, ["--study", "s.yaml"]), "does not divide")
    assert stored_studies("sqlite:///mi-search.db") == []


@pytest.mark.parametrize("size", ["nanGB", "infGB", "-80GB"])
def test_plan_reads_only_finite_positive_memory_sizes(inside, size):
    assert_user_error(runner.invoke(app, ["plan", "--gpu-memory", size]), f"cannot read the memory size {size!r}")
