"""What the bad-input tests share: the CLI runner, a copy of the toy pair, a quick study file, the studies stored."""

from __future__ import annotations

import shutil

import optuna
from typer.testing import CliRunner

from mi_search.search.store.storage import open_storage
from mi_search.toy import toy_pair_dirs

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
