"""The front as the terminal shows it."""

from __future__ import annotations

from rich.console import Console

from mi_search.cli.render import front_table
from mi_search.search.report.results import result_of
from mi_search.search.settings.config import ChoiceConfig
from mi_search.search.store.trials import TrialRecord


def record(number: int, lam: float, accuracy: float, tokens: float, holdout: float) -> TrialRecord:
    held = {"accuracy": holdout, "objective": holdout, "mean_tokens": tokens}
    scores = {"accuracy": accuracy, "mean_tokens": tokens, "think_ratio": 0.0}
    return TrialRecord(number, {"lam": lam}, scores, accuracy, tokens, 23, True, tokens <= 70, lam, 0, None, held, None)


def test_a_choice_off_the_search_front_is_shown_in_the_table_and_marked():
    # λ 0.25 ties λ 0.2 on the search questions for more tokens (off the front) and beats it on held-out ones
    records = [record(0, 0.0, 0.80, 50, 0.80), record(1, 0.2, 0.90, 60, 0.88), record(2, 0.25, 0.90, 62, 0.91)]
    result = result_of("s", records, 70, ChoiceConfig(), 0.95, "accuracy")
    assert result.front == [0, 1] and result.chosen == 2
    console = Console(width=120, record=True)
    console.print(front_table(result))
    text = console.export_text()
    rows = [line for line in text.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == ["0", "1", "★ 2†"]  # fewest tokens first
    assert "† off the search front" in text
    on_front = result_of("s", records[:2], 70, ChoiceConfig(), 0.95, "accuracy")
    console = Console(width=120, record=True)
    console.print(front_table(on_front))
    assert "†" not in console.export_text()
