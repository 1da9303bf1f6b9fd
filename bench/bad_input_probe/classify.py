"""How a case ended (one line, unexpected, multi-line, traceback, accepted, hang), and the tally by category."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.bad_input_probe.case import Outcome


def classify(code: int | None, stdout: str, stderr: str) -> str:
    if code is None:
        return "hang"
    if "Traceback (most recent call last)" in stdout + stderr:
        return "traceback"
    if code == 0:
        return "accepted"
    lines = [line for line in (stdout + stderr).splitlines() if line.strip()]
    if len(lines) != 1:
        return "multi-line"
    if code == 2 and lines[0].startswith("error: ") and lines[0] in stderr:
        return "one-line"
    return "unexpected"


KINDS = ("one-line", "correct", "unexpected", "multi-line", "traceback", "accepted", "wrong", "hang")
GOOD = ("one-line", "correct")  # refused in one line, or (a scenario of valid use) run as it should


def report(outcomes: list[Outcome]) -> bool:
    by_category: dict[str, Counter] = defaultdict(Counter)
    for outcome in outcomes:
        by_category[outcome.case.category][outcome.kind] += 1
    width = max(len(c) for c in by_category)
    header = f"{'category':<{width}}  {'cases':>5}  " + "  ".join(f"{k:>10}" for k in KINDS)
    print("\n" + header + "\n" + "-" * len(header))
    for category, counts in by_category.items():
        print(f"{category:<{width}}  {sum(counts.values()):>5}  " + "  ".join(f"{counts[k]:>10}" for k in KINDS))
    bad = [o for o in outcomes if o.kind not in GOOD]
    if bad:
        print("\nnot one line:")
        for outcome in sorted(bad, key=lambda o: (o.kind, o.case.name)):
            lines = outcome.output.splitlines()
            shown = lines[-1] if lines else ""
            print(f"  [{outcome.kind}] {outcome.case.name} (exit {outcome.code}, {outcome.seconds:.0f} s): {shown[:300]}")
    left = [o for o in outcomes if o.left]
    if left:
        print("\nrefused, but left behind:")
        for outcome in left:
            print(f"  {outcome.case.name}: {', '.join(outcome.left)}")
    tally = Counter(o.kind for o in outcomes)
    print(
        f"\nbad inputs: {len(outcomes)}; one line: {tally['one-line']}; correct: {tally['correct']}; "
        f"unexpected: {tally['unexpected']}; multi-line: {tally['multi-line']}; traceback: {tally['traceback']}; "
        f"accepted: {tally['accepted']}; wrong: {tally['wrong']}; hang: {tally['hang']}"
    )
    return not bad and not left

