"""Prints the calibration table and the true fronts' hypervolumes: `python -m bench.paper_sim` from the repo root."""

from __future__ import annotations

import argparse

from . import __doc__ as SIMULATION_DOC
from .calibration import calibrate, print_calibration, print_fronts
from .model import PaperModel


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.paper_sim", description=SIMULATION_DOC.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=64)
    args = parser.parse_args()
    model = PaperModel()
    print_calibration(calibrate(model, k=args.k, seed=args.seed))
    print()
    print_fronts(model, budgets=(16000, 24000))


if __name__ == "__main__":
    main()
