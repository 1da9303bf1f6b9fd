"""The study's front as one self-contained HTML page (plotly.js inside, gzipped): MLflow's artifact viewer renders it.

MLflow shows an `.html` artifact in a sandboxed iframe that allows scripts, so the chart is interactive:
hovering a point names its trial, λ, scores with intervals, stage, feasibility and its MLflow run.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
from pathlib import Path
from typing import Any

from mi_search.plots.style import BUDGET_COLOUR, STAGE_EDGES, STAGE_NAMES, UNLABELLED
from mi_search.tracking.front_data import interval_text

SEARCH_META = "search"  # marks the traces that hold one marker per trial (the browser test counts them)
HOLDOUT_META = "holdout"
CHOSEN_META = "chosen"


def _hover(row: dict[str, Any]) -> str:
    stage = STAGE_NAMES.get(row["stage"], "not labelled")
    search = interval_text(row["accuracy"], row["accuracy_low"], row["accuracy_high"], 3)
    tokens = interval_text(row["mean_tokens"], row["tokens_low"], row["tokens_high"], 1)
    holdout = interval_text(row["holdout_accuracy"], row["holdout_accuracy_low"], row["holdout_accuracy_high"], 3)
    holdout_tokens = interval_text(row["holdout_tokens"], None, None, 1)
    scored = "all search questions" if row["full"] else f"stopped early after {row['questions']} questions"
    lines = [
        f"<b>trial {row['trial']}</b>  {row['lambda']}",
        f"search: accuracy {search}, tokens {tokens}",
        f"held-out: accuracy {holdout}, tokens {holdout_tokens}",
        f"{stage}; {'within' if row['feasible'] else 'over'} the budget; {scored}",
        f"run: {row['run'] or '—'}",
    ]
    if row["chosen"]:
        lines.append("<b>chosen point</b>")
    return "<br>".join(lines)


def front_figure(rows: list[dict[str, Any]], *, title: str, budget: int):
    """A plotly figure: trials by stage (partial ones hollow), held-out points beside them, the front, the budget."""
    import plotly.graph_objects as go

    figure = go.Figure()
    groups: dict[tuple[Any, bool], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["stage"], row["full"]), []).append(row)
    for (stage, full), members in sorted(groups.items(), key=lambda item: (item[0][0] or 0, not item[0][1])):
        colour = STAGE_EDGES.get(stage, UNLABELLED)
        name = STAGE_NAMES.get(stage, "not labelled") + ("" if full else " (stopped early)")
        figure.add_trace(
            go.Scatter(
                x=[r["mean_tokens"] for r in members],
                y=[r["accuracy"] for r in members],
                mode="markers",
                name=name,
                meta=SEARCH_META,
                marker={
                    "size": 11,
                    "color": colour if full else "rgba(0,0,0,0)",
                    "line": {"color": colour, "width": 2},
                },
                error_y=_errors(members, "accuracy"),
                error_x=_errors(members, "mean_tokens", low="tokens_low", high="tokens_high"),
                hovertext=[_hover(r) for r in members],
                hoverinfo="text",
            )
        )
    chosen = [r for r in rows if r["chosen"]]
    if chosen:  # a ring around the point, so neither it nor a neighbour is hidden
        figure.add_trace(
            go.Scatter(
                x=[r["mean_tokens"] for r in chosen],
                y=[r["accuracy"] for r in chosen],
                mode="markers",
                name=f"chosen: trial {chosen[0]['trial']}",
                meta=CHOSEN_META,
                marker={"size": 22, "color": "rgba(0,0,0,0)", "line": {"color": "black", "width": 2}},
                hoverinfo="skip",
            )
        )
    held = [r for r in rows if r["holdout_accuracy"] is not None]
    if held:
        figure.add_trace(
            go.Scatter(
                x=[r["holdout_tokens"] for r in held],
                y=[r["holdout_accuracy"] for r in held],
                mode="markers",
                name="held-out re-score",
                meta=HOLDOUT_META,
                marker={"size": 9, "symbol": "diamond-open", "color": "black"},
                error_y=_errors(held, "holdout_accuracy"),
                hovertext=[_hover(r) for r in held],
                hoverinfo="text",
            )
        )
    front = sorted((r for r in rows if r["on_front"]), key=lambda r: r["mean_tokens"])
    if front:
        figure.add_trace(
            go.Scatter(
                x=[r["mean_tokens"] for r in front],
                y=[r["accuracy"] for r in front],
                mode="lines",
                line={"shape": "hv", "color": "black", "width": 1},
                name="Pareto front (feasible, fully scored)",
                hoverinfo="skip",
            )
        )
    most = max((r["mean_tokens"] for r in rows), default=float(budget))
    if budget <= 1.3 * most:
        figure.add_vline(x=budget, line={"color": BUDGET_COLOUR, "dash": "dash"}, annotation_text=f"budget {budget}")
    else:  # a line far right would squeeze every point into the left edge
        figure.add_annotation(
            x=1.0,
            y=0.0,
            xref="paper",
            yref="paper",
            text=f"budget {budget} tokens →",
            showarrow=False,
            xanchor="right",
            yanchor="bottom",
            font={"color": BUDGET_COLOUR},
        )
    figure.update_layout(
        title=title,
        xaxis_title="mean response tokens",
        yaxis_title="accuracy",
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
        hoverlabel={"align": "left"},
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
    )
    return figure


def write_front_html(rows: list[dict[str, Any]], path: Path, *, title: str, budget: int) -> Path:
    """The figure as one HTML file with plotly.js inside: no network needed to view it, here or in MLflow."""
    figure = front_figure(rows, title=title, budget=budget)
    data = figure.to_json().replace("</", "<\\/")  # hover text holds `</b>`: no `</script` may end the script early
    path.write_text(_PAGE.format(plotly=_plotly_gz_b64(), figure=data, config=json.dumps(_CONFIG)), encoding="utf-8")
    return path


# Plotly's own `include_plotlyjs` choices do not fit here: `True` inlines its 4.8 MB bundle (a 4.8 MB page per
# study), `"cdn"` needs the network, and `"directory"` (or a path) loads a file beside the page, which MLflow's
# viewer cannot follow: it shows the page from a `blob:` URL, against which no relative address resolves. So the
# bundle travels gzipped in base64 (about 2.0 MB) and the browser's own DecompressionStream (Chromium 80,
# Firefox 113, Safari 16.4) unpacks it before the figure is drawn: still one file, still offline.
_CONFIG = {"displaylogo": False, "responsive": True}
_PAGE = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><style>html, body, #front {{ height: 100%; margin: 0; }}</style></head>
<body>
<div id="front"></div>
<script id="plotly-gz" type="application/gzip;base64">{plotly}</script>
<script>
(async () => {{
  const packed = Uint8Array.from(atob(document.getElementById("plotly-gz").textContent), c => c.charCodeAt(0));
  const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"));
  const code = document.createElement("script");
  code.textContent = await new Response(stream).text();
  document.head.appendChild(code);
  const figure = {figure};
  Plotly.newPlot("front", figure.data, figure.layout, {config});
}})();
</script>
</body>
</html>
"""


@functools.cache
def _plotly_gz_b64() -> str:
    """The plotly.js bundle that the installed plotly package ships, gzipped (no timestamp: same bytes each time)."""
    from plotly.offline import get_plotlyjs

    return base64.b64encode(gzip.compress(get_plotlyjs().encode(), compresslevel=9, mtime=0)).decode("ascii")


def _errors(rows: list[dict[str, Any]], value: str, *, low: str | None = None, high: str | None = None) -> dict:
    low, high = low or f"{value}_low", high or f"{value}_high"
    if all(r[low] is None for r in rows):
        return {"visible": False}
    return {
        "type": "data",
        "symmetric": False,
        "array": [r[high] - r[value] if r[high] is not None else 0 for r in rows],
        "arrayminus": [r[value] - r[low] if r[low] is not None else 0 for r in rows],
        "thickness": 1,
        "width": 2,
    }
