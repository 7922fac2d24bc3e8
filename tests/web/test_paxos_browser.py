"""Paxos in the real page (headless Chromium, live Daphne): the duel, what ends it, and a Multi-Paxos fail-over.

A preset scenario is swapped in for the page's own `start` message on the WebSocket (Playwright routes the
socket), so the page itself is exactly what users get. Screenshots go to test-artifacts/paxos-*.png.
"""

import json

import pytest

from simulator.protocols.paxos import Paxos

from .conftest import ARTIFACTS, open_playground, preset_scenario

pytestmark = pytest.mark.browser


def preset(slug):
    return preset_scenario(Paxos, slug)


def open_paxos(page, base, scenario=None, seed=2, speed=1000, query=""):
    """Open /play/paxos/; with `scenario`, the page's start message carries it instead of the page's default."""
    page.set_default_timeout(30_000)  # generous: the machine may be busy (these wait on simulated time)
    open_playground(page, base, "paxos", scenario, seed, speed, query)


def wait_sim_time(page, t):
    page.wait_for_function(f"window.playground.snapshot.t >= {t}", timeout=30_000)


def learned(page):
    return page.evaluate("""() => { const s = window.playground.snapshot;
        return s.order.filter((id) => id[0] === 'l').map((id) => s.nodes[id].learned); }""")


def top_round(page):
    return page.evaluate("""() => { const s = window.playground.snapshot;
        return Math.max(0, ...s.order.filter((id) => id[0] === 'p')
                               .map((id) => s.nodes[id].ballot ? s.nodes[id].ballot[0] : 0)); }""")


def test_duelling_proposers_livelock_until_backoff_is_on(daphne_server, make_page):
    """Backoff off: three simulated seconds of ever-higher ballots and nothing chosen. Backoff on: a value is
    chosen, the banner shows it and every learner has it."""
    page, errors = make_page()
    open_paxos(page, daphne_server, preset("paxos-duel"))
    wait_sim_time(page, 3000)
    assert learned(page) == [[], []]
    assert top_round(page) >= 30
    banner = page.locator(".px-banner")
    assert banner.inner_text().startswith("Nothing chosen yet")
    feed = page.locator(".feed").inner_text()
    assert "was pre-empted; it retries at once with ballot" in feed
    assert "is chosen" not in feed
    # acceptors are coloured by the ballot they promised, proposers' badges carry their ballots
    badge = page.locator('.node[data-node="p1"] .badge-text').text_content()
    assert "." in badge
    page.screenshot(path=ARTIFACTS / "paxos-duel-1280x720.png")
    errors.check()

    page, errors = make_page()
    open_paxos(page, daphne_server, preset("paxos-duel-backoff"))
    page.wait_for_function("document.querySelector('.px-banner.chosen') !== null", timeout=30_000)
    value = page.locator(".px-banner.chosen").get_attribute("data-chosen")
    assert value in ("A", "B")
    page.wait_for_function(f"""() => {{ const s = window.playground.snapshot;
        return s.order.filter((id) => id[0] === 'l').every((id) => s.nodes[id].learned[0] === {json.dumps(value)}); }}""")
    feed = page.locator(".feed").inner_text()
    assert f"“{value}” is chosen" in feed and "waits" in feed
    assert page.locator('.node[data-node="l1"] .badge-text').text_content() == value
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "paxos-backoff-1280x720.png")
    errors.check()


def test_default_page_chooses_a_value_and_a_later_proposal_keeps_it(daphne_server, make_page):
    """The page's own default run: both proposers propose, one value is chosen; asking p2 again from the toolbar
    starts a new ballot that ends with the same value."""
    page, errors = make_page()
    open_paxos(page, daphne_server, seed=4)
    page.wait_for_function("document.querySelector('.px-banner.chosen') !== null", timeout=30_000)
    value = page.locator(".px-banner.chosen").get_attribute("data-chosen")
    page.wait_for_function("() => ['p1', 'p2'].every((id) => window.playground.snapshot.nodes[id].phase === 'done')")
    before = page.evaluate("window.playground.snapshot.nodes.p2.ballot")
    button = page.locator(".proto-toolbar button", has_text="p2 proposes")
    assert button.is_enabled()
    button.click()
    page.wait_for_function(f"""() => {{ const v = window.playground.snapshot.nodes.p2;
        return v.phase === 'done' && v.ballot[0] > {before[0]}; }}""", timeout=30_000)
    assert page.evaluate("window.playground.snapshot.nodes.p2.proposal") == value
    assert page.locator(".px-banner.chosen").get_attribute("data-chosen") == value
    assert "A client asks p2 to propose" in page.locator(".feed").inner_text()
    assert page.locator(".invariant.bad").count() == 0
    page.screenshot(path=ARTIFACTS / "paxos-default-1280x720.png")
    errors.check()


def test_multi_paxos_leader_crash_and_the_log_continues(daphne_server, make_page):
    """Multi-Paxos: drag the leader to the crash zone; another proposer takes over with a higher ballot and the
    log goes on growing with no invariant broken."""
    page, errors = make_page()
    sc = preset("multipaxos-log")
    sc["duration"] = 60_000
    open_paxos(page, daphne_server, sc)
    page.wait_for_function("""() => { const s = window.playground.snapshot;
        return s.nodes.l1.learned.length >= 3; }""", timeout=30_000)
    leader = page.evaluate("""() => { const s = window.playground.snapshot;
        return s.order.find((id) => s.nodes[id].phase === 'leading'); }""")
    ballot = page.evaluate(f"window.playground.snapshot.nodes['{leader}'].ballot")
    assert page.locator(".px-banner").inner_text().startswith(f"Leader {leader}")
    body = page.locator(f'.node[data-node="{leader}"] .node-body').bounding_box()
    zone = page.locator(".crash-zone rect").bounding_box()
    start = (body["x"] + body["width"] / 2, body["y"] + body["height"] / 2)
    end = (zone["x"] + zone["width"] / 2, zone["y"] + zone["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(start[0] + (end[0] - start[0]) * i / 15, start[1] + (end[1] - start[1]) * i / 15)
    page.mouse.up()
    page.wait_for_function(f"window.playground.snapshot.nodes['{leader}'].status === 'crashed'")
    n = len(learned(page)[0])
    page.wait_for_function(f"""() => {{ const s = window.playground.snapshot;
        const l = s.order.find((id) => s.nodes[id].phase === 'leading' && s.nodes[id].status === 'up');
        return l && l !== '{leader}' && s.nodes.l1.learned.length >= {n + 2}; }}""", timeout=30_000)
    new = page.evaluate("""() => { const s = window.playground.snapshot;
        return s.order.find((id) => s.nodes[id].phase === 'leading' && s.nodes[id].status === 'up'); }""")
    assert page.evaluate(f"window.playground.snapshot.nodes['{new}'].ballot")[0] > ballot[0]
    feed = page.locator(".feed").inner_text()
    assert f"{new} hears no leader: it runs phase 1" in feed and f"{new} is the leader with ballot" in feed
    l1, l2 = learned(page)
    k = min(len(l1), len(l2))
    assert [v for v in l1[:k] if v] and all(a == b or a is None or b is None for a, b in zip(l1[:k], l2[:k]))
    assert page.locator(".invariant.bad").count() == 0
    assert page.locator(".px-grid .px-row").count() == 1 + 5 + 2  # slot header, acceptors, learners
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "paxos-multi-failover-1280x720.png")
    errors.check()


def test_mutation_preset_shows_the_violation(daphne_server, make_page):
    """The forget-promise preset: the one_value_per_slot badge turns red and the feed says why."""
    page, errors = make_page()
    open_paxos(page, daphne_server, preset("paxos-forget-promise"))
    page.wait_for_function("document.querySelector('.invariant.bad[data-invariant=\"one_value_per_slot\"]') !== null",
                           timeout=30_000)
    feed = page.locator(".feed").inner_text()
    assert "one value per slot violated" in feed
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "paxos-forget-promise-1280x720.png")
    errors.check()


def test_a_restarted_learner_catches_up(daphne_server, make_page):
    """The catch-up preset: l2 is down while A is chosen; after its restart it asks, shows A in its badge and in
    the learners table (caught up by asking), and the feed says how it learned it."""
    page, errors = make_page()
    open_paxos(page, daphne_server, preset("paxos-learner-catch-up"))
    page.wait_for_function("window.playground.snapshot.nodes.l2.learned[0] === 'A'", timeout=30_000)
    # l2 was down through the decision: it learned A by asking, not from the acceptors' accepted messages
    assert page.evaluate("window.playground.snapshot.nodes.l2.learned_from[0]") not in ("accepted", "decide")
    page.wait_for_function("window.playground.snapshot.t >= 1800", timeout=30_000)
    assert page.locator('.node[data-node="l2"] .badge-text').text_content() == "A"
    banner = page.locator(".px-banner.chosen")
    assert banner.get_attribute("data-chosen") == "A"
    assert "every learner knows it (l2 caught up by asking)" in banner.inner_text()
    l2 = page.locator('.px-learners tr[data-node="l2"]').inner_text()
    assert "“A”" in l2 and "asked" in l2
    feed = page.locator(".feed").inner_text()
    assert "l2 is back up and may have missed decisions: it asks" in feed
    assert "l2 missed the decision (it was down or cut off): it asked, and learned “A”: " in feed
    assert page.locator(".invariant.bad").count() == 0
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "paxos-catch-up-1280x720.png")
    errors.check()


def test_phone_width(daphne_server, make_page):
    """On a 390 px phone the three columns and the acceptor table fit without sideways scrolling."""
    page, errors = make_page(width=390, height=844, has_touch=True, is_mobile=True, device_scale_factor=2)
    open_paxos(page, daphne_server, seed=4)
    page.wait_for_function("document.querySelector('.px-banner.chosen') !== null", timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # measured in one go inside the page: the panel is redrawn as events arrive, so an element found by one call
    # may be gone by the next
    boxes = page.wait_for_function("""() => {
        const box = (sel) => { const el = document.querySelector(sel); if (!el) return null;
                               const b = el.getBoundingClientRect(); return b.width ? {x: b.x, width: b.width} : null; };
        const out = {panel: box('#panel'), acceptors: box('.px-acceptors'), proposers: box('.px-proposers')};
        return Object.values(out).every((b) => b) ? out : null; }""").json_value()
    panel = boxes["panel"]
    for table in ("acceptors", "proposers"):
        box = boxes[table]
        assert box["x"] + box["width"] <= panel["x"] + panel["width"] + 1, table
    page.screenshot(path=ARTIFACTS / "paxos-phone-390.png", full_page=True)
    errors.check()
