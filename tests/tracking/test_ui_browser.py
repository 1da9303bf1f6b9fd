"""The MLflow UI in a real headless Chromium (Debian's package, driven by Playwright) against a store a study wrote.

Skipped where no Chromium or Playwright is installed, except under CI=true, where `.ci/run` installs both.
Set MI_SEARCH_SCREENSHOTS=DIR to save the runs list, the front chart, the study's run, the interactive front and
the registered model's page as PNGs (the README's docs/).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from mi_search import open_pair
from mi_search.backends.settings import HFSettings
from mi_search.merge.pair import PairConfig
from mi_search import resolve_pair
from mi_search.search.settings.request import StudyRequest
from mi_search.search.store.storage import open_storage
from mi_search.search.store.study import join_study
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study
from mi_search.tracking.promote import promote
from mi_search.tracking.views import CHOSEN_COLOUR, model_url, run_url, runs_url

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MISSING = not Path(CHROMIUM).exists() or importlib.util.find_spec("playwright") is None
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        MISSING and os.environ.get("CI") != "true", reason="no Chromium or Playwright (apt-get install chromium)"
    ),
]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRIALS = 3


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A short tracked study with its chosen point promoted, and `mi-search ui` serving its store on 127.0.0.1."""
    root = tmp_path_factory.mktemp("browser")
    uri = f"sqlite:///{root}/mlflow.db"
    runtime = Runtime(storage=f"sqlite:///{root}/s.db", tracking_uri=uri, out=root / "out")
    overrides = {"budget": "4k", "task": {"search_size": 8, "holdout_size": 8}, "name": "browsed", "trials": TRIALS}
    run_study(StudyRequest(overrides=overrides), runtime, backend=open_pair(PairConfig(), HFSettings(device="cpu")))
    study, config = join_study(open_storage(runtime.storage), "browsed")
    promote(study, config, resolve_pair(config.pair, None), name="browsed-blend", alias="champion", tracking_uri=uri)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mi_search", "ui", "--port", str(port), "--tracking-uri", uri],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/health")
        client = MlflowClient(url)
        experiment = client.get_experiment_by_name("browsed")
        runs = [r for r in client.search_runs([experiment.experiment_id]) if r.data.tags.get("mi_search.role") != "promote"]
        yield url, experiment.experiment_id, runs
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def page(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 760})
        context.set_default_navigation_timeout(180_000)  # the UI's bundle loads slowly on a busy 2-core machine
        yield context.new_page()
        browser.close()


def test_the_runs_list_shows_every_trial_flat_named_by_trial_and_lambda(served, page):
    url, experiment_id, runs = served
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    trials = sorted(r.info.run_name for r in runs if r.data.tags.get("mi_search.role") == "trial")
    assert len(trials) == TRIALS and all(re.match(r"t\d+ λ", name) for name in trials)

    page.goto(runs_url(url, experiment_id))
    page.locator('[col-id="attributes.`Run Name`"]', has_text=parent.info.run_name).first.wait_for(timeout=60_000)
    assert "/runs" in page.url  # not the GenAI overview
    for name in trials:  # no row to expand: trial runs are listed beside their parent
        page.get_by_text(name, exact=True).wait_for(timeout=30_000)
    _close_assistant(page)
    _screenshot(page, "mlflow-runs.png")


def test_the_front_chart_has_one_point_per_trial_coloured_by_stage_and_the_chosen_one_black(served, page):
    url, experiment_id, runs = served
    trials = [r for r in runs if r.data.tags.get("mi_search.role") == "trial"]
    page.goto(runs_url(url, experiment_id, chart=True))
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "n => [...document.querySelectorAll('.js-plotly-plot')].some(g => (g.data || [])"
        ".reduce((k, t) => k + (t.x || []).length, 0) === n)",
        arg=TRIALS,
        timeout=60_000,
    )
    points = page.evaluate(
        "() => document.querySelector('.js-plotly-plot').data.flatMap(t => t.x.map((x, i) => "
        "[x, t.y[i], Array.isArray(t.marker.color) ? t.marker.color[i] : t.marker.color]))"
    )
    expected = sorted((r.data.metrics["mean_tokens"], r.data.metrics["accuracy"]) for r in trials)
    assert sorted((x, y) for x, y, _ in points) == pytest.approx(expected)
    colours = {r.data.tags["mlflow.runColor"] for r in trials}
    assert {c.lower() for _, _, c in points} == {c.lower() for c in colours}
    chosen = [r for r in trials if r.data.tags["mlflow.runColor"] == CHOSEN_COLOUR]
    assert len(chosen) == 1 and chosen[0].data.metrics["on_front"] == 1.0
    _close_assistant(page)
    _screenshot(page, "mlflow-chart.png")


def test_the_study_run_and_the_registered_model_open_in_the_machine_learning_layout(served, page):
    url, experiment_id, runs = served
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    page.goto(run_url(url, experiment_id, parent.info.run_id))
    page.get_by_text("mi_search.budget", exact=False).first.wait_for(timeout=60_000)
    assert page.get_by_text("Evaluation runs", exact=True).count() == 0  # the GenAI sidebar is not shown
    _close_assistant(page)
    _screenshot(page, "mlflow-study-run.png")

    page.goto(model_url(url, "browsed-blend", "1"))
    page.get_by_text("mi_search.scores", exact=False).first.wait_for(timeout=60_000)
    for key in ("mi_search.study", "mi_search.trial", "mi_search.stage"):
        assert page.get_by_text(key, exact=False).count() >= 1
    _close_assistant(page)
    _screenshot(page, "mlflow-model.png")


def test_the_html_front_renders_one_marker_per_trial_with_hover_text(served, page):
    url, experiment_id, runs = served
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    page.goto(
        f"{url}/#/experiments/{experiment_id}/runs/{parent.info.run_id}/artifacts/pareto_front.html"
        "?workflowType=machine_learning"
    )
    frame = _frame_with_plot(page)
    markers, held, chosen = (
        frame.evaluate(
            f"() => document.querySelector('.js-plotly-plot').data"
            f".filter(t => t.meta === '{meta}').reduce((n, t) => n + t.x.length, 0)"
        )
        for meta in ("search", "holdout", "chosen")
    )
    assert markers == TRIALS and chosen <= 1
    assert frame.locator(".scatterlayer .trace path.point").count() == TRIALS + held + chosen  # drawn, not only data
    # Plotly's drag layer covers the markers, so hover as plotly does on a mouse move: its own Fx.hover.
    frame.evaluate(
        "() => { const gd = document.querySelector('.js-plotly-plot');"
        " const trace = gd.data.findIndex(t => t.meta === 'search');"
        " Plotly.Fx.hover(gd, [{curveNumber: trace, pointNumber: 0}]); }"
    )
    frame.wait_for_function("() => document.querySelector('.hoverlayer').textContent.includes('trial')")
    hover = frame.locator(".hoverlayer").text_content()
    assert "trial" in hover and re.search(r"run: t\d+ λ", hover) and "held-out" in hover
    _screenshot(page, "mlflow-front.png")


def _close_assistant(page):
    """The UI opens its assistant panel beside every page; close it so screenshots show the page itself."""
    page.wait_for_timeout(1000)
    width = page.viewport_size["width"]
    for button in page.get_by_role("button", name="Close").all():
        box = button.bounding_box()
        if box and box["x"] > 0.75 * width and box["y"] < 80:  # the panel's own close, top right
            button.click()
            page.wait_for_timeout(500)
            return


def _frame_with_plot(page):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame != page.main_frame and frame.locator(".js-plotly-plot .scatterlayer").count():
                return frame
        page.wait_for_timeout(500)
    pytest.fail("the HTML front did not render in the artifact viewer within 60 s")


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 240  # mlflow server starts slowly on a busy machine
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within 240 s")


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("MI_SEARCH_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name))
