"""Every protocol's chart over time (static/js/charts.js on uPlot; docs/frontend.md, "Charts"): it exists in the
panel (folded below 800 px of height: the tests open it with its toggle, as a user does), gains points while the
run plays (redrawn at most about ten times a second), after a seek back ends exactly at the moment travelled to
(the branch's past rebuilt, nothing from the abandoned future), after a fork keeps going on the new branch only,
and a click on it travels the timeline there (the view context's seek). Screenshots of each protocol at
1280x720, 1024x768 and a phone go to test-artifacts/ to be looked at."""

import pytest

from .conftest import ARTIFACTS, open_playground

pytestmark = pytest.mark.browser

# protocol -> how far to play before travelling back (ms): far enough that the chart has a story to tell
PLAY_TO = {"raft": 3000, "paxos": 2000, "twophase": 3000, "gossip": 3000, "kafka": 12000}

POINTS = "() => document.querySelector('#panel [data-chart]').chart.points()"
DRAWS = "() => document.querySelector('#panel [data-chart]').chart.draws()"


def points(page):
    return page.evaluate(POINTS)


def times(page):
    return [p[0] for p in points(page)]


def paused_at(page):
    """Pause is optimistic on the page: frames the server sent before it heard the pause still arrive, so wait
    until the snapshot's moment has stopped moving (CI once read 3300 while a frame to 3401 was in flight)."""
    page.wait_for_function("() => !window.playground.state.playing")
    t = page.evaluate("window.playground.snapshot.t")
    for _ in range(20):
        page.wait_for_timeout(400)
        now = page.evaluate("window.playground.snapshot.t")
        if now == t:
            return t
        t = now
    raise AssertionError(f"the run still moves 8 s after a pause (t = {t})")


def toggle_play(page):
    page.locator("#play").click()


def open_page(make_page, base, protocol, width=1280, height=720):
    page, errors = make_page(width, height)
    page.set_default_timeout(30_000)  # a loaded machine (2 cores, several test runs) starts pages slowly
    open_playground(page, base, protocol, speed=1000)
    open_chart(page)
    return page, errors


def open_chart(page):
    """Below 800 px of height the chart starts folded (the feed needs the room): open it as a user does."""
    page.wait_for_selector("#panel [data-chart] .chart-toggle")
    if not page.evaluate("document.querySelector('#panel [data-chart]').classList.contains('open')"):
        page.locator("#panel [data-chart] .chart-toggle").click()
    page.wait_for_selector("#panel [data-chart].open canvas")


@pytest.mark.parametrize("protocol", sorted(PLAY_TO))
def test_chart_grows_while_playing_and_follows_seek_and_fork(daphne_server, make_page, protocol):
    page, errors = open_page(make_page, daphne_server, protocol)
    page.wait_for_selector("#panel [data-chart] canvas")
    assert page.evaluate("() => window.playground.state.playing")
    page.wait_for_function("window.playground.snapshot.t > 500", timeout=20_000)
    before = len(points(page))
    draws = page.evaluate(DRAWS)
    page.wait_for_timeout(2000)
    drawn = page.evaluate(DRAWS) - draws
    assert 2 <= drawn <= 25, f"{drawn} redraws in 2 s while playing: it follows the run, at most ~10 times a second"
    page.wait_for_function(f"window.playground.snapshot.t > {PLAY_TO[protocol]}", timeout=30_000)
    page.wait_for_timeout(300)
    assert len(points(page)) > before, "the chart gains points while the run plays"
    toggle_play(page)
    end = paused_at(page)
    page.wait_for_timeout(300)
    assert times(page)[-1] == end

    # travel back: the chart ends at that moment, its earlier history rebuilt, nothing after it
    back = end // 2
    page.evaluate(f"window.playground.timeline.seek({back})")
    page.wait_for_function(f"window.playground.snapshot.t === {back}", timeout=20_000)
    page.wait_for_timeout(500)
    xs = times(page)
    assert xs[-1] == back, f"the chart ends at {xs[-1]}, not at the moment travelled to ({back})"
    assert max(xs) == back and xs == sorted(xs)
    assert len(xs) >= 5 and xs[0] < back / 2, f"the branch's past before {back} ms is on the chart: {xs[:5]}"

    # fork: crash a node there, step on along the new branch
    victim = page.evaluate("""() => { const s = window.playground.snapshot;
        return [...s.order].reverse().find((id) => s.nodes[id].status === 'up'); }""")
    page.click(f'.node[data-node="{victim}"] .node-body', button="right")
    page.click('#node-menu .menu-item:has-text("Crash")')
    page.wait_for_function(f"window.playground.snapshot.nodes['{victim}'].status === 'crashed'")
    toggle_play(page)
    page.wait_for_function(f"window.playground.snapshot.t > {back + 400}", timeout=20_000)
    toggle_play(page)
    now = paused_at(page)
    page.wait_for_timeout(500)
    assert now > back
    xs = times(page)
    assert xs[-1] == now and max(xs) == now and xs == sorted(xs)
    assert any(x < back for x in xs), "the past before the fork stays on the chart"

    # a click on the chart travels there
    over = page.locator("#panel [data-chart] .u-over")
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.wait_for_function(f"window.playground.snapshot.t < {back}", timeout=20_000)
    page.wait_for_timeout(400)
    t = page.evaluate("window.playground.snapshot.t")
    assert times(page)[-1] == t
    errors.check()


@pytest.mark.parametrize("protocol", sorted(PLAY_TO))
def test_chart_screenshots(daphne_server, make_page, protocol):
    """Not an assertion of looks: the chart drawn at projector and phone sizes, for a human to look at."""
    for width, height in [(1280, 720), (1024, 768), (390, 844)]:
        page, errors = open_page(make_page, daphne_server, protocol, width, height)
        page.wait_for_function(f"window.playground.snapshot.t > {PLAY_TO[protocol]}", timeout=30_000)
        toggle_play(page)
        paused_at(page)
        chart = page.locator("#panel [data-chart]")
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(400)
        box = chart.bounding_box()
        assert box["width"] >= 200 and box["height"] >= 100
        page.screenshot(path=str(ARTIFACTS / f"chart-{protocol}-{width}x{height}.png"))
        chart.screenshot(path=str(ARTIFACTS / f"chart-{protocol}-{width}x{height}-chart.png"))
        errors.check()


GAPS = "() => document.querySelector('#panel [data-chart]').chart.gaps()"

# the plot's canvas, column by column: how many pixels of a coloured line (not the white ground, not the grey grid
# and axes) each CSS-pixel column `xs` holds, from the top to the bottom of the plotting area
COLOURED = """(xs) => {
    const root = document.querySelector('#panel [data-chart]');
    const canvas = root.querySelector('canvas');
    const over = root.querySelector('.u-over').getBoundingClientRect();
    const box = canvas.getBoundingClientRect();
    const k = canvas.width / box.width;
    const g = canvas.getContext('2d');
    const top = Math.round((over.top - box.top) * k), hgt = Math.round(over.height * k);
    return xs.map((x) => {
        const px = g.getImageData(Math.round((x - box.left) * k), top, 1, hgt).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) {
            const [r, gr, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
            if (a > 200 && Math.max(r, gr, b) - Math.min(r, gr, b) > 60) n += 1;
        }
        return n;
    });
}"""


@pytest.mark.parametrize("protocol", sorted(PLAY_TO))
def test_a_jump_forward_leaves_a_gap_not_a_flat_line(daphne_server, make_page, protocol):
    """A seek far past what the chart followed: the page never receives the events in between, so nothing is
    known there. The chart breaks its lines (a row of nulls where the jump starts, uPlot draws no segment across)
    instead of holding the last value up to the new moment; the gap stays while the run plays on, and a seek back
    before it (then the page follows the run again) removes it."""
    page, errors = open_page(make_page, daphne_server, protocol)
    page.wait_for_function("window.playground.snapshot.t > 1500", timeout=30_000)
    toggle_play(page)
    end = paused_at(page)
    page.wait_for_function(f"() => ({POINTS})().at(-1)[0] === {end}")
    assert page.evaluate(GAPS) == []
    far = end + 8000
    page.evaluate(f"window.playground.timeline.seek({far})")
    page.wait_for_function(f"window.playground.snapshot.t === {far}", timeout=30_000)
    page.wait_for_function(f"() => ({POINTS})().at(-1)[0] === {far} && ({GAPS})().length === 1", timeout=10_000)
    page.wait_for_timeout(300)  # the feed's retelling and the next redraw
    assert page.evaluate(GAPS) == [{"from": end, "to": far}]
    pts = points(page)
    inside = [p for p in pts if end <= p[0] < far]
    assert inside and all(v is None for v in inside[-1][1:]), f"no break between {end} and {far}: {inside[-3:]}"
    assert not any(v is not None for p in inside if p[0] > end for v in p[1:]), \
        f"values drawn inside the stretch jumped over: {[p for p in inside if p[0] > end][:3]}"
    assert any(v is not None for v in pts[-1][1:]) and pts[-1][0] == far, "the value at the moment landed on"
    assert any(p[0] < end and any(v is not None for v in p[1:]) for p in pts), "the past before the jump stays"

    # on the canvas: the lines stop where the jump starts (no flat line across), and are drawn before it
    over = page.locator("#panel [data-chart] .u-over")
    over.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = over.bounding_box()
    x0, x1 = pts[0][0], far
    at = lambda t: box["x"] + box["width"] * (t - x0) / (x1 - x0)  # noqa: E731 (the x scale spans the kept points)
    in_gap, before = page.evaluate(COLOURED, [at((end + far) / 2), at(x0 + (end - x0) * 0.6)])
    page.screenshot(path=str(ARTIFACTS / f"chart-jump-{protocol}.png"))
    assert in_gap == 0, f"{in_gap} pixels of a line drawn in the middle of the stretch jumped over"
    assert before > 0, "the lines before the jump are drawn (the canvas check sees lines at all)"

    # the run plays on: the gap stays behind it
    toggle_play(page)
    page.wait_for_function(f"window.playground.snapshot.t > {far + 500}", timeout=20_000)
    toggle_play(page)
    now = paused_at(page)
    page.wait_for_function(f"() => ({POINTS})().at(-1)[0] === {now}")
    assert page.evaluate(GAPS) == [{"from": end, "to": far}]
    assert any(p[0] == end and all(v is None for v in p[1:]) for p in points(page))

    # a seek back into the gap shortens it; one before it removes it (the page follows the run from there)
    mid = (end + far) // 2
    page.evaluate(f"window.playground.timeline.seek({mid})")
    page.wait_for_function(f"window.playground.snapshot.t === {mid}", timeout=20_000)
    page.wait_for_function(f"() => ({POINTS})().at(-1)[0] === {mid}")
    page.wait_for_timeout(300)
    assert page.evaluate(GAPS) == [{"from": end, "to": mid}]
    back = end // 2
    page.evaluate(f"window.playground.timeline.seek({back})")
    page.wait_for_function(f"window.playground.snapshot.t === {back}", timeout=20_000)
    page.wait_for_function(f"() => ({POINTS})().at(-1)[0] === {back}")
    page.wait_for_timeout(300)
    assert page.evaluate(GAPS) == []
    assert all(v is not None for p in points(page) for v in p[1:])
    errors.check()
