"""Fingerprint cost: how long hashing a checkpoint's weights takes the first time, and the cached re-check after.

Run from the repository root:

    python -m bench.fingerprint_cost [--size-gb 1] [--model-gb 8.05]

Writes a file of `--size-gb` random-ish bytes in a temporary folder, hashes it with the fingerprint
cache (`mi_search.backends.fingerprint`), then checks it again through the cache, and prints the
throughput and the time a `--model-gb` checkpoint (default: a 4B model in bf16, 4.02e9 × 2 bytes)
would take at that throughput. A file is read once: the first hash of a checkpoint costs one read
of its weights (a new study reads every weight anyway to refuse NaN), every later check a `stat`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from mi_search.backends.fingerprint import CHUNK, HashCache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0, help="size of the file hashed (GB, 1e9 bytes)")
    parser.add_argument("--model-gb", type=float, default=8.05, help="checkpoint size to extrapolate to (GB)")
    args = parser.parse_args()
    size = int(args.size_gb * 1e9)
    with tempfile.TemporaryDirectory() as folder:
        weights = Path(folder) / "model.safetensors"
        block = os.urandom(CHUNK)
        with open(weights, "wb") as out:
            for start in range(0, size, CHUNK):
                out.write(block[: min(CHUNK, size - start)])
        os.sync()
        cache = HashCache(Path(folder) / "cache.json")
        began, cpu = time.perf_counter(), time.process_time()
        cache.hash(weights)
        first, first_cpu = time.perf_counter() - began, time.process_time() - cpu
        cache.save()
        began = time.perf_counter()
        again = HashCache(Path(folder) / "cache.json")
        again.hash(weights)
        cached = time.perf_counter() - began
    rate, cpu_rate = size / first / 1e6, size / first_cpu / 1e6
    print(f"first hash: {args.size_gb:g} GB in {first:.2f} s wall ({rate:.0f} MB/s), {first_cpu:.2f} s CPU ({cpu_rate:.0f} MB/s)")
    model = args.model_gb * 1e9
    print(
        f"a {args.model_gb:g} GB checkpoint: {model / (rate * 1e6):.1f} s at this wall rate, {model / (cpu_rate * 1e6):.1f} s "
        "of CPU (the floor on an idle core, disk permitting); once per file version"
    )
    print(f"cached re-check (cache file read + stat): {cached * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
