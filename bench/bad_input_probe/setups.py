"""Setups: what a case finds in its folder before it runs (files, spoiled copies of the toy pair, stores,
read-only or immutable folders), and the state they share: the stored studies, the mounts to undo."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import yaml

from bench.bad_input_probe.case import Setup

TEMPLATE: Path  # a folder holding stored studies, set by the runner before any case that copies it runs
MOUNTS: list[Path] = []  # read-only mounts to undo at the end
IMMUTABLE: list[Path] = []  # chattr -i at the end, so the temporary folder can be removed
MOUNT_LOCK = threading.Lock()

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



def drop_inline_template(directory: Path) -> None:
    import json

    path = directory / "tokenizer_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "chat_template": None}))


def chain_edits(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def run(directory: Path) -> None:
        for edit in edits:
            edit(directory)

    return run



def undo_mounts() -> None:
    """Unmount the read-only folders and lift chattr +i, so the temporary folder can be removed."""
    for mount in MOUNTS:
        subprocess.run(["umount", str(mount)], capture_output=True)
    for path in IMMUTABLE:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
