"""The `mi-search` Typer application, its console, the process set-up, and how errors end."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from mi_search.diskspace import disk_full
from mi_search.errors import UserError

app = typer.Typer(
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
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except (typer.Exit, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            if _debug:
                raise
            full = disk_full(exc)
            if full is not None:
                typer.echo(f"error: {full}", err=True)
                raise typer.Exit(2) from None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            typer.echo(f"error: unexpected {type(exc).__name__}: {first} (rerun with --debug for the traceback)", err=True)
            raise typer.Exit(1) from None

    return wrapper


def main() -> None:
    global _debug
    if "--debug" in sys.argv:
        sys.argv.remove("--debug")
        _debug = True
    app()
