"""Token budgets as users write them."""

from __future__ import annotations

import pytest

from mi_search.errors import UserError
from mi_search.search.settings.budget import parse_budget


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("4000tokens", 4000),
        ("4000 tokens", 4000),
        ("4000", 4000),
        ("4k", 4000),
        ("4K", 4000),
        ("2.5k", 2500),
        ("1 token", 1),
    ],
)
def test_accepted_forms(text, tokens):
    assert parse_budget(text) == tokens


@pytest.mark.parametrize("text", ["", "abc", "4000 words", "-5", "0", "0k", "4000.5", "k", "4 kilotokens"])
def test_rejected_forms_name_the_fix(text):
    with pytest.raises(UserError, match="4000tokens"):
        parse_budget(text)
