"""Where a study runs and how it reports: the per-process settings, and the observer a front end implements."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import optuna

from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import Evaluation
from mi_search.merge.spec import LambdaSpec
from mi_search.search.store.locations import DEFAULT_STORAGE
from mi_search.tracking.locations import DEFAULT_TRACKING_URI
from mi_search.search.running.objective import TrialObserver


@dataclass(frozen=True)
class Runtime:
    """Where the study is stored, tracked and reported; none of it changes what the study means."""

    storage: str = DEFAULT_STORAGE
    tracking_uri: str | None = DEFAULT_TRACKING_URI  # None: the study is not tracked
    heartbeat: int = 10  # seconds between a running trial's heartbeats (RDB storages)
    out: Path | None = None  # the study folder; default runs/<study>
    promote: str | None = None  # register the chosen point as a new version of this model at the end
    alias: str = "champion"


class StudyObserver(Protocol):
    """What a front end sees of a study: named steps, the trials as they run, front points re-scored."""

    def step(self, message: str) -> AbstractContextManager[object]:
        """A step that takes a while, such as loading the models; its context spans the step."""
        ...

    def trials(self, total: int, questions: int) -> AbstractContextManager[TrialObserver]:
        """The trials of this invocation: `total` of them, each scored on up to `questions` questions."""
        ...

    def note(self, message: str) -> None:
        """One line the user should read: a study continued, a budget that does not bind."""
        ...


class Quiet:
    """An observer that shows nothing: for tests, benchmarks and notebooks."""

    def step(self, message: str) -> AbstractContextManager[object]:
        return nullcontext()

    def trials(self, total: int, questions: int) -> AbstractContextManager[TrialObserver]:
        return nullcontext(_Silent())

    def note(self, message: str) -> None: ...


class _Silent:
    def trial_started(self, trial: optuna.Trial, spec: LambdaSpec, params: DecodingParams) -> None: ...

    def rung_scored(self, trial: optuna.Trial, scored: int, total: int) -> None: ...

    def trial_finished(self, trial: optuna.Trial, evaluation: Evaluation) -> None: ...

    def trial_failed(self, trial: optuna.Trial) -> None: ...
