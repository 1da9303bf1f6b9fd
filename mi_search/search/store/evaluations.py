"""Every scored blend, kept with the Optuna storage, so no study pays twice for the same measurement.

An evaluation is keyed by what decides it: the measurement digest (both checkpoints' fingerprints,
engine kind and dtype, the question set, decoding, k and seed: `identity.measurement_digest`), the
λ of every tensor (so a global λ 0.5 and a modules point with both λ at 0.5 are one blend) and the
decoding the trial sampled. Its value is what the trial stored: scores, per-question outcomes,
questions, mean λ, the tokens it cost, where it came from, and the space point it was measured at.

Where it lives: the user attributes of one Optuna study named `mi-search-evaluations` in the same
storage. Optuna keeps study attributes in SQLite, PostgreSQL and journal storages alike, under its
own locking, so workers on PostgreSQL share the store and nothing else needs a schema or migration.
The study has no trials; `optuna.get_all_study_names` lists it. Entries are only ever added, never
changed; an entry that does not read back (damaged, or of another format) is skipped with one warning.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.storages import BaseStorage

from mi_search.backends.fingerprint import text_fingerprint
from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.scores import Scores
from mi_search.search.store.storage import study_exists

STORE_STUDY = "mi-search-evaluations"
_PREFIX = "evaluation:"
_FORMAT = 1
_REQUIRED = ("format", "measurement", "scores", "outcomes", "questions", "mean_lambda", "generated_tokens", "origin")


class StoreWarning(UserWarning):
    """A stored evaluation could not be read back; it is skipped, never used."""


@dataclass(frozen=True)
class StoredEvaluation:
    """One stored measurement of a blend on one question set."""

    key: str
    measurement: str
    scores: dict[str, float]
    outcomes: dict[str, list]  # packed per-question outcomes, as a trial stores them
    questions: int
    mean_lambda: float
    generated_tokens: int  # what it cost when it was measured
    origin: str  # "<study>#<trial>" (or "<study>#holdout:<trial>") that paid for it
    uniform: float | None = None  # the one λ every tensor had, when they all had the same
    space: dict[str, Any] | None = None  # the space the point was sampled in, and its parameters there
    params: dict[str, Any] | None = None
    stop: dict[str, Any] | None = None  # stopped early, over the budget `over_budget_at`; None: every question scored
    over_budget_at: int | None = None

    def serves(self, budget: int) -> bool:
        """Whether a study with `budget` may take it: a full evaluation always, one stopped over budget only at a budget no larger."""
        return self.stop is None or (self.over_budget_at is not None and budget <= self.over_budget_at)

    @property
    def score_values(self) -> Scores:
        return Scores(**self.scores)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "measurement": self.measurement,
            "scores": self.scores,
            "outcomes": self.outcomes,
            "questions": self.questions,
            "mean_lambda": self.mean_lambda,
            "generated_tokens": self.generated_tokens,
            "origin": self.origin,
            "uniform": self.uniform,
            "space": self.space,
            "params": self.params,
            "stop": self.stop,
            "over_budget_at": self.over_budget_at,
        }


def blend_key(measurement: str, lambdas: dict[str, float], decoding: DecodingParams) -> str:
    """The key of one blend measured one way: per-tensor λ rounded past float noise, names sorted."""
    canonical = {name: round(value, 12) for name, value in sorted(lambdas.items())}
    return text_fingerprint({"measurement": measurement, "lambdas": canonical, "decoding": decoding.key()})


def uniform_lambda(lambdas: dict[str, float]) -> float | None:
    """The λ every tensor gets, when every tensor gets the same one (such a blend is a point of every space)."""
    values = {round(v, 12) for v in lambdas.values()}
    return values.pop() if len(values) == 1 else None


class EvaluationStore:
    """The evaluations of one storage, read once per process and added to as trials finish."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        self._study: optuna.Study | None = None

    def _open(self, create: bool) -> optuna.Study | None:
        if self._study is None:
            if study_exists(self.storage, STORE_STUDY):
                self._study = optuna.load_study(study_name=STORE_STUDY, storage=self.storage)
            elif create:
                self._study = optuna.create_study(study_name=STORE_STUDY, storage=self.storage, load_if_exists=True)
        return self._study

    def get(self, key: str) -> StoredEvaluation | None:
        study = self._open(create=False)
        if study is None:
            return None
        raw = self.storage.get_study_user_attrs(study._study_id).get(_PREFIX + key)
        return None if raw is None else _read(key, raw)

    def put(self, entry: StoredEvaluation) -> None:
        """Add `entry` unless a readable one has its key (two workers measuring one blend keep the first);
        a damaged entry, or one stopped early, is replaced by a full measurement."""
        study = self._open(create=True)
        assert study is not None
        for attempt in range(3):
            there = self.storage.get_study_user_attrs(study._study_id).get(_PREFIX + entry.key)
            kept = None if there is None else _read(entry.key, there, warn=False)
            if kept is not None and (kept.stop is None or entry.stop is not None):
                return  # a readable entry at least as complete is there: the first is kept
            try:
                study.set_user_attr(_PREFIX + entry.key, entry.as_json())
                return
            except optuna.exceptions.StorageInternalError:
                # PostgreSQL refuses the second of two inserts of one key made at the same moment by two
                # workers (SQLite serializes them); read what the other stored and decide again.
                if attempt == 2:
                    raise

    def entries(self, measurement: str) -> list[StoredEvaluation]:
        """Every readable evaluation of `measurement`, in the order they were stored."""
        study = self._open(create=False)
        if study is None:
            return []
        found = []
        for name, raw in self.storage.get_study_user_attrs(study._study_id).items():
            if name.startswith(_PREFIX):
                entry = _read(name.removeprefix(_PREFIX), raw)
                if entry is not None and entry.measurement == measurement:
                    found.append(entry)
        return found


def _read(key: str, raw: Any, *, warn: bool = True) -> StoredEvaluation | None:
    """An entry as stored, or None with one warning when it does not read back whole."""
    try:
        if not isinstance(raw, dict) or any(field not in raw for field in _REQUIRED) or raw["format"] != _FORMAT:
            raise ValueError("fields missing or another format")
        outcomes = raw["outcomes"]
        columns = [outcomes[name] for name in ("ids", "correct", "samples", "tokens", "think")]
        if len({len(c) for c in columns}) != 1 or len(columns[0]) != raw["questions"]:
            raise ValueError("outcome columns of unequal length")
        scores = {name: float(value) for name, value in raw["scores"].items()}
        Scores(**{**scores, "k": int(scores["k"])})
        if not all(math.isfinite(v) for v in scores.values()):
            raise ValueError("a score is not finite")
        return StoredEvaluation(
            key=key,
            measurement=str(raw["measurement"]),
            scores={**scores, "k": int(scores["k"])},
            outcomes=outcomes,
            questions=int(raw["questions"]),
            mean_lambda=float(raw["mean_lambda"]),
            generated_tokens=int(raw["generated_tokens"]),
            origin=str(raw["origin"]),
            uniform=raw.get("uniform"),
            space=raw.get("space"),
            params=raw.get("params"),
            stop=raw.get("stop"),
            over_budget_at=raw.get("over_budget_at"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if not warn:
            return None
        warnings.warn(f"skipping the damaged stored evaluation {key[:12]} ({exc}); it will be measured again", StoreWarning, 2)
        return None
