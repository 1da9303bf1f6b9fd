"""A throwaway PostgreSQL server on 127.0.0.1 for the multi-worker test: initdb, pg_ctl start, stop, remove."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_binary(name: str) -> str:
    """On PATH, or where Debian's postgresql package keeps it (/usr/lib/postgresql/<version>/bin)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is missing; apt-get install postgresql")
    return found


def _as_server_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; run its tools as the `postgres` system user then.
    command = [_server_binary(command[0]), *command[1:]]
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a fresh database; the server and its files are gone afterwards."""
    root = Path(tempfile.mkdtemp(prefix="mi-search-pg-"))  # under /tmp, which the postgres user can reach
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = _free_port()
    run = lambda command: subprocess.run(_as_server_user(command), check=True, capture_output=True)
    try:
        run(["initdb", "-D", str(data), "-A", "trust", "-U", "postgres"])
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
        run(["pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"])
        try:
            run(["createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mi_search"])
            yield f"postgresql://postgres@127.0.0.1:{port}/mi_search"
        finally:
            run(["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
