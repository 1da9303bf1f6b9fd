"""The HTML front's page: one file that carries plotly.js gzipped, the figure's data, and no early `</script>`."""

from __future__ import annotations

import base64
import gzip
import json
import re

from plotly.offline import get_plotlyjs

from mi_search.tracking.front_html import write_front_html


def _row(trial: int, accuracy: float, tokens: float, **changes) -> dict:
    row = {
        "trial": trial,
        "run": f"t{trial} λ0.{trial}",
        "lambda": f"λ=0.{trial}",
        "accuracy": accuracy,
        "accuracy_low": accuracy - 0.05,
        "accuracy_high": accuracy + 0.05,
        "mean_tokens": tokens,
        "tokens_low": None,
        "tokens_high": None,
        "holdout_accuracy": None,
        "holdout_accuracy_low": None,
        "holdout_accuracy_high": None,
        "holdout_tokens": None,
        "stage": 1,
        "feasible": True,
        "full": True,
        "questions": 16,
        "on_front": True,
        "chosen": False,
    }
    return {**row, **changes}


def test_the_page_carries_plotly_gzipped_and_the_figure_in_well_under_the_inlined_size(tmp_path):
    rows = [_row(0, 0.8, 50.0), _row(1, 0.9, 60.0, chosen=True), _row(2, 0.7, 90.0, stage=3, on_front=False)]
    page = write_front_html(rows, tmp_path / "front.html", title="s: 3 trials </script> done", budget=70)
    text = page.read_text(encoding="utf-8")
    bundle = get_plotlyjs()
    assert page.stat().st_size < 0.5 * len(bundle.encode())  # plotly inlined as-is would be the bundle and more
    packed = re.search(r'<script id="plotly-gz" type="application/gzip;base64">([^<]*)</script>', text).group(1)
    assert gzip.decompress(base64.b64decode(packed)).decode() == bundle
    figure = re.search(r"const figure = (.*);\n", text).group(1)
    assert text.count("</script>") == 2  # the title's `</script>` is escaped inside the figure's JSON
    traces = json.loads(figure)["data"]
    assert sorted(x for t in traces if t.get("meta") == "search" for x in t["x"]) == [50.0, 60.0, 90.0]
