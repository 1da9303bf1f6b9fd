"""Token budgets as users write them: `4000tokens`, `4000 tokens`, `4000`, `4k`."""

from __future__ import annotations

import re

from mi_search.errors import UserError

# No model answers with more tokens than this on average; a larger number is a typo (1 and 100 zeros
# would otherwise be stored as a rounded float and break the plots' axes).
MAX_BUDGET = 10_000_000
_BUDGET = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>k|tokens?)?", re.IGNORECASE)


def parse_budget(text: str) -> int:
    """Mean response tokens a point may spend; a positive whole number of tokens."""
    match = _BUDGET.fullmatch(text.strip())
    if match is None:
        raise UserError(f"cannot read budget {text!r}; write it like 4000tokens, 4000 or 4k")
    if len(match["number"]) > 20:  # a float of so many digits is rounded before it can be compared
        raise _too_large(text)
    value = float(match["number"]) * (1000 if (match["unit"] or "").lower() == "k" else 1)
    if value <= 0 or value != int(value):
        raise UserError(f"budget {text!r} must be a positive whole number of tokens, like 4000tokens or 4k")
    if value > MAX_BUDGET:
        raise _too_large(text)
    return int(value)


def _too_large(text: str) -> UserError:
    shown = text if len(text) <= 24 else f"{text[:20]}…"
    return UserError(f"budget {shown!r} is more than {MAX_BUDGET:,} tokens, more than any answer spends; give a real budget like 4000tokens")
