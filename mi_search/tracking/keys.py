"""The one place metric and parameter names become MLflow keys (MLflow rejects `pass@4`)."""

from __future__ import annotations

import re

# MLflow accepts alphanumerics, `_`, `-`, `.`, ` `, `/` (and `:` outside Windows: left out to stay portable).
_FORBIDDEN = re.compile(r"[^\w.\- /]")


def metric_key(name: str) -> str:
    """`pass@4` → `pass_at_4`; any other character MLflow forbids becomes `_`."""
    key = _FORBIDDEN.sub("_", name.replace("@", "_at_")).strip("/")
    return key or "_"
