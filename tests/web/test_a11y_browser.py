"""Accessibility (issue 12): the keyboard reaches nodes and links and their focus shows from the back of a room;
prefers-reduced-motion stops messages gliding; screen readers get a polite summary, not every event; the help
lists every key the page answers to."""

import re
import time
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, open_playground

pytestmark = pytest.mark.browser

JS = Path(__file__).resolve().parents[2] / "static" / "js"
FOCUSED = """() => { const a = document.activeElement; if (!a) return null;
  const part = a.matches('.node') ? a.querySelector('.node-body') : a.matches('.link') ? a.querySelector('.link-line') : null;
  if (!part) return {tag: a.tagName, cls: a.getAttribute('class')};
  const cs = getComputedStyle(part);
  return {cls: a.getAttribute('class'), id: a.dataset.node || a.dataset.link, stroke: cs.stroke, width: parseFloat(cs.strokeWidth)}; }"""


def tab_until(page, selector, limit=80):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement && document.activeElement.matches('{selector}')"):
            return page.evaluate(FOCUSED)
    raise AssertionError(f"Tab never reached {selector}")


def test_tab_reaches_nodes_and_links_and_their_focus_is_plain_to_see(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    open_playground(page, daphne_server, "raft", speed=100)
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("Space")  # paused: the stage stands still while we look
    page.wait_for_function("!window.playground.state.playing")
    link = tab_until(page, "#topology .link")
    assert link["stroke"] == "rgb(245, 158, 11)" and link["width"] >= 6, link  # amber, thick
    page.screenshot(path=str(ARTIFACTS / "a11y-focus-link-1280x720.png"))
    page.keyboard.press("Enter")  # the keyboard cuts it, as a click does
    a, b = link["id"].split("|")
    page.wait_for_function(f"window.playground.snapshot.net.cuts.some(([x, y]) => (x === '{a}' && y === '{b}') "
                           f"|| (x === '{b}' && y === '{a}'))", timeout=10_000)
    node = tab_until(page, "#topology .node")
    assert node["stroke"] == "rgb(245, 158, 11)" and node["width"] >= 6, node
    page.screenshot(path=str(ARTIFACTS / "a11y-focus-node-1280x720.png"))
    # unfocused, a node is drawn thin: the focus really is a change
    page.evaluate("document.activeElement.blur()")
    plain = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#topology .node .node-body')).strokeWidth)")
    assert plain < node["width"]
    errors.check()


MSG_XY = """() => Object.fromEntries([...document.querySelectorAll('#topology .msg')].map((g) =>
  [g.dataset.msg, g.getAttribute('transform')]))"""


@pytest.mark.parametrize("reduced", [True, False])
def test_reduced_motion_keeps_messages_still(daphne_server, make_page, reduced):
    """At 1/50 of real time a message is in flight for about a second of wall time: it glides from sender to
    receiver, except with prefers-reduced-motion, where it waits half-way until it arrives."""
    page, errors = make_page(1280, 720, reduced_motion="reduce" if reduced else "no-preference")
    open_playground(page, daphne_server, "raft", speed=20)
    page.wait_for_function("document.querySelectorAll('#topology .msg').length > 0", timeout=20_000)
    first = page.evaluate(MSG_XY)
    time.sleep(0.25)
    second = page.evaluate(MSG_XY)
    common = [m for m in first if m in second]
    assert common, "no message stayed in flight for 0.25 s"
    moved = [m for m in common if first[m] != second[m]]
    if reduced:
        assert moved == [], (first, second)
        assert page.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")
    else:
        assert moved, "messages should glide without the preference"
    errors.check()


def test_the_live_region_is_a_summary_not_every_event(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    scenario = {"protocol": "raft", "seed": 1, "interventions": [{"at": 1500, "action": "crash", "node": "leader"}]}
    open_playground(page, daphne_server, "raft", scenario=scenario, speed=1000)
    assert page.get_attribute("#feed", "aria-live") is None  # the feed itself is not read out line by line
    summary = page.locator("#feed-summary")
    assert summary.get_attribute("aria-live") == "polite"
    said = []
    start = time.monotonic()
    while time.monotonic() - start < 9:
        text = summary.text_content()
        if text and (not said or said[-1] != text):
            said.append(text)
        time.sleep(0.2)
    lines = page.evaluate("document.querySelectorAll('#feed li[data-t]').length")
    assert lines >= 10, lines
    assert 1 <= len(said) <= 3, said  # at most one sentence every 4 s
    feed_text = page.inner_text("#feed")
    assert all(s.split(" (and ")[0] in feed_text for s in said), said  # each one a line of the feed
    errors.check()


def page_keys():
    """Every key a page-wide keydown handler of the playground answers to (the lesson player has its own)."""
    keys = set()
    for path in [*JS.glob("page/*.js"), JS / "share.js", JS / "timeline.js"]:
        keys |= set(re.findall(r'\be\.key === "([^"]+)"', path.read_text()))
    local = {"Enter", "ContextMenu", "Home", "End"}  # on a focused node, link or the timeline's knob
    names = {" ": "space", "ArrowRight": "→", "ArrowLeft": "←", "Escape": "Esc", "/": "?"}
    return {names.get(k, k.upper() if len(k) == 1 else k) for k in keys - local}


def test_the_help_lists_every_key(daphne_server, make_page):
    page, errors = make_page(1024, 768)
    open_playground(page, daphne_server, "raft")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    listed = {k.strip().upper() if len(k.strip()) == 1 else k.strip()
              for k in page.locator("#help dl.keys kbd").all_inner_texts()}
    wanted = page_keys()
    assert {"space", "→", "←", "N", "S", "F", "D", "P", "R"} <= wanted  # the scan finds the handlers
    assert wanted - listed == set(), f"keys missing from the help: {wanted - listed}"
    assert {"Tab", "Enter"} <= {k.strip() for k in page.locator("#help dl.keys kbd").all_inner_texts()}
    page.screenshot(path=str(ARTIFACTS / "a11y-help-1024x768.png"))
    errors.check()
