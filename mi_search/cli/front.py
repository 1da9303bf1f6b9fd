"""`mi-search front`: print a stored study's front at any budget, generating nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from mi_search.cli.app import app, console, reports_user_errors
from mi_search.cli.options import StorageOpt
from mi_search.cli.render import front_table, print_table
from mi_search.search.store.locations import DEFAULT_STORAGE


@app.command("front")
@reports_user_errors
def front_command(
    study: Annotated[str, typer.Option("--study", help="Name of the stored study.")],
    budget: Annotated[
        str | None, typer.Option("--budget", help="Mean response tokens, e.g. 3000tokens (default: the study's).")
    ] = None,
    storage: StorageOpt = DEFAULT_STORAGE,
) -> None:
    """Print the feasible front and the chosen point of a stored study at any budget, from its stored evaluations."""
    from mi_search.service.front import front_at

    result = front_at(storage, study, budget)
    print_table(console, front_table(result))
    if result.chosen is None:
        console.print(f"no re-scored front point is within {result.budget} tokens; run the study at that budget to re-score one")
