"""The one-read check of weights: finite values and the content hash from the same bytes."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from mi_search.backends import fingerprint
from mi_search.backends.fingerprint import HashCache, check_weight_values, file_hash
from mi_search.errors import UserError
from mi_search.merge.finite import FiniteScan

TENSORS = {
    "big": torch.randn(1000, dtype=torch.bfloat16),  # spans many small chunks
    "ints": torch.arange(10),
    "matrix": torch.randn(77, 3),
    "empty": torch.zeros(0),
    "half": torch.randn(5, dtype=torch.float16),
}


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks smaller than a tensor, so tensors straddle chunk edges as large ones do at 8 MiB."""
    monkeypatch.setattr(fingerprint, "CHUNK", 64)


def _write(folder, **changes):
    tensors = {name: tensor.clone() for name, tensor in TENSORS.items()}
    for name, (index, value) in changes.items():
        tensors[name].view(-1)[index] = value
    save_file(tensors, folder / "model.safetensors")
    return folder / "model.safetensors"


@pytest.mark.parametrize(
    ("name", "index"), [("big", 0), ("big", 999), ("big", 517), ("matrix", 230), ("half", 4)]
)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_value_anywhere_is_found_in_the_hashing_read(tmp_path, small_chunks, name, index, value):
    file = _write(tmp_path, **{name: (index, value)})
    with pytest.raises(UserError, match=f"tensor {name} in .* holds NaN or infinite values"):
        file_hash(file, FiniteScan(file))


def test_finite_weights_hash_as_a_plain_read_does(tmp_path, small_chunks):
    file = _write(tmp_path)
    assert file_hash(file, FiniteScan(file)) == file_hash(file)


def test_a_file_cut_inside_its_data_is_refused(tmp_path, small_chunks):
    file = _write(tmp_path)
    file.write_bytes(file.read_bytes()[:-30])
    with pytest.raises(UserError, match="not a readable safetensors file .*ends inside"):
        file_hash(file, FiniteScan(file))


def test_weights_shown_finite_are_not_read_again_until_they_change(tmp_path, monkeypatch):
    file = _write(tmp_path)
    cache = HashCache(tmp_path / "cache.json")
    reads = []
    real = fingerprint.file_hash
    monkeypatch.setattr(fingerprint, "file_hash", lambda path, scan=None: reads.append(scan is not None) or real(path, scan))
    check_weight_values((tmp_path,), cache)
    digest = cache.hash(file)  # the study's fingerprint, right after: no second read
    check_weight_values((tmp_path,), HashCache(tmp_path / "cache.json"))  # the next study: nothing read
    assert reads == [True] and digest == real(file)
    _write(tmp_path, matrix=(3, float("nan")))  # replaced in place: read, and refused
    with pytest.raises(UserError, match="holds NaN"):
        check_weight_values((tmp_path,), HashCache(tmp_path / "cache.json"))
    assert reads == [True, True]


def test_a_hash_without_the_value_check_does_not_vouch_for_values(tmp_path):
    file = _write(tmp_path, big=(3, float("nan")))
    cache = HashCache(tmp_path / "cache.json")
    cache.hash(file)  # a fingerprint only
    with pytest.raises(UserError, match="holds NaN"):
        check_weight_values((tmp_path,), cache)
