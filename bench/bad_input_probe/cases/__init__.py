"""The cases, by class; `all_cases` lists them all, each name once."""

from __future__ import annotations

from collections import Counter

from bench.bad_input_probe.case import Case
from bench.bad_input_probe.cases import inputs, models, round3, round3_use, stores


def all_cases() -> list[Case]:
    c = [
        *inputs.cases(),
        *stores.cases(),
        *models.cases(),
        *stores.resume_cases(),
        *models.plan_cases(),
        *round3.cases(),
        *round3_use.cases(),
        *models.toy_cases(),
    ]
    names = [case.name for case in c]
    assert len(names) == len(set(names)), [n for n, k in Counter(names).items() if k > 1]
    return c
