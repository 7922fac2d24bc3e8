"""Small layout and motion defects users saw (task H1): the feed's scroll honours reduced motion, the home page
(its import form included) fits a phone, and the Paxos page keeps its controls and badges apart on a phone held
sideways (844x390, 915x412) or at 853x480. Screenshots go to test-artifacts/ to be looked at."""

import json
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, open_playground
from .layout_js import LAYOUT_JS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


# --- 1. reduced motion: the feed jumps to the line it follows ------------------------------------------------
# The feed scrolled to its oldest lines, a click on the red invariant badge makes it follow the violation's line
# (screens above): where the feed is right after the click, and twenty frames later. A smooth scroll has not moved
# yet right after the click; an instant one is already where it ends.
FOLLOW_JS = """() => new Promise((done) => {
  const feed = document.querySelector("#feed");
  feed.scrollTo({ top: feed.scrollHeight, behavior: "instant" });
  const from = feed.scrollTop;
  document.querySelector(".invariant.bad").click();
  const first = feed.scrollTop;
  let frames = 20;
  const tick = () => (frames-- > 0 ? requestAnimationFrame(tick) : done({ from, first, later: feed.scrollTop }));
  requestAnimationFrame(tick);
})"""


def violation_in_a_long_feed(make_page, daphne_server, **context):
    """Raft with the Figure 8 mutation: Leader Completeness breaks at 0.670 s, by then the feed holds several
    screens of lines (the violation's the newest); the run is paused."""
    scenario = json.loads((ROOT / "docs" / "examples" / "raft-mutation-commit-old-terms.json").read_text())
    page, errors = make_page(1280, 720, **context)
    open_playground(page, daphne_server, "raft", scenario, seed=3, speed=1000)
    page.wait_for_selector('.invariant.bad[data-invariant="leader_completeness"]', timeout=30_000)
    page.wait_for_function("""() => { const feed = document.querySelector("#feed");
        return feed.scrollHeight > 3 * feed.clientHeight; }""", timeout=30_000)
    if page.evaluate("() => window.playground.state.playing"):
        page.locator("#play").click()
    page.wait_for_function("() => !window.playground.state.playing")
    return page, errors


def test_the_feed_follows_a_line_without_animation_under_reduced_motion(daphne_server, make_page):
    page, errors = violation_in_a_long_feed(make_page, daphne_server, reduced_motion="reduce")
    got = page.evaluate(FOLLOW_JS)
    assert got["from"] > 0 and got["later"] < got["from"], f"the feed did not follow the line: {got}"
    assert got["first"] == got["later"], f"the feed's scroll was animated under reduced motion: {got}"
    line = page.locator(".feed-item.violation.flash").bounding_box()  # the line followed is in the feed's view
    feed = page.locator("#feed").bounding_box()
    assert feed["y"] - 1 <= line["y"] and line["y"] + line["height"] <= feed["y"] + feed["height"] + 1
    page.screenshot(path=str(ARTIFACTS / "polish-feed-reduced-motion-1280x720.png"))
    errors.check()


def test_the_feed_still_glides_without_reduced_motion(daphne_server, make_page):
    """The control: without the preference the same follow is animated (the check above tells the two apart)."""
    page, errors = violation_in_a_long_feed(make_page, daphne_server, reduced_motion="no-preference")
    got = page.evaluate(FOLLOW_JS)
    assert got["from"] > 0 and got["later"] < got["from"], f"the feed did not follow the line: {got}"
    assert got["first"] > got["later"], f"the feed jumped without an animation: {got}"
    errors.check()


# --- 2. the home page fits a phone ---------------------------------------------------------------------------
# Every visible element's box (and every control's) against the viewport's width, and the page's own scroll width.
HOME_FIT_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && el.className.baseVal === undefined
    ? "." + [...el.classList].join(".") : "") + "(" + (el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 24) + ")";
  const visible = (el) => { const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== "hidden" && cs.display !== "none"; };
  const wide = [...document.body.querySelectorAll("*")].filter(visible)
    .filter((el) => { const r = el.getBoundingClientRect(); return r.left < -0.5 || r.right > vw + 0.5; }).map(name);
  const controls = [...document.querySelectorAll("input, button, select, textarea, a, label")].filter(visible)
    .filter((el) => { const r = el.getBoundingClientRect(); return r.left < -0.5 || r.right > vw + 0.5; }).map(name);
  return { vw, innerWidth, scrollWidth: document.documentElement.scrollWidth, wide, controls,
           importForm: !!document.querySelector(".import-form input[type=file]") };
}"""


@pytest.mark.parametrize("width,height", [(390, 844), (1024, 768), (1280, 720)])
def test_the_home_page_and_its_import_form_fit_the_width(daphne_server, make_page, width, height):
    page, errors = make_page(width, height)
    page.goto(daphne_server + "/")
    form = page.locator(".import-form")
    form.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"polish-home-import-{width}x{height}.png"))
    got = page.evaluate(HOME_FIT_JS)
    assert got["importForm"], "the home page has no import form to check"
    assert got["scrollWidth"] <= got["innerWidth"], f"the home page scrolls sideways at {width}x{height}: {got}"
    assert got["controls"] == [], f"controls past the edge at {width}x{height}: {got['controls']}"
    assert got["wide"] == [], f"elements past the edge at {width}x{height}: {got['wide']}"
    box = page.locator(".import-form input[type=file]").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    errors.check()


# --- 3. Paxos on a short screen: a phone held sideways, a projector at 150 % zoom --------------------------------
# The page's controls and invariant badges (LAYOUT_JS, as the projector tests check them), and on the stage every
# node, its badge and the buttons over the stage: no two boxes of different nodes (or a node and a button) overlap,
# and every badge stays inside the stage.
STAGE_JS = """() => {
  const box = (el) => el.getBoundingClientRect();
  const shown = (el) => { const r = box(el); return r.width > 0 && r.height > 0 && getComputedStyle(el).display !== "none"; };
  const items = [];
  for (const g of document.querySelectorAll("#topology .node[data-node]")) {
    const id = g.dataset.node, badge = g.querySelector(".badge");
    items.push([id, "node " + id, box(g.querySelector(".node-body"))]);
    if (badge && shown(badge)) items.push([id, "badge of " + id + " (" + badge.textContent + ")", box(badge)]);
  }
  document.querySelectorAll(".stage button").forEach((b, i) => {
    if (shown(b)) items.push(["button" + i, "button " + b.textContent.trim(), box(b)]);
  });
  const overlaps = [];
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
    const [a, m, p] = items[i], [b, n, q] = items[j];
    if (a === b) continue;  // a node and its own badge
    const dx = Math.min(p.right, q.right) - Math.max(p.left, q.left), dy = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
    if (dx > 0.5 && dy > 0.5) overlaps.push(m + " / " + n);
  }
  const stage = box(document.querySelector("#topology"));
  const outside = items.filter(([, , r]) => r.left < stage.left - 0.5 || r.right > stage.right + 0.5
    || r.top < stage.top - 0.5 || r.bottom > stage.bottom + 0.5).map(([, m]) => m);
  return { overlaps, outside, badges: items.filter(([, m]) => m.startsWith("badge")).length };
}"""
SHORT_SIZES = [(844, 390), (915, 412), (853, 480)]  # 740x360: the run controls overflow (every protocol)


ALL_BADGES = ("() => [...document.querySelectorAll('#topology .node .badge')]"
              ".filter((b) => b.getBoundingClientRect().width > 0).length >= 9")


def check_paxos_fits(page, where):
    # every node has its badge: the proposers their ballot, the acceptors their promise, the learners the value
    page.wait_for_function(ALL_BADGES, timeout=30_000)
    page.wait_for_timeout(300)
    layout = page.evaluate(LAYOUT_JS)
    assert layout["overlaps"] == [], f"paxos {where}: controls overlap: {layout['overlaps']}"
    assert not layout["hscroll"], f"paxos {where}: the page scrolls sideways"
    stage = page.evaluate(STAGE_JS)
    assert stage["badges"] >= 9
    assert stage["overlaps"] == [], f"paxos {where}: on the stage: {stage['overlaps']}"
    assert stage["outside"] == [], f"paxos {where}: off the stage: {stage['outside']}"


@pytest.mark.parametrize("width,height", SHORT_SIZES)
def test_paxos_badges_and_controls_do_not_overlap_on_a_short_screen(daphne_server, make_page, width, height):
    page, errors = make_page(width, height)
    open_playground(page, daphne_server, "paxos")
    check_paxos_fits(page, f"at {width}x{height}")
    page.screenshot(path=str(ARTIFACTS / f"polish-paxos-{width}x{height}.png"))
    # a restart (as a seek or a step back) lays the stage out again: the columns stay spread, not clamped
    page.evaluate("() => { window.beforeRestart = window.playground.snapshot; }")
    page.locator("#restart").click()
    page.wait_for_function("() => window.playground.snapshot !== window.beforeRestart", timeout=15_000)
    check_paxos_fits(page, f"at {width}x{height} after a restart")
    # and turned upright (a phone) or on a projector, the ordinary columns come back inside the stage
    for w, h in [(390, 844), (1024, 768)]:
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(300)
        stage = page.evaluate(STAGE_JS)
        assert stage["outside"] == [], f"paxos resized from {width}x{height} to {w}x{h}: off the stage: {stage['outside']}"
    errors.check()
