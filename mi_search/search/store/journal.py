"""Optuna's journal file, made to survive a full disk and a kill mid-write.

Optuna appends each batch of records with one `write`; if the disk fills (or the process dies)
part-way, the file ends in half a record and every later read fails with a JSONDecodeError. Here
a failed append is cut back to the size the file had, and a torn tail left by an older writer is
cut off when the journal is opened (under the journal's lock, so no writer is mid-append), with a
one-line notice. Anything else that is not JSON records is refused as not a journal.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from typing import Any

from optuna.storages.journal import JournalFileBackend
from optuna.storages.journal._file import get_lock_file

from mi_search.diskspace import no_space
from mi_search.errors import UserError


class SafeJournalFile(JournalFileBackend):
    """A journal file whose appends land whole or not at all."""

    def __init__(self, path: str) -> None:
        try:
            super().__init__(path)
        except OSError as exc:
            fix = "check that its directory exists"
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):  # not missing: not writable
                fix = "give a journal path in a folder you can write"
            raise UserError(f"cannot open journal {path}: {exc.strerror}; {fix}") from None
        with get_lock_file(self._lock):
            _cut_torn_tail(path)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        record = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode()
        with get_lock_file(self._lock):
            fd = os.open(self._file_path, os.O_WRONLY | os.O_APPEND)
            try:
                size = os.lseek(fd, 0, os.SEEK_END)
                try:
                    view = memoryview(record)
                    while view:  # unbuffered: a short write is seen here, not at close
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                except OSError as exc:
                    os.ftruncate(fd, size)  # the journal ends where it did: whole records only
                    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                        raise no_space(self._file_path, len(record)) from None
                    raise
            finally:
                os.close(fd)

def _cut_torn_tail(path: str) -> None:
    with open(path, "rb") as file:
        data = file.read()
    whole = data.rfind(b"\n") + 1
    for number, line in enumerate(data[:whole].splitlines(), start=1):
        if not _is_record(line):
            raise _not_a_journal(path, f"line {number} is not a journal record")
    tail = data[whole:]
    if not tail:
        return
    start = b'{"op_code"'  # what Optuna writes first in every record
    if not (tail.startswith(start) or start.startswith(tail)):
        raise _not_a_journal(path, "it ends in something that is not a journal record")
    with open(path, "r+b") as file:
        file.truncate(whole)
    print(f"notice: {path} ended in a record cut short ({len(tail)} bytes); removed it", file=sys.stderr)


def _not_a_journal(path: str, why: str) -> UserError:
    return UserError(
        f"{path} is not an Optuna journal ({why}); pass the right file to --storage journal:PATH, "
        "or a new path to start a study there"
    )


def _is_record(line: bytes) -> bool:
    try:
        record = json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return False
    return isinstance(record, dict) and "op_code" in record
