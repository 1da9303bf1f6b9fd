"""The one place metric and parameter names become MLflow keys (MLflow rejects `pass@4`)."""

from __future__ import annotations

import re

from mi_search.evaluation.scores import SCORE_NAMES, Scores

# MLflow accepts alphanumerics, `_`, `-`, `.`, ` `, `/` (and `:` outside Windows: left out to stay portable).
_FORBIDDEN = re.compile(r"[^\w.\- /]")


def metric_key(name: str) -> str:
    """`pass@4` → `pass_at_4`; any other character MLflow forbids becomes `_`."""
    key = _FORBIDDEN.sub("_", name.replace("@", "_at_")).strip("/")
    return key or "_"


def score_key(name: str, k: int) -> str:
    """A score column's key at `k`: `pass_at_k` → `pass_at_4`, `accuracy` → `accuracy`."""
    return metric_key(name.replace("_at_k", f"_at_{k}"))


def score_metrics(scores: Scores) -> dict[str, float]:
    """Every score that applies (not k itself), keyed as MLflow logs it."""
    values = scores.as_dict()
    return {score_key(name, scores.k): float(values[name]) for name in SCORE_NAMES if name in values}
