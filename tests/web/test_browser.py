"""The real page in headless Chromium against a live Daphne: direct manipulation, keys, viewers, layouts.

Screenshots go to test-artifacts/ (look at them: they are how the page looks on a projector and a phone).
"""

import json

import pytest

from simulator import InterventionError, Simulation
from simulator.protocols import protocol_names

from .conftest import ARTIFACTS, drag, next_frames, open_playground

ROOT = ARTIFACTS.parent

pytestmark = pytest.mark.browser

LEADER_COLOR = "#16a34a"


def open_play(page, base, protocol="raft", seed=3, speed=1000, query=""):
    open_playground(page, base, protocol, seed=seed, speed=speed, query=query)


def wait_leader(page, other_than=None, min_term=0):
    page.wait_for_function(
        """([other, minTerm]) => { const l = window.playground.leader();
             return l !== null && l !== other && window.playground.snapshot.nodes[l].term >= minTerm; }""",
        arg=[other_than, min_term])
    return page.evaluate("window.playground.leader()")


def snap(page):
    return page.evaluate("window.playground.snapshot")


def center(page, selector):
    box = page.locator(selector).bounding_box()
    assert box, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def node_center(page, nid):
    return center(page, f'[data-node="{nid}"] .node-body')


def link_point(page, a, b, frac=0.3):
    """A point on the link a-b, `frac` of the way from a: clear of other links and of both nodes."""
    (ax, ay), (bx, by) = node_center(page, a), node_center(page, b)
    return ax + (bx - ax) * frac, ay + (by - ay) * frac


def link_key(a, b):
    return f"{min(a, b)}|{max(a, b)}"


def test_home_gallery_opens_each_playground(daphne_server, make_page):
    page, errors = make_page()
    page.goto(daphne_server + "/")
    cards = page.locator(".card")
    assert cards.count() == len(protocol_names())
    assert page.locator('.card[data-protocol="raft"] h2').inner_text() == "Raft"
    page.screenshot(path=ARTIFACTS / "home-1280.png")
    page.locator('.card[data-protocol="raft"] a').click()
    page.wait_for_url("**/play/raft/")
    page.wait_for_function("window.playground && window.playground.snapshot !== null")
    errors.check()


def test_a_leader_appears(daphne_server, make_page):
    page, errors = make_page()
    open_play(page, daphne_server)
    leader = wait_leader(page)
    node = page.locator(f'.node[data-node="{leader}"]')
    assert node.locator(".node-body").get_attribute("fill") == LEADER_COLOR
    assert node.locator(".badge-text").text_content().startswith("★T")
    assert page.locator(".feed").inner_text().count(f"{leader} won the election") == 1
    # election-timer arcs on the followers
    assert page.locator('.node[data-status="up"] .timer-arc[data-timer="election"]').count() >= 3
    page.wait_for_timeout(400)
    page.screenshot(path=ARTIFACTS / "raft-leader-1280x720.png")
    errors.check()


def test_dragging_the_leader_to_the_crash_zone_elects_a_new_one(daphne_server, make_page):
    page, errors = make_page()
    open_play(page, daphne_server, seed=5)
    leader = wait_leader(page)
    term = snap(page)["nodes"][leader]["term"]
    drag(page, node_center(page, leader), center(page, ".crash-zone rect"))
    page.wait_for_function(f"window.playground.snapshot.nodes['{leader}'].status === 'crashed'")
    # the page draws the new snapshot on its next animation frame
    page.wait_for_function(
        f"""document.querySelector('.node[data-node="{leader}"]').getAttribute('data-status') === 'crashed'""")
    new = wait_leader(page, other_than=leader, min_term=term + 1)
    assert new != leader
    feed = page.locator(".feed").inner_text()
    assert f"{leader} crashed" in feed and f"{new} won the election: leader of term" in feed
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "raft-leader-crashed-1280x720.png")
    # click the crashed node in the zone: it restarts (as a follower, from its persistent term)
    page.locator(f'.node[data-node="{leader}"] .node-body').click()
    page.wait_for_function(f"window.playground.snapshot.nodes['{leader}'].status === 'up'")
    errors.check()


def test_cutting_every_link_of_a_node_makes_its_term_rise(daphne_server, make_page):
    page, errors = make_page()
    open_play(page, daphne_server, seed=3)
    leader = wait_leader(page)
    order = snap(page)["order"]
    lonely = next(n for n in order if n != leader)
    term = snap(page)["nodes"][leader]["term"]
    for other in order:
        if other == lonely:
            continue
        page.mouse.click(*link_point(page, lonely, other))
        page.wait_for_selector(f'.link[data-link="{link_key(lonely, other)}"][data-cut="1"]')
    cuts = snap(page)["net"]["cuts"]
    assert len(cuts) == 2 * (len(order) - 1) and all(lonely in pair for pair in cuts)
    # isolated, it times out again and again: its term climbs past the cluster's
    page.wait_for_function(f"window.playground.snapshot.nodes['{lonely}'].term >= {term + 2}")
    assert page.evaluate("window.playground.leader()") == leader  # the majority keeps its leader
    assert page.locator(".link.cut").count() == len(order) - 1
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "raft-isolated-1280x720.png")
    # click a cut link again: healed
    page.mouse.click(*link_point(page, lonely, leader))
    page.wait_for_selector(f'.link[data-link="{link_key(lonely, leader)}"][data-cut="0"]')
    errors.check()


def test_keys_play_pause_step_and_help(daphne_server, make_page):
    page, errors = make_page()
    open_play(page, daphne_server, speed=200)
    page.wait_for_function("window.playground.state.eventCount > 0")
    page.keyboard.press("Space")
    page.wait_for_function("!window.playground.state.playing")
    assert "Play" in page.locator("#play").inner_text()
    page.wait_for_timeout(300)  # the last frame computed before the pause may still arrive
    count = page.evaluate("window.playground.state.eventCount")
    page.wait_for_timeout(400)
    assert page.evaluate("window.playground.state.eventCount") == count  # paused: nothing more
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"window.playground.state.eventCount === {count + 1}")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"window.playground.state.eventCount === {count + 2}")
    page.wait_for_timeout(200)
    assert page.evaluate("window.playground.state.eventCount") == count + 2  # exactly one event per step
    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    page.screenshot(path=ARTIFACTS / "help-1280x720.png")
    page.keyboard.press("Escape")
    page.wait_for_selector("#help:not([open])", state="attached")
    page.keyboard.press("Space")
    page.wait_for_function(f"window.playground.state.playing && window.playground.state.eventCount > {count + 2}")
    errors.check()


def test_node_menu_pauses_and_resumes(daphne_server, make_page):
    page, errors = make_page()
    open_play(page, daphne_server)
    page.locator('.node[data-node="n2"] .node-body').click(button="right")
    menu = page.locator("#node-menu")
    menu.wait_for(state="visible")
    page.screenshot(path=ARTIFACTS / "node-menu-1280x720.png")
    menu.get_by_role("button", name="Pause").click()
    page.wait_for_function("window.playground.snapshot.nodes.n2.status === 'paused'")
    assert menu.is_hidden()
    page.locator('.node[data-node="n2"] .node-body').click(button="right")
    menu.get_by_role("button", name="Resume").click()
    page.wait_for_function("window.playground.snapshot.nodes.n2.status === 'up'")
    errors.check()


def test_dragging_nodes_into_islands_partitions_the_network(daphne_server, make_page):
    page, errors = make_page()
    open_play(page, daphne_server)
    wait_leader(page)
    page.locator("#islands").click()
    page.wait_for_selector('.island[data-island="B"]', state="visible")
    drag(page, node_center(page, "n1"), center(page, '.island[data-island="B"] rect'))
    page.wait_for_function("window.playground.snapshot.net.partition.length === 2")  # {n1} | {n2 n3 n4 n5}
    next_frames(page)  # island A's four are laid out anew: read n2 where it is now
    drag(page, node_center(page, "n2"), center(page, '.island[data-island="B"] rect'))
    page.wait_for_function("window.playground.snapshot.net.partition.some((g) => g.length === 2)")
    assert snap(page)["net"]["partition"] == [["n3", "n4", "n5"], ["n1", "n2"]]  # islands A and B
    # links across islands are drawn cut, links inside an island are not
    assert page.locator('.link[data-link="n1|n3"][data-cut="1"]').count() == 1
    assert page.locator('.link[data-link="n1|n2"][data-cut="0"]').count() == 1
    assert page.locator('.link[data-link="n4|n5"][data-cut="0"]').count() == 1
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "islands-1280x720.png")
    page.locator("#islands").click()  # heal
    page.wait_for_function("window.playground.snapshot.net.partition.length === 0")
    errors.check()


def test_a_long_press_on_a_tablet_opens_the_node_menu(daphne_server, make_page):
    """A finger held on a node (no right button on a tablet) opens its menu while still down, and lifting the
    finger leaves it open; then a button in it works."""
    page, errors = make_page(width=1024, height=768, has_touch=True, is_mobile=True)
    open_play(page, daphne_server)
    cdp = page.context.new_cdp_session(page)
    x, y = node_center(page, "n3")
    menu = page.locator("#node-menu")
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y, "id": 1}]})
    page.wait_for_timeout(250)
    assert menu.is_hidden()  # not yet: a press becomes a menu only when held
    menu.wait_for(state="visible", timeout=2000)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(300)
    assert menu.is_visible() and "n3" in menu.inner_text()
    page.screenshot(path=ARTIFACTS / "node-menu-long-press-1024x768.png")
    menu.get_by_role("button", name="Crash").click()
    page.wait_for_function("window.playground.snapshot.nodes.n3.status === 'crashed'")
    errors.check()


def test_with_many_nodes_the_node_menu_cuts_links_and_isolates_one_node_after_another(daphne_server, make_page):
    """15 servers: the stage draws no link to click, so the node menu offers "Cut a link…"; isolating n1 and then
    n2 leaves both isolated (a new partition replaces the last, so the page builds on the one in force)."""
    page, errors = make_page()
    open_playground(page, daphne_server, "raft", {"protocol": "raft", "seed": 3, "nodes": 15}, seed=3)
    page.wait_for_function("window.playground.snapshot.order.length === 15")
    menu = page.locator("#node-menu")

    def menu_of(nid):
        page.locator(f'.node[data-node="{nid}"] .node-body').click(button="right")
        menu.wait_for(state="visible")

    menu_of("n3")
    menu.get_by_role("button", name="Cut a link…").click()
    assert "cut the link to" in menu.inner_text()
    page.screenshot(path=ARTIFACTS / "node-menu-cut-a-link-1280x720.png")
    menu.get_by_role("button", name="n7", exact=True).click()
    page.wait_for_selector('.link[data-link="n3|n7"][data-cut="1"]')  # drawn now, so it can be clicked to heal
    assert menu.is_hidden()
    for groups, nid in ((2, "n1"), (3, "n2")):
        menu_of(nid)
        menu.get_by_role("button", name="Isolate (cut all its links)").click()
        # the partition in force is drawn spread apart: the next node is clicked where it ends up
        page.wait_for_function(f"() => (window.playground.snapshot.net.partition || []).length === {groups}")
        page.wait_for_timeout(600)
    groups = snap(page)["net"]["partition"]
    assert ["n1"] in groups and ["n2"] in groups and snap(page)["net"]["cuts"] == [["n3", "n7"], ["n7", "n3"]]
    errors.check()


def test_a_viewer_sees_the_owners_run_live(daphne_server, make_page):
    owner, errors = make_page()
    open_play(owner, daphne_server)
    wait_leader(owner)
    room = owner.evaluate("window.playground.state.room")
    viewer, viewer_errors = make_page(width=900, height=700)
    viewer.goto(f"{daphne_server}/play/raft/?watch={room}")
    viewer.wait_for_function("window.playground && window.playground.snapshot !== null")
    assert viewer.locator("body.viewer").count() == 1
    owner.locator('.node[data-node="n4"] .node-body').click(button="right")
    owner.locator("#node-menu").get_by_role("button", name="Crash").click()
    viewer.wait_for_function("window.playground.snapshot.nodes.n4.status === 'crashed'")
    viewer.wait_for_function("window.playground.leader() !== null")
    viewer.screenshot(path=ARTIFACTS / "viewer-900x700.png")
    errors.check()
    viewer_errors.check()


def test_phone_width_layout_and_touch(daphne_server, make_page):
    page, errors = make_page(width=390, height=844, has_touch=True, is_mobile=True, device_scale_factor=2)
    open_play(page, daphne_server)
    leader = wait_leader(page)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390  # no sideways scrolling
    other = next(n for n in snap(page)["order"] if n != leader)
    page.touchscreen.tap(*link_point(page, leader, other))
    page.wait_for_selector(f'.link[data-link="{link_key(leader, other)}"][data-cut="1"]')
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "raft-phone-390.png", full_page=True)
    assert not topbar_overflow(page)
    # the longest titles too: the top bar (title, connection, Share, Invite, "?") fits, nothing clipped or sticking out
    for protocol in ("twophase", "kafka"):
        open_play(page, daphne_server, protocol=protocol)
        page.wait_for_function("window.playground.snapshot.t > 0")
        assert not topbar_overflow(page), protocol
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390, protocol
        page.screenshot(path=ARTIFACTS / f"{protocol}-topbar-phone-390.png", clip={"x": 0, "y": 0, "width": 390, "height": 120})
    errors.check()


def topbar_overflow(page):
    """What in the top bar (or the timeline) is not wholly inside the viewport, or is cut off by its own box."""
    return page.evaluate("""() => { const W = document.documentElement.clientWidth; const out = [];
        for (const el of document.querySelectorAll('.topbar, .topbar *, .timeline, .timeline *')) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || getComputedStyle(el).visibility === 'hidden') continue;
            if (el.id === 'conn-text') continue;  // visually hidden on a phone (the dot stays)
            if (r.left < -0.5 || r.right > W + 0.5) out.push(`${el.tagName}#${el.id}.${el.className} ${r.left}..${r.right}`);
            if (el.matches('.topbar .btn') && el.scrollWidth > el.clientWidth + 1) out.push(`${el.id} clipped`);
        }
        return out; }""")


@pytest.mark.parametrize("protocol", protocol_names())
def test_every_protocol_page_runs_without_errors(daphne_server, make_page, protocol):
    """Each protocol's playground loads its view module (or the generic one) and draws frames."""
    page, errors = make_page()
    open_play(page, daphne_server, protocol=protocol)
    page.wait_for_function("window.playground.snapshot.t > 1000")  # frames flow (some protocols idle at first)
    page.wait_for_timeout(500)
    n = len(snap(page)["order"])
    assert page.locator(".node").count() == n
    page.screenshot(path=ARTIFACTS / f"{protocol}-1280x720.png")
    errors.check()


def _replay_cases():
    cases = []
    for name in protocol_names():
        sim = Simulation({"protocol": name, "seed": 4, "network": {"loss": 0.05, "duplicate": 0.05}})
        a, b, c, d, e = (sim.node_ids * 5)[:5]
        plan = [(300, {"action": "crash", "node": b}), (700, {"action": "partition", "groups": [[a, c]]}),
                (1100, {"action": "pause", "node": d}), (1500, {"action": "resume", "node": d}),
                (1800, {"action": "heal_all"}), (2100, {"action": "restart", "node": b}),
                (2400, {"action": "cut", "a": e, "b": a, "oneway": True})]
        if name == "raft":
            plan += [(t, {"action": "client_request", "node": "leader"}) for t in (1000, 1700, 2900)]
        plan.sort(key=lambda x: x[0])
        before = sim.snapshot()
        sim.drain()
        for t, iv in plan + [(3000, None)]:
            sim.advance(t)
            if iv is not None:
                try:
                    sim.intervene(iv)
                except InterventionError:
                    pass  # e.g. no leader at that moment
            events = sim.drain()
            after = sim.snapshot()
            cases.append({"name": name, "snapshot": before, "events": events, "until": sim.now, "expected": after})
            before = after
    return cases


def test_replay_js_agrees_with_the_engine(daphne_server, make_page):
    """static/js/replay.js, run in the browser: snapshot(t0) + events(t0..t1) == snapshot(t1), as in Python."""
    cases = _replay_cases()
    assert any(ev["type"] == "state" and "splice" in ev for c in cases for ev in c["events"])
    assert any(ev["type"] == "hold" for c in cases for ev in c["events"])
    page, errors = make_page()
    page.goto(daphne_server + "/")
    got = page.evaluate("""async (cases) => {
        const { applyEvent } = await import("/static/js/replay.js");
        return cases.map(({ snapshot, events, until }) => {
            const snap = JSON.parse(JSON.stringify(snapshot));
            for (const ev of events) applyEvent(snap, ev);
            snap.t = until;
            return snap;
        });
    }""", [{k: c[k] for k in ("snapshot", "events", "until")} for c in cases])
    for case, result in zip(cases, got):
        assert json.loads(json.dumps(result)) == json.loads(json.dumps(case["expected"])), case["name"]
    errors.check()


def test_a_violation_turns_its_badge_red_and_points_at_the_event(daphne_server, make_page):
    """Raft with the Figure 8 mutation (docs/examples): Leader Completeness breaks; its badge turns red, and
    clicking it brings the offending event forward in the feed and selects the node."""
    scenario = json.loads((ROOT / "docs" / "examples" / "raft-mutation-commit-old-terms.json").read_text())
    page, errors = make_page()
    open_playground(page, daphne_server, "raft", scenario, seed=3, speed=1000)
    badge = page.locator('.invariant[data-invariant="leader_completeness"]')
    page.wait_for_selector('.invariant.bad[data-invariant="leader_completeness"]')
    assert "@ 0.670 s" in badge.inner_text()
    assert page.locator('.invariant.ok[data-invariant="election_safety"]').count() == 1
    badge.click()
    flashed = page.locator(".feed-item.violation.flash")
    flashed.wait_for()
    assert "leader completeness violated" in flashed.inner_text()
    node = page.evaluate("window.playground.state.selected")
    assert node and page.locator(f'.node.selected[data-node="{node}"]').count() == 1
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / "raft-violation-1280x720.png")
    errors.check()


def test_settings_offer_presets_and_mutations(daphne_server, make_page):
    page, errors = make_page()
    open_play(page, daphne_server)
    page.locator("#settings-btn").click()
    dialog = page.locator("#settings")
    dialog.wait_for(state="visible")
    assert dialog.locator('[name="mutation.commit_old_terms"]').count() == 1
    assert dialog.locator('[name="params.pre_vote"]').count() == 1
    page.screenshot(path=ARTIFACTS / "settings-1280x720.png")
    # a bad value comes back as an error next to its field, and the run goes on
    dialog.locator('[name="params.heartbeat_interval"]').fill("400")
    dialog.get_by_role("button", name="Apply and restart").click()
    dialog.locator('[data-field="params.heartbeat_interval"] .field-error').wait_for()
    dialog.locator('[name="params.heartbeat_interval"]').fill("50")
    dialog.locator('[name="mutation.vote_without_log_check"]').check()
    dialog.get_by_role("button", name="Apply and restart").click()
    dialog.wait_for(state="hidden")
    page.wait_for_function("window.playground.state.scenario.mutations.includes('vote_without_log_check')")
    # a ready-made scenario
    page.locator("#settings-btn").click()
    page.locator('.preset[data-preset="raft-split-vote"]').click()
    page.wait_for_function("window.playground.state.scenario.nodes === 4")
    assert dialog.is_hidden()
    errors.check()
