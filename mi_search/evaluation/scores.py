"""Every score a study reports, declared once: its name, direction, display and how it is computed.

CSV columns, report tables, MLflow metrics (keyed in `tracking/keys.py`) and the accuracy objectives
a study may choose are all derived from `SCORE_COLUMNS`; `Scores` has one field per column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from mi_search.evaluation import metrics
from mi_search.evaluation.samples import Sample


@dataclass(frozen=True)
class ScoreColumn:
    name: str  # the `Scores` field, CSV column and JSON key
    display: str  # a table header; `k` is filled in
    direction: Literal["max", "min"] | None  # better when higher or lower; None: descriptive only
    objective: bool = False  # may be a study's accuracy objective
    optional: bool = False  # only some tasks have it (None otherwise)

    def header(self, k: int) -> str:
        return self.display.format(k=k)


SCORE_COLUMNS = (
    ScoreColumn("accuracy", "accuracy", "max", objective=True),  # Mean@k
    ScoreColumn("pass_at_k", "Pass@{k}", "max", objective=True),
    ScoreColumn("vote_at_k", "Vote@{k}", "max", objective=True),
    ScoreColumn("mean_tokens", "mean tokens", "min"),  # Token #N
    ScoreColumn("think_ratio", "Think #R", None),
    ScoreColumn("truncation_rate", "truncated", "min"),
    ScoreColumn("loose_accuracy", "loose accuracy", "max", optional=True),  # IFEval's loose reading
    ScoreColumn("forced_close_rate", "forced close", None, optional=True),  # under a thinking budget only
)
SCORE_NAMES = tuple(column.name for column in SCORE_COLUMNS)
ACCURACY_OBJECTIVES = tuple(column.name for column in SCORE_COLUMNS if column.objective)
AccuracyObjective = Literal[ACCURACY_OBJECTIVES]  # type: ignore[valid-type] - built from the declaration


@dataclass(frozen=True)
class Scores:
    """The paper's metrics for one model on one question set; one field per score column, and k."""

    k: int
    accuracy: float
    pass_at_k: float
    vote_at_k: float
    mean_tokens: float
    think_ratio: float
    truncation_rate: float
    loose_accuracy: float | None = None
    forced_close_rate: float | None = None

    def as_dict(self) -> dict[str, float]:
        """Every score that applies (and k), keyed by column name."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def score_samples(samples: list[list[Sample]], k: int, *, budgeted: bool = False) -> Scores:
    """The metrics of per-question sample lists (the outer list the questions, the inner one its k samples).

    `budgeted`: generated under a thinking budget, so the share of thoughts closed by force is a score.
    """
    correct = [[s.correct for s in row] for row in samples]
    forced = [[s.forced_close for s in row] for row in samples]
    has_loose = all(s.correct_loose is not None for row in samples for s in row)
    return Scores(
        k=k,
        accuracy=metrics.mean_at_k(correct),
        pass_at_k=metrics.mean_pass_at_k(correct, k),
        vote_at_k=metrics.vote_at_k([[s.extracted for s in row] for row in samples], correct),
        mean_tokens=metrics.mean_tokens([[s.num_tokens for s in row] for row in samples]),
        think_ratio=metrics.think_ratio([[s.response for s in row] for row in samples], forced),
        truncation_rate=metrics.truncation_rate([[s.finish_reason for s in row] for row in samples]),
        loose_accuracy=metrics.mean_at_k([[bool(s.correct_loose) for s in row] for row in samples])
        if has_loose
        else None,
        forced_close_rate=metrics.forced_close_rate(forced) if budgeted else None,
    )
