"""Pacing for a lesson (issue 12): each protocol opens at a speed where the first narrated line appears within 5 s,
a shared link plays at the speed its sharer was watching at, a long wait is counted down above the feed, and the
control that skips ahead to the next narrated thing (Next, key N) is on screen and in the help."""

import json
import re
import time

import pytest

from simulator.protocols import get_protocol

from .conftest import ARTIFACTS, open_playground

pytestmark = pytest.mark.browser

PROTOCOLS = ["raft", "paxos", "twophase", "gossip", "kafka"]
FIRST_LINE = "document.querySelector('#feed li[data-t]') !== null"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_protocol_opens_at_a_pace_where_something_happens_within_5_s(daphne_server, make_page, protocol):
    page, errors = make_page(1280, 720)
    page.goto(f"{daphne_server}/play/{protocol}/")  # no ?speed: the protocol's own opening speed
    page.wait_for_function("window.playground && window.playground.snapshot !== null")
    if not page.evaluate("window.playground.state.playing"):
        page.click("#play")
    start = time.monotonic()
    page.wait_for_function(FIRST_LINE, timeout=20_000)
    waited = time.monotonic() - start
    speed = page.evaluate("window.playground.state.speed")
    first = page.evaluate("[document.querySelector('#feed li[data-t]').dataset.t, "
                          "document.querySelector('#feed li[data-t]').textContent]")
    print(f"{protocol}: speed {speed}, first line after {waited:.2f} s wall: {first}")
    assert speed == get_protocol(protocol).opening_speed
    assert waited < 5.0, f"{protocol}: first narrated line after {waited:.1f} s ({first})"
    # and not so fast that it is a blur: the first line's simulated moment took at least 0.1 s of wall time
    assert int(first[0]) / speed >= 0.1 or protocol in ("kafka", "gossip"), first
    errors.check()


def test_a_shared_link_opens_at_the_sharers_speed(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    open_playground(page, daphne_server, "raft", speed=400)
    page.wait_for_function("window.playground.snapshot.t > 200", timeout=15_000)
    page.click("#share")
    page.wait_for_selector("#share-dialog[open] #share-name")
    page.click("#share-create")
    page.wait_for_selector("#share-result:not([hidden])")
    url = page.input_value("#share-url")
    other, errors2 = make_page(1280, 720)
    other.goto(url)  # no ?speed in the link: the saved scenario carries it
    other.wait_for_function("window.playground && window.playground.snapshot !== null")
    assert other.evaluate("window.playground.state.speed") == 400
    assert other.evaluate("window.playground.state.scenario.speed") == 400
    assert "1/3 of real time" in other.inner_text("#speed-label")
    # a fresh page of the same protocol still opens at the protocol's pace
    other.goto(f"{daphne_server}/play/raft/")
    other.wait_for_function("window.playground && window.playground.snapshot !== null")
    assert other.evaluate("window.playground.state.speed") == get_protocol("raft").opening_speed
    errors.check()
    errors2.check()


def test_a_long_wait_is_counted_down(daphne_server, make_page):
    """The coordinator crashed after logging COMMIT: the participants wait 600 ms (2.4 s at 2PC's opening speed)
    for a decision that does not come; the wait shows above the feed, and counts down."""
    page, errors = make_page(1280, 720)
    scenario = json.loads((ARTIFACTS.parent / "docs" / "examples" / "twophase-coordinator-crash.json").read_text())
    open_playground(page, daphne_server, "twophase", scenario=scenario, speed=250)
    wait = page.locator("#feed-wait")
    wait.wait_for(state="visible", timeout=15_000)
    first = wait.inner_text()
    assert re.search(r"p\d waits for its decide tx1 timer: \d+\.\d s", first), first
    page.screenshot(path=str(ARTIFACTS / "pacing-countdown-1280x720.png"))
    page.wait_for_timeout(600)  # 0.15 s simulated of a 0.6 s wait (2.4 s of wall time)
    second = wait.inner_text()
    seconds = lambda text: float(re.search(r": (\d+\.\d) s", text).group(1))  # noqa: E731
    assert seconds(second) < seconds(first), (first, second)
    errors.check()


def test_next_is_on_screen_and_in_the_help(daphne_server, make_page):
    page, errors = make_page(1024, 768)
    open_playground(page, daphne_server, "raft")
    button = page.locator("#step-story")
    box = button.bounding_box()
    assert button.is_visible() and box["x"] + box["width"] <= 1024 and box["y"] + box["height"] <= 768
    assert "N" in button.get_attribute("title")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    keys = page.locator("#help dl.keys").inner_text()
    assert re.search(r"\bN\b\s+step to the next thing the feed tells", keys), keys
    errors.check()


def test_kafkas_session_timeout_is_counted_down_and_next_skips_it(daphne_server, make_page):
    """The issue's example: a consumer crashes, and the coordinator waits for its session timeout (4.5 s, 45 s of
    wall time at 1/10 of real time) before the rebalance; the wait is counted down, and Next (N) skips to it."""
    page, errors = make_page(1280, 720)
    scenario = {"protocol": "kafka", "seed": 1, "interventions": [{"at": 1500, "action": "crash", "node": "c2"}]}
    open_playground(page, daphne_server, "kafka", scenario=scenario, speed=100)
    wait = page.locator("#feed-wait")
    page.wait_for_function("document.querySelector('#feed-wait').textContent.includes('session timeout')",
                           timeout=40_000)
    first = wait.inner_text()
    assert re.search(r"the coordinator waits for c2's session timeout .*: at most [34]\.\d s", first), first
    page.screenshot(path=str(ARTIFACTS / "pacing-kafka-countdown-1280x720.png"))
    page.wait_for_timeout(1200)
    seconds = lambda text: float(re.search(r": at most (\d+\.\d) s", text).group(1))  # noqa: E731
    assert seconds(wait.inner_text()) < seconds(first)
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("n")  # skip ahead to the next narrated thing: the coordinator drops c2
    page.wait_for_function("window.playground.snapshot.nodes.broker.state !== 'Stable'", timeout=60_000)
    assert page.evaluate("window.playground.snapshot.t") < 6000 + 1500
    assert "session" in page.inner_text("#feed li[data-t]")  # the line it stopped at tells why
    errors.check()
