"""The Figure 16 experiment from the page (issue 14): run 40 trials a row, watch progress, see the chart with the
paper's points, download the CSV, save as link and reopen: the same numbers, equal to a headless
`python -m simulator experiment` of the same spec. No console errors, no CSP violation."""

import json
import subprocess
import sys

import pytest

from playground.experiments import experiment_spec

from .conftest import ARTIFACTS
from .test_csp_browser import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser

TRIALS = 40
PAPER_MARKERS = ["paper 150-155 ms: median 287", "paper 150-200 ms: max 513", "paper 12-24 ms: max 152"]


def _run_to_the_end(page, timeout=180_000):
    page.wait_for_function("window.experiments.result !== null && !window.experiments.running", timeout=timeout)
    return page.evaluate("() => window.experiments.result.variants")


def _headless_cli(tmp_path, rows):
    spec = experiment_spec("raft-figure16", trials=TRIALS, seed=1, rows=rows)
    path = tmp_path / "figure16.json"
    path.write_text(json.dumps(spec))
    out = subprocess.run([sys.executable, "-m", "simulator", "experiment", str(path), "--quiet"],
                         capture_output=True, text=True, check=True, timeout=300)
    return json.loads(out.stdout.strip().split("\n")[-1])["variants"]


def test_figure16_runs_from_the_page_and_its_saved_link_reruns_to_the_same_numbers(daphne_server, make_page,
                                                                                 tmp_path):
    page, errors = make_page(1280, 720)
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(daphne_server + "/experiments/")
    page.click("[data-experiment='raft-figure16'] a")
    page.wait_for_selector("#conn[data-state='open']")
    assert page.locator("input[name='row']:checked").count() == 7
    page.fill("#exp-trials", str(TRIALS))
    assert page.text_content("#exp-total") == f"{7 * TRIALS} trials"
    page.click("#exp-run")

    # progress advances, row by row, before the result comes
    page.wait_for_function("window.experiments.progress && window.experiments.progress.done > 0", timeout=60_000)
    first = _run_to_the_end(page)
    seen = page.evaluate("() => window.experiments.progressSeen")
    assert seen[-1] == 7 * TRIALS and any(0 < done < 7 * TRIALS for done in seen), seen
    assert seen == sorted(seen)
    assert page.locator("#exp-progress-rows progress").count() == 7
    assert page.text_content("#exp-progress-total").strip() == "280 / 280"

    # the chart: a uPlot canvas with our seven CDFs and the paper's published points as their own series
    assert page.locator("#exp-chart .uplot canvas").count() == 1
    labels = page.evaluate("() => window.experiments.chart.series.slice(1).map((s) => s.label)")
    assert len(labels) == 7 + len(PAPER_MARKERS)
    assert all(marker in labels for marker in PAPER_MARKERS), labels
    assert page.evaluate("() => window.experiments.chart.series.filter((s) => s.label.startsWith('paper'))"
                         ".every((s) => s.points.show)")
    # the table: ours beside the paper's
    row = page.locator("#exp-table tbody tr", has_text="150-155 ms")
    assert "median 287" in row.locator("td.paper").text_content()
    page.screenshot(path=str(ARTIFACTS / "experiments-figure16-1280x720.png"), full_page=True)

    # CSV download: a line per trial, the header naming the metrics
    with page.expect_download() as dl:
        page.click("#exp-csv")
    download = dl.value
    assert download.suggested_filename == f"raft-figure16-seed1-trials{TRIALS}.csv"
    lines = open(download.path()).read().strip().split("\n")
    assert lines[0] == "variant,trial,seed,downtime_ms,elections"
    assert len(lines) == 1 + 7 * TRIALS
    assert lines[1].startswith('"150-150 ms",0,1,')  # 150-150 never elects here: downtime empty
    assert lines[1].split(",")[3] == ""

    with page.expect_download() as dl:
        page.click("#exp-json")
    saved = json.loads(open(dl.value.path()).read())
    assert saved["variants"] == first and len(saved["rows"]) == 7 * TRIALS
    assert saved["experiment"]["trials"] == TRIALS and len(saved["experiment"]["sweep"]) == 7

    # save as link, open it elsewhere: it reruns by itself to identical numbers
    page.uncheck("input[name='row'][value='0']")  # a changed form does not change the saved run's link
    page.check("input[name='row'][value='0']")
    page.click("#exp-save")
    link = page.get_attribute("#exp-link-a", "href")
    assert f"trials={TRIALS}" in link and "seed=1" in link and "run=1" in link
    assert page.evaluate("() => window.__csp") == []
    errors.check()

    again, again_errors = make_page(1024, 768)
    again.add_init_script(RECORD_VIOLATIONS)
    again.goto(link)
    assert again.input_value("#exp-trials") == str(TRIALS)
    second = _run_to_the_end(again)
    assert second == first
    again.screenshot(path=str(ARTIFACTS / "experiments-figure16-1024x768.png"), full_page=True)
    assert again.evaluate("() => window.__csp") == []
    again_errors.check()

    assert _headless_cli(tmp_path, list(range(7))) == first


def test_a_saved_link_of_some_rows_on_a_phone(daphne_server, make_page):
    """?rows= picks the rows; the page fits a phone (nothing wider than the screen but the table's own scroller)."""
    page, errors = make_page(390, 844, is_mobile=True, has_touch=True)
    page.goto(daphne_server + "/experiments/raft-figure16/?trials=20&seed=4&rows=2,4,6&run=1")
    variants = _run_to_the_end(page)
    assert [v["label"] for v in variants] == ["150-155 ms", "150-200 ms", "12-24 ms"]
    assert all(v["metrics"]["downtime_ms"]["trials"] == 20 for v in variants)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "experiments-figure16-390x844.png"), full_page=True)
    errors.check()


def test_the_gossip_chart_draws_rounds_against_n_with_the_theory(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    page.goto(daphne_server + "/experiments/gossip-spread/?trials=2&rows=0,1,2&run=1")
    _run_to_the_end(page)
    labels = page.evaluate("() => window.experiments.chart.series.slice(1).map((s) => s.label)")
    assert labels == ["ours: push", "reference: push", "ours: pull", "reference: pull", "ours: push_pull",
                      "reference: push_pull"]
    page.screenshot(path=str(ARTIFACTS / "experiments-gossip-1280x720.png"), full_page=True)
    errors.check()


def test_the_twophase_chart_draws_time_uncertain_against_the_coordinators_return(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    page.goto(daphne_server + "/experiments/twophase-blocking/?trials=3&run=1")
    variants = _run_to_the_end(page)
    assert len(variants) == 15
    labels = page.evaluate("() => window.experiments.chart.series.slice(1).map((s) => s.label)")
    assert labels == ["ours: 2pc", "reference: 2pc", "ours: 2pc cooperative", "reference: 2pc cooperative",
                      "ours: 3pc", "reference: 3pc"]
    page.screenshot(path=str(ARTIFACTS / "experiments-twophase-1280x720.png"), full_page=True)
    errors.check()


def test_a_result_that_comes_in_parts_is_joined_by_the_page(daphne_server, make_page):
    """The server splits a result too long for one WebSocket message into `result_part`s (the consumer tests check
    the split); here the route splits a short one the same way, and the page shows what it would have shown."""
    page, errors = make_page(1024, 768)
    whole = []

    def route(ws):
        server = ws.connect_to_server()

        def from_server(message):
            msg = json.loads(message)
            if msg["type"] != "result":
                ws.send(message)
                return
            whole.append(msg)
            text = json.dumps(msg)
            size = len(text) // 3 + 1
            chunks = [text[i:i + size] for i in range(0, len(text), size)]
            for i, chunk in enumerate(chunks):
                ws.send(json.dumps({"type": "result_part", "part": i, "parts": len(chunks), "text": chunk}))

        server.on_message(from_server)
        ws.on_message(lambda message: server.send(message))

    page.route_web_socket("**/ws/experiments/**", route)
    page.goto(daphne_server + "/experiments/raft-figure16/?trials=10&rows=6&run=1")
    variants = _run_to_the_end(page)
    assert whole and variants == whole[0]["variants"]
    assert page.locator("#exp-table tbody tr").count() == 1
    errors.check()


def test_cancel_stops_the_run_and_run_starts_another(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    page.goto(daphne_server + "/experiments/raft-figure16/?trials=250&rows=0,1")
    page.wait_for_selector("#conn[data-state='open']")
    page.click("#exp-run")
    page.wait_for_function("window.experiments.running && window.experiments.progress !== null")
    assert page.is_enabled("#exp-cancel") and not page.is_enabled("#exp-run")
    page.click("#exp-cancel")
    page.wait_for_function("!window.experiments.running")
    assert page.text_content("#exp-message") == "Cancelled."
    assert page.evaluate("() => window.experiments.result") is None
    assert page.is_disabled("#exp-csv")
    page.fill("#exp-trials", "5")
    page.click("#exp-run")
    variants = _run_to_the_end(page)
    assert [v["metrics"]["downtime_ms"]["trials"] for v in variants] == [5, 5]
    errors.check()
