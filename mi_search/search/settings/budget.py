"""Token budgets as users write them: `4000tokens`, `4000 tokens`, `4000`, `4k`."""

from __future__ import annotations

import re

from mi_search.errors import UserError

_BUDGET = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>k|tokens?)?", re.IGNORECASE)


def parse_budget(text: str) -> int:
    """Mean response tokens a point may spend; a positive whole number of tokens."""
    match = _BUDGET.fullmatch(text.strip())
    if match is None:
        raise UserError(f"cannot read budget {text!r}; write it like 4000tokens, 4000 or 4k")
    value = float(match["number"]) * (1000 if (match["unit"] or "").lower() == "k" else 1)
    if value <= 0 or value != int(value):
        raise UserError(f"budget {text!r} must be a positive whole number of tokens, like 4000tokens or 4k")
    return int(value)
