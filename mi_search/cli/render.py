"""What a study shows in the terminal: its steps, a bar per trial and one overall, then the front as a table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from rich.console import Console
from rich.status import Status
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from typing_extensions import Self

if TYPE_CHECKING:
    from mi_search.evaluation.decoding import DecodingParams
    from mi_search.evaluation.evaluate import Evaluation
    from mi_search.merge.spec import LambdaSpec
    from mi_search.search.results import StudyResult


class Numbered(Protocol):
    """What the progress display needs of a trial: its number."""

    number: int


class ConsoleObserver:
    """A StudyObserver for the terminal: a spinner per step, progress bars while trials run."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def step(self, message: str) -> Status:
        return self.console.status(message)

    @contextmanager
    def trials(self, total: int, questions: int) -> Iterator[StudyProgress]:
        with StudyProgress(self.console, total, questions) as progress:
            yield progress


class StudyProgress:
    """A TrialObserver drawing rich progress bars: overall trials, and questions scored in the current trial."""

    def __init__(self, console: Console, trials: int, questions: int) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        )
        self.overall: TaskID = self.progress.add_task("trials", total=trials)
        self.current: TaskID = self.progress.add_task("waiting for the first trial", total=questions)

    def __enter__(self) -> Self:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def trial_started(self, trial: Numbered, spec: LambdaSpec, params: DecodingParams) -> None:
        self.progress.reset(self.current, description=f"trial {trial.number}: {spec.describe()}")

    def rung_scored(self, trial: Numbered, scored: int, total: int) -> None:
        self.progress.update(self.current, completed=scored, total=total)

    def trial_finished(self, trial: Numbered, evaluation: Evaluation) -> None:
        s = evaluation.scores
        self.progress.update(self.current, completed=self.progress.tasks[self.current].total)
        self.progress.update(
            self.overall,
            advance=1,
            description=f"trials (last: acc {s.accuracy:.3f}, {s.mean_tokens:.0f} tokens, Think #R {s.think_ratio:.2f})",
        )

    def trial_failed(self, trial: Numbered) -> None:
        self.progress.update(self.current, description=f"trial {trial.number}: failed")


def front_table(result: StudyResult) -> Table:
    """The front, fewest tokens first; the chosen point in bold with a star."""
    table = Table(
        title=f"{result.name}: Pareto front (budget {result.budget} tokens, hypervolume {result.hypervolume:.3f})"
    )
    for column in ("trial", "λ", "accuracy", "mean tokens", "Think #R", "stage", "held-out acc", "held-out tok"):
        table.add_column(column, justify="right")
    for number in result.front:
        r = result.record(number)
        holdout = r.holdout or {}
        chosen = number == result.chosen
        table.add_row(
            f"{'★ ' if chosen else ''}{number}",
            _params_cell(r.params),
            f"{r.accuracy:.3f}",
            f"{r.mean_tokens:.1f}",
            f"{r.scores['think_ratio']:.2f}",
            f"{r.stage}{' overthinking' if r.overthinking else ''}",
            f"{holdout['objective']:.3f}" if holdout else "-",
            f"{holdout['mean_tokens']:.1f}" if holdout else "-",
            style="bold green" if chosen else None,
        )
    return table


def _params_cell(params: dict) -> str:
    """`0.62` for a global λ; `attention=0.40 mlp=0.80 …` for a λ vector, decoding parameters after."""
    if list(params) == ["lam"]:
        return f"{params['lam']:.2f}"
    return " ".join(f"{name.removeprefix('lam_')}={value:.2f}" for name, value in params.items())
