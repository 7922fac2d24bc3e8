"""The hunt button in the real page (headless Chromium, live Daphne, the Dask cluster started on demand): find a
counterexample on a mutated Raft, open it, see the violation marked and the badge red, save it, replay the link.

Screenshots go to test-artifacts/hunt-*.png.
"""

import json

import pytest

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

MUTATED_RAFT = {"protocol": "raft", "seed": 1, "mutations": ["vote_without_log_check"]}


def open_with_first_scenario(page, url, scenario):
    """Open `url`; the page's first `start` carries `scenario` (as if chosen in the settings dialog); later
    starts (opening the counterexample) go through untouched."""
    first = [True]

    def route(ws):
        server = ws.connect_to_server()

        def from_page(message):
            msg = json.loads(message)
            if msg.get("type") == "start" and first[0]:
                first[0] = False
                msg["scenario"] = scenario
                message = json.dumps(msg)
            server.send(message)

        ws.on_message(from_page)

    page.route_web_socket("**/ws/play/**", route)
    page.goto(url)
    page.wait_for_function("window.playground && window.playground.snapshot !== null")


def test_find_open_and_share_a_counterexample(daphne_server, make_page):
    page, errors = make_page(1280, 800)
    open_with_first_scenario(page, f"{daphne_server}/play/raft/?seed=1&speed=1000", MUTATED_RAFT)
    badge = page.locator('.invariant[data-invariant="leader_completeness"]')
    assert "ok" in badge.get_attribute("class")
    page.locator("#hunt").click()
    page.wait_for_selector("#hunt-box:not([hidden])")
    # progress (schedules tried), then shrinking, then the result
    page.wait_for_selector("#hunt-progress, #hunt-shrink, #hunt-found", timeout=60_000)
    found = page.wait_for_selector("#hunt-found", timeout=60_000)
    assert "leader_completeness" in found.inner_text() and "shrunk to" in found.inner_text()
    page.screenshot(path=ARTIFACTS / "hunt-found-1280x800.png")
    page.locator("#hunt-open").click()
    # the counterexample plays to its end and pauses: the violation on the timeline, the badge red
    page.wait_for_function("""() => { const s = window.playground.state;
        return s.scenario && s.scenario.title && s.scenario.title.startsWith('Counterexample') && !s.playing
            && window.playground.snapshot.t === s.scenario.duration; }""", timeout=30_000)
    page.wait_for_selector('.invariant.bad[data-invariant="leader_completeness"]')
    page.wait_for_selector(".tl-mark.violation")
    duration = page.evaluate("window.playground.state.scenario.duration")
    page.screenshot(path=ARTIFACTS / "hunt-opened-1280x800.png")
    # save it as a link: the link replays it, violation and all
    page.click("#share")
    page.wait_for_selector("#share-dialog[open] #share-name")
    page.fill("#share-name", "Raft without the vote's log check")
    page.click("#share-create")
    page.wait_for_selector("#share-result:not([hidden])")
    url = page.input_value("#share-url")
    errors.check()
    other, other_errors = make_page(1280, 800)
    other.goto(url)
    other.wait_for_function(f"""() => window.playground && window.playground.snapshot
        && window.playground.snapshot.t === {duration} && !window.playground.state.playing""", timeout=30_000)
    other.wait_for_selector('.invariant.bad[data-invariant="leader_completeness"]')
    other.wait_for_selector(".tl-mark.violation")
    other_errors.check()


def test_cancel_a_hunt(daphne_server, make_page):
    """A hunt on a correct Raft tries its whole budget: Cancel stops it, and the button works again."""
    page, errors = make_page()
    open_with_first_scenario(page, f"{daphne_server}/play/raft/?seed=2&speed=1000", {"protocol": "raft", "seed": 2})
    page.locator("#hunt").click()
    page.wait_for_selector("#hunt-progress")
    assert page.locator("#hunt").is_disabled()
    page.locator("#hunt-cancel").click()
    page.wait_for_function("document.querySelector('#hunt-box').innerText.includes('Hunt cancelled')")
    assert page.locator("#hunt").is_enabled()
    errors.check()
