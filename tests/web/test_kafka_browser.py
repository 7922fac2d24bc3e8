"""Kafka in the real page (headless Chromium, live Daphne): add a consumer and watch partitions move on the
ownership board; the cooperative join moves only one partition; the board fits a phone.

Screenshots go to test-artifacts/kafka-*.png.
"""

import pytest

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

ALL = [f"t0p{i}" for i in range(6)]

OWNED = """() => { const s = window.playground.snapshot; const o = {};
    for (const id of s.order) if (id !== 'broker') o[id] = s.nodes[id].owned; return o; }"""


def open_kafka(page, base, query=""):
    page.goto(f"{base}/play/kafka/?seed=1&speed=1000{query}")
    page.wait_for_function("window.playground && window.playground.snapshot !== null")


def stable(page, generation, timeout=15_000):
    page.wait_for_function(f"""() => {{ const s = window.playground.snapshot; const b = s.nodes.broker;
        return b.state === 'Stable' && b.generation === {generation}
            && s.order.every((id) => id === 'broker' || !s.nodes[id].active || s.nodes[id].phase === 'stable'); }}""",
                           timeout=timeout)
    page.wait_for_timeout(300)  # a frame or two for the panel


def spans(page, consumer, tp, open_=None):
    sel = f".kf-span[data-consumer='{consumer}'][data-tp='{tp}']"
    if open_ is not None:
        sel += f"[data-open='{1 if open_ else 0}']"
    return page.locator(sel).count()


def test_add_a_consumer_and_watch_partitions_move_on_the_board(daphne_server, make_page):
    """Three consumers own two partitions each. Clicking "+ Consumer" starts c4: an eager rebalance (range) in
    which everyone revokes everything, then c4 gets a partition that c3 had. The board shows it: c4's bar on that
    row, every row with a revoked bar and a gap before the new one; the feed tells the stop-the-world story."""
    page, errors = make_page()
    open_kafka(page, daphne_server)
    stable(page, 1)
    before = page.evaluate(OWNED)
    assert sorted(t for ts in before.values() for t in ts) == ALL and before["c4"] == []
    for c in ("c1", "c2", "c3"):
        for tp in before[c]:
            assert spans(page, c, tp, open_=True) == 1
    page.screenshot(path=str(ARTIFACTS / "kafka-before-join.png"))

    page.locator("#proto-toolbar button", has_text="+ Consumer").click()
    stable(page, 2)
    after = page.evaluate(OWNED)
    assert sorted(t for ts in after.values() for t in ts) == ALL
    assert after["c4"], "c4 got partitions"
    moved = [tp for tp in ALL if next(c for c in before if tp in before[c]) != next(c for c in after if tp in after[c])]
    assert set(after["c4"]) <= set(moved)
    for tp in after["c4"]:
        assert spans(page, "c4", tp, open_=True) == 1
        assert spans(page, "c3", tp, open_=False) == 1  # c3's bar on that row ended
    for tp in ALL:  # eager: every partition was revoked, so every row has an ended bar
        assert page.locator(f".kf-span[data-tp='{tp}'][data-open='0']").count() >= 1
    feed = page.locator("#feed").inner_text()
    assert "c4 starts and joins the group" in feed
    assert "revoked all its partitions" in feed and "eager stop-the-world" in feed
    assert "Generation 2 is stable" in feed
    assert page.locator("[data-stat=unowned]").inner_text() == "0"
    assert page.locator(".invariant.bad").count() == 0

    page.locator("[data-zoom=rebalance]").click()
    page.wait_for_timeout(200)
    assert page.locator(".kf-band").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "kafka-add-consumer.png"))
    errors.check()


def test_cooperative_join_moves_only_one_partition(daphne_server, make_page):
    """The cooperative preset (c1 owns p0-p2, c2 joins): c1's bars for p0 and p1 never break; p2's row has c1's
    bar, a gap between the two rounds, then c2's."""
    page, errors = make_page()
    open_kafka(page, daphne_server, "&preset=kafka-join-cooperative")
    page.wait_for_function("() => window.playground.snapshot.nodes.c2.owned.includes('t0p2')", timeout=20_000)
    stable(page, 3)
    for tp in ("t0p0", "t0p1"):
        assert spans(page, "c1", tp) == 1 and spans(page, "c1", tp, open_=True) == 1
    assert spans(page, "c1", "t0p2", open_=False) == 1 and spans(page, "c2", "t0p2", open_=True) == 1
    gap = page.evaluate("""() => { const a = document.querySelector(".kf-span[data-consumer='c1'][data-tp='t0p2']");
        const b = document.querySelector(".kf-span[data-consumer='c2'][data-tp='t0p2']");
        return b.x.baseVal.value - (a.x.baseVal.value + a.width.baseVal.value); }""")
    assert gap > 0, "p2 is unowned between the rounds"
    feed = page.locator("#feed").inner_text()
    assert "second round" in feed
    page.locator("[data-zoom=rebalance]").click()
    page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / "kafka-cooperative.png"))
    errors.check()


def test_board_fits_a_phone(daphne_server, make_page):
    page, errors = make_page(width=360, height=800)
    open_kafka(page, daphne_server, "&preset=kafka-stalled-consumer")
    page.wait_for_function("() => window.playground.snapshot.t > 7000", timeout=20_000)
    page.wait_for_timeout(300)
    panel = page.locator("#panel")
    overflow = panel.evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow <= 1
    box = page.evaluate("() => { const r = document.querySelector('.kf-board').getBoundingClientRect(); "
                        "return [r.left, r.right]; }")
    assert box[0] >= 0 and box[1] <= 360
    page.locator("#panel").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "kafka-phone.png"), full_page=True)
    errors.check()


def test_coordinator_failover_moves_the_badge(daphne_server, make_page):
    """The failover preset (3 brokers): b1 wears the COORD badge; b1 crashes at 6 s and, after the controller's
    broker.session.timeout.ms, the badge is on b2; the consumers found b2 with FindCoordinator and the feed says so.
    Screenshot at the projector's 1280x720."""
    page, errors = make_page(width=1280, height=720)
    open_kafka(page, daphne_server, "&preset=kafka-coordinator-failover&speed=4")
    page.wait_for_function("() => window.playground.snapshot.t > 2000", timeout=20_000)
    page.wait_for_timeout(200)
    assert page.locator("[data-node=b1] .badge-text").text_content() == "COORD"
    assert page.locator("[data-node=b2] .badge-text").text_content() == "in sync"
    page.wait_for_function("() => window.playground.snapshot.t > 6300", timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "kafka-coordinator-lost.png"))  # the consumers look for it meanwhile
    page.wait_for_function("() => window.playground.snapshot.nodes.b2.role === 'coordinator'", timeout=20_000)
    page.wait_for_function("() => { const s = window.playground.snapshot; "
                           "return ['c1', 'c2', 'c3'].every((c) => s.nodes[c].coordinator === 'b2'); }",
                           timeout=20_000)
    page.wait_for_timeout(300)
    assert page.locator("[data-node=b2] .badge-text").text_content() == "COORD"
    assert page.evaluate("() => window.playground.snapshot.nodes.b1.status") == "crashed"
    feed = page.locator("#feed").inner_text()
    assert "b1 crashed: it was the group coordinator" in feed
    assert "b2 becomes the group coordinator" in feed and "__consumer_offsets" in feed
    assert "found the new coordinator with FindCoordinator: b2" in feed
    assert page.locator(".kf-sub").inner_text().endswith("coordinator b2")
    assert page.locator(".invariant.bad").count() == 0
    page.screenshot(path=str(ARTIFACTS / "kafka-coordinator-failover.png"))
    errors.check()
