"""Bad-input probe: feed the real `mi-search` command line ~200 distinct bad inputs and classify each outcome.

Run from the repository root:

    python -m bench.bad_input_probe [--only TEXT,…] [--jobs 2] [--timeout 120] [--keep] [--list]

Every case runs `python -m mi_search ARGV` in a subprocess, in a fresh folder of its own under a
temporary directory, with a CI-like environment (CI=true, no stdin, no terminal). Its `setup` first
writes whatever the case needs there: a study file, a corrupted copy of the toy pair, a garbage
journal, a copy of a small stored study (built once, before the cases run), a read-only mount.
Everything is kept cheap (4 search and 4 held-out questions, one trial, λ grids of one or two points)
so that an input that is wrongly accepted ends in seconds.

Each outcome is one of:
  one-line    exit code 2 and exactly one non-blank line of output, `error: ...` on stderr (the goal)
  unexpected  one line, but an unexpected error (exit 1): the input reached code that did not check it
  multi-line  a non-zero exit with more than one line of output (a usage panel, warnings, a stray print)
  traceback   a Python traceback anywhere in the output
  accepted    exit code 0: the bad input was taken
  hang        still running after the timeout (killed)
A refused case that leaves a study storage, a report folder or an output behind is listed as well:
a bad input must be refused before anything is stored or written.

Ends with a table by category and the tally, e.g.
`bad inputs: 201; one line: 201; unexpected: 0; multi-line: 0; traceback: 0; accepted: 0; hang: 0`;
exits 1 unless every case ended in one line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import yaml

Setup = Callable[[Path], None]
TEMPLATE: Path  # a folder holding stored studies, set in main() before any case runs
MOUNTS: list[Path] = []  # read-only mounts to undo at the end
MOUNT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    argv: list[str | bytes]
    setup: Setup | None = None
    timeout: float | None = None  # None: the run's --timeout


# --- Setups: what a case finds in its folder before it runs ---------------------------------------

QUICK = {"name": "s", "budget": "4k", "trials": 1, "task": {"search_size": 4, "holdout_size": 4}}


def chain(*setups: Setup | None) -> Setup:
    def run(folder: Path) -> None:
        for setup in setups:
            if setup is not None:
                setup(folder)

    return run


def files(content: dict[str, str | bytes | None]) -> Setup:
    """Files by relative path; None makes a folder."""

    def run(folder: Path) -> None:
        for key, value in content.items():
            path = folder / key
            path.parent.mkdir(parents=True, exist_ok=True)
            if value is None:
                path.mkdir(exist_ok=True)
            elif isinstance(value, bytes):
                path.write_bytes(value)
            else:
                path.write_text(value)

    return run


def write(name: str, content: str | bytes | None) -> Setup:
    return files({name: content})


def deep_update(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        out[key] = deep_update(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def study_file(file: str = "s.yaml", /, **keys: object) -> Setup:
    """The quick study with `keys` laid over it."""
    return write(file, yaml.safe_dump(deep_update(QUICK, keys), sort_keys=False, allow_unicode=True))


def stored(folder: Path) -> None:
    """A copy of the stored studies: `s` (one trial, budget 4k), `over` (one trial over a 1-token budget), `empty` (none)."""
    for item in TEMPLATE.iterdir():
        if item.is_dir():
            shutil.copytree(item, folder / item.name)
        else:
            shutil.copy2(item, folder / item.name)


def toy_pair(side: str | None = None, how: str | None = None, edit: Callable[[Path], None] | None = None) -> Setup:
    """A copy of the toy pair in pair/instruct and pair/thinking; `side`'s weights spoiled by `how`, or `edit` applied to it."""

    def run(folder: Path) -> None:
        from mi_search.toy import toy_pair_dirs

        for source, target in zip(toy_pair_dirs(), ("instruct", "thinking")):
            shutil.copytree(source, folder / "pair" / target)
        if side is None:
            return
        target = folder / "pair" / side
        if how is not None:
            spoil_weights(target / "model.safetensors", how)
        if edit is not None:
            edit(target)

    return run


def spoil_weights(path: Path, how: str) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(os.urandom(4096))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "header-only":  # a header that promises tensors the file does not hold
        size = int.from_bytes(data[:8], "little")
        path.write_bytes(data[: 8 + size])
    elif how == "missing":
        path.unlink()
    else:
        tensors = load_file(path)
        name = next(n for n, t in tensors.items() if t.is_floating_point())
        if how in ("nan", "inf"):
            tensors[name].view(-1)[0] = float(how)
        elif how == "shape":  # one tensor of another shape, the config unchanged
            tensors[name] = torch.zeros(3, 5, dtype=tensors[name].dtype)
        elif how == "dtype-int":
            tensors[name] = tensors[name].to(torch.int32)
        elif how == "drop-tensor":
            del tensors[name]
        elif how == "extra-tensor":
            tensors["model.extra.weight"] = torch.zeros(4)
        save_file(tensors, path, metadata={"format": "pt"})


def edit_config(**changes: object) -> Callable[[Path], None]:
    def run(directory: Path) -> None:
        import json

        path = directory / "config.json"
        config = json.loads(path.read_text())
        for key, value in changes.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        path.write_text(json.dumps(config))

    return run


def replace_file(name: str, content: bytes | None) -> Callable[[Path], None]:
    def run(directory: Path) -> None:
        if content is None:
            (directory / name).unlink()
        else:
            (directory / name).write_bytes(content)

    return run


def read_only(name: str) -> Setup:
    """A read-only folder: a read-only tmpfs when we may mount one (root ignores file modes), else a chmod."""

    def run(folder: Path) -> None:
        path = folder / name
        path.mkdir()
        if os.geteuid() == 0:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)], capture_output=True)
            if done.returncode == 0:
                with MOUNT_LOCK:
                    MOUNTS.append(path)
                return
        path.chmod(0o555)

    return run


def journal(content: bytes | Callable[[Path], bytes]) -> Setup:
    def run(folder: Path) -> None:
        (folder / "s.log").write_bytes(content(folder) if callable(content) else content)

    return run


def torn_journal(folder: Path) -> bytes:
    """A journal with one study, then a record cut in the middle of a token and one that is not JSON."""
    import optuna

    from mi_search.search.store.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    optuna.create_study(study_name="other", storage=open_storage(f"journal:{folder / 'x.log'}"))
    data = (folder / "x.log").read_bytes()
    (folder / "x.log").unlink()
    return data + b'{"op_code": 4, "worker_id": "x", "study_id": 0, "datetime_start": nul\n{"op_co'


def sqlite_with(tables: str) -> Setup:
    """A SQLite file holding `tables` (SQL): a database of the wrong kind."""

    def run(folder: Path) -> None:
        with sqlite3.connect(folder / "other.db") as db:
            db.executescript(tables)

    return run


def mlflow_db(folder: Path) -> None:
    """An MLflow tracking database (a copy of the stored studies' one), as `mlflow.db`."""
    shutil.copy2(TEMPLATE / "mlflow.db", folder / "mlflow.db")


def csv_file(content: str | bytes, name: str = "in.csv") -> Setup:
    return write(name, content)


# --- The cases -------------------------------------------------------------------------------------

SEARCH = ["--study", "s.yaml"]  # the quick study file, written by `search_case`
SWEEP = ["sweep", "--lambdas", "0", "--limit", "2", "--max-new-tokens", "8", "--device", "cpu"]
MERGE = ["merge", "--lam", "0.5"]
PAIR = ["--instruct", "pair/instruct", "--thinking", "pair/thinking"]
UTF16 = "budget: 4k\nname: s\n".encode("utf-16")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"
LATIN1 = b"name: caf\xe9\nbudget: 4k\n"
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi")
)
LONG = "a" * 300


def search_case(name: str, category: str, *flags: str, setup: Setup | None = None) -> Case:
    """A study run of the quick study file with `flags` laid over it."""
    return Case(name, category, [*SEARCH, *flags], chain(study_file(), setup))


def yaml_case(name: str, setup: Setup, category: str = "study file keys", *flags: str) -> Case:
    return Case(name, category, [*SEARCH, *flags], setup)


def cases() -> list[Case]:
    c: list[Case] = []
    add = c.append

    # -- Study files that are not YAML text, or not a mapping ------------------------------------
    cat = "study file format"
    for name, content in [
        ("utf16", UTF16),
        ("utf32", "budget: 4k\n".encode("utf-32")),
        ("utf16-no-bom", "budget: 4k\n".encode("utf-16-le")),
        ("png", PNG),
        ("latin1", LATIN1),
        ("random-bytes", os.urandom(512)),
        ("bad-syntax", "name: s\nbudget: [4k\n"),
        ("tab-indent", "name: s\ntask:\n\tsearch_size: 4\n"),
        ("a-list", "- budget: 4k\n"),
        ("a-scalar", "4k\n"),
        ("empty", ""),
        ("only-comment", "# nothing here\n"),
        ("unhashable-key", "? [a, b]\n: c\n"),
        ("alias-bomb", "name: s\n" + ALIAS_BOMB),
        ("duplicate-anchor-use", "name: s\nbudget: *nope\n"),
        ("python-tag", "name: s\nbudget: !!python/object/apply:os.system ['true']\n"),
        ("multi-document", "name: s\n---\nname: t\n"),
    ]:
        add(Case(f"yaml-{name}", cat, ["--study", "s.yaml"], write("s.yaml", content)))
    add(Case("yaml-missing", cat, ["--study", "missing.yaml"]))
    add(Case("yaml-a-folder", cat, ["--study", "dir.yaml"], write("dir.yaml", None)))
    add(Case("yaml-piece-missing", cat, ["--study", "s.yaml"], write("s.yaml", "name: s\npair: nowhere.yaml\n")))
    add(Case("yaml-piece-binary", cat, ["--study", "s.yaml"], files({"s.yaml": "name: s\ntask: t.yaml\n", "t.yaml": PNG})))
    add(Case("yaml-piece-a-list", cat, ["--study", "s.yaml"], files({"s.yaml": "name: s\nspace: sp.yaml\n", "sp.yaml": "- blocks\n"})))
    add(Case("yaml-piece-a-folder", cat, ["--study", "s.yaml"], files({"s.yaml": "name: s\ndecoding: d\n", "d": None})))
    add(Case("yaml-piece-utf16", cat, ["--study", "s.yaml"], files({"s.yaml": "name: s\nhalving: h.yaml\n", "h.yaml": "level: 0.9\n".encode("utf-16")})))
    add(Case("yaml-piece-empty", cat, ["--study", "s.yaml"], files({"s.yaml": "name: s\nbackend: b.yaml\n", "b.yaml": ""})))
    add(Case("yaml-non-utf8-path", cat, ["--study", b"caf\xe9.yaml"]))
    add(Case("yaml-newline-in-path", cat, ["--study", "no\nsuch.yaml"]))

    # -- Study file keys with wrong values -------------------------------------------------------
    cat = "study file keys"
    for name, keys in [
        ("unknown-key", {"budgte": "4k"}),
        ("unknown-nested-key", {"task": {"serch_size": 4}}),
        ("name-int", {"name": 123}),
        ("name-empty", {"name": ""}),
        ("name-slash", {"name": "x/y"}),
        ("name-long", {"name": LONG}),
        ("name-newline", {"name": "a\nb"}),
        ("budget-negative", {"budget": -5}),
        ("budget-zero", {"budget": 0}),
        ("budget-text", {"budget": "lots"}),
        ("budget-fraction", {"budget": 4.5}),
        ("budget-list", {"budget": [4000]}),
        ("budget-bool", {"budget": True}),
        ("budget-inf", {"budget": float("inf")}),
        ("budget-nan", {"budget": float("nan")}),
        ("trials-negative", {"trials": -1}),
        ("trials-text", {"trials": "many"}),
        ("trials-fraction", {"trials": 1.5}),
        ("k-zero", {"k": 0}),
        ("k-text", {"k": "two"}),
        ("k-huge", {"k": 10**9}),
        ("seed-text", {"seed": "x"}),
        ("seed-negative", {"seed": -1}),
        ("seed-huge", {"seed": 2**70}),
        ("sampler-unknown", {"sampler": "cmaes"}),
        ("sampler-int", {"sampler": 1}),
        ("choose-unknown", {"choose": "worst"}),
        ("objectives-unknown", {"objectives": {"accuracy": "f1"}}),
        ("objectives-scalar", {"objectives": "accuracy"}),
        ("seed-lambdas-out-of-range", {"seed_lambdas": [0, 2]}),
        ("seed-lambdas-negative", {"seed_lambdas": [-0.1]}),
        ("seed-lambdas-text", {"seed_lambdas": "0,1"}),
        ("seed-lambdas-nan", {"seed_lambdas": [float("nan")]}),
        ("halving-rungs-empty", {"halving": {"rungs": []}}),
        ("halving-rungs-not-ending-at-1", {"halving": {"rungs": [0.5]}}),
        ("halving-rungs-decreasing", {"halving": {"rungs": [1.0, 0.5, 1.0]}}),
        ("halving-rungs-zero", {"halving": {"rungs": [0.0, 1.0]}}),
        ("halving-rungs-text", {"halving": {"rungs": "quarter"}}),
        ("halving-level-zero", {"halving": {"level": 0}}),
        ("halving-level-one", {"halving": {"level": 1}}),
        ("halving-level-percent", {"halving": {"level": 95}}),
        ("halving-unknown-key", {"halving": {"rung": [1.0]}}),
        ("space-kind-unknown", {"space": {"kind": "heads"}}),
        ("space-blocks-zero", {"space": {"kind": "blocks", "blocks": 0}}),
        ("space-blocks-more-than-layers", {"space": {"kind": "blocks", "blocks": 1000}}),
        ("space-knots-one", {"space": {"kind": "profile", "knots": 1}}),
        ("space-knots-more-than-layers", {"space": {"kind": "profile", "knots": 100}}),
        ("space-layers-wrong", {"space": {"kind": "layers", "layers": 5}}),
        ("space-modules-unknown", {"space": {"kind": "modules", "modules": ["heads"]}}),
        ("space-modules-empty", {"space": {"kind": "modules", "modules": []}}),
        ("space-modules-repeated", {"space": {"kind": "modules", "modules": ["mlp", "mlp"]}}),
        ("space-modules-absent-in-model", {"space": {"kind": "modules", "modules": ["experts"]}}),
        ("space-temperature-reversed", {"space": {"decoding": {"temperature": [1.0, 0.0]}}}),
        ("space-temperature-negative", {"space": {"decoding": {"temperature": [-1.0, 1.0]}}}),
        ("space-top-p-over-one", {"space": {"decoding": {"top_p": [0.5, 2.0]}}}),
        ("space-top-p-zero", {"space": {"decoding": {"top_p": [0.0, 0.5]}}}),
        ("space-max-new-tokens-zero", {"space": {"decoding": {"max_new_tokens": [0, 8]}}}),
        ("space-max-new-tokens-empty", {"space": {"decoding": {"max_new_tokens": []}}}),
        ("space-temperature-one-value", {"space": {"decoding": {"temperature": [0.5]}}}),
        ("decoding-temperature-negative", {"decoding": {"temperature": -1}}),
        ("decoding-top-p-zero", {"decoding": {"top_p": 0}}),
        ("decoding-top-p-over-one", {"decoding": {"top_p": 1.5}}),
        ("decoding-top-k-negative", {"decoding": {"top_k": -1}}),
        ("decoding-max-new-tokens-zero", {"decoding": {"max_new_tokens": 0}}),
        ("decoding-temperature-nan", {"decoding": {"temperature": float("nan")}}),
        ("decoding-unknown-key", {"decoding": {"temp": 0.5}}),
        ("task-name-unknown", {"task": {"name": "mmlu"}}),
        ("task-pool-one", {"task": {"pool": 1}}),
        ("task-pool-text", {"task": {"pool": "all"}}),
        ("task-holdout-fraction-zero", {"task": {"holdout_fraction": 0}}),
        ("task-holdout-fraction-one", {"task": {"holdout_fraction": 1}}),
        ("task-search-size-zero", {"task": {"search_size": 0}}),
        ("task-holdout-size-negative", {"task": {"holdout_size": -4}}),
        ("task-data-files-on-toy", {"task": {"data_files": "x.jsonl"}}),
        ("task-data-files-missing", {"task": {"name": "aime25", "data_files": "missing.jsonl"}}),
        ("task-prompt-suffix-int", {"task": {"prompt_suffix": 5}}),
        ("task-scalar", {"task": 5}),
        ("pair-instruct-only", {"pair": {"instruct": "pair/instruct"}}),
        ("pair-missing-dirs", {"pair": {"instruct": "/no/such/a", "thinking": "/no/such/b"}}),
        ("pair-bundled-unknown", {"pair": {"bundled": "big"}}),
        ("pair-chat-template-unknown", {"pair": {"chat_template": "mine"}}),
        ("pair-trust-remote-code-text", {"pair": {"trust_remote_code": "maybe"}}),
        ("pair-scalar", {"pair": 5}),
        ("backend-unknown", {"backend": "tgi"}),
        ("backend-list", {"backend": ["hf"]}),
        ("backend-other-backends-key", {"backend": {"kind": "vllm", "device": "cpu"}}),
        ("backend-hf-vllm-key", {"backend": {"kind": "hf", "max_model_len": 512}}),
        ("backend-device-tpu", {"backend": {"device": "tpu"}}),
        ("backend-device-int", {"backend": {"device": 0}}),
        ("backend-dtype-float8", {"backend": {"dtype": "float8"}}),
        ("backend-batch-size-zero", {"backend": {"batch_size": 0}}),
        ("backend-sources-disk", {"backend": {"sources": "disk"}}),
        ("backend-vllm-max-model-len-tiny", {"backend": {"kind": "vllm", "max_model_len": 10}}),
        ("backend-vllm-gpu-share-over-one", {"backend": {"kind": "vllm", "gpu_memory_utilization": 1.5}}),
        ("backend-vllm-tp-zero", {"backend": {"kind": "vllm", "tensor_parallel_size": 0}}),
        ("backend-vllm-block-size-zero", {"backend": {"kind": "vllm", "block_size": 0}}),
    ]:
        add(yaml_case(f"key-{name}", study_file(**keys)))
    add(yaml_case("key-pair-mismatched-architectures", chain(study_file(pair={"instruct": "pair/instruct", "thinking": "pair/thinking"}), toy_pair("thinking", edit=edit_config(hidden_size=96)))))

    # -- Search flags ------------------------------------------------------------------------------
    cat = "search flags"
    for name, flags in [
        ("budget-text", ["--budget", "lots"]),
        ("budget-negative", ["--budget", "-5"]),
        ("budget-zero", ["--budget", "0"]),
        ("budget-fraction", ["--budget", "4.5"]),
        ("budget-empty", ["--budget", ""]),
        ("budget-unit", ["--budget", "4kb"]),
        ("trials-text", ["--trials", "many"]),
        ("trials-negative", ["--trials", "-1"]),
        ("space-unknown", ["--space", "heads"]),
        ("sampler-unknown", ["--sampler", "cmaes"]),
        ("seed-text", ["--seed", "x"]),
        ("seed-negative", ["--seed", "-1"]),
        ("seed-huge", ["--seed", str(2**40)]),
        ("k-zero", ["--k", "0"]),
        ("k-text", ["--k", "two"]),
        ("search-size-zero", ["--search-size", "0"]),
        ("task-unknown", ["--task", "mmlu"]),
        ("data-file-missing", ["--task", "aime25", "--data-file", "missing.jsonl"]),
        ("pair-unknown", ["--pair", "big"]),
        ("pair-and-instruct", ["--pair", "toy", *PAIR]),
        ("instruct-only", ["--instruct", "somewhere"]),
        ("instruct-missing-dirs", ["--instruct", "/no/such/a", "--thinking", "/no/such/b"]),
        ("heartbeat-zero", ["--heartbeat", "0"]),
        ("heartbeat-text", ["--heartbeat", "often"]),
        ("unknown-option", ["--budgte", "4k"]),
        ("option-without-value", ["--budget"]),
        ("unknown-command", ["serach"]),
        ("promote-name-dot", ["--promote", "a.b"]),
        ("promote-name-slash", ["--promote", "a/b"]),
        ("promote-name-empty", ["--promote", ""]),
    ]:
        add(search_case(f"search-{name}", cat, *flags))
    for name, content, flags in [
        ("data-file-binary", PNG, ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-empty", b"", ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-wrong-columns", b'{"q": "1+1", "a": "2"}\n', ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-broken-jsonl", b'{"problem": "1+1", "answer": "2"}\n{"problem": \n', ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-utf16", '{"problem": "1+1", "answer": "2"}\n'.encode("utf-16"), ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-empty-answer", b'{"problem": "1+1", "answer": ""}\n', ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-gpqa-missing-option", b'{"Question": "q", "Correct Answer": "a", "Incorrect Answer 1": "b"}\n', ["--task", "gpqa-diamond", "--data-file", "d.jsonl"]),
    ]:
        add(search_case(f"search-{name}", "task data", *flags, setup=write("d.jsonl", content)))
    add(search_case("search-data-file-a-folder", "task data", "--task", "aime25", "--data-file", "d.jsonl", setup=write("d.jsonl", None)))
    add(search_case("search-data-file-wrong-suffix", "task data", "--task", "aime25", "--data-file", "d.txt", setup=write("d.txt", "x\n")))

    # -- Backend flags (search, sweep, worker, plan share them) ------------------------------------
    cat = "backend flags"
    for name, flags in [
        ("backend-unknown", ["--backend", "tgi"]),
        ("device-tpu", ["--device", "tpu"]),
        ("device-cuda-absent", ["--device", "cuda"]),
        ("device-cuda-index", ["--device", "cuda:7"]),
        ("device-cuda-text-index", ["--device", "cuda:x"]),
        ("device-meta", ["--device", "meta"]),
        ("device-mps", ["--device", "mps"]),
        ("device-empty", ["--device", ""]),
        ("dtype-float8", ["--dtype", "float8"]),
        ("dtype-int8", ["--dtype", "int8"]),
        ("dtype-empty", ["--dtype", ""]),
        ("batch-size-zero", ["--batch-size", "0"]),
        ("batch-size-text", ["--batch-size", "big"]),
        ("sources-disk", ["--sources", "disk"]),
        ("max-model-len-on-hf", ["--max-model-len", "512"]),
        ("max-model-len-tiny", ["--max-model-len", "8"]),
        ("gpu-share-on-hf", ["--gpu-memory-utilization", "0.5"]),
        ("gpu-share-nan", ["--backend", "vllm", "--gpu-memory-utilization", "nan"]),
        ("gpu-share-over-one", ["--backend", "vllm", "--gpu-memory-utilization", "2"]),
        ("tp-zero", ["--tensor-parallel-size", "0"]),
        ("vllm-with-device", ["--backend", "vllm", "--device", "cpu"]),
        ("vllm-tp-more-than-heads", ["--backend", "vllm", "--tensor-parallel-size", "64"]),
        ("vllm-tp-not-dividing-heads", ["--backend", "vllm", "--tensor-parallel-size", "3"]),
    ]:
        add(search_case(f"search-{name}", cat, *flags))
    add(Case("sweep-device-tpu", cat, [*SWEEP[:-2], "--device", "tpu", "--out", "sw"]))
    add(Case("sweep-dtype-float8", cat, [*SWEEP, "--dtype", "float8", "--out", "sw"]))
    add(Case("plan-device-tpu", cat, ["plan", "--device", "tpu"]))
    add(Case("plan-tp-zero", cat, ["plan", "--backend", "vllm", "--tensor-parallel-size", "0"]))

    # -- Where a study writes: --study names, --out ---------------------------------------------------
    cat = "study names and --out"
    for name, study in [
        ("abs-dir", "/abs/dir"),
        ("dotdot", "../../x"),
        ("dot", "."),
        ("dotdot-only", ".."),
        ("slash", "x/y"),
        ("backslash", "x\\y"),
        ("long", LONG),
        ("empty", ""),
        ("space", "a b"),
        ("leading-dash", "-x"),
        ("newline", "a\nb"),
        ("nul-free-control", "a\tb"),
    ]:
        add(Case(f"study-name-{name}", cat, ["--budget", "4k", "--study", study, "--trials", "0"]))
    add(search_case("out-an-existing-file", cat, "--out", "report", setup=write("report", "not a folder")))
    add(search_case("out-a-folder-of-other-files", cat, "--out", "folder", setup=write("folder/notes.txt", "mine")))
    add(search_case("out-read-only", cat, "--out", "ro/study", setup=read_only("ro")))
    add(search_case("out-under-a-file", cat, "--out", "report/sub", setup=write("report", "a file")))
    add(search_case("out-in-proc", cat, "--out", "/proc/mi-search-probe"))
    add(search_case("out-empty", cat, "--out", ""))
    add(search_case("out-root", cat, "--out", "/"))
    add(search_case("out-newline", cat, "--out", "a\nb", setup=write("a\nb", "a file")))

    # -- Optuna storages ----------------------------------------------------------------------------
    cat = "storage"
    for name, url, setup in [
        ("garbage-journal", "journal:s.log", journal(os.urandom(2048))),
        ("binary-journal", "journal:s.log", journal(PNG)),
        ("utf16-journal", "journal:s.log", journal('{"op_code": 0}\n'.encode("utf-16"))),
        ("torn-journal", "journal:s.log", journal(torn_journal)),
        ("json-but-not-a-journal", "journal:s.log", journal(b'{"hello": "world"}\n[1, 2]\n')),
        ("journal-a-folder", "journal:s.log", write("s.log", None)),
        ("journal-empty-path", "journal:", None),
        ("journal-in-missing-folder", "journal:no/such/s.log", None),
        ("journal-read-only", "journal:ro/s.log", read_only("ro")),
        ("mlflow-db-as-storage", "sqlite:///mlflow.db", mlflow_db),
        ("garbage-sqlite", "sqlite:///g.db", write("g.db", os.urandom(4096))),
        ("text-file-as-sqlite", "sqlite:///g.db", write("g.db", "hello\n" * 100)),
        ("other-sqlite-schema", "sqlite:///other.db", sqlite_with("CREATE TABLE studies (x TEXT); CREATE TABLE users (id INTEGER);")),
        ("sqlite-in-missing-folder", "sqlite:///no/such/s.db", None),
        ("sqlite-a-folder", "sqlite:///d.db", write("d.db", None)),
        ("sqlite-read-only", "sqlite:///ro/s.db", read_only("ro")),
        ("unknown-scheme", "foo://bar", None),
        ("plain-path", "mi-search.db", None),
        ("http-url", "http://127.0.0.1:1/", None),
        ("mysql-no-driver", "mysql://u@127.0.0.1:1/db", None),
        ("postgres-unreachable", "postgresql://u@127.0.0.1:1/db", None),
        ("empty", "", None),
    ]:
        add(search_case(f"storage-{name}", cat, "--storage", url, setup=setup))
    add(Case("worker-garbage-journal", cat, ["worker", "--study", "s", "--storage", "journal:s.log"], journal(os.urandom(2048))))
    add(Case("worker-study-not-stored", cat, ["worker", "--study", "nosuch", "--trials", "1"], stored))
    add(Case("worker-study-path-like", cat, ["worker", "--study", "../x", "--trials", "1"], stored))
    add(Case("worker-empty-storage", cat, ["worker", "--study", "s", "--trials", "1", "--storage", "sqlite:///fresh.db"]))

    # -- MLflow tracking stores ---------------------------------------------------------------------
    cat = "tracking"
    for name, uri, setup in [
        ("unknown-scheme", "foo://bar", None),
        ("optuna-db-as-tracking", "sqlite:///mi-search.db", stored),
        ("garbage-sqlite", "sqlite:///g.db", write("g.db", os.urandom(4096))),
        ("sqlite-a-folder", "sqlite:///d.db", write("d.db", None)),
        ("http-unreachable", "http://127.0.0.1:1", None),
        ("other-sqlite-schema", "sqlite:///other.db", sqlite_with("CREATE TABLE experiments (x TEXT);")),
        ("databricks-without-credentials", "databricks", None),
        ("plain-word", "mlflow", None),
    ]:
        add(search_case(f"tracking-{name}", cat, "--tracking-uri", uri, setup=setup))
    add(Case("ui-tracking-unknown-scheme", cat, ["ui", "--tracking-uri", "foo://bar"]))
    add(Case("ui-tracking-optuna-db", cat, ["ui", "--tracking-uri", "sqlite:///mi-search.db"], stored))
    add(Case("ui-tracking-garbage-sqlite", cat, ["ui", "--tracking-uri", "sqlite:///g.db"], write("g.db", os.urandom(4096))))
    add(Case("ui-port-zero", cat, ["ui", "--port", "0"]))
    add(Case("ui-port-too-high", cat, ["ui", "--port", "70000"]))
    add(Case("ui-port-text", cat, ["ui", "--port", "http"]))

    # -- Weights and checkpoints ------------------------------------------------------------------------
    cat = "weights"
    for how in ("truncated", "garbage", "empty", "header-only", "missing", "nan", "inf", "shape", "dtype-int", "drop-tensor", "extra-tensor"):
        add(search_case(f"search-weights-{how}", cat, *PAIR, setup=toy_pair("thinking", how)))
    for how in ("truncated", "garbage", "nan", "shape"):
        add(Case(f"merge-weights-{how}", cat, [*MERGE, *PAIR, "--out", "m"], toy_pair("thinking", how)))
    add(Case("sweep-weights-garbage", cat, [*SWEEP, *PAIR, "--out", "sw"], toy_pair("instruct", "garbage")))
    for name, edit in [
        ("config-garbage", replace_file("config.json", b"{not json")),
        ("config-utf16", replace_file("config.json", '{"model_type": "qwen3"}'.encode("utf-16"))),
        ("config-missing", replace_file("config.json", None)),
        ("config-a-list", replace_file("config.json", b"[1, 2]")),
        ("config-no-model-type", edit_config(model_type=None)),
        ("config-unknown-model-type", edit_config(model_type="nosucharch")),
        ("config-other-layer-count", edit_config(num_hidden_layers=3)),
        ("config-other-vocab", edit_config(vocab_size=999)),
        ("config-negative-layers", edit_config(num_hidden_layers=-1)),
    ]:
        add(search_case(f"search-{name}", cat, *PAIR, setup=toy_pair("thinking", edit=edit)))
    for name, edit in [  # the prompts go through the instruct model's tokenizer and template
        ("tokenizer-missing", replace_file("tokenizer.json", None)),
        ("tokenizer-garbage", replace_file("tokenizer.json", b"\x00\x01garbage")),
        ("chat-template-missing", chain_edits(replace_file("chat_template.jinja", None), drop_inline_template)),
    ]:
        add(search_case(f"search-instruct-{name}", cat, *PAIR, setup=toy_pair("instruct", edit=edit)))
    add(search_case("search-instruct-a-file", cat, "--instruct", "f", "--thinking", "f", setup=write("f", "x")))
    add(search_case("search-instruct-empty-folder", cat, "--instruct", "e", "--thinking", "e", setup=write("e", None)))
    add(search_case("search-instruct-hub-id-offline", cat, "--instruct", "no-such/model-a", "--thinking", "no-such/model-b"))
    add(Case("merge-mismatched-architectures", cat, [*MERGE, *PAIR, "--out", "m"], toy_pair("thinking", edit=edit_config(hidden_size=96))))
    add(Case("merge-same-dir-twice-missing", cat, [*MERGE, "--instruct", "x", "--thinking", "x", "--out", "m"]))

    # -- merge ---------------------------------------------------------------------------------------
    cat = "merge"
    for name, args in [
        ("lam-nan", ["merge", "--lam", "nan", "--out", "m"]),
        ("lam-inf", ["merge", "--lam", "inf", "--out", "m"]),
        ("lam-text", ["merge", "--lam", "half", "--out", "m"]),
        ("lam-out-of-range", ["merge", "--lam", "1.5", "--out", "m"]),
        ("lam-attn-nan", ["merge", "--lam", "0.5", "--lam-attn", "nan", "--out", "m"]),
        ("lam-mlp-negative", ["merge", "--lam", "0.5", "--lam-mlp", "-1", "--out", "m"]),
        ("lam-attn-without-lam", ["merge", "--lam-attn", "0.5", "--out", "m"]),
        ("no-lambda", ["merge", "--out", "m"]),
        ("no-out", ["merge", "--lam", "0.5"]),
        ("spec-and-lam", ["merge", "--spec", "spec.yaml", "--lam", "0.5", "--out", "m"]),
        ("spec-missing", ["merge", "--spec", "missing.yaml", "--out", "m"]),
        ("out-existing-folder", ["merge", "--lam", "0.5", "--out", "m"]),
        ("out-existing-file", ["merge", "--lam", "0.5", "--out", "f"]),
        ("out-under-a-file", ["merge", "--lam", "0.5", "--out", "f/m"]),
        ("out-read-only", ["merge", "--lam", "0.5", "--out", "ro/m"]),
        ("out-in-proc", ["merge", "--lam", "0.5", "--out", "/proc/mi-search-probe"]),
        ("overwrite-a-file", ["merge", "--lam", "0.5", "--out", "f", "--overwrite"]),
        ("pair-unknown", ["merge", "--lam", "0.5", "--pair", "big", "--out", "m"]),
        ("instruct-only", ["merge", "--lam", "0.5", "--instruct", "pair/instruct", "--out", "m"]),
    ]:
        setup = {
            "spec-and-lam": write("spec.yaml", "lam: 0.5\n"),
            "out-existing-folder": write("m", None),
            "out-existing-file": write("f", "x"),
            "out-under-a-file": write("f", "x"),
            "out-read-only": read_only("ro"),
            "overwrite-a-file": write("f", "x"),
        }.get(name)
        add(Case(f"merge-{name}", cat, args, setup))
    for name, content in [
        ("binary", PNG),
        ("utf16", "lam: 0.5\n".encode("utf-16")),
        ("a-list", "- 0.5\n"),
        ("empty", ""),
        ("lam-text", "lam: half\n"),
        ("lam-nan", "lam: .nan\n"),
        ("unknown-key", "lam: 0.5\nmodule: {mlp: 1}\n"),
        ("module-unknown", "lam: 0.5\nmodules: {heads: 0.5}\n"),
        ("module-absent-in-model", "lam: 0.5\nmodules: {experts: 0.5}\n"),
        ("blocks-more-than-layers", "lam: 0.5\nblocks:\n" + "  - {mlp: 0.5}\n" * 40),
        ("block-unknown-key", "lam: 0.5\nblocks: [{ffn: 0.5}]\n"),
        ("blocks-not-a-list", "lam: 0.5\nblocks: 3\n"),
        ("block-out-of-range", "lam: 0.5\nblocks: [{mlp: 3}]\n"),
    ]:
        add(Case(f"merge-spec-{name}", cat, ["merge", "--spec", "spec.yaml", "--out", "m"], write("spec.yaml", content)))

    # -- sweep ---------------------------------------------------------------------------------------
    cat = "sweep"
    rest = SWEEP[3:]  # the sweep's flags after its grid: these cases set --lambdas themselves
    for name, lambdas in [
        ("tiny-step", "0:1:0.0000000001"),
        ("zero-step", "0:1:0"),
        ("negative-step", "0:1:-0.1"),
        ("reversed", "1:0:0.1"),
        ("nan-step", "0:1:nan"),
        ("inf-stop", "0:inf:1"),
        ("nan-point", "nan"),
        ("inf-point", "inf"),
        ("text", "a,b"),
        ("empty", ""),
        ("double-comma", "0,,1"),
        ("two-colons", "0:1"),
        ("four-colons", "0:1:0.5:2"),
        ("out-of-range", "0,2"),
        ("huge-list", ",".join(["0.5"] * 10001)),
    ]:
        add(Case(f"sweep-lambdas-{name}", cat, ["sweep", "--lambdas", lambdas, *rest, "--out", "sw"]))
    for name, args, setup in [
        ("limit-one", ["--limit", "1"], None),
        ("limit-text", ["--limit", "few"], None),
        ("k-zero", ["--k", "0"], None),
        ("temperature-negative", ["--temperature", "-1"], None),
        ("temperature-nan", ["--temperature", "nan"], None),
        ("top-p-over-one", ["--top-p", "2"], None),
        ("top-p-zero", ["--top-p", "0"], None),
        ("max-new-tokens-zero", ["--max-new-tokens", "0"], None),
        ("decoding-seed-text", ["--decoding-seed", "x"], None),
        ("task-unknown", ["--task", "mmlu"], None),
        ("data-missing", ["--data", "missing.jsonl"], None),
        ("data-binary", ["--data", "d.jsonl"], write("d.jsonl", PNG)),
        ("data-empty", ["--data", "d.jsonl"], write("d.jsonl", b"")),
        ("data-a-folder", ["--data", "d.jsonl"], write("d.jsonl", None)),
        ("data-utf16-csv", ["--data", "d.csv"], write("d.csv", "question,answer\n1+1,2\n".encode("utf-16"))),
        ("data-csv-no-columns", ["--data", "d.csv"], write("d.csv", "q,a\n1+1,2\n")),
        ("data-question-column-missing", ["--data", "d.jsonl", "--question-column", "nope"], write("d.jsonl", '{"question": "1+1", "answer": "2"}\n')),
        ("data-broken-jsonl", ["--data", "d.jsonl"], write("d.jsonl", '{"question": "1+1", "answer": "2"}\n{"question":\n')),
        ("data-null-answer", ["--data", "d.jsonl"], write("d.jsonl", '{"question": "1+1", "answer": null}\n')),
        ("data-garbage-parquet", ["--data", "d.parquet"], write("d.parquet", os.urandom(1024))),
        ("data-and-task", ["--data", "d.jsonl", "--task", "aime25"], write("d.jsonl", '{"question": "1+1", "answer": "2"}\n')),
        ("out-existing-folder", ["--out", "sw"], write("sw", None)),
        ("out-existing-file", ["--out", "f"], write("f", "x")),
        ("out-under-a-file", ["--out", "f/sw"], write("f", "x")),
        ("out-read-only", ["--out", "ro/sw"], read_only("ro")),
        ("out-in-proc", ["--out", "/proc/mi-search-probe"], None),
        ("overwrite-a-file", ["--out", "f", "--overwrite"], write("f", "x")),
    ]:
        out = [] if any(a == "--out" for a in args) else ["--out", "sw"]
        add(Case(f"sweep-{name}", cat, [*SWEEP, *args, *out], setup))
    add(Case("sweep-no-out", cat, list(SWEEP)))

    # -- label ---------------------------------------------------------------------------------------
    cat = "label"
    good = "lambda,think_ratio\n0,0.0\n0.5,0.5\n1,1.0\n"
    for name, content in [
        ("utf16", good.encode("utf-16")),
        ("binary", b"\x00\x01\x02lambda"),
        ("latin1", b"lambda,think_ratio,note\n0,0.0,caf\xe9\n"),
        ("empty", ""),
        ("header-only", "lambda,think_ratio\n"),
        ("no-think-ratio", "lambda,accuracy\n0,0.5\n"),
        ("lambda-text", "lambda,think_ratio\nzero,0.0\n"),
        ("think-ratio-text", "lambda,think_ratio\n0,lots\n"),
        ("think-ratio-nan", "lambda,think_ratio\n0,nan\n1,1\n"),
        ("think-ratio-over-one", "lambda,think_ratio\n0,5\n1,7\n"),
        ("lambda-inf", "lambda,think_ratio\ninf,0.0\n1,1\n"),
        ("ragged-rows", "lambda,think_ratio\n0\n1,1,1,1\n"),
        ("accuracy-text", "lambda,think_ratio,accuracy,mean_tokens\n0,0,high,10\n1,1,0.9,20\n"),
        ("duplicate-header", "lambda,lambda,think_ratio\n0,0,0\n"),
        ("one-giant-line", "lambda,think_ratio\n" + "0," * 200000 + "\n"),
        ("semicolons", "lambda;think_ratio\n0;0.0\n1;1.0\n"),
    ]:
        add(Case(f"label-{name}", cat, ["label", "in.csv"], csv_file(content)))
    add(Case("label-missing", cat, ["label", "missing.csv"]))
    add(Case("label-a-folder", cat, ["label", "d"], write("d", None)))
    add(Case("label-no-argument", cat, ["label"]))
    add(Case("label-out-a-folder", cat, ["label", "in.csv", "--out", "folder"], chain(csv_file(good), write("folder", None))))
    add(Case("label-out-exists", cat, ["label", "in.csv", "--out", "out.csv"], chain(csv_file(good), write("out.csv", "mine\n"))))
    add(Case("label-out-missing-parent", cat, ["label", "in.csv", "--out", "no/dir.csv"], csv_file(good)))
    add(Case("label-out-read-only", cat, ["label", "in.csv", "--out", "ro/o.csv"], chain(csv_file(good), read_only("ro"))))
    add(Case("label-out-under-a-file", cat, ["label", "in.csv", "--out", "f/o.csv"], chain(csv_file(good), write("f", "x"))))
    add(Case("label-out-in-proc", cat, ["label", "in.csv", "--out", "/proc/mi-search-probe.csv"], csv_file(good)))
    add(Case("label-newline-in-path", cat, ["label", "no\nsuch.csv"]))
    add(Case("label-non-utf8-path", cat, ["label", b"caf\xe9.csv"]))

    # -- promote -------------------------------------------------------------------------------------
    cat = "promote"
    promote = ["promote", "--study", "s", "--name", "m"]
    for name, args in [
        ("alias-v1", ["--alias", "v1"]),
        ("alias-V2", ["--alias", "V2"]),
        ("alias-latest", ["--alias", "latest"]),
        ("alias-empty", ["--alias", ""]),
        ("alias-slash", ["--alias", "a/b"]),
        ("alias-space", ["--alias", "a b"]),
        ("alias-long", ["--alias", LONG]),
        ("alias-newline", ["--alias", "a\nb"]),
        ("trial-negative", ["--trial", "-1"]),
        ("trial-absent", ["--trial", "999"]),
        ("trial-text", ["--trial", "best"]),
        ("tracking-unknown-scheme", ["--tracking-uri", "foo://bar"]),
        ("tracking-optuna-db", ["--tracking-uri", "sqlite:///mi-search.db"]),
        ("storage-garbage-journal", ["--storage", "journal:g.log"]),
        ("storage-mlflow-db", ["--storage", "sqlite:///mlflow.db"]),
    ]:
        setup = chain(stored, write("g.log", os.urandom(1024))) if "journal" in name else stored
        add(Case(f"promote-{name}", cat, [*promote, *args], setup))
    for name, model in [("dot", "a.b"), ("slash", "a/b"), ("colon", "a:b"), ("empty", ""), ("blank", "  "), ("newline", "a\nb")]:
        add(Case(f"promote-name-{name}", cat, ["promote", "--study", "s", "--name", model], stored))
    add(Case("promote-study-absent", cat, ["promote", "--study", "nosuch", "--name", "m"], stored))
    add(Case("promote-study-path-like", cat, ["promote", "--study", "../../x", "--name", "m"], stored))
    add(Case("promote-study-no-trials", cat, ["promote", "--study", "empty", "--name", "m"], stored))
    add(Case("promote-over-budget", cat, ["promote", "--study", "over", "--name", "m", "--trial", "0"], stored))
    add(Case("promote-no-chosen-point", cat, ["promote", "--study", "over", "--name", "m"], stored))
    add(Case("promote-no-name", cat, ["promote", "--study", "s"], stored))
    add(Case("promote-empty-storage", cat, [*promote, "--storage", "sqlite:///fresh.db"]))

    # -- A stored study asked to become another one ---------------------------------------------------
    cat = "resume"
    for name, flags in [
        ("budget", ["--budget", "8k"]),
        ("space", ["--space", "modules"]),
        ("k", ["--k", "2"]),
        ("seed", ["--seed", "3"]),
        ("task", ["--search-size", "8"]),
        ("pair", PAIR),
    ]:
        setup = chain(stored, toy_pair()) if name == "pair" else stored
        add(Case(f"resume-changes-{name}", cat, ["--study", "s", "--trials", "1", *flags], setup))
    add(Case("resume-file-changes-halving", cat, ["--study", "s.yaml", "--trials", "1"], chain(stored, study_file(halving={"rungs": [1.0]}))))
    add(Case("worker-changes-budget", cat, ["worker", "--study", "s", "--trials", "1", "--budget", "8k"], stored))
    add(Case("worker-device-tpu", cat, ["worker", "--study", "s", "--trials", "1", "--device", "tpu"], stored))
    add(Case("worker-trials-negative", cat, ["worker", "--study", "s", "--trials", "-1"], stored))
    add(Case("worker-no-study", cat, ["worker", "--trials", "1"], stored))

    # -- plan ------------------------------------------------------------------------------------------
    cat = "plan"
    for name, args, setup in [
        ("gpu-memory-text", ["--gpu-memory", "big"], None),
        ("gpu-memory-negative", ["--gpu-memory", "-80GB"], None),
        ("gpu-memory-zero", ["--gpu-memory", "0"], None),
        ("gpu-memory-unit", ["--gpu-memory", "80XB"], None),
        ("gpu-memory-nan", ["--gpu-memory", "nanGB"], None),
        ("gpu-memory-too-small", ["--gpu-memory", "1KB"], None),
        ("host-memory-text", ["--host-memory", "lots"], None),
        ("host-memory-too-small", ["--host-memory", "1KB"], None),
        ("study-missing", ["--study", "missing.yaml"], None),
        ("study-binary", ["--study", "s.yaml"], write("s.yaml", PNG)),
        ("study-bad-key", ["--study", "s.yaml"], study_file(budgte="4k")),
        ("instruct-missing-dirs", ["--instruct", "/no/such/a", "--thinking", "/no/such/b"], None),
        ("weights-garbage", PAIR, toy_pair("instruct", "garbage")),
        ("tp-not-dividing-heads", ["--backend", "vllm", "--tensor-parallel-size", "3"], None),
    ]:
        add(Case(f"plan-{name}", cat, ["plan", *args], setup))

    c.extend(round3_cases())

    # -- toy --------------------------------------------------------------------------------------------
    cat = "toy"
    for name, args, setup in [
        ("build-out-exists", ["toy", "build", "--out", "t"], write("t", None)),
        ("build-out-a-file", ["toy", "build", "--out", "f"], write("f", "x")),
        ("build-out-under-a-file", ["toy", "build", "--out", "f/t", "--base-steps", "1", "--specialist-steps", "1"], write("f", "x")),
        ("build-out-read-only", ["toy", "build", "--out", "ro/t", "--base-steps", "1", "--specialist-steps", "1"], read_only("ro")),
        ("build-base-steps-zero", ["toy", "build", "--out", "t", "--base-steps", "0"], None),
        ("build-threads-text", ["toy", "build", "--out", "t", "--threads", "many"], None),
        ("path-extra-argument", ["toy", "path", "extra"], None),
        ("unknown-subcommand", ["toy", "nosuch"], None),
    ]:
        add(Case(f"toy-{name}", cat, args, setup))

    names = [case.name for case in c]
    assert len(names) == len(set(names)), [n for n, k in Counter(names).items() if k > 1]
    return c


# --- Round 3: duplicate keys, inputs that are not regular files, data without distinct records, absurd
# values, report folders that would lose something, stores damaged or of the wrong records ----------

DATA = ["--task", "aime25", "--data-file", "d.jsonl"]


def fifo(name: str) -> Setup:
    def run(folder: Path) -> None:
        os.mkfifo(folder / name)

    return run


def link(name: str, target: str) -> Setup:
    def run(folder: Path) -> None:
        (folder / name).symlink_to(target)

    return run


def damaged_sqlite(name: str, tables: tuple[str, ...]) -> Setup:
    """A SQLite file of the right kind (its marker `tables`) whose pages are overwritten in the middle (a torn
    write, a bad sector)."""

    def run(folder: Path) -> None:
        path = folder / name
        with sqlite3.connect(path) as db:
            for table in tables:
                db.execute(f"CREATE TABLE {table} (x TEXT)")
            db.executemany(f"INSERT INTO {tables[0]} VALUES (?)", [("x" * 500,)] * 200)
        data = bytearray(path.read_bytes())
        data[4096 + 8 : 4096 + 600] = os.urandom(592)  # page 2: the root of the first table, which holds the rows
        path.write_bytes(bytes(data))

    return run


def report_of(study: str) -> Setup:
    import json

    return write("r/pareto.json", json.dumps({"study": study}))


def immutable(name: str) -> Setup:
    """A folder chattr +i made immutable (root may not write into it either); a read-only mount where chattr fails."""

    def run(folder: Path) -> None:
        path = folder / name
        path.mkdir()
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if done.returncode == 0:
            with MOUNT_LOCK:
                IMMUTABLE.append(path)
        else:
            read_only(name)(folder) if not path.exists() else (path.rmdir(), read_only(name)(folder))

    return run


IMMUTABLE: list[Path] = []  # chattr -i at the end, so the temporary folder can be removed


def round3_cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    quick = "name: s\nbudget: 4k\ntrials: 1\ntask: {search_size: 4, holdout_size: 4}\n"

    cat = "r3 duplicate keys"
    for name, text in [
        ("top", "name: s\nbudget: 100tokens\ntask: {search_size: 4, holdout_size: 4}\nbudget: 4000tokens\n"),
        ("nested", "name: s\nbudget: 4k\ntask:\n  search_size: 4\n  search_size: 8\n"),
        ("flow", "name: s\nbudget: 4k\ntask: {search_size: 4, search_size: 8}\n"),
    ]:
        add(Case(f"r3-dup-key-{name}", cat, SEARCH, write("s.yaml", text)))
    add(Case("r3-dup-key-piece", cat, SEARCH, files({"s.yaml": "name: s\nbudget: 4k\ntask: t.yaml\n", "t.yaml": "search_size: 4\nsearch_size: 4\n"})))

    cat = "r3 not a regular file"
    add(Case("r3-study-fifo", cat, SEARCH, fifo("s.yaml")))
    add(Case("r3-study-link-dev-zero", cat, SEARCH, link("s.yaml", "/dev/zero")))
    add(Case("r3-study-huge", cat, SEARCH, write("s.yaml", quick + "# pad\n" * 250_000)))
    add(Case("r3-piece-dev-zero", cat, SEARCH, write("s.yaml", "name: s\nbudget: 4k\ntask: /dev/zero\n")))
    add(Case("r3-piece-fifo", cat, SEARCH, chain(write("s.yaml", "name: s\nbudget: 4k\ntask: t.yaml\n"), fifo("t.yaml"))))
    add(search_case("r3-journal-fifo", cat, "--storage", "journal:j.log", setup=fifo("j.log")))
    add(search_case("r3-storage-fifo", cat, "--storage", "sqlite:///f.db", setup=fifo("f.db")))
    add(search_case("r3-tracking-fifo", cat, "--tracking-uri", "sqlite:///m.db", setup=fifo("m.db")))
    add(search_case("r3-tracking-dev-null", cat, "--tracking-uri", "sqlite:////dev/null"))
    add(search_case("r3-data-fifo", cat, *DATA, setup=fifo("d.jsonl")))
    add(search_case("r3-data-link-dev-zero", cat, *DATA, setup=link("d.jsonl", "/dev/zero")))

    cat = "r3 data records"
    add(search_case("r3-data-blank-lines", cat, *DATA, setup=write("d.jsonl", "\n\n   \n")))
    add(search_case("r3-data-csv-blank-lines", cat, "--task", "aime25", "--data-file", "d.csv", setup=write("d.csv", "\n\n")))
    import json as _json

    dup = "".join(_json.dumps({"id": i % 2, "problem": f"{i}+1", "answer": str(i + 1)}) + "\n" for i in range(8))
    add(search_case("r3-data-duplicate-ids", cat, *DATA, setup=write("d.jsonl", dup)))

    cat = "r3 absurd values"
    add(search_case("r3-budget-googol", cat, "--budget", "1" + "0" * 100))
    add(search_case("r3-budget-googol-k", cat, "--budget", "1" + "0" * 97 + "k"))
    add(search_case("r3-budget-ten-billion", cat, "--budget", "10000000000"))
    add(Case("r3-budget-googol-file", cat, SEARCH, write("s.yaml", "name: s\nbudget: " + "1" + "0" * 100 + "\n")))
    grid = ", ".join(f"{i / 20_000:.5f}" for i in range(20_000))
    add(Case("r3-seed-lambdas-20000", cat, SEARCH, write("s.yaml", f"{quick}seed_lambdas: [{grid}]\n")))

    cat = "r3 report folder"
    add(search_case("r3-out-dot", cat, "--out", "."))
    add(search_case("r3-out-empty", cat, "--out", ""))
    add(search_case("r3-out-dotdot", cat, "--out", ".."))
    add(search_case("r3-out-other-study", cat, "--out", "r", setup=report_of("first")))
    add(search_case("r3-out-immutable", cat, "--out", "ro", setup=immutable("ro")))

    cat = "r3 damaged stores"
    optuna_tables, mlflow_tables = ("trials", "studies", "version_info"), ("runs", "experiments", "alembic_version")
    add(search_case("r3-storage-damaged-sqlite", cat, "--storage", "sqlite:///d.db", setup=damaged_sqlite("d.db", optuna_tables)))
    add(search_case("r3-tracking-damaged-sqlite", cat, "--tracking-uri", "sqlite:///d.db", setup=damaged_sqlite("d.db", mlflow_tables)))
    for name, record in [
        ("trial-without-study", b'{"op_code": 4, "worker_id": "x"}\n'),
        ("param-without-trial", b'{"op_code": 5, "worker_id": "x"}\n'),
        ("study-without-name", b'{"op_code": 0, "worker_id": "x"}\n'),
    ]:
        add(search_case(f"r3-journal-{name}", cat, "--storage", "journal:s.log", setup=journal(record)))
    return c


def drop_inline_template(directory: Path) -> None:
    import json

    path = directory / "tokenizer_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "chat_template": None}))


def chain_edits(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def run(directory: Path) -> None:
        for edit in edits:
            edit(directory)

    return run


# --- Running and classifying -------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent  # the repository: cases run in other folders
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    "CI": "true",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "COLUMNS": "200",
    "PYTHONUNBUFFERED": "1",
    "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
    "MI_SEARCH_TRACKING_TIMEOUT": os.environ.get("MI_SEARCH_TRACKING_TIMEOUT", "5"),
}
# What a refused input must not leave behind: a study in a storage (an empty storage file is not one; the
# tracking store may be created by its connection check), a report folder, an output.
STORAGES = ("mi-search.db", "fresh.db", "s.log")
OUTPUTS = ("runs", "m", "sw", "t", "out.csv")


def left_behind(folder: Path, before: dict[str, int]) -> list[str]:
    """What a refused case added: new outputs, and studies that were not in a storage before it ran."""
    left = [name for name in OUTPUTS if (folder / name).exists() and name not in before]
    for name in STORAGES:
        count = study_count(folder / name)
        if count > before.get(name, 0):
            left.append(f"{name} ({count - before.get(name, 0)} new study)")
    return left


def study_count(path: Path) -> int:
    """Studies in an Optuna SQLite storage or journal file; 0 when it holds none or is not one."""
    if not path.is_file():
        return 0
    if path.suffix == ".log":
        return sum(line.startswith(b'{"op_code":0,') for line in path.read_bytes().splitlines())
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM studies").fetchone()[0]
    except sqlite3.Error:
        return 0


@dataclass
class Outcome:
    case: Case
    kind: str
    code: int | None
    seconds: float
    output: str
    left: list[str]


def run_case(case: Case, root: Path, timeout: float) -> Outcome:
    folder = root / case.name
    folder.mkdir()
    if case.setup is not None:
        case.setup(folder)
    before = {p.name: study_count(p) for p in folder.iterdir()}
    command = [sys.executable, "-m", "mi_search", *case.argv]
    start = time.monotonic()
    process = subprocess.Popen(
        command, cwd=folder, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=case.timeout or timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        code = None
    seconds = time.monotonic() - start
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    kind = classify(code, stdout, stderr)
    left = left_behind(folder, before) if kind != "accepted" else []
    return Outcome(case, kind, code, seconds, (stdout + stderr).strip(), left)


def classify(code: int | None, stdout: str, stderr: str) -> str:
    if code is None:
        return "hang"
    if "Traceback (most recent call last)" in stdout + stderr:
        return "traceback"
    if code == 0:
        return "accepted"
    lines = [line for line in (stdout + stderr).splitlines() if line.strip()]
    if len(lines) != 1:
        return "multi-line"
    if code == 2 and lines[0].startswith("error: ") and lines[0] in stderr:
        return "one-line"
    return "unexpected"


KINDS = ("one-line", "unexpected", "multi-line", "traceback", "accepted", "hang")


def build_template(root: Path) -> Path:
    """Stored studies every case that needs one copies: `s` (one trial), `over` (over a 1-token budget), `empty`."""
    template = root / "_stored"
    template.mkdir()
    quick = "task: {search_size: 4, holdout_size: 4}\n"
    (template / "s.yaml").write_text(f"name: s\nbudget: 4k\n{quick}")
    (template / "over.yaml").write_text(f"name: over\nbudget: 1\nseed_lambdas: [0.0]\n{quick}")
    (template / "empty.yaml").write_text(f"name: empty\nbudget: 4k\n{quick}")
    for study, trials in (("s", 1), ("over", 1), ("empty", 0)):
        done = subprocess.run(
            [sys.executable, "-m", "mi_search", "--study", f"{study}.yaml", "--trials", str(trials)],
            cwd=template, env=ENV, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        )
        if done.returncode != 0:
            sys.exit(f"cannot build the stored studies ({study}):\n{done.stdout}\n{done.stderr}")
    for leftover in ("s.yaml", "over.yaml", "empty.yaml", "runs"):
        path = template / leftover
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return template


def report(outcomes: list[Outcome]) -> bool:
    by_category: dict[str, Counter] = defaultdict(Counter)
    for outcome in outcomes:
        by_category[outcome.case.category][outcome.kind] += 1
    width = max(len(c) for c in by_category)
    header = f"{'category':<{width}}  {'cases':>5}  " + "  ".join(f"{k:>10}" for k in KINDS)
    print("\n" + header + "\n" + "-" * len(header))
    for category, counts in by_category.items():
        print(f"{category:<{width}}  {sum(counts.values()):>5}  " + "  ".join(f"{counts[k]:>10}" for k in KINDS))
    bad = [o for o in outcomes if o.kind != "one-line"]
    if bad:
        print("\nnot one line:")
        for outcome in sorted(bad, key=lambda o: (o.kind, o.case.name)):
            lines = outcome.output.splitlines()
            shown = lines[-1] if lines else ""
            print(f"  [{outcome.kind}] {outcome.case.name} (exit {outcome.code}, {outcome.seconds:.0f} s): {shown[:300]}")
    left = [o for o in outcomes if o.left]
    if left:
        print("\nrefused, but left behind:")
        for outcome in left:
            print(f"  {outcome.case.name}: {', '.join(outcome.left)}")
    tally = Counter(o.kind for o in outcomes)
    print(
        f"\nbad inputs: {len(outcomes)}; one line: {tally['one-line']}; unexpected: {tally['unexpected']}; "
        f"multi-line: {tally['multi-line']}; traceback: {tally['traceback']}; accepted: {tally['accepted']}; "
        f"hang: {tally['hang']}"
    )
    return not bad and not left


def main() -> int:
    global TEMPLATE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the cases whose name or category contains one of these comma-separated texts")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a case may run before it counts as a hang")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--verbose", action="store_true", help="print the whole output of every case that is not one line")
    args = parser.parse_args()

    wanted = args.only.split(",") if args.only else None
    selected = [c for c in cases() if wanted is None or any(w in c.name or w in c.category for w in wanted)]
    if args.list:
        for case in selected:
            print(f"{case.category:<22} {case.name:<45} {' '.join(a if isinstance(a, str) else repr(a) for a in case.argv)[:120]!r}")
        print(f"{len(selected)} cases")
        return 0
    root = Path(tempfile.mkdtemp(prefix="mi-search-probe-"))
    outcomes: list[Outcome] = []
    try:
        started = time.monotonic()
        if any(not case.name.startswith("r3-") for case in selected):  # round 3's cases make their own stores
            TEMPLATE = build_template(root)
        print(f"stored studies built in {time.monotonic() - started:.0f} s; running {len(selected)} cases in {root}", flush=True)
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(run_case, case, root, args.timeout): case for case in selected}
            for i, future in enumerate(as_completed(futures), 1):
                outcome = future.result()
                outcomes.append(outcome)
                line = outcome.output.splitlines()[-1] if outcome.output else ""
                print(f"[{i:>3}/{len(selected)}] {outcome.kind:<10} {outcome.seconds:>5.1f} s  {outcome.case.name}: {line[:160]}", flush=True)
                if args.verbose and outcome.kind != "one-line":
                    print("    " + outcome.output.replace("\n", "\n    "))
        outcomes.sort(key=lambda o: [c.name for c in selected].index(o.case.name))
        clean = report(outcomes)
        print(f"took {time.monotonic() - started:.0f} s")
    finally:
        for mount in MOUNTS:
            subprocess.run(["umount", str(mount)], capture_output=True)
        for path in IMMUTABLE:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
