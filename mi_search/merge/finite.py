"""Every floating tensor of a safetensors file checked finite as the file's bytes stream past once.

A new study must refuse NaN or infinite weights before it is stored, and it hashes the same files for
its fingerprint (`backends.fingerprint`). Reading each file once for both halves the bytes read from
disk. safetensors exposes no byte offsets (`safe_open` hands out whole tensors), so the header's data
offsets (`checkpoints.read_header`) say which bytes belong to which tensor.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mi_search.errors import UserError
from mi_search.merge.checkpoints import read_header

_FLOATS = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
}
_UPCAST = {torch.float8_e4m3fn, torch.float8_e5m2}  # isfinite has no float8 kernel on every device


def _unreadable(file: Path, why: str) -> UserError:
    return UserError(f"{file} is not a readable safetensors file ({why}); re-download or re-export that checkpoint")


class FiniteScan:
    """Fed a safetensors file's bytes in order (`feed`), checks each floating tensor once its bytes are in.

    Memory: one tensor's bytes at most, as `safe_open(...).get_tensor` would hold.
    """

    def __init__(self, file: Path) -> None:
        self.file = file
        header = read_header(file)
        with file.open("rb") as handle:  # offsets count from the header's end
            start = 8 + int.from_bytes(handle.read(8), "little")
        try:
            self.tensors = sorted(
                (start + entry["data_offsets"][0], start + entry["data_offsets"][1], name, _FLOATS[entry["dtype"]])
                for name, entry in header.items()
                if entry.get("dtype") in _FLOATS
            )
        except (TypeError, KeyError, IndexError) as exc:
            raise _unreadable(file, f"its header has no data offsets: {exc!r}") from None
        self.position = 0  # absolute offset of the next byte fed
        self.index = 0  # the next tensor to check
        self.pending = bytearray()  # the current tensor's bytes so far, when it spans chunks

    def feed(self, chunk: memoryview) -> None:
        end = self.position + len(chunk)
        while self.index < len(self.tensors):
            begin, stop, name, dtype = self.tensors[self.index]
            if begin >= end:
                break
            have = begin + len(self.pending)
            take = chunk[max(have, self.position) - self.position : min(stop, end) - self.position]
            if not self.pending and stop <= end:  # whole inside this chunk: no copy
                self._check(name, dtype, take)
            else:
                self.pending += take
                if begin + len(self.pending) < stop:
                    break
                self._check(name, dtype, memoryview(self.pending))
                self.pending = bytearray()
            self.index += 1
        self.position = end

    def close(self) -> None:
        """Every tensor was fed: a file cut short is refused here."""
        if self.index < len(self.tensors):
            raise _unreadable(self.file, "it ends inside its tensors' data")

    def _check(self, name: str, dtype: torch.dtype, data: memoryview) -> None:
        if not len(data):
            return
        tensor = torch.frombuffer(data, dtype=dtype)
        if dtype in _UPCAST:
            tensor = tensor.to(torch.float16)
        if not bool(torch.isfinite(tensor).all()):
            raise UserError(
                f"tensor {name} in {self.file} holds NaN or infinite values; re-download or re-export that checkpoint"
            )
