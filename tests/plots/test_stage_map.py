"""The stage map's legend sits beside the axes, so it covers no point, at either end of λ."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg

from mi_search.plots import stage_map

# λ, accuracy, Think #R, mean tokens, stage[, fully scored]: points in every corner of the axes
POINTS = [
    (0.0, 1.0, 0.0, 50.0, 1),
    (0.05, 0.95, 0.0, 52.0, 1, False),
    (0.5, 0.5, 0.5, 80.0, 2),
    (0.95, 0.0, 1.0, 110.0, 3, False),
    (1.0, 0.0, 1.0, 120.0, 3),
]


def test_the_legend_lies_outside_the_axes(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(stage_map, "save", lambda fig, path: figures.append(fig))
    stage_map.plot_stage_map(POINTS, tmp_path / "stage_map.png")
    (fig,) = figures
    FigureCanvasAgg(fig).draw()
    (legend,) = fig.legends
    box = legend.get_window_extent()
    assert len(legend.get_texts()) == 9  # three stages, three series, three of them stopped early
    for axis in fig.axes:
        assert not box.overlaps(axis.get_window_extent())
