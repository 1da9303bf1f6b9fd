"""`python -m mi_search` runs the CLI."""

from mi_search.cli import main

main()
