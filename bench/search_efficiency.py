"""The study against a dense 21-point λ grid on the same search subset: hypervolume and generated tokens.

Run: python bench/search_efficiency.py [--seeds 0 1 2] [--trials 16] [--budget 150]
Both score the toy pair on the same 200 search questions, with the pair loaded once. The grid scores
every λ in 0, 0.05, …, 1 on all questions; the study runs the default sampler with successive halving.
Hypervolume is computed at a toy-scale budget (150 tokens: the toy answers in 58-130 tokens, so at
4000 every point sits near the left edge and the hypervolume is little more than the best accuracy);
the 4000-token figures are printed too. Held-out re-scoring is counted apart: the grid has none.
Last line: hv_ratio=<study/grid> token_ratio=<study/grid>, means over the seeds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from mi_search.evaluation.evaluate import evaluate
from mi_search.search.config import build_config
from mi_search.search.pareto import Point, hypervolume
from mi_search.search.results import read_result
from mi_search.search.service import load_workbench, run_trials
from mi_search.search.storage import open_storage, optuna_quiet
from mi_search.search.study import open_study
from mi_search.merge.spec import LambdaSpec

GRID = [round(i * 0.05, 2) for i in range(21)]


def run_grid(bench) -> tuple[list[Point], int, float]:
    started, points, tokens = time.perf_counter(), [], 0
    for lam in GRID:
        bench.pair.merge(LambdaSpec(lam=lam))
        evaluation = evaluate(
            bench.backend, bench.search.questions, k=1, params=bench.decoding, golds=bench.search.golds
        )
        points.append(Point(evaluation.scores.accuracy, evaluation.scores.mean_tokens))
        tokens += sum(s.num_tokens for row in evaluation.samples for s in row)
    return points, tokens, time.perf_counter() - started


def run_study(bench, settings: dict, seed: int) -> tuple[list[Point], int, float, int]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        storage = open_storage(f"sqlite:///{folder}/bench.db")
        study, config = open_study(storage, {**settings, "seed": seed}, source="bench")
        run_trials(study, config, bench, config.trials)
        result = read_result(study, config.budget)
    full = [Point(r.accuracy, r.mean_tokens) for r in result.records if r.full]
    tokens = sum(r.generated_tokens for r in result.records)
    return full, tokens, time.perf_counter() - started, len(result.records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument("--rungs", type=float, nargs="+", help="halving rungs (default: the study default)")
    parser.add_argument("--z", type=float, help="halving optimism (default: the study default)")
    args = parser.parse_args()
    optuna_quiet()
    halving = {"rungs": args.rungs, "z": args.z}
    settings = {
        "budget": args.budget,
        "trials": args.trials,
        "halving": {key: value for key, value in halving.items() if value is not None},
    }
    bench = load_workbench(build_config(settings, source="bench"), device="cpu")
    print(f"search subset: {len(bench.search.questions)} questions, greedy, budget {args.budget} tokens")

    grid_points, grid_tokens, grid_seconds = run_grid(bench)
    grid_hv = hypervolume(grid_points, args.budget)
    print(
        f"grid   : {len(GRID)} points  hv={grid_hv:.4f} (at 4000: {hypervolume(grid_points, 4000):.4f})  "
        f"tokens={grid_tokens}  {grid_seconds:.1f}s"
    )
    hv_ratios, token_ratios = [], []
    for seed in args.seeds:
        points, tokens, seconds, trials = run_study(bench, settings, seed)
        hv = hypervolume(points, args.budget)
        hv_ratios.append(hv / grid_hv)
        token_ratios.append(tokens / grid_tokens)
        print(
            f"study {seed}: {trials} trials, {len(points)} fully scored  hv={hv:.4f} "
            f"(at 4000: {hypervolume(points, 4000):.4f})  tokens={tokens}  {seconds:.1f}s  "
            f"hv_ratio={hv_ratios[-1]:.3f} token_ratio={token_ratios[-1]:.3f}"
        )
    print(f"hv_ratio={statistics.fmean(hv_ratios):.3f} token_ratio={statistics.fmean(token_ratios):.3f}")


if __name__ == "__main__":
    main()
