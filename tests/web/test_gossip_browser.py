"""Gossip in the real page (headless Chromium, live Daphne): 1,000 nodes catching a rumour, the residue rumour
mongering leaves, and SWIM noticing a crashed node and a paused one refuting its suspicion.

Scenarios reach the page either through its own settings dialog or, for presets, by swapping the scenario into
the page's `start` message on the WebSocket (Playwright routes the socket), so the page itself is exactly what
users get. Screenshots go to test-artifacts/gossip-*.png.
"""

import pytest

from simulator.protocols.gossip import Gossip

from .conftest import ARTIFACTS, open_playground, preset_scenario

pytestmark = pytest.mark.browser

UNHEARD, HOT, KNOWS = "#64748b", "#f59e0b", "#15803d"
ALIVE, SUSPECT, DEAD = "#2563eb", "#f59e0b", "#dc2626"


def preset(slug, **changes):
    return preset_scenario(Gossip, slug, **changes)


def open_gossip(page, base, scenario=None, seed=1, speed=1000):
    open_playground(page, base, "gossip", scenario, seed, speed)


def fills(page):
    """node id -> the fill the page drew."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.node')]
        .map((g) => [g.dataset.node, g.querySelector('.node-body').getAttribute('fill')]))""")


def feed(page):
    return page.locator(".feed").inner_text()


def test_a_thousand_nodes_catch_the_rumour(daphne_server, make_page):
    """Settings dialog -> 1,000 nodes, push-pull rumour mongering: the grid turns green, the chart reaches 100%,
    the feed tells the milestones; nodes stay on the stage, clear of the crash zone, none hidden by another."""
    page, errors = make_page()
    open_gossip(page, daphne_server, speed=200)
    page.click("#settings-btn")
    form = page.locator("#settings-form")
    form.locator("[name=nodes]").fill("1000")
    form.locator("[name='params.mode']").select_option("rumor")
    form.locator("[name='params.style']").select_option("push_pull")
    form.locator("[name='params.stop_k']").fill("4")
    form.locator("button[value=apply]").click()
    page.wait_for_function("window.playground.snapshot.order.length === 1000", timeout=30_000)
    # mid-spread: all three colours on screen
    page.wait_for_function("""() => { const s = window.playground.snapshot;
        const k = s.order.filter((id) => s.nodes[id].store.r1).length; return k > 300 && k < 900; }""",
                           timeout=60_000)
    # the page draws a little behind the server while playing: that is not "travelled back", so the timeline
    # offers no fork and no "Latest" button (it once flickered them on every frame at this size)
    behind = page.evaluate("""() => new Promise((done) => { let seen = 0, n = 0;
        const look = () => { seen += document.querySelector('.timeline').classList.contains('behind') ? 1 : 0;
                             if (++n < 60) requestAnimationFrame(look); else done(seen); };
        look(); })""")
    assert behind == 0
    page.wait_for_timeout(150)
    page.screenshot(path=ARTIFACTS / "gossip-1000-spreading-1280x720.png")
    page.wait_for_function("""() => { const s = window.playground.snapshot;
        return s.order.every((id) => s.nodes[id].store.r1); }""", timeout=60_000)
    page.wait_for_function("document.querySelector('#panel [data-chart]').getAttribute('aria-label')"
                           ".includes('know the rumour 100%')", timeout=30_000)
    got = fills(page)
    assert len(got) == 1000 and set(got.values()) <= {HOT, KNOWS}
    assert page.locator('.node[data-node="n1"] .node-label').text_content() == ""  # no labels at this size
    assert_grid_fits_the_stage(page)
    # a smaller window (a projector's 1024 x 640): the grid is laid out anew, still clear of the crash zone
    page.set_viewport_size({"width": 1024, "height": 640})
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "gossip-1000-1024x640.png")
    page.wait_for_timeout(300)
    assert_grid_fits_the_stage(page)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_timeout(300)
    text = feed(page)
    assert "10% of the nodes know r1" in text and "50% of the nodes know r1" in text and "Everyone knows r1" in text
    assert "heard r1" not in text.split("1000 nodes")[0]  # no per-node chatter at this size
    assert "100% informed" in page.locator("#panel .panel-title").inner_text()
    page.wait_for_timeout(200)
    page.screenshot(path=ARTIFACTS / "gossip-1000-everyone-1280x720.png")
    errors.check()


def assert_grid_fits_the_stage(page):
    """A grid inside the stage, clear of the crash zone; neighbours do not overlap."""
    boxes = page.evaluate("""() => [...document.querySelectorAll('.node .node-body')].map((c) => {
        const b = c.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2, b.width]; })""")
    zone = page.locator(".crash-zone rect").bounding_box()
    stage = page.locator("#topology").bounding_box()
    for x, y, w in boxes:
        assert not (zone["x"] - w / 2 < x < zone["x"] + zone["width"] + w / 2
                    and zone["y"] - w / 2 < y < zone["y"] + zone["height"] + w / 2), (x, y, zone)
        assert stage["x"] < x < stage["x"] + stage["width"] and stage["y"] < y < stage["y"] + stage["height"]
    xs = sorted({round(x) for x, _, _ in boxes})
    gaps = [b - a for a, b in zip(xs, xs[1:]) if b - a > 1]
    # columns at least 3/4 of a node apart: neighbours may touch (the page's smallest node is 18 px across, and
    # a 1280 x 720 stage has room for about 17 px per node), but none hides another
    assert min(gaps) >= 0.75 * boxes[0][2]


def test_rumour_mongering_leaves_a_residue(daphne_server, make_page):
    """200 nodes, push, k = 1: the rumour dies out; the feed names the residue, the slate nodes are exactly the
    ones that never heard it, and the panel says so."""
    page, errors = make_page(1024, 768)  # a classroom projector
    open_gossip(page, daphne_server, preset("gossip-residue"))
    page.wait_for_function("document.querySelector('.feed').innerText.includes('the rumour died out')",
                           timeout=60_000)
    snap = page.evaluate("window.playground.snapshot")
    unheard = [nid for nid in snap["order"] if "r1" not in snap["nodes"][nid]["store"]]
    assert unheard and all(not v["hot"] for v in snap["nodes"].values())
    assert f"{len(unheard)} of 200 nodes never heard it (the residue)" in feed(page)
    page.wait_for_timeout(300)  # the next animation frame repaints the last changes
    got = fills(page)
    assert sorted(nid for nid, f in got.items() if f == UNHEARD) == sorted(unheard)
    assert set(got.values()) == {UNHEARD, KNOWS}
    assert "will never hear it (the residue)" in page.locator("#panel").inner_text()
    page.screenshot(path=ARTIFACTS / "gossip-residue-1024x768.png")
    errors.check()


def test_swim_suspects_then_declares_a_crashed_node_dead(daphne_server, make_page):
    """Drag n5 onto the crash zone: someone suspects it after a failed ping and ping-reqs, the suspicion spreads
    (amber), and after the suspicion timeout everyone holds it dead."""
    page, errors = make_page()
    open_gossip(page, daphne_server, preset("gossip-swim-crash", interventions=[]))
    page.wait_for_function("window.playground.snapshot.t > 1500")
    start = page.locator('[data-node="n5"] .node-body').bounding_box()
    zone = page.locator(".crash-zone rect").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(start["x"] + (zone["x"] + zone["width"] / 2 - start["x"]) * i / 15,
                        start["y"] + (zone["y"] + zone["height"] / 2 - start["y"]) * i / 15)
    page.mouse.up()
    page.wait_for_function("window.playground.snapshot.nodes.n5.status === 'crashed'")
    crashed_at = page.evaluate("window.playground.snapshot.t")
    page.wait_for_function("document.querySelector('.feed').innerText.includes('suspects n5')", timeout=30_000)
    page.wait_for_function("""() => { const s = window.playground.snapshot;
        return s.order.every((id) => id === 'n5' || s.nodes[id].dead.some((e) => e[0] === 'n5')); }""",
                           timeout=30_000)
    dead_at = page.evaluate("window.playground.snapshot.t")
    assert dead_at - crashed_at >= 4816  # the suspicion timeout (4 x 1 s x log10 16) had to run out
    text = feed(page)
    assert "declares n5 dead: no refutation within the suspicion timeout" in text
    assert "no ack to its ping, nor through the others (ping-req)" in text
    page.wait_for_timeout(200)
    panel = page.locator("#panel").inner_text()
    assert "1 dead" in panel and "dead (15)" in panel
    assert set(fills(page).values()) <= {ALIVE, "#cbd5e1"}  # the dead one is drawn crashed, the rest alive
    page.screenshot(path=ARTIFACTS / "gossip-swim-crash-1280x720.png")
    errors.check()


def test_swim_paused_node_refutes_its_suspicion(daphne_server, make_page):
    """The toolbar pauses a member; it is suspected (amber); resumed, it refutes with incarnation 1 (badge i1)
    and nobody ever declares it dead."""
    page, errors = make_page()
    open_gossip(page, daphne_server, preset("gossip-swim-pause", interventions=[]))
    page.wait_for_function("window.playground.snapshot.t > 1000")
    pause = page.locator("#proto-toolbar button", has_text="Pause")
    target = pause.inner_text().split()[-1]
    pause.click()
    page.wait_for_function(f"window.playground.snapshot.nodes['{target}'].status === 'paused'")
    page.wait_for_function(f"""() => {{ const s = window.playground.snapshot;
        return s.order.some((id) => s.nodes[id].suspects.some((e) => e[0] === '{target}')); }}""", timeout=30_000)
    page.wait_for_timeout(300)
    assert fills(page)[target] == SUSPECT
    page.screenshot(path=ARTIFACTS / "gossip-swim-suspected-1280x720.png")
    page.locator("#proto-toolbar button", has_text=f"Resume {target}").click()
    page.wait_for_function(f"window.playground.snapshot.nodes['{target}'].incarnation === 1", timeout=30_000)
    page.wait_for_function(f"""() => {{ const s = window.playground.snapshot;
        return s.order.every((id) => !s.nodes[id].suspects.length && !s.nodes[id].dead.length); }}""",
                           timeout=30_000)
    page.wait_for_timeout(300)
    assert page.locator(f'[data-node="{target}"] .badge-text').text_content() == "i1"
    assert fills(page)[target] == ALIVE
    assert f"{target} heard it is suspected and refutes" in feed(page)
    assert "declares" not in feed(page)
    page.screenshot(path=ARTIFACTS / "gossip-swim-refuted-1280x720.png")
    errors.check()


def test_a_thousand_nodes_split_in_two_keep_the_rumour_on_one_side(daphne_server, make_page):
    """A scenario splits 1,000 nodes into two islands before the rumour starts: the grid fills on n1's side only,
    the feed tells the partition in one short line, and the page stays responsive (islands, not 500,000 cuts)."""
    ids = [f"n{i}" for i in range(1, 1001)]
    scenario = preset("gossip-1000", interventions=[{"at": 0, "action": "partition", "groups": [ids[:500]]}])
    scenario["params"] = {**scenario.get("params", {}), "mode": "anti_entropy"}
    page, errors = make_page()
    open_gossip(page, daphne_server, scenario, speed=1000)
    page.wait_for_function("window.playground.snapshot.net.partition.length === 2", timeout=30_000)
    page.wait_for_function("""() => { const s = window.playground.snapshot;
        return s.order.slice(0, 500).every((id) => s.nodes[id].store.r1); }""", timeout=60_000)
    snap = page.evaluate("""() => { const s = window.playground.snapshot;
        return {far: s.order.slice(500).filter((id) => s.nodes[id].store.r1).length,
                cutLinks: document.querySelectorAll('.link').length}; }""")
    assert snap["far"] == 0 and snap["cutLinks"] == 0  # nothing crossed; no dashed line per pair at this size
    assert "✂ Partition: {n1 … n500: 500 nodes} | the rest" in feed(page)
    assert "Split into 2 islands" in page.locator("#panel").inner_text()
    page.screenshot(path=ARTIFACTS / "gossip-1000-partition-1280x720.png")
    errors.check()
