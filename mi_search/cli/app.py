"""The `mi-search` Typer application, its console, and how bad input ends."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from mi_search.errors import UserError

app = typer.Typer(
    name="mi-search",
    help="Search the interpolation between an Instruct and a Thinking model for the best accuracy per token.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
toy_app = typer.Typer(help="The bundled toy Instruct/Thinking pair.", no_args_is_help=True)
app.add_typer(toy_app, name="toy")
console = Console()


def reports_user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input ends as one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def main() -> None:
    app()
