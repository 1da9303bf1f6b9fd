"""Bad-input probe: feed the real `mi-search` command line ~480 distinct bad inputs and classify each outcome.

Run from the repository root:

    python -m bench.bad_input_probe [--only TEXT,…] [--jobs 2] [--timeout 120] [--keep] [--list]

Every case runs `python -m mi_search ARGV` in a subprocess, in a fresh folder of its own under a
temporary directory, with a CI-like environment (CI=true, no stdin, no terminal). Its `setup` first
writes whatever the case needs there: a study file, a corrupted copy of the toy pair, a garbage
journal, a copy of a small stored study (built once, before the cases run), a read-only mount.
Everything is kept cheap (4 search and 4 held-out questions, one trial, λ grids of one or two points)
so that an input that is wrongly accepted ends in seconds.

Each outcome is one of:
  one-line    exit code 2 and exactly one non-blank line of output, `error: ...` on stderr (the goal)
  unexpected  one line, but an unexpected error (exit 1): the input reached code that did not check it
  multi-line  a non-zero exit with more than one line of output (a usage panel, warnings, a stray print)
  traceback   a Python traceback anywhere in the output
  accepted    exit code 0: the bad input was taken
  hang        still running after the timeout (killed)
A refused case that leaves a study storage, a report folder or an output behind is listed as well:
a bad input must be refused before anything is stored or written.

Ends with a table by category and the tally, e.g.
`bad inputs: 201; one line: 201; unexpected: 0; multi-line: 0; traceback: 0; accepted: 0; hang: 0`;
exits 1 unless every case ended in one line.

The package: `cases/` (the cases by class), `setups.py` (what a case finds in its folder), `runner.py` (running a
case in a child process), `classify.py` (how it ended, the tally), `__main__.py` (the command).
"""
