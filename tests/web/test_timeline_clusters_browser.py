"""Timeline markers cluster (issue 12): interventions close together on the track are one marker with their
count instead of a pile; clicking it lists what happened there, and an item of the list travels to its moment.
Markers of a row never overlap."""

import pytest

from .conftest import ARTIFACTS, open_playground

pytestmark = pytest.mark.browser

CLOSE = [{"at": 500, "action": "crash", "node": "n1"}, {"at": 520, "action": "restart", "node": "n1"},
         {"at": 540, "action": "crash", "node": "n2"}, {"at": 560, "action": "restart", "node": "n2"}]
FAR = {"at": 3000, "action": "cut", "a": "n3", "b": "n4"}
BOXES = """() => [...document.querySelectorAll('#timeline .tl-mark.iv')].map((el) => {
  const r = el.getBoundingClientRect(); return [r.left, r.right]; })"""


def test_close_markers_cluster_and_list_what_happened(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    scenario = {"protocol": "raft", "seed": 1, "nodes": 5, "interventions": CLOSE + [FAR]}
    open_playground(page, daphne_server, "raft", scenario=scenario, speed=1000)
    page.wait_for_function("window.playground.snapshot.t > 3300", timeout=20_000)
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("Space")
    cluster = page.locator('#timeline .tl-cluster[data-count="4"]')
    cluster.wait_for(state="visible")
    assert cluster.inner_text() == "4"
    assert page.locator('#timeline .tl-mark.iv:not(.tl-cluster)[data-action="cut"]').count() == 1  # alone: as before
    boxes = sorted(page.evaluate(BOXES))
    assert all(a[1] <= b[0] + 0.5 for a, b in zip(boxes, boxes[1:])), boxes  # no pile
    cluster.click()
    listing = page.locator("#timeline .tl-cluster-list")
    listing.wait_for(state="visible")
    items = listing.locator(".tl-cluster-item")
    assert items.count() == 4
    assert "null" not in listing.inner_text()
    texts = items.all_inner_texts()
    assert ["crash n1" in texts[0], "restart n1" in texts[1], "crash n2" in texts[2], "restart n2" in texts[3]] == [True] * 4
    page.screenshot(path=str(ARTIFACTS / "timeline-cluster-1280x720.png"))
    items.nth(3).click()  # restart n2, at 0.560 s
    page.wait_for_function("window.playground.snapshot.t === 560", timeout=15_000)
    assert listing.is_hidden()
    errors.check()
