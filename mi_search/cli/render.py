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

from mi_search.trial_row import Span

if TYPE_CHECKING:
    from mi_search.evaluation.decoding import DecodingParams
    from mi_search.evaluation.evaluate import Evaluation
    from mi_search.merge.spec import LambdaSpec
    from mi_search.search.report.results import StudyResult


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

    def note(self, message: str) -> None:
        self.console.print(message, soft_wrap=True, highlight=False, markup=False)


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


OFF_FRONT_NOTE = (
    "\n † off the search front: on the search questions another point scored at least as well for no more tokens;"
    " it was re-scored beside the choice"
)


def front_table(result: StudyResult) -> Table:
    """The front, fewest tokens first; the chosen point in bold with a star, and marked † where it is off the
    search front (re-scored beside the choice; on the search questions another point matched it for fewer tokens)."""
    table = Table(
        title=f"{result.name}: Pareto front (budget {result.budget} tokens, hypervolume {result.hypervolume:.3f})"
    )
    for column in ("trial", "λ", "accuracy", "mean tokens", "Think #R", "stage", "held-out acc", "held-out tok"):
        # Words stay whole: a header never breaks mid-word ("accurac/y"); a narrow terminal wraps at spaces.
        table.add_column(column, justify="right", min_width=max(len(word) for word in column.split()))
    shown = list(result.front)
    off_front = result.chosen is not None and result.chosen not in shown
    if off_front:
        shown = sorted([*shown, result.chosen], key=lambda n: (result.row(n).mean_tokens, n))
    for number in shown:
        r = result.row(number)
        holdout = r.holdout or {}
        table.add_row(
            f"{'★ ' if r.chosen else ''}{number}{'†' if r.chosen and off_front else ''}",
            _params_cell(r.params),
            _with_interval(r.objective, r.interval("objective")),
            f"{r.mean_tokens:.1f}",
            f"{r.think_ratio:.2f}",
            f"{r.stage}{' overthinking' if r.overthinking else ''}",
            _with_interval(holdout["objective"], r.interval("holdout_objective")) if holdout else "-",
            f"{holdout['mean_tokens']:.1f}" if holdout else "-",
            style="bold green" if r.chosen else None,
        )
    caption = choice_line(result)
    if caption and off_front:
        caption += OFF_FRONT_NOTE
    if caption:
        table.caption = caption
    return table


def print_table(console: Console, table: Table) -> None:
    """`table` at its natural width when output is not a terminal: a pipe, a log or CI has no width to fit,
    and rich's default of 80 columns there wraps every row over 2–4 lines."""
    if console.is_terminal:
        console.print(table)
        return
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    caption, table.caption = table.caption, None  # a caption wraps to the table's width: one line of its own instead
    # console.print(width=...) only narrows; a console as wide as the table writes it unwrapped to the same file
    Console(file=console.file, width=max(console.width, natural)).print(table)
    if caption:
        console.print(caption, soft_wrap=True, highlight=False, markup=False)


def _with_interval(value: float, span: Span | None) -> str:
    """`0.745 ± 0.061` where per-question outcomes give an interval."""
    if span is None or span.n < 2:
        return f"{value:.3f}"
    return f"{value:.3f} ± {span.half_width:.3f}"


def _params_cell(params: dict) -> str:
    """`0.62` for a global λ; per-module λ; a per-layer vector as its per-module mean and depth profile."""
    from mi_search.search.settings.space import describe_params

    return describe_params(params)


def choice_line(result: StudyResult) -> str | None:
    """Which rule chose the point, by what held-out margins, and the alternatives it was chosen among."""
    c = result.choice
    if c is None:
        return None
    line = f"chosen: trial {c.number} by rule {c.rule.value}"
    if c.number == c.best:
        line += " (the best held-out accuracy within the budget)"
    elif c.margin is not None and c.loss_bound is not None:
        line += (
            f" (held-out accuracy {c.accuracy_diff:+.3f} vs the best, trial {c.best}; it gives up at most "
            f"{c.loss_bound:.3f} at {c.level:.0%}, under the margin {c.margin:g}; {c.tokens_saved:.0f} tokens saved)"
        )
    elif c.accuracy_diff is not None:
        line += (
            f" (held-out accuracy {c.accuracy_diff:+.3f} vs the best, trial {c.best}; upper bound "
            f"{c.accuracy_bound:+.3f} at {c.level:.0%}: not significantly below; {c.tokens_saved:.0f} tokens saved)"
        )
    others = [a for a in c.alternatives if a.trial != c.number]
    if others:
        shown = "; ".join(
            f"{a.name} trial {a.trial}: {a.accuracy:.3f} at {a.tokens:.1f} tokens"
            + (f", gives up ≤ {a.loss_bound:.3f}" if a.loss_bound is not None else "")
            for a in others
        )
        line += f"\n alternatives: {shown}"
    return line