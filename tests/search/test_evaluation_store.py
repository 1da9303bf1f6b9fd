"""The evaluation store on each storage a study runs on: SQLite, a journal file and a real PostgreSQL server."""

from __future__ import annotations

import pytest

from mi_search.evaluation.decoding import DecodingParams
from mi_search.search.store.evaluations import EvaluationStore, StoredEvaluation, blend_key
from mi_search.search.store.storage import open_storage
from tests.forked import process

pytestmark = pytest.mark.slow  # the PostgreSQL case starts a server

MEASUREMENT = "m" * 64


def entry(lam: float, *, correct: int = 1, stop: dict | None = None, origin: str = "a#0") -> StoredEvaluation:
    outcomes = {"ids": ["q0", "q1"], "correct": [correct, 0], "samples": [1, 1], "tokens": [10.0, 12.0], "think": [0.0, 1.0]}
    scores = {"k": 1, "accuracy": correct / 2, "pass_at_k": correct / 2, "vote_at_k": correct / 2}
    scores |= {"mean_tokens": 11.0, "think_ratio": 0.5, "truncation_rate": 0.0}
    return StoredEvaluation(
        key=blend_key(MEASUREMENT, {"w": lam}, DecodingParams()),
        measurement=MEASUREMENT,
        scores=scores,
        outcomes=outcomes,
        questions=2,
        mean_lambda=lam,
        generated_tokens=22,
        origin=origin,
        uniform=lam,
        stop=stop,
        over_budget_at=None if stop is None else 11,
    )


def _put_many(url: str, worker: int) -> None:
    store = EvaluationStore(open_storage(url))
    for i in range(10):
        store.put(entry(round(0.05 * i, 2), origin=f"w{worker}#{i}"))


def test_entries_round_trip_and_the_first_full_measurement_is_kept(shared_storage):
    store = EvaluationStore(open_storage(shared_storage))
    assert store.get(entry(0.5).key) is None and store.entries(MEASUREMENT) == []
    store.put(entry(0.5, correct=0, stop={"reason": "over budget"}))  # stopped early
    store.put(entry(0.5, correct=1, origin="b#3"))  # a full measurement replaces it
    store.put(entry(0.5, correct=0, origin="c#1"))  # a second full one does not
    again = EvaluationStore(open_storage(shared_storage))  # another process's view of the same storage
    kept = again.get(entry(0.5).key)
    assert kept is not None and kept.origin == "b#3" and kept.stop is None and kept.scores["accuracy"] == 0.5
    assert [e.origin for e in again.entries(MEASUREMENT)] == ["b#3"]
    assert again.entries("another measurement") == []


def test_two_processes_adding_the_same_blends_at_once_leave_one_readable_entry_each(shared_storage):
    # the storage exists before its workers start, as `mi-search --trials 0` then `mi-search worker` make it
    EvaluationStore(open_storage(shared_storage)).put(entry(0.9, origin="setup#0"))
    workers = [process(_put_many, shared_storage, w) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    found = EvaluationStore(open_storage(shared_storage)).entries(MEASUREMENT)
    assert sorted(e.mean_lambda for e in found) == [round(0.05 * i, 2) for i in range(10)] + [0.9]
    assert all(e.origin.startswith(("w0#", "w1#", "setup#")) for e in found)
