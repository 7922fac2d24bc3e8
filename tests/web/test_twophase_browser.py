"""Two-phase commit in the real page (headless Chromium, live Daphne): the blocking lesson, clicked through.

Screenshots go to test-artifacts/twophase-*.png.
"""


import pytest

from simulator.protocols.twophase import TwoPhase

from .conftest import ARTIFACTS, open_playground, preset_scenario

pytestmark = pytest.mark.browser


def preset(slug):
    return preset_scenario(TwoPhase, slug)


def open_twophase(page, base, scenario=None, seed=1, speed=1000):
    """Open /play/twophase/; with `scenario`, the page's start message carries it instead of the page's default."""
    open_playground(page, base, "twophase", scenario, seed, speed)


def tx_states(page, tx):
    return page.evaluate("""(tx) => { const s = window.playground.snapshot; const out = {};
        for (const id of s.order) { const e = (s.nodes[id].txs || []).find((x) => x.tx === tx);
                                    out[id] = e ? e.state : null; }
        return out; }""", tx)


def participants(page):
    return page.evaluate("window.playground.snapshot.order.filter((id) => id !== 'coord')")


def test_coordinator_crash_after_the_votes_blocks_until_it_restarts(daphne_server, make_page):
    """The page's automatic first transaction commits. Then arm the coordinator's crash from the toolbar and
    begin a transaction: every participant votes YES and the coordinator crashes. The participants stay
    uncertain, holding their locks, drawn as blocked, for as long as it is down; restarted from the toolbar, it
    re-sends its logged COMMIT and they all commit."""
    page, errors = make_page()
    open_twophase(page, daphne_server, speed=250)
    page.wait_for_function("""() => { const s = window.playground.snapshot;
        return s.order.every((id) => (s.nodes[id].txs || []).some(
            (x) => x.tx === 'tx1' && x.state === 'committed')); }""", timeout=20_000)
    # paused while arming and beginning: the automatic next transaction (every 2 s) must not take the crash, however
    # slowly a loaded machine lets the test click
    page.click("#play")
    page.wait_for_function("!window.playground.state.playing")
    toolbar = page.locator("#proto-toolbar")
    toolbar.get_by_role("button", name="Crash coordinator after the votes").click()
    page.wait_for_function("window.playground.snapshot.nodes.coord.armed === 'after_decision_logged'")
    toolbar.get_by_role("button", name="Begin transaction").click()
    page.wait_for_function("window.playground.snapshot.nodes.coord.txs.some((x) => x.tx === 'tx2')")
    page.click("#play")
    page.wait_for_function("window.playground.snapshot.nodes.coord.status === 'crashed'", timeout=20_000)
    ps = participants(page)
    # blocked: each participant voted YES, timed out, asked, and still holds its lock
    tx = page.wait_for_function("""() => { const s = window.playground.snapshot;
        const ps = s.order.filter((id) => id !== 'coord');
        const e0 = s.nodes[ps[0]].txs.find((x) => x.state === 'prepared' && x.blocked_since !== null);
        if (!e0) return null;
        return ps.every((id) => { const e = s.nodes[id].txs.find((x) => x.tx === e0.tx);
            return e && e.state === 'prepared' && e.blocked_since !== null && s.nodes[id].locks.includes(e0.tx); })
            ? e0.tx : null; }""", timeout=20_000).json_value()
    assert tx == "tx2"  # the one begun from the toolbar
    for p in ps:
        assert page.locator(f'.tp-grid tr[data-node="{p}"] td[data-tx="{tx}"]').get_attribute("data-state") == "blocked"
        assert page.locator(f'.node[data-node="{p}"] .node-body').get_attribute("fill") == "#c2410c"
        assert page.locator(f'.node[data-node="{p}"] .badge-text').text_content().startswith("\u26a0")
    feed = page.locator(".feed").inner_text()
    assert "coord crashed after force-writing its decision" in feed
    assert all(f"{p} is BLOCKED on {tx}" in feed for p in ps)
    assert "Blocked, holding locks:" in page.locator("#panel").inner_text()
    # it stays that way while the coordinator is down: a full simulated second later, nothing decided
    t = page.evaluate("window.playground.snapshot.t")
    page.wait_for_function(f"window.playground.snapshot.t >= {t + 1000}", timeout=20_000)
    assert set(tx_states(page, tx)[p] for p in ps) == {"prepared"}
    page.wait_for_timeout(200)
    page.screenshot(path=ARTIFACTS / "twophase-blocked-1280x720.png")
    # restart it from the toolbar: its log says COMMIT, it re-sends it, everyone commits
    toolbar.get_by_role("button", name="Restart coordinator").click()
    page.wait_for_function("""(tx) => { const s = window.playground.snapshot;
        return s.order.every((id) => { const e = s.nodes[id].txs.find((x) => x.tx === tx);
                                       return e && e.state === 'committed'; }); }""", arg=tx, timeout=20_000)
    assert page.evaluate("""(tx) => window.playground.snapshot.order.every(
        (id) => !(window.playground.snapshot.nodes[id].locks || []).includes(tx))""", tx)
    feed = page.locator(".feed").inner_text()
    assert f"its log says COMMIT for {tx}, so it re-sends COMMIT" in feed
    assert all(f"{p} committed {tx} and released its lock" in feed for p in ps)
    assert page.locator(".invariant.bad").count() == 0
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "twophase-resolved-1280x720.png")
    errors.check()


def test_3pc_partition_split_is_flagged(daphne_server, make_page):
    """The 3PC partition preset: one side commits, the other aborts, and the atomicity badge turns red."""
    page, errors = make_page()
    open_twophase(page, daphne_server, preset("threephase-partition"))
    page.wait_for_selector('.invariant.bad[data-invariant="atomicity"]', timeout=20_000)
    states = tx_states(page, "tx1")
    assert states["p1"] == "committed" and states["p2"] == states["p3"] == "aborted"
    assert "atomicity violated" in page.locator(".feed").inner_text()
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "twophase-3pc-split-1280x720.png")
    errors.check()


def test_phone_width_panel_fits(daphne_server, make_page):
    page, errors = make_page(width=390, height=844, has_touch=True, is_mobile=True, device_scale_factor=2)
    open_twophase(page, daphne_server, preset("twophase-cooperative-helps"))
    page.wait_for_function("""() => { const s = window.playground.snapshot;
        return s.order.filter((id) => id !== 'coord').every((id) => {
            const e = s.nodes[id].txs.find((x) => x.tx === 'tx1'); return e && e.state === 'committed'; }); }""",
                           timeout=20_000)
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "twophase-phone-390.png", full_page=True)
    # the 2PC panel (this module's part of the page) fits the phone: nothing in it sticks out or scrolls sideways
    wide = page.evaluate("""() => [...document.querySelectorAll('#panel *')].filter((el) =>
        el.getBoundingClientRect().right > 391).map((el) => el.tagName + '.' + el.className).slice(0, 8)""")
    assert not wide, wide
    panel = page.evaluate("(() => { const p = document.getElementById('panel'); "
                          "return [p.scrollWidth, p.clientWidth]; })()")
    assert panel[0] <= panel[1], panel
    errors.check()
