"""What a newcomer meets first: the documented study keys validate, and the documents list the keys that exist."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from mi_search.backends.settings import HFSettings, VLLMSettings
from mi_search.search.budget import unbound_budget_line
from mi_search.search.config import SamplerName, StudyConfig, build_config, read_study_file
from mi_search.search.results import read_result
from mi_search.search.space import SpaceKind
from mi_search.search.storage import open_storage

ROOT = Path(__file__).parent.parent
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

    again = _run("--study", "small", "--trials", "1", cwd=tmp_path)
    assert "continuing study 'small': it has 3 finished trials, this run adds 1" in again.stdout, again.stdout

