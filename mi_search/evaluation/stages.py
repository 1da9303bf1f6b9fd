"""The three stages of an Instruct→Thinking interpolation sweep, labelled from measured points.

Rule (`label_stages`):

* Stage 1, no explicit thinking: Think #R < THINK_ONSET.
* Stage 2, thinking emerges: THINK_ONSET ≤ Think #R < THINK_SATURATED.
* Saturated points (Think #R ≥ THINK_SATURATED, i.e. Think #R ≈ 1: the paper calls points at
  93.8 % and 97.1 % stage 2, and its stage-3 points all sit at ≥ 99.6 %) are stage 3, except that
  when every saturated point has an accuracy, the plateau point is the best saturated accuracy and
  stage 3 starts at the smallest saturated λ whose accuracy is "tied" with the plateau's; saturated
  points at smaller λ are still stage 2 (thinking is on but accuracy is still climbing).
* Overthinking (stage-3 points only, and only when every stage-3 point has accuracy and mean tokens):
  the stage's best point has the highest accuracy (ties: fewest tokens); a stage-3 point is
  overthinking when the best point beats it: more tokens for a lower accuracy.

"Tied" and "beats" are a `Comparison`'s. `Tolerance` (the default) reads the point estimates:
tied is within ACCURACY_TOLERANCE, beats is more tokens and lower accuracy. A study passes a
paired comparison over per-question outcomes (`search.report.results.PairedComparison`), so that no stage
boundary and no flag comes from one question's noise; `StagePoint.outcomes` carries what it needs. There,
tied needs evidence of equivalence (the upper bound of the accuracy given up is below ACCURACY_TOLERANCE)
and beats needs a significant difference.

Input order does not matter and duplicate λ are allowed; labels come back in input order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

THINK_ONSET = 0.1  # Think #R below this: stage 1 (no explicit thinking)
THINK_SATURATED = 0.99  # Think #R at or above this: saturated (≈ 1)
ACCURACY_TOLERANCE = 0.02
# Keeps plateau − tolerance from excluding a point that sits exactly on it after float rounding.
_FLOAT_SLACK = 1e-9


@dataclass(frozen=True)
class StagePoint:
    lam: float
    think_ratio: float  # fraction in [0, 1]
    accuracy: float | None = None
    mean_tokens: float | None = None
    outcomes: Any = field(default=None, compare=False)  # per-question outcomes, for a paired Comparison


class Comparison(Protocol):
    """How two labelled points compare: the judgement behind the stage-3 start and the overthinking flag."""

    def tied(self, point: StagePoint, best: StagePoint) -> bool:
        """`point`'s accuracy is within ACCURACY_TOLERANCE of `best`'s (shown, where outcomes allow)."""
        ...

    def beaten(self, point: StagePoint, best: StagePoint) -> bool:
        """`best` (significantly) beats `point`: more tokens for a lower accuracy."""
        ...


class Tolerance:
    """The point estimates' comparison: tied within ACCURACY_TOLERANCE, beaten on any difference."""

    def tied(self, point: StagePoint, best: StagePoint) -> bool:
        return point.accuracy >= best.accuracy - ACCURACY_TOLERANCE - _FLOAT_SLACK

    def beaten(self, point: StagePoint, best: StagePoint) -> bool:
        return point.mean_tokens > best.mean_tokens and point.accuracy < best.accuracy


@dataclass(frozen=True)
class StageLabel:
    stage: int  # 1, 2 or 3
    overthinking: bool


def _check(point: StagePoint) -> None:
    if not math.isfinite(point.lam):
        raise ValueError(f"λ is {point.lam}; every point needs a finite λ")
    if not 0.0 <= point.think_ratio <= 1.0:  # also false for NaN
        raise ValueError(f"think_ratio at λ={point.lam} is {point.think_ratio}; it must be a fraction in [0, 1]")
    for name in ("accuracy", "mean_tokens"):
        value = getattr(point, name)
        if value is not None and math.isnan(value):
            raise ValueError(f"{name} at λ={point.lam} is NaN; give a number or None")


def stage_of(think_ratio: float) -> int:
    """The stage a single point's Think #R suggests, without looking at its neighbours."""
    if not 0.0 <= think_ratio <= 1.0:
        raise ValueError(f"think_ratio is {think_ratio}; it must be a fraction in [0, 1]")
    if think_ratio < THINK_ONSET:
        return 1
    return 3 if think_ratio >= THINK_SATURATED else 2


def _best(points: Sequence[StagePoint]) -> StagePoint:
    return max(points, key=lambda p: (p.accuracy, -(p.mean_tokens or 0.0)))


def _stage3_start(saturated: list[StagePoint], compare: Comparison) -> float | None:
    """The λ where stage 3 begins among saturated points, or None when accuracies are missing."""
    if any(p.accuracy is None for p in saturated):
        return None
    plateau = _best(saturated)
    return min(p.lam for p in saturated if p is plateau or compare.tied(p, plateau))


def _overthinking(stage3: list[StagePoint], compare: Comparison) -> set[int]:
    """Indices into `stage3` of points the stage's best point beats (more tokens, lower accuracy)."""
    if not stage3 or any(p.accuracy is None or p.mean_tokens is None for p in stage3):
        return set()
    best = _best(stage3)
    return {i for i, p in enumerate(stage3) if p is not best and compare.beaten(p, best)}


def stage3_start(points: Sequence[StagePoint], compare: Comparison | None = None) -> float | None:
    """The λ where stage 3 begins among `points`, None when none is saturated or an accuracy is missing."""
    saturated = [p for p in points if stage_of(p.think_ratio) == 3]
    return _stage3_start(saturated, compare or Tolerance()) if saturated else None


def stage_beside(point: StagePoint, start: float | None) -> int:
    """The stage of a point judged beside a labelled sweep whose stage 3 starts at `start` (no flag of its own)."""
    stage = stage_of(point.think_ratio)
    return 2 if stage == 3 and start is not None and point.lam < start else stage


def label_stages(points: Sequence[StagePoint], compare: Comparison | None = None) -> list[StageLabel]:
    """Stage and overthinking flag for every point, aligned with the input order (rule in the module doc)."""
    for point in points:
        _check(point)
    compare = compare or Tolerance()
    start = stage3_start(points, compare)
    stages = [stage_beside(p, start) for p in points]
    stage3 = [i for i, s in enumerate(stages) if s == 3]
    flagged = {stage3[j] for j in _overthinking([points[i] for i in stage3], compare)}
    return [StageLabel(stage, i in flagged) for i, stage in enumerate(stages)]
