"""The MLflow UI in a real headless Chromium (Debian's package, driven by Playwright) against a store a study wrote.

Skipped where no Chromium or Playwright is installed, except under CI=true, where `.ci/run` installs both.
Set MI_SEARCH_SCREENSHOTS=DIR to save the runs list and the interactive front as PNGs (the README's docs/).
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
from mi_search.search.settings.request import StudyRequest
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study
from mi_search.tracking.views import runs_url

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
    """A short tracked study, and `mi-search ui` serving its store on 127.0.0.1."""
    root = tmp_path_factory.mktemp("browser")
    uri = f"sqlite:///{root}/mlflow.db"
    runtime = Runtime(storage=f"sqlite:///{root}/s.db", tracking_uri=uri, out=root / "out")
    overrides = {"budget": "4k", "task": {"search_size": 16, "holdout_size": 16}, "name": "browsed", "trials": TRIALS}
    run_study(StudyRequest(overrides=overrides), runtime, backend=open_pair(PairConfig(), HFSettings(device="cpu")))
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
        runs = client.search_runs([experiment.experiment_id])
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
        yield context.new_page()
        browser.close()


def test_the_experiment_opens_on_its_runs_and_lists_the_parent_and_every_trial(served, page):
    url, experiment_id, runs = served
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    trials = sorted(r.info.run_name for r in runs if r.data.tags.get("mi_search.role") == "trial")
    assert len(trials) == TRIALS and all(re.match(r"t\d+ λ", name) for name in trials)

    page.goto(runs_url(url, experiment_id))
    parent_cell = page.locator('[col-id="attributes.`Run Name`"]', has_text=parent.info.run_name).first
    parent_cell.wait_for(timeout=60_000)
    assert "/runs" in page.url  # not the GenAI overview
    parent_cell.locator("button").first.click()  # expand the parent: its trial runs are nested under it
    for name in trials:
        page.get_by_text(name, exact=True).wait_for(timeout=30_000)
    _screenshot(page, "mlflow-runs.png")


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
