"""The bad-input probe's package: every case listed once, `--only` selects as before, outcomes classified."""

from __future__ import annotations

import pytest

from bench.bad_input_probe.cases import all_cases
from bench.bad_input_probe.classify import classify


def test_every_case_has_a_unique_name_and_round_3_keeps_its_prefix():
    cases = all_cases()
    assert len(cases) >= 479 and len({c.name for c in cases}) == len(cases)
    assert sum(c.name.startswith("r3-") for c in cases) >= 33
    assert all(c.category.startswith("r3 ") for c in cases if c.name.startswith("r3-"))


@pytest.mark.parametrize(
    "code, stdout, stderr, kind",
    [
        (2, "", "error: bad budget\n", "one-line"),
        (1, "", "error: unexpected KeyError: 'x'\n", "unexpected"),
        (2, "", "error: a\nwarning: b\n", "multi-line"),
        (1, "", "Traceback (most recent call last):\n  x\n", "traceback"),
        (0, "done\n", "", "accepted"),
        (None, "", "", "hang"),
        (2, "error: on stdout\n", "", "unexpected"),
    ],
)
def test_outcomes_are_classified_by_exit_code_and_lines(code, stdout, stderr, kind):
    assert classify(code, stdout, stderr) == kind
