"""Imported first by the forkserver of `tests.forked`, and only there: the command line's process set-up, before the
libraries it configures are imported, as `python -m mi_search` does it. Its import has this one side effect by
design; nothing else imports it."""

from mi_search.cli.process import configure_process

configure_process()
