"""How much of the best front a study finds, and for how many tokens: the study against a dense grid and random search.

Run from the repository root: python -m bench.search_efficiency --problem toy|paper [--curve FILE.csv]
        [--space global|modules|blocks|layers|profile] [--sampler gp|tpe|botorch|nsga2|random] [--seeds 0 1 2]
        [--trials N] [--budget TOKENS] [--k K]

Each study runs through `mi_search.service.study.run_study(..., backend=...)`, the entry point the CLI
calls, with the pair loaded once (the toy pair) or simulated (`bench/paper_sim/`). Random search is a
study with the random sampler, seeded λ off and no halving, stopped at the study's search spend.

- toy: the reference is a dense 21-point λ grid on the same search questions with the same seeds
  (common random numbers), so every point is scored on the same questions; hv_ratio is the study's
  front hypervolume (fully scored trials) over the grid's. Greedy decoding, k = 1.
- paper (paper-aime25): a SIMULATED Qwen3-4B pair calibrated to the paper's AIME'25 curve, or to the
  global curve of `--curve FILE.csv` in the columns of shared/data/paper_qwen3-4b_aime25.csv (lambda,
  mean_at_64_pct, mean_tokens, think_ratio_pct; bench/curves/ holds other shapes) (60 questions,
  30 searched, 30 held out). The study seeds λ as the CLI does (the configuration's default). Its true front is known: every point the study fully scored is
  re-scored by its expected (noise-free) accuracy and tokens, and hv_ratio is that front's
  hypervolume over the true front's (of one global λ for `global`, of the space's λ vectors
  otherwise). The token reference is the paper's protocol: its 9-point grid on the 30 questions at
  its 64 samples each. The study samples k = 8 (`--k`); `same-k grid` gives the ratio to that grid
  run at the study's k. Why not only the same-k grid: a 9-point grid, at any k, reaches 95 % of the
  true global front, and even the best 5 global λ reach only 97.8 % of it, so 98 % needs more points
  than a third of a same-k grid pays for; what a search saves is samples per point, not points.
Lines: one per seed and method, then the means over seeds: `hv_ratio=` (study over reference front),
`token_ratio=` (search tokens over the reference grid's), `chosen_gap=` (paper: the true expected
accuracy of the best feasible point of the space minus the chosen point's, in points; nan: nothing
chosen; negative where the choice is truly past the budget), `chosen_over=` (the chosen point's true
tokens past the budget, in % of it: 0 when within; the means line gives the worst seed), `holdout_token_ratio=` (re-scoring front
points on held-out questions, which a grid would need too), `tokens_to_98%=` (search tokens spent
when the front first reached 98 % of the reference, over the reference grid's; nan: never).

Measured (2026-11-25, a shared 2-core CPU machine; the README's table has them all):
  paper-aime25 global, 16 trials, seeds 0-2: hv_ratio 0.991, token_ratio 0.192 (+ held-out 0.133),
      tokens_to_98% 0.099; random search at the same spend 0.930; chosen mean λ 0.62-0.67
  toy global, 16 trials, seed 0: hv_ratio 0.998, token_ratio 0.773, 98 % after 5 trials at 0.257;
      random search at the same spend 0.976
  (2026-12-07, seeds λ 0, 0.5, 1 as the CLI; trials auto stopping on a bound, the budget's edge bisected,
      λ intervals ≤ 0.125; seeds 0-2) paper: hv_ratio 0.986, token_ratio 0.162, chosen_gap 0.88;
      gpqa_cheap_low (--budget 4000): 0.989, 0.104, 1.57; stage1_dip: 0.980, 0.159, 1.37;
      late_narrow_peak: 0.977, 0.208, 1.47; toy, seed 0: hv_ratio 0.998, token_ratio 0.642 (98 % at 0.257)
  (same day, + the edge and a peak beside the choice narrowed once re-scored, feasibility on search and
      held-out questions together, no peak sought on a plateau, the edge left alone only where a fall is
      shown paired) paper: 0.986, 0.183, 0.27 (chosen_over ≤ 1.9 %); gpqa_cheap_low: 0.990, 0.128, 0.12
      (≤ 0.7 %); stage1_dip: 0.980, 0.201, 0.14; late_narrow_peak: 0.989, 0.245, 0.04; overthinking_dip:
      0.979, 0.196, 0.13; toy: 0.998, 0.696
  (2026-12-08, seeds λ 0.5, 0, 1; halving in three rungs of samples, no stop without its decisive
      question) paper: 0.985, 0.184, 0.28; gpqa_cheap_low: 0.991, 0.129, 0.12; stage1_dip: 0.988, 0.200,
      0.21; late_narrow_peak: 0.984, 0.260, 0.41; overthinking_dip: 0.986, 0.233, 0.05; toy: 0.998, 0.696
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import optuna

from mi_search import Backend, DecodingParams, LambdaSpec, Runtime, StudyRequest, run_study
from mi_search.evaluation.evaluate import evaluate
from mi_search.search.settings.config import build_config
from mi_search.search.running.inputs import prepare_inputs
from mi_search.search.running.objective import study_order
from mi_search.search.running.stopping import STOP_ATTR
from mi_search.search.statistics.pareto import Point, hypervolume

TOY_GRID = [round(i * 0.05, 2) for i in range(21)]
PAPER_GRID = [0.0, 0.2, 0.4, 0.45, 0.5, 0.55, 0.6, 0.8, 1.0]
PAPER_K = 64  # the paper's samples per question: its grid is 9 λ × 30 questions × 64 samples


def _paper_sim():
    import bench.paper_sim

    return bench.paper_sim


@dataclass
class Problem:
    """A pair (real or simulated), the study settings that score it, and how a point is re-scored."""

    name: str
    backend: Backend
    settings: dict
    grid: list[float]
    budget: int
    model: object | None = None  # the simulation, whose expected scores re-score a point
    grid_k: int | None = None  # samples per question of the reference grid (None: the study's k)
    best_feasible: float = math.nan  # the true expected accuracy of the space's best point within the budget

    def true_accuracy(self, spec: LambdaSpec) -> float:
        return self.model.expected(self.model.effective_of(spec))[0] if self.model is not None else math.nan

    def true_tokens(self, spec: LambdaSpec) -> float:
        return self.model.expected(self.model.effective_of(spec))[1] if self.model is not None else math.nan

    def rescore(self, points: list[Point], specs: list[LambdaSpec]) -> list[Point]:
        if self.model is None:
            return points  # the toy: already scored on the same questions with the same seeds
        return [Point(*self.model.expected(self.model.effective_of(spec))[:2]) for spec in specs]


def toy_problem(budget: int, questions: int) -> Problem:
    from mi_search import HFSettings, PairConfig, open_pair

    settings = {"budget": budget, "task": {"search_size": questions, "holdout_size": max(20, questions // 2)}}
    return Problem("toy", open_pair(PairConfig(), HFSettings(device="cpu")), settings, TOY_GRID, budget)


def paper_problem(budget: int, k: int, folder: Path, curve: Path | None = None) -> Problem:
    """The simulated pair calibrated to the paper's curve, or to `curve` (checked first: a bad file is a CurveError)."""
    sim = _paper_sim()
    table = sim.read_table(curve) if curve is not None else sim.PAPER_TABLE
    pair, backend, questions = sim.simulated_pair(60, table)
    data = folder / "sim_aime25.csv"
    with open(data, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "question", "answer"])
        for q in questions:
            writer.writerow([q.id, q.prompt.removesuffix(sim.MATH_PROMPT_SUFFIX), q.answer])
    settings = {
        "budget": budget,
        "k": k,
        "task": {"data": str(data), "search_size": None, "holdout_size": None, "pool": None},
        "decoding": {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 32768},
        "halving": {"rungs": [0.25, 0.5, 1.0]},
    }
    name = f"paper ({curve.name})" if curve is not None else "paper-aime25"
    return Problem(name, backend, settings, PAPER_GRID, budget, pair.model, grid_k=PAPER_K)


def run_grid(problem: Problem, k: int | None = None) -> tuple[list[Point], int]:
    """Every grid λ on all search questions, in the study's order and seeds, at `k` samples (default: the study's)."""
    config = build_config(problem.settings, source="bench")
    inputs = prepare_inputs(config)
    search = study_order(inputs.search, config.seed)
    points, tokens, specs = [], 0, []
    for lam in problem.grid:
        spec = LambdaSpec(lam=lam)
        problem.backend.merge(spec)
        evaluation = evaluate(
            problem.backend, search.questions, k=k or config.k, params=inputs.decoding, golds=search.golds, study_seed=config.seed
        )
        points.append(Point(evaluation.scores.accuracy, evaluation.scores.mean_tokens))
        specs.append(spec)
        tokens += evaluation.generated_tokens
    return problem.rescore(points, specs), tokens


TARGET = 0.98  # the share of the reference hypervolume the issue asks for


@dataclass
class Outcome:
    hv: float
    tokens: int  # generated by the search trials counted
    holdout_tokens: int  # generated re-scoring front points on held-out questions (the whole study only)
    trials: int
    full: int
    chosen: str
    to_target: int | None  # search tokens spent when the front first reached TARGET of the reference
    chosen_gap: float = math.nan  # points of true accuracy the chosen point gives up against the best feasible
    chosen_over: float = math.nan  # % of the budget the chosen point truly spends past it (0: within it)
    stop: str = ""  # why the study stopped (`trials: auto`), as stored with it


def run_one(
    problem: Problem, overrides: dict, folder: Path, name: str, ref_hv: float, *, spend: int | None = None
) -> Outcome:
    """A study through run_study; with `spend`, only its first trials up to that many generated tokens count."""
    runtime = Runtime(storage=f"sqlite:///{folder}/{name}.db", tracking_uri=None, heartbeat=5, out=folder / name)
    request = StudyRequest(overrides={**problem.settings, **overrides, "name": name})
    report = run_study(request, runtime, backend=problem.backend)
    result, space = report.result, report.config.space
    points, used, counted, full, to_target = [], 0, 0, 0, None
    for record in result.records:  # in trial order: the front as it grew
        if spend is not None and used >= spend:
            break
        counted += 1
        used += record.generated_tokens
        if record.full and record.repeat_of is None:
            full += 1
            points += problem.rescore([record.point], [space.setting(record.params, DecodingParams())[0]])
            if to_target is None and hypervolume(points, problem.budget) >= TARGET * ref_hv:
                to_target = used
    held = sum(r.holdout["generated_tokens"] for r in result.records if r.holdout) if spend is None else 0
    chosen = result.record(result.chosen) if result.chosen is not None and spend is None else None
    chosen_text = f"trial {chosen.number} (mean λ {chosen.mean_lambda:.2f})" if chosen else "-"
    gap = over = math.nan
    if chosen is not None:
        spec = space.setting(chosen.params, DecodingParams())[0]
        gap = 100 * (problem.best_feasible - problem.true_accuracy(spec))
        over = max(0.0, 100 * (problem.true_tokens(spec) / problem.budget - 1))
    stop = optuna.load_study(study_name=name, storage=runtime.storage).user_attrs.get(STOP_ATTR, "")
    return Outcome(hypervolume(points, problem.budget), used, held, counted, full, chosen_text, to_target, gap, over, stop)


def run_random(problem: Problem, seed: int, spend: int, grid_tokens: int, folder: Path, ref_hv: float) -> Outcome:
    """Random search with full scoring (no seeded λ, no halving), counted up to the study's spend."""
    trials = 2 + -(-spend * len(problem.grid) // grid_tokens)  # enough at the grid's mean cost per point
    overrides = {"sampler": "random", "seed": seed, "seed_lambdas": [], "halving": {"rungs": [1.0]}, "trials": trials}
    return run_one(problem, overrides, folder, f"random{seed}", ref_hv, spend=spend)


def reference_hv(problem: Problem, space: str, grid_points: list[Point]) -> tuple[str, float]:
    """The reference front's label and hypervolume; for the simulation, also sets the best feasible accuracy."""
    if problem.model is None:
        return "dense 21-point grid", hypervolume(grid_points, problem.budget)
    sim = _paper_sim()
    from mi_search.search.settings.space import SearchSpace

    if space == "global":
        front = sim.true_front(problem.model)
    else:
        bound = SearchSpace(kind=space).bound(36) if space in ("layers", "profile") else SearchSpace(kind=space)
        front = sim.true_front(problem.model, bound)
    problem.best_feasible = max((p.accuracy for p in front if p.mean_tokens <= problem.budget), default=math.nan)
    return f"true {space} front (simulated)", sim.front_hypervolume(front, problem.budget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", choices=("toy", "paper", "paper-aime25"), default="toy")
    parser.add_argument("--curve", type=Path, default=None, help="paper: a global curve CSV in the columns of the paper's")
    parser.add_argument("--space", default="global", choices=("global", "modules", "blocks", "layers", "profile"))
    parser.add_argument("--sampler", default=None, help="gp, tpe, botorch, nsga2, random (default: the study default)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--trials", type=lambda v: v if v == "auto" else int(v), default=None, help="a number or auto (the study default)"
    )
    parser.add_argument("--budget", type=int, default=None, help="default: 150 (toy), 16000 (paper)")
    parser.add_argument("--k", type=int, default=8, help="paper-aime25: samples per question")
    parser.add_argument("--questions", type=int, default=200, help="toy: search questions")
    parser.add_argument("--no-random", action="store_true", help="skip the random-search baseline")
    args = parser.parse_args()
    if args.curve is not None:
        if args.problem == "toy":
            _refuse("--curve calibrates the simulated pair: pass it with --problem paper")
        try:
            _paper_sim().read_table(args.curve)  # a bad file: one line before any study runs
        except _paper_sim().CurveError as exc:
            _refuse(str(exc))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.problem == "toy":
            problem = toy_problem(args.budget or 150, args.questions)
        else:
            problem = paper_problem(args.budget or 16000, args.k, folder, args.curve)
        if args.space in ("layers", "profile") and problem.model is not None:
            problem.settings["space"] = {"kind": args.space, "layers": 36}
        else:
            problem.settings["space"] = {"kind": args.space}
        grid_points, grid_tokens = run_grid(problem)
        reference_tokens = run_grid(problem, problem.grid_k)[1] if problem.grid_k else grid_tokens
        label, ref_hv = reference_hv(problem, args.space, grid_points)
        print(
            f"{problem.name} space={args.space} budget={problem.budget}: grid of {len(problem.grid)} λ "
            f"hv={hypervolume(grid_points, problem.budget):.4f} (hv_ratio={hypervolume(grid_points, problem.budget) / ref_hv:.3f}) "
            f"tokens={grid_tokens} at the study's k; reference: {label} hv={ref_hv:.4f}"
        )
        if problem.grid_k:
            print(f"token reference: the paper's grid, {len(problem.grid)} λ at k={problem.grid_k}: tokens={reference_tokens}")
        overrides = {"sampler": args.sampler} if args.sampler else {}
        if args.trials is not None:
            overrides["trials"] = args.trials
        hv_ratios, token_ratios, holdout_ratios, same_k_ratios, target_ratios, random_ratios = [], [], [], [], [], []
        gaps, overs = [], []
        for seed in args.seeds:
            study = run_one(problem, {**overrides, "seed": seed}, folder, f"study{seed}", ref_hv)
            hv_ratios.append(study.hv / ref_hv)
            token_ratios.append(study.tokens / reference_tokens)
            holdout_ratios.append(study.holdout_tokens / reference_tokens)
            same_k_ratios.append(study.tokens / grid_tokens)
            target_ratios.append(study.to_target / reference_tokens if study.to_target is not None else float("nan"))
            gaps.append(study.chosen_gap)
            overs.append(study.chosen_over)
            print(
                f"study  seed {seed}: {study.trials} trials ({study.full} fully scored) hv={study.hv:.4f} "
                f"tokens={study.tokens} hv_ratio={hv_ratios[-1]:.3f} token_ratio={token_ratios[-1]:.3f} "
                f"chosen_gap={gaps[-1]:.2f} chosen_over={overs[-1]:.1f}% holdout_token_ratio={holdout_ratios[-1]:.3f} "
                f"tokens_to_{TARGET:.0%}={target_ratios[-1]:.3f} (same-k grid: {same_k_ratios[-1]:.3f}) chosen {study.chosen}"
            )
            print(f"       seed {seed}: {study.stop}")
            if not args.no_random:
                random = run_random(problem, seed, study.tokens, grid_tokens, folder, ref_hv)
                random_ratios.append(random.hv / ref_hv)
                print(
                    f"random seed {seed}: {random.trials} trials at the same spend hv={random.hv:.4f} "
                    f"tokens={random.tokens} hv_ratio={random_ratios[-1]:.3f}"
                )
        tail = f" random_hv_ratio={statistics.fmean(random_ratios):.3f}" if random_ratios else ""
        print(
            f"hv_ratio={statistics.fmean(hv_ratios):.3f} token_ratio={statistics.fmean(token_ratios):.3f} "
            f"chosen_gap={statistics.fmean(gaps):.2f} chosen_over={max(overs):.1f}% "
            f"holdout_token_ratio={statistics.fmean(holdout_ratios):.3f} "
            f"tokens_to_{TARGET:.0%}={statistics.fmean(target_ratios):.3f} "
            f"same_k_token_ratio={statistics.fmean(same_k_ratios):.3f}{tail}"
        )


def _refuse(line: str) -> None:
    """Bad input: one line, exit 2, nothing run."""
    print(line, file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__":
    main()
