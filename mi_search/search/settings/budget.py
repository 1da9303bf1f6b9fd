"""Token budgets as users write them: `4000tokens`, `4000 tokens`, `4000`, `4k`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mi_search.errors import UserError

if TYPE_CHECKING:
    from mi_search.search.report.results import StudyResult

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


def unbound_budget_line(result: StudyResult) -> str | None:
    """One line when the budget excludes no trial, naming a budget inside the front's token range that would bind.

    A budget above every trial's spend leaves the choice to accuracy alone, which is rarely what a
    user who stated a budget meant (the toy pair's trials spend 57–126 tokens against a 4000 default).
    """
    if not result.records or any(r.mean_tokens > result.budget for r in result.records):
        return None
    most = max(result.records, key=lambda r: r.mean_tokens)
    line = (
        f"budget {result.budget} tokens does not bind: every trial fits under it "
        f"(the most, trial {most.number}, spent {most.mean_tokens:.1f} mean tokens)"
    )
    front = sorted(result.record(n).mean_tokens for n in result.front)
    if len(front) > 1 and front[-1] - front[0] >= 2:
        low, high = front[0], front[-1]
        line += (
            f"; a budget between {low:.0f} and {high:.0f} tokens (the front's range), "
            f"e.g. --budget {round((low + high) / 2)}tokens, would trade accuracy for tokens"
        )
    return line
