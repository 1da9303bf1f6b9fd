"""The `mi-search` Typer application, its console, the process set-up, and how errors end."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from mi_search.diskspace import disk_full
from mi_search.errors import UserError
from mi_search.cli.process import check_working_folder

try:  # typer 0.2x carries its own copy of click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click.exceptions import NoArgsIsHelpError, UsageError


def one_line(message: str) -> str:
    """A message as one line: a newline or other control character in a value the user typed shows escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message).strip())


@contextmanager
def _usage_in_one_line() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:
        raise  # `mi-search` alone prints the help
    except UsageError as exc:
        where = f"{exc.ctx.command_path} --help" if exc.ctx is not None else "mi-search --help"
        text = " ".join(exc.format_message().split())
        typer.echo(f"error: {one_line(text)} (see {where})", err=True)
        raise typer.Exit(2) from None


class OneLineUsage(TyperGroup):
    """Click's usage errors (an unknown option, a value of the wrong type or out of range) end as one line, exit 2."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        with _usage_in_one_line():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _usage_in_one_line():  # a subcommand parses its options in here
            return super().invoke(ctx)


app = typer.Typer(
    cls=OneLineUsage,
    name="mi-search",
    help="Search the interpolation between an Instruct and a Thinking model for the best accuracy per token. "
    "Add --debug anywhere to see the traceback of an unexpected error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
toy_app = typer.Typer(help="The bundled toy Instruct/Thinking pair.", no_args_is_help=True)
app.add_typer(toy_app, name="toy")
console = Console()
_debug = False


def reports_user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input ends as one line on stderr and exit code 2; an unexpected error as one line naming it, exit 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            typer.echo(f"error: {one_line(str(exc))}", err=True)
            raise typer.Exit(2) from None
        except (typer.Exit, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            if _debug:
                raise
            full = disk_full(exc)
            if full is not None:
                typer.echo(f"error: {one_line(full)}", err=True)
                raise typer.Exit(2) from None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            typer.echo(f"error: unexpected {type(exc).__name__}: {one_line(first)} (rerun with --debug for the traceback)", err=True)
            raise typer.Exit(1) from None

    return wrapper


def main() -> None:
    global _debug
    if "--debug" in sys.argv:
        sys.argv.remove("--debug")
        _debug = True
    try:
        check_working_folder()
    except UserError as exc:
        typer.echo(f"error: {one_line(str(exc))}", err=True)
        raise SystemExit(2) from None
    app()
