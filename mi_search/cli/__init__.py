"""The `mi-search` command line: thin commands over the library."""

from mi_search.cli import plan, study, tools  # noqa: F401 - importing them registers their commands, in help order
from mi_search.cli import front  # noqa: F401 - after the study commands, as help lists them
from mi_search.cli.app import app, main

__all__ = ["app", "main"]
