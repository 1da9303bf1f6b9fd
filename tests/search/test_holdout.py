"""Which front points get held-out questions: at most `holdout_points`, the most accurate and those that keep
the front's shape."""

from __future__ import annotations

from mi_search.search.running.holdout import worth_rescoring
from mi_search.search.report.results import StudyResult
from mi_search.search.store.trials import TrialRecord


def record(number: int, accuracy: float, tokens: float, *, rescored: bool = False) -> TrialRecord:
    holdout = {"accuracy": accuracy, "objective": accuracy, "mean_tokens": tokens} if rescored else None
    return TrialRecord(number, {"lam": 0.0}, {}, accuracy, tokens, 30, True, True, 0.0, 0, None, holdout, None)


def result(records: list[TrialRecord]) -> StudyResult:
    front = [r.number for r in sorted(records, key=lambda r: r.mean_tokens)]
    return StudyResult("s", 1000, records, front, 0.0, None)


# A front whose knees are 0 (cheap), 3 (the jump) and 6 (the best); the others sit within a hair of them.
FRONT = [
    record(0, 0.40, 100.0),
    record(1, 0.401, 110.0),
    record(2, 0.402, 120.0),
    record(3, 0.70, 300.0),
    record(4, 0.701, 310.0),
    record(5, 0.702, 320.0),
    record(6, 0.80, 500.0),
]


def test_the_knees_of_the_front_come_first():
    assert worth_rescoring(result(FRONT), 3) == [0, 3, 6]


def test_every_point_when_the_front_is_small_enough():
    assert worth_rescoring(result(FRONT), 7) == list(range(7))


def test_points_already_rescored_are_kept_and_count_towards_the_limit():
    records = [*FRONT[:5], record(5, 0.702, 320.0, rescored=True), FRONT[6]]
    chosen = worth_rescoring(result(records), 3)
    assert 5 in chosen and len(chosen) == 3
    assert chosen == [0, 5, 6]  # with 5 kept, 3 adds less than the cheap end and the best


def test_the_most_accurate_point_is_rescored_however_little_area_it_adds():
    """At the budget's edge the best blend adds almost no hypervolume (0.5 points, 10 tokens short of the
    budget): the shape alone would re-score the cheap end and the jump, and the answer would be missed."""
    records = [record(0, 0.40, 100.0), record(3, 0.70, 300.0), record(7, 0.705, 990.0)]
    assert worth_rescoring(result(records), 2) == [3, 7]
    assert worth_rescoring(result(records), 3) == [0, 3, 7]
