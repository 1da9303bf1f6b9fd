"""`python -m bench.bad_input_probe`: choose the cases, build the stored studies they copy, run them, report."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from bench.bad_input_probe import __doc__ as DOC
from bench.bad_input_probe import setups
from bench.bad_input_probe.cases import all_cases
from bench.bad_input_probe.classify import GOOD, report
from bench.bad_input_probe.case import Outcome
from bench.bad_input_probe.runner import build_template, run_case

def main() -> int:
    parser = argparse.ArgumentParser(description=DOC.splitlines()[0])
    parser.add_argument("--only", help="run the cases whose name or category contains one of these comma-separated texts")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a case may run before it counts as a hang")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--verbose", action="store_true", help="print the whole output of every case that is not one line")
    args = parser.parse_args()

    wanted = args.only.split(",") if args.only else None
    selected = [c for c in all_cases() if wanted is None or any(w in c.name or w in c.category for w in wanted)]
    if args.list:
        for case in selected:
            print(f"{case.category:<22} {case.name:<45} {' '.join(a if isinstance(a, str) else repr(a) for a in case.argv)[:120]!r}")
        print(f"{len(selected)} cases")
        return 0
    root = Path(tempfile.mkdtemp(prefix="mi-search-probe-"))
    outcomes: list[Outcome] = []
    try:
        started = time.monotonic()
        if any(case.stored or not case.name.startswith("r3-") for case in selected):  # most of round 3's make their own
            setups.TEMPLATE = build_template(root)
        print(f"stored studies built in {time.monotonic() - started:.0f} s; running {len(selected)} cases in {root}", flush=True)
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(run_case, case, root, args.timeout): case for case in selected}
            for i, future in enumerate(as_completed(futures), 1):
                outcome = future.result()
                outcomes.append(outcome)
                line = outcome.output.splitlines()[-1] if outcome.output else ""
                print(f"[{i:>3}/{len(selected)}] {outcome.kind:<10} {outcome.seconds:>5.1f} s  {outcome.case.name}: {line[:160]}", flush=True)
                if args.verbose and outcome.kind not in GOOD:
                    print("    " + outcome.output.replace("\n", "\n    "))
        outcomes.sort(key=lambda o: [c.name for c in selected].index(o.case.name))
        clean = report(outcomes)
        print(f"took {time.monotonic() - started:.0f} s")
    finally:
        setups.undo_mounts()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
