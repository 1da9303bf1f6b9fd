"""Per-layer search that earns its dimensions: samplers for the vector spaces, measured against each space's true front.

Run from the repository root: python -m bench.vector_spaces [--space layers profile] [--samplers tpe gp trust random]
        [--seed 0] [--trials N] [--budget 16000] [--k 8] [--coarse [global|modules]] [--rungs 0.25 0.5 1.0]
        [--min-gain 0.02]

The problem is `bench/search_efficiency.py`'s paper-aime25: a SIMULATED Qwen3-4B pair (36 layers, so
`layers` searches 72 λ and `profile` 8) calibrated to the paper's AIME'25 curve. Every fully scored
point is re-scored by its expected (noise-free) accuracy and tokens, and `hv_ratio=` is that front's
hypervolume over the space's true front (`bench.paper_sim.true_front` over the space's λ vectors), as
`search_efficiency` reports it. Each line is one study of one space with one sampler, at the study's
default trials unless `--trials`: `tokens=` its search tokens. `--coarse` first runs a global study
(`--coarse modules`: a modules study) in the same storage and starts each vector study from what it
scored (the evaluation store: uniform λ enter every space, modules points enter `blocks`).

Measured (2026-12-08, a shared 2-core CPU machine, default trials and samplers, seeds 0, 1, 2), with the
modules plane first (`mi_search.search.sampling.module_plane`): layers hv_ratio 0.9937, 0.9897, 0.9927;
profile 0.9905, 0.9854, 0.9918; blocks 0.9886, 0.9840, 0.9886. Without it: layers 0.975, 0.954, 0.964;
profile 0.982, 0.979, 0.982; blocks 0.977, 0.963, 0.986. The README's table has trials and tokens.
  `--space blocks --coarse modules`: blocks 0.9856, 0.9811, 0.9919 for 8.2M, 17.4M, 17.8M tokens of its own
  (the modules studies: 33.7M, 34.4M, 40.4M).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import optuna

from bench.search_efficiency import paper_problem, reference_hv, run_one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", nargs="+", default=["layers", "profile"], choices=("modules", "blocks", "layers", "profile"))
    parser.add_argument("--samplers", nargs="+", default=["default"], help="gp, tpe, trust, random, nsga2 or default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=None, help="default: the study default for the space")
    parser.add_argument("--budget", type=int, default=16000)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument(
        "--coarse", nargs="?", const="global", default=None, choices=("global", "modules"),
        help="start each vector study from a global (or modules) study's evaluations",
    )
    parser.add_argument("--rungs", type=float, nargs="+", default=None, help="halving rungs (default: the study's)")
    parser.add_argument("--min-gain", type=float, default=None, help="halving min_gain (default: the study default)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        problem = paper_problem(args.budget, args.k, folder)
        coarse_tokens = 0
        if args.coarse:  # its storage, with the evaluation store, is copied under each vector study's name
            problem.settings["space"] = {"kind": args.coarse}
            label, ref_hv = reference_hv(problem, args.coarse, [])
            coarse = run_one(problem, {"seed": args.seed}, folder, "coarse", ref_hv)
            coarse_tokens = coarse.tokens
            print(
                f"{args.coarse} (coarse) seed {args.seed}: {coarse.trials} trials tokens={coarse.tokens} "
                f"hv_ratio={coarse.hv / ref_hv:.4f} (reference: {label})"
            )
        for space in args.space:
            problem.settings["space"] = {"kind": space, "layers": 36} if space in ("layers", "profile") else {"kind": space}
            label, ref_hv = reference_hv(problem, space, [])
            for sampler in args.samplers:
                overrides = {"seed": args.seed} | ({"sampler": sampler} if sampler != "default" else {})
                if args.trials is not None:
                    overrides["trials"] = args.trials
                halving = {"rungs": args.rungs, "min_gain": args.min_gain}
                overrides["halving"] = {key: value for key, value in halving.items() if value is not None}
                name = f"{space}-{sampler}-{args.seed}"
                if args.coarse:
                    shutil.copy(folder / "coarse.db", folder / f"{name}.db")
                outcome = run_one(problem, overrides, folder, name, ref_hv)
                coarse_part = f" (+ coarse {coarse_tokens})" if args.coarse else ""
                print(
                    f"{space} sampler={sampler} seed {args.seed}{f' after {args.coarse}' if args.coarse else ''}: {outcome.trials} trials "
                    f"({outcome.full} fully scored) tokens={outcome.tokens}{coarse_part} hv_ratio={outcome.hv / ref_hv:.4f} "
                    f"(reference: {label}) chosen {outcome.chosen}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
