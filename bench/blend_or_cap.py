"""Blend, cap, or both? Three fronts of accuracy against mean tokens, on the toy pair and the simulated pair.

Run from the repository root: python -m bench.blend_or_cap [--toy-questions 100] [--out docs/blend_or_cap.png]

- λ only: the global λ grid, no thinking budget (interpolation alone).
- cap only: the Thinking model (λ = 1) under each thinking budget (budget forcing alone).
- both: every (λ, budget) of the grid.
Every point of a pair is scored on the same questions with the same seeds (common random numbers), so
the fronts differ by the settings, not by the draws. Hypervolume is `search.statistics.pareto.hypervolume`
over [0, H] tokens (H per pair, below); "best ≤ B" is the best accuracy of a point spending at most B
mean tokens.

- toy: greedy, k = 1, toy questions through the HF backend on the CPU (`service.sweep.run_sweep`, the
  sweep's own loop), max_new_tokens 160; budgets 8, 16, 32, 64 tokens. Measured, not simulated.
- paper-aime25: the SIMULATED Qwen3-4B pair (`bench/paper_sim`), 30 questions × 64 samples, max 40k
  tokens; budgets 1k to 32k by factors of √2. Its budget forcing is an ASSUMPTION
  (`bench/paper_sim/budget.py`): the fronts show what that assumption implies, not a measurement.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mi_search.search.statistics.pareto import Point, hypervolume, pareto_front

FRONTS = ("λ only", "cap only (λ = 1)", "both")
LAMBDAS = [round(i * 0.1, 2) for i in range(11)]


@dataclass(frozen=True)
class Setting:
    lam: float
    budget: int | None
    accuracy: float
    mean_tokens: float
    forced: float  # share of responses closed by force


@dataclass(frozen=True)
class Pair:
    name: str
    settings: list[Setting]
    reference: float  # the hypervolume's token bound H
    limits: tuple[float, float]  # the two token budgets of "best ≤ B"


def members(settings: Sequence[Setting], front: str) -> list[Setting]:
    if front == FRONTS[0]:
        return [s for s in settings if s.budget is None]
    if front == FRONTS[1]:
        return [s for s in settings if s.lam == 1.0]
    return list(settings)


def front_of(settings: Sequence[Setting]) -> list[Setting]:
    return [settings[i] for i in pareto_front([Point(s.accuracy, s.mean_tokens) for s in settings])]


def table_rows(pair: Pair) -> list[tuple[str, float, float | None, float | None]]:
    """Per front: hypervolume, best accuracy under each token limit (None: no point that cheap)."""
    rows = []
    for front in FRONTS:
        chosen = members(pair.settings, front)
        volume = hypervolume([Point(s.accuracy, s.mean_tokens) for s in chosen], pair.reference)
        best = [max((s.accuracy for s in chosen if s.mean_tokens <= limit), default=None) for limit in pair.limits]
        rows.append((front, volume, *best))
    return rows


def save_settings(pair: Pair, path: Path) -> None:
    """The pair's scored settings as CSV, written before any figure, so a figure can be redrawn from them."""
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lambda", "thinking_budget", "accuracy", "mean_tokens", "forced_close_rate"])
        writer.writerows([s.lam, "" if s.budget is None else s.budget, s.accuracy, s.mean_tokens, s.forced] for s in pair.settings)


def load_settings(path: Path) -> list[Setting]:
    import csv

    with open(path, newline="") as handle:
        return [
            Setting(float(r["lambda"]), int(r["thinking_budget"]) if r["thinking_budget"] else None, float(r["accuracy"]),
                    float(r["mean_tokens"]), float(r["forced_close_rate"]))
            for r in csv.DictReader(handle)
        ]


def toy_pair(n_questions: int) -> Pair:
    from mi_search import open_pair
    from mi_search.backends.settings import HFSettings
    from mi_search.evaluation.decoding import DecodingParams
    from mi_search.evaluation.evaluate import gradable
    from mi_search.merge.pair import PairConfig
    from mi_search.service.sweep import run_sweep
    from mi_search.tasks.math import math_gold
    from mi_search.tasks.toy import toy_questions

    backend = open_pair(PairConfig(), HFSettings(device="cpu"))
    questions, golds = gradable(toy_questions(n_questions), math_gold)
    budgets = (8, 16, 32, 64, None)
    rows, _ = run_sweep(backend, questions, golds, LAMBDAS, k=1, params=DecodingParams(max_new_tokens=160), budgets=budgets)
    settings = [Setting(r.lam, r.budget, r.scores.accuracy, r.scores.mean_tokens, r.scores.forced_close_rate or 0.0) for r in rows]
    return Pair(f"toy pair ({len(questions)} questions, greedy)", settings, 160.0, (60.0, 75.0))


def simulated_pair() -> Pair:
    from bench.paper_sim import PaperModel
    from bench.paper_sim.surface import Effective

    model = PaperModel()
    budgets = [round(1000 * 2 ** (i / 2)) for i in range(11)] + [None]  # 1k … 32k, then none
    settings = []
    for lam in [round(i * 0.05, 2) for i in range(21)]:  # finer than the toy's grid: the fast path is cheap
        for budget in budgets:
            outcomes = model.outcomes(Effective(lam, lam), k=64, seed=0, max_new_tokens=40000, thinking_budget=budget)
            accuracy = sum(o.correct / o.samples for o in outcomes) / len(outcomes)
            tokens = sum(o.mean_tokens for o in outcomes) / len(outcomes)
            settings.append(Setting(lam, budget, accuracy, tokens, float("nan")))  # the fast path does not count closes
    return Pair("simulated Qwen3-4B pair, AIME'25 (30 questions × 64; budget forcing assumed)", settings, 40000.0, (8000.0, 16000.0))


def plot(pairs: Sequence[Pair], out: Path) -> None:
    from mi_search.plots.style import new_figure, paper_style, save

    colours = {FRONTS[0]: "#1f77b4", FRONTS[1]: "#d62728", FRONTS[2]: "#2ca02c"}
    with paper_style():
        figure = new_figure((7.0, 3.4))
        for axis, pair in zip(figure.subplots(1, len(pairs), squeeze=False)[0], pairs):
            axis.scatter([s.mean_tokens for s in pair.settings], [s.accuracy for s in pair.settings], s=6, c="#bbbbbb", label="every (λ, budget)")
            for front in FRONTS:
                points = front_of(members(pair.settings, front))
                style = {"linestyle": "--"} if front == FRONTS[2] else {}
                axis.step([s.mean_tokens for s in points], [s.accuracy for s in points], where="post", marker="o", markersize=3, color=colours[front], label=front, **style)
            axis.set_title(pair.name, fontsize=8)
            axis.set_xlabel("mean tokens")
            axis.set_ylabel("accuracy")
        axis.legend(loc="lower right")
        save(figure, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toy-questions", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("docs/blend_or_cap.png"))
    parser.add_argument("--toy-csv", type=Path, help="redraw from the toy settings a run wrote (beside --out) instead of scoring")
    args = parser.parse_args()
    saved = args.out.with_name(args.out.stem + "_toy.csv")
    if args.toy_csv is not None:
        settings = load_settings(args.toy_csv)
        toy = Pair(f"toy pair (from {args.toy_csv.name}, greedy)", settings, 160.0, (60.0, 75.0))
    else:
        toy = toy_pair(args.toy_questions)
        save_settings(toy, saved)
    pairs = [toy, simulated_pair()]
    for pair in pairs:
        low, high = pair.limits
        print(f"\n{pair.name}: hypervolume over [0, {pair.reference:.0f}] tokens")
        print(f"| front | hypervolume | best accuracy ≤ {low:.0f} tokens | best accuracy ≤ {high:.0f} tokens |")
        print("|---|---|---|---|")
        for front, volume, *best in table_rows(pair):
            shown = ["—" if b is None else f"{b:.3f}" for b in best]
            print(f"| {front} | {volume:.3f} | {shown[0]} | {shown[1]} |")
        print("front points (λ, budget, accuracy, tokens, forced):")
        for front in FRONTS:
            points = front_of(members(pair.settings, front))
            print(f"  {front}: " + ", ".join(f"({s.lam:.1f}, {s.budget}, {s.accuracy:.3f}, {s.mean_tokens:.0f}, {s.forced:.2f})" for s in points))
    plot(pairs, args.out)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
