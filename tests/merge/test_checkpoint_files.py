"""A model directory whose files are not regular files is refused before any library reads one."""

from __future__ import annotations

import os
import re

import pytest

from mi_search.errors import UserError
from mi_search.merge.checkpoints import resolve_checkpoint

from tests.conftest import copy_pair


@pytest.mark.parametrize("name", ["tokenizer.json", "model.safetensors", "chat_template.jinja", "config.json"])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_fifo_or_a_device_in_a_model_directory_is_one_line(tmp_path, name, kind):
    instruct, _ = copy_pair(tmp_path)
    (instruct / name).unlink()
    if kind == "fifo":
        os.mkfifo(instruct / name)  # transformers would wait on it forever
    else:
        (instruct / name).symlink_to("/dev/zero")  # and read this until memory runs out
    what = "a named pipe (FIFO)" if kind == "fifo" else "a character device"
    with pytest.raises(UserError, match=re.escape(f"{name} is {what}, not a regular file")):
        resolve_checkpoint(instruct)


def test_links_to_regular_files_and_subfolders_are_a_model_directory(tmp_path):
    instruct, _ = copy_pair(tmp_path)
    (instruct / "blobs").mkdir()
    (instruct / "config.json").rename(instruct / "blobs" / "config")
    (instruct / "config.json").symlink_to(instruct / "blobs" / "config")  # as the Hub's cache lays a snapshot out
    assert resolve_checkpoint(instruct) == instruct
