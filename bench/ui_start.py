"""UI start: the MLflow server as `mi-search ui` starts it (one worker, no job runner) against MLflow's defaults.

Run from the repository root: python -m bench.ui_start [--repeats 2]
Each arm starts `mlflow server` on a new SQLite store on 127.0.0.1, times it until `/health` answers
and counts the processes in its group, then stops it; the arms alternate, side by side in one run.
Ends with `ui_start_speedup=<MLflow's defaults / ours>` (median seconds to /health).
Measured 2026-12-07 on a shared 2-core CPU (--repeats 2): 33.0-33.2 s and 15 processes against 14.9-15.7 s
and 2; ui_start_speedup=2.17.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from mi_search.cli.study import UI_SERVER_DEFAULTS, server_environment


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _group_size(group: int) -> int:
    """Processes in one process group (Linux /proc; 0 elsewhere)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            count += int(stat.read_text().rsplit(")", 1)[1].split()[2]) == group
        except (OSError, IndexError, ValueError):
            continue
    return count


def start_to_health(environ: dict[str, str], folder: Path) -> tuple[float, int]:
    """Seconds until a new server answers /health, and the processes it runs then."""
    port = _free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder}/m{port}.db"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    start = time.monotonic()
    server = subprocess.Popen(
        command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit(f"mlflow server exited with {server.returncode} before answering") from None
                time.sleep(0.2)
        seconds = time.monotonic() - start
        time.sleep(3)  # MLflow's job runner starts beside the server: counted once it has
        return seconds, _group_size(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    plain = {k: v for k, v in os.environ.items() if k not in UI_SERVER_DEFAULTS}
    arms = {"mlflow_defaults": plain, "mi_search_ui": server_environment(plain)}
    times: dict[str, list[float]] = {name: [] for name in arms}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for name, environ in arms.items():
                seconds, processes = start_to_health(environ, Path(tmp))
                times[name].append(seconds)
                print(f"{name}: /health after {seconds:.1f} s, {processes} processes")
    ratio = statistics.median(times["mlflow_defaults"]) / statistics.median(times["mi_search_ui"])
    print(f"ui_start_speedup={ratio:.2f}")


if __name__ == "__main__":
    main()
