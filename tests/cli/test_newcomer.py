"""What a newcomer meets first: the documented study keys validate, and the documents list the keys that exist."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from matplotlib.colors import to_rgb
from mi_search import resolve_pair
from mi_search.backends.settings import HFSettings, VLLMSettings
from mi_search.search.settings.config import SamplerName, StudyConfig, build_config, read_study_file
from mi_search.search.report.results import read_result, unbound_budget_line
from mi_search.search.settings.space import SpaceKind
from mi_search.search.store.storage import open_storage

from tests.conftest import in_process

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
STUDIES_README = ROOT / "studies" / "README.md"


def yaml_blocks(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(), flags=re.S)


def study_blocks() -> list[tuple[str, str]]:
    """Every YAML block of the READMEs that writes a study (it names a budget)."""
    blocks = [(f"{path.name}#{i}", text) for path in (README, STUDIES_README) for i, text in enumerate(yaml_blocks(path))]
    return [(name, text) for name, text in blocks if re.search(r"^budget:", text, flags=re.M)]


def table_rows(path: Path) -> dict[str, str]:
    """The studies README's key table: first cell's key → the row."""
    rows = {}
    for line in path.read_text().splitlines():
        match = re.match(r"\| `(\w+)`(?:, `(\w+)`)? \|", line)
        if match:
            for key in filter(None, match.groups()):
                rows[key] = line
    return rows


@pytest.mark.parametrize(("name", "text"), study_blocks(), ids=lambda v: v if "#" in str(v) else "")
def test_every_documented_study_block_validates(name, text, tmp_path):
    """A study block is read as a file in studies/, so its `../configs/...` pieces resolve as documented."""
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    (tmp_path / "studies").mkdir()
    study = tmp_path / "studies" / "documented.yaml"
    study.write_text(text)
    config = build_config(read_study_file(study), source=name)
    assert config.budget and config.budget > 0


def test_the_readme_also_line_names_keys_and_values_that_validate():
    """The README's `# also:` comment lists further keys; each alternative it offers must be accepted."""
    also = next(block for _, block in study_blocks() if "# also:" in block)
    comment = " ".join(line.lstrip("# ").strip() for line in also.splitlines() if line.startswith("#"))
    listed = re.sub(r"\{[^}]*\}", "{}", comment.split("also:", 1)[1])
    keys = re.findall(r"(?:^|, )\s*(\w+)(?=[:,]|$)", listed)
    assert {"k", "objectives", "sampler", "seed", "halving", "choose", "holdout_points", "space"} <= set(keys)
    assert set(keys) <= set(StudyConfig.model_fields), set(keys) - set(StudyConfig.model_fields)
    for key, options in re.findall(r"(\w+): ([\w-]+(?:\|[\w-]+)+)", comment):
        for option in options.split("|"):
            if key == "accuracy":
                settings = {"objectives": {"accuracy": option}, "k": 4}
            else:
                settings = {key: option}
            build_config({"budget": 100, **settings}, source=f"{key}: {option}")


def test_the_key_table_lists_every_study_key_and_every_choice():
    rows = table_rows(STUDIES_README)
    assert set(rows) == set(StudyConfig.model_fields), set(rows) ^ set(StudyConfig.model_fields)
    for kind in SpaceKind:
        assert f"`{kind.value}`" in rows["space"], kind
    for sampler in SamplerName:
        assert f"`{sampler.value}`" in rows["sampler"], sampler
    for field in {*HFSettings.model_fields, *VLLMSettings.model_fields} - {"kind"}:
        assert f"`{field}`" in rows["backend"], field
    assert "`level`" in rows["halving"] and "`z`" not in rows["halving"]
    assert "`vllm`" not in rows, "vLLM settings live under `backend:`, not a `vllm:` key"


def test_the_table_gives_the_defaults_the_code_has():
    rows = table_rows(STUDIES_README)
    assert "0.95" in rows["halving"] and str(StudyConfig().halving.level) == "0.95"
    assert HFSettings().sources == VLLMSettings().sources == "auto"
    assert "`auto`, `auto`" in rows["backend"], "sources default to auto on both backends"


@pytest.mark.parametrize(
    ("written", "kind"), [("backend: vllm", "vllm"), ("backend: hf", "hf"), ("backend: {kind: vllm, sources: host}", "vllm")]
)
def test_backend_shorthand_in_a_study_file(written, kind, tmp_path):
    """`backend: vllm`, as the README writes it, is a backend, not a piece file named vllm."""
    study = tmp_path / "s.yaml"
    study.write_text(f"budget: 100\n{written}\n")
    config = build_config(read_study_file(study), source=str(study))
    assert config.backend.kind == kind


def test_a_backend_piece_by_path_still_reads_the_file(tmp_path):
    (tmp_path / "vllm.yaml").write_text("kind: vllm\nsources: host\n")
    study = tmp_path / "s.yaml"
    study.write_text("budget: 100\nbackend: vllm.yaml\n")
    config = build_config(read_study_file(study), source=str(study))
    assert config.backend.kind == "vllm" and config.backend.sources == "host"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`mi-search` as a pipe sees it (stdout is not a terminal), as in `mi-search … | tee log` or CI."""
    command = [sys.executable, "-m", "mi_search", *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.slow
def test_a_piped_study_reads_at_a_glance_says_it_continued_and_that_its_budget_does_not_bind(tmp_path):
    study = tmp_path / "small.yaml"
    study.write_text("task: {search_size: 16, holdout_size: 16}\ntrials: 3\nbudget: 4000tokens\n")
    first = _run("--study", str(study), cwd=tmp_path)
    assert "warning" not in (first.stdout + first.stderr).lower(), first.stdout + first.stderr
    assert "continuing" not in first.stdout
    document = json.loads((tmp_path / "runs" / "small" / "pareto.json").read_text())
    rows = [line for line in first.stdout.splitlines() if line.startswith("│")]
    # One line per front point: a wrapped row would add lines holding only some of its cells.
    assert len(rows) == len(document["points"]), first.stdout
    assert all(line.count("│") == 9 for line in rows)
    headers = next(line for line in first.stdout.splitlines() if "trial" in line and line.startswith("┃"))
    for header in ("accuracy", "mean tokens", "Think #R", "held-out acc", "held-out tok"):
        assert header in headers, headers
    unbound = [line for line in first.stdout.splitlines() if "does not bind" in line]
    assert len(unbound) == 1 and "e.g. --budget " in unbound[0], first.stdout

    # The same stored trials under a budget their λ = 1 end exceeds (the toy's Thinking spends ~125 tokens): no line.
    stored = optuna.load_study(study_name="small", storage=open_storage(f"sqlite:///{tmp_path / 'mi-search.db'}"))
    assert unbound_budget_line(read_result(stored, 4000)) == unbound[0]
    assert unbound_budget_line(read_result(stored, 100)) is None

    again = in_process("--study", "small", "--trials", "1", cwd=tmp_path)  # the same line in-process: no pipe needed
    assert "continuing study 'small': it has 3 finished trials, this run adds 1" in again.stdout, again.stdout



@pytest.fixture(scope="module")
def toy_backend():
    from mi_search import open_pair
    from mi_search.backends.settings import HFSettings
    from mi_search.merge.pair import PairConfig

    return open_pair(PairConfig(), HFSettings(device="cpu"))


def _figures(monkeypatch) -> dict[str, object]:
    """Every figure a report draws, by file name, kept for inspection (and still written)."""
    from mi_search.plots import lambda_profile, pareto, stage_map, style

    drawn: dict[str, object] = {}

    def keep(fig, path):
        drawn[Path(path).name] = fig
        style.save(fig, path)

    for module in (lambda_profile, pareto, stage_map):
        monkeypatch.setattr(module, "save", keep)
    return drawn


def _study(tmp_path, backend, **settings):
    from mi_search.search.settings.request import StudyRequest
    from mi_search.service.runtime import Runtime
    from mi_search.service.study import run_study

    small = {"task": {"search_size": 12, "holdout_size": 8}, "halving": {"rungs": [1.0]}, "budget": "4k"}
    runtime = Runtime(storage=f"sqlite:///{tmp_path}/s.db", tracking_uri=None, heartbeat=5, out=tmp_path / "out")
    return run_study(StudyRequest(overrides={**small, **settings}), runtime, backend=backend)


def test_pareto_png_labels_front_points_keeps_the_front_wide_and_colours_held_out_apart(tmp_path, toy_backend, monkeypatch):
    from matplotlib.collections import LineCollection

    from mi_search.plots.pareto import HOLDOUT_COLOUR, plot_pareto

    drawn = _figures(monkeypatch)
    report = _study(tmp_path, toy_backend, seed_lambdas=[0.0, 0.7, 1.0], trials=3)
    result = report.result
    axis = drawn["pareto.png"].axes[0]
    texts = [t.get_text() for t in axis.texts]
    for number in result.front:
        assert any(text.startswith(f"t{number} λ") for text in texts), (number, texts)
    # λ = 1 spends far more than the front (~125 tokens against ~57–79): an arrow at the edge, not the chart's width
    thinking = next(r for r in result.records if r.params == {"lam": 1.0})
    assert thinking.number not in result.front, "the toy's λ 0.7 answers as well as λ 1 for fewer tokens"
    right = axis.get_xlim()[1]
    assert right < thinking.mean_tokens and all(result.record(n).mean_tokens < right for n in result.front)
    assert any(f"t{thinking.number} λ1.00: {thinking.mean_tokens:.0f} tokens →" in text for text in texts), texts
    # held-out error bars in their own colour, never the front's black
    bars = [c for c in axis.collections if isinstance(c, LineCollection)]
    held = [c for c in bars if tuple(c.get_colors()[0][:3]) == pytest.approx(to_rgb(HOLDOUT_COLOUR))]
    assert held, "held-out error bars are drawn in the held-out colour"

    # Trials at one spot (greedy blends often answer identically) are drawn once and counted.
    chosen = result.row(result.chosen)
    copies = [replace(chosen, trial=100 + i, chosen=False, on_front=False) for i in range(4)]
    plot_pareto([*result.rows, *copies], tmp_path / "dupes.png", title="dupes", budget=result.budget)
    texts = [t.get_text() for t in drawn["dupes.png"].axes[0].texts]
    assert any(text.endswith("×5") and text.startswith(f"t{chosen.trial} λ") for text in texts), texts


def test_a_modules_study_draws_its_profile_and_a_stage_map_of_points(tmp_path, toy_backend, monkeypatch):
    drawn = _figures(monkeypatch)
    report = _study(tmp_path, toy_backend, space={"kind": "modules"}, trials=3)
    assert (tmp_path / "out" / "lambda_profile.png").read_bytes()[:4] == b"\x89PNG"
    profile = drawn["lambda_profile.png"].axes[0]
    chosen = report.result.record(report.result.chosen).params
    flat = {line.get_label().split(" (mean")[0]: set(line.get_ydata()) for line in profile.get_lines()}
    assert flat["attention"] == {chosen["lam_attention"]} and flat["mlp"] == {chosen["lam_mlp"]}
    stage = drawn["stage_map.png"].axes
    title = stage[0].get_title()
    assert "Interpolation sweep" not in title and "mean λ" in title
    for axis in stage:
        for line in axis.get_lines():
            assert line.get_linestyle() == "None", (line.get_label(), "joined: neighbours by mean λ are different blends")


@pytest.mark.skipif(not Path("/proc/meminfo").exists(), reason="Linux reports available memory in /proc/meminfo")
def test_the_plan_reports_available_host_memory_not_the_total():
    import torch

    from mi_search.backends.devices import probe_machine

    machine = probe_machine(torch.device("cpu"))
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    available = int(fields["MemAvailable"].split()[0]) * 1024
    assert machine.free < machine.device_memory
    assert machine.free == pytest.approx(available, rel=0.1)


def test_every_extra_we_ask_of_a_dependency_is_one_it_provides():
    """pip only warns about an extra a package lacks, and installs without what it would have brought."""
    import tomllib
    from importlib.metadata import PackageNotFoundError, metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    checked = 0
    for requirement in requirements:
        match = re.match(r"([A-Za-z0-9_.-]+)\[([^\]]+)\]", requirement)
        if not match or match[1] == "mi-search":
            continue
        try:
            provided = set(metadata(match[1]).get_all("Provides-Extra") or [])
        except PackageNotFoundError:
            continue  # an extra's dependency that is not installed here
        for extra in match[2].split(","):
            assert extra.strip() in provided, f"{match[1]} has no extra {extra!r}; it offers {sorted(provided)}"
        checked += 1
    assert checked, "math-verify's extra at least is checked"


@pytest.mark.parametrize("command", [[], ["worker"], ["promote"], ["ui"], ["plan"], ["sweep"], ["merge"], ["label"]])
def test_help_at_80_columns_cuts_no_option_and_lists_debug(command, help_width):
    from typer.testing import CliRunner

    from mi_search.cli import app

    done = CliRunner().invoke(app, [*command, "--help"], env=help_width(80))
    assert done.exit_code == 0, done.output
    assert "…" not in done.output, [line for line in done.output.splitlines() if "…" in line]
    if not command:
        assert "--debug" in done.output.split("Options", 1)[1], "the help that mentions --debug lists it"


# A child process in which mi_search cannot be imported from the install: only from what a model ships.
_WITHOUT_MI_SEARCH = """
import sys
from pathlib import Path
sys.path = [p for p in sys.path if p and not (Path(p) / "mi_search").exists()]
sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
try:
    import mi_search
except ImportError:
    pass
else:
    raise SystemExit("mi_search is still importable: " + str(mi_search.__file__))
"""


@pytest.mark.slow
def test_the_promoted_model_serves_without_mi_search_installed_quietly_with_a_plain_checkpoint(tmp_path):
    from mi_search.search.settings.request import StudyRequest
    from mi_search.search.store.storage import open_storage as storage_of
    from mi_search.search.store.study import join_study
    from mi_search.service.runtime import Runtime
    from mi_search.service.study import run_study
    from mi_search.tracking.promote import promote

    runtime = Runtime(storage=f"sqlite:///{tmp_path}/s.db", tracking_uri=None, out=tmp_path / "out")
    settings = {"budget": "4k", "task": {"search_size": 8, "holdout_size": 8}, "name": "served", "trials": 3}
    run_study(StudyRequest(overrides=settings), runtime)
    study, config = join_study(storage_of(runtime.storage), "served")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    promote(study, config, resolve_pair(config.pair, None), name="served", alias="champion", tracking_uri=uri)

    script = _WITHOUT_MI_SEARCH + f"""
import mlflow, json
mlflow.set_tracking_uri({uri!r}); mlflow.set_registry_uri({uri!r})
local = Path(mlflow.artifacts.download_artifacts("models:/served@champion", dst_path={str(tmp_path / "dl")!r}))
requirements = (local / "requirements.txt").read_text()
assert "mi-search" not in requirements and "transformers==" in requirements, requirements
# the blend as a plain safetensors checkpoint: what vLLM or transformers serve, no mi-search needed
from transformers import AutoModelForCausalLM, AutoTokenizer
checkpoint = local / "artifacts" / "checkpoint"
assert list(checkpoint.glob("*.safetensors")), sorted(p.name for p in checkpoint.iterdir())
model = AutoModelForCausalLM.from_pretrained(checkpoint)
tokenizer = AutoTokenizer.from_pretrained(checkpoint)
assert tokenizer.chat_template and model.config.architectures == ["Qwen3ForCausalLM"]
import sys
assert "mi_search" not in sys.modules
print("PLAIN-OK", flush=True)
sys.stderr.write("---pyfunc---\\n"); sys.stderr.flush()
loaded = mlflow.pyfunc.load_model("models:/served@champion")
answer = loaded.predict(["12+30="])
import mi_search
assert str(local) in mi_search.__file__ or "code" in mi_search.__file__, mi_search.__file__
print("PYFUNC-OK", json.dumps(answer), flush=True)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
        env={k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PLAIN-OK" in done.stdout and "PYFUNC-OK" in done.stdout, done.stdout
    loading = done.stderr.split("---pyfunc---", 1)[1]
    assert "Loading weights" not in loading and "Warning" not in loading, loading


@pytest.mark.slow
def test_the_ui_server_imports_mlflows_app_without_warning_lines():
    """What `mi-search ui` execs the MLflow server with: the workers' imports print no Starlette warning."""
    import os

    from mi_search.cli.study import server_environment

    environ = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    probe = [sys.executable, "-c", "import mlflow.server.fastapi_app"]
    bare = subprocess.run(probe, capture_output=True, text=True, timeout=300, env=environ, check=True)
    served = subprocess.run(probe, capture_output=True, text=True, timeout=300, env=server_environment(environ), check=True)
    if "StarletteDeprecationWarning" not in bare.stderr:
        pytest.skip("this Starlette does not warn on MLflow's import")
    assert "Warning" not in served.stderr and "Invalid -W" not in served.stderr, served.stderr


def test_the_ui_server_runs_one_worker_and_no_job_runner_unless_the_user_asks():
    from mi_search.cli.study import server_environment

    plain = server_environment({"PATH": "/usr/bin"})
    assert plain["MLFLOW_WORKERS"] == "1" and plain["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    asked = server_environment({"MLFLOW_WORKERS": "4", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "true"})
    assert asked["MLFLOW_WORKERS"] == "4" and asked["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "true"
