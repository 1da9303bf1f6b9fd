"""Early stopping that saves: the same study with halving off and on, side by side, in one run.

Run from the repository root: python -m bench.fidelity [--seeds 0 1 2] [--budget 16000] [--k 8] [--trials N]
        [--rungs 0.25 0.5 1.0] [--min-gain 0 0.01] [--over questions samples] [--detail]

The problem is `bench/search_efficiency.py`'s paper-aime25: a SIMULATED Qwen3-4B pair calibrated to
the paper's AIME'25 curve, 30 search questions at k samples, scored against its true global front
(every fully scored point re-scored by its expected, noise-free accuracy and tokens). For each seed
the study runs twice through `run_study`, the CLI's entry point: with `halving: {rungs: [1.0]}` (every
trial scores every question) and with the study's halving (`--rungs`, default the study default). Lines:
one per seed and arm (`tokens=` search tokens, `hv_ratio=` over the true front, trials stopped), then
the means and `token_saving=` (1 − halving tokens / no-halving tokens, the ratio of the means) with
`hv_diff=` (halving − none, in hypervolume-ratio points). `--detail` prints every trial: λ, questions
scored, tokens it generated, its stop.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import optuna

from bench.search_efficiency import paper_problem, reference_hv, run_one


def _detail(folder: Path, name: str) -> None:
    """Every trial of a study already run (the storage is kept): λ, questions, tokens, stop."""
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{folder}/{name}.db")
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        stop = attrs.get("stopped")
        why = f"{stop['reason']} at {stop['rung']}" + (f" by {stop.get('against')}" if "against" in stop else "") if stop else ""
        print(
            f"    trial {t.number:2d} mean λ {attrs.get('mean_lambda', float('nan')):.3f} "
            f"acc {t.values[0]:.3f} tok {t.values[1]:7.0f} q {attrs.get('questions')} "
            f"generated {attrs.get('generated_tokens', 0):9d} {why}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=16000)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--trials", type=int, default=None, help="default: the study default for the space")
    parser.add_argument("--rungs", type=float, nargs="+", default=None, help="default: the study default")
    parser.add_argument("--min-gain", type=float, nargs="+", default=None, help="halving arms, one per value (default: the study default)")
    parser.add_argument(
        "--over", nargs="+", choices=("questions", "samples"), default=None, help="halving arms: what a rung is a share of"
    )
    parser.add_argument("--detail", action="store_true", help="print every trial of every study")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        problem = paper_problem(args.budget, args.k, folder)
        problem.settings["space"] = {"kind": "global"}
        problem.settings.pop("halving", None)  # the study default, unless --rungs
        label, ref_hv = reference_hv(problem, "global", [])
        print(f"paper-aime25 (simulated) budget={args.budget} k={args.k}; reference: {label} hv={ref_hv:.4f}")
        base = {"trials": args.trials} if args.trials is not None else {}
        halving = {"rungs": args.rungs} if args.rungs else {}
        arms = {"none": {"halving": {"rungs": [1.0]}}}
        for over in args.over or [None]:
            for gain in args.min_gain or [None]:
                name = "_".join(p for p in (over, None if gain is None else f"min_gain{gain:g}") if p) or "halving"
                chosen = ({} if over is None else {"over": over}) | ({} if gain is None else {"min_gain": gain})
                arms[name] = {"halving": halving | chosen}
        tokens: dict[str, list[int]] = {arm: [] for arm in arms}
        hvs: dict[str, list[float]] = {arm: [] for arm in arms}
        for seed in args.seeds:
            for arm, overrides in arms.items():
                name = f"{arm}{seed}"
                settings = {**base, **overrides, "seed": seed}
                outcome = run_one(problem, settings, folder, name, ref_hv)
                tokens[arm].append(outcome.tokens)
                hvs[arm].append(outcome.hv / ref_hv)
                print(
                    f"{arm} seed {seed}: {outcome.trials} trials ({outcome.trials - outcome.full} stopped) "
                    f"tokens={outcome.tokens} hv_ratio={hvs[arm][-1]:.4f} chosen {outcome.chosen}"
                )
                if args.detail:
                    _detail(folder, name)
        none = statistics.fmean(tokens["none"])
        print(f"none: tokens={none:.0f} hv_ratio={statistics.fmean(hvs['none']):.4f}")
        for arm in list(arms)[1:]:
            spent = statistics.fmean(tokens[arm])
            print(
                f"{arm}: tokens={spent:.0f} hv_ratio={statistics.fmean(hvs[arm]):.4f} token_ratio={spent / none:.3f} "
                f"token_saving={1 - spent / none:.3f} hv_diff={statistics.fmean(hvs[arm]) - statistics.fmean(hvs['none']):+.4f}"
            )

if __name__ == "__main__":
    main()
