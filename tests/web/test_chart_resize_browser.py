"""A playing panel keeps its size (static/js/charts.js; docs/frontend.md, "Charts"): while a run plays with nothing
else changing, the chart's ResizeObserver reports no new size of its plot (the chart redraws for its data, at most
ten times a second, never because its box moved) and the panel's box does not move or change size from frame to
frame. The gossip panel's title used to wrap and unwrap as its live figures ("87.5% informed · 12 messages in
flight") changed width, so the panel changed height while a rumour spread; its counts sit in boxes as wide as the
run's largest count. Measured at a projector size (the panel at its cap, the chart opened by its toggle) and on a
tall screen (the chart open by default, the panel sized by its content), for every protocol."""

import pytest

from .conftest import open_playground

pytestmark = pytest.mark.browser

PROTOCOLS = ["gossip", "kafka", "paxos", "raft", "twophase"]

# every animation frame for `ms` of wall time: the panel's box, and the chart's resize and redraw counts over it
WATCH = """(ms) => new Promise((done) => {
    const panel = document.querySelector('#panel');
    const chart = panel.querySelector('[data-chart]').chart;
    const r0 = chart.resizes(), d0 = chart.draws(), t0 = window.playground.snapshot.t;
    const boxes = [];
    const start = performance.now();
    const tick = () => {
        const b = panel.getBoundingClientRect();
        boxes.push([b.x, b.y, b.width, b.height].map((v) => Math.round(v * 10) / 10));
        if (performance.now() - start < ms) requestAnimationFrame(tick);
        else done({ boxes, resizes: chart.resizes() - r0, draws: chart.draws() - d0,
                    simulated: window.playground.snapshot.t - t0 });
    };
    requestAnimationFrame(tick);
})"""


@pytest.mark.parametrize("size", [(1280, 720), (1280, 900)], ids=["1280x720", "1280x900"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_playing_panel_keeps_its_size(daphne_server, make_page, protocol, size):
    page, errors = make_page(*size)
    page.set_default_timeout(30_000)
    open_playground(page, daphne_server, protocol, speed=1000)
    page.wait_for_selector("#panel [data-chart] .chart-toggle")
    if not page.evaluate("document.querySelector('#panel [data-chart]').classList.contains('open')"):
        page.locator("#panel [data-chart] .chart-toggle").click()
    page.wait_for_selector("#panel [data-chart].open canvas")
    page.wait_for_function("window.playground.snapshot.t > 300", timeout=30_000)
    seen = page.evaluate(WATCH, 3000)
    assert page.evaluate("() => window.playground.state.playing")
    assert seen["simulated"] > 500, f"the run hardly moved while watched ({seen['simulated']} ms): nothing was tested"
    assert seen["draws"] >= 3, "the chart redraws for its data while the run plays"
    assert seen["resizes"] <= 2, f"the chart's plot was resized {seen['resizes']} times in 3 s of a playing run"
    boxes = seen["boxes"]
    changes = [(a, b) for a, b in zip(boxes, boxes[1:]) if a != b]
    assert len(boxes) > 20, f"only {len(boxes)} frames in 3 s"
    # the panel is capped at 1280x720: it never changes; on a tall screen it follows its content, which may grow
    # with the run (a new transaction's row), a few times, never frame after frame; gossip's never changes
    allowed = 0 if protocol == "gossip" or size[1] <= 720 else 3
    assert len(changes) <= allowed, (f"the panel's box changed {len(changes)} times in {len(boxes)} frames while "
                                     f"the run played, e.g. {changes[:3]}")
    errors.check()
