"""The space-time diagram and the message inspector in the real page (docs/frontend.md, "The space-time
diagram"): on every protocol the diagram draws one arrow per message of the trace (counted against a headless
run of the same scenario), follows a seek back (later arrows disappear) and a `?t=` link, and clicking an arrow
opens the inspector with the message's fields; dropping a message from it records `drop_message`, and the saved
link replays to the same trace hash headless."""

import json
import os
import re
import urllib.request

import pytest

from simulator import Simulation
from simulator.trace import trace_hash

from .conftest import ARTIFACTS, open_playground

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.browser

EXAMPLES = {
    "raft": ("raft-basic", {}),
    "paxos": ("paxos-basic", {}),
    "twophase": ("twophase-commit", {}),
    "gossip": ("gossip-push", {"nodes": 8}),
    "kafka": ("kafka-join-eager", {}),
}


def scenario_of(protocol):
    name, changes = EXAMPLES[protocol]
    with open(os.path.join(ROOT, "docs", "examples", f"{name}.json")) as fh:
        sc = json.load(fh)
    sc.update(changes)
    return sc


def sends(scenario, t):
    """The send events before moment `t` in a headless run."""
    sim = Simulation(json.loads(json.dumps(scenario)))
    sim.advance(t)
    return [ev for ev in sim.drain() if ev["type"] == "send"]


def sends_before(scenario, t):
    """Message ids sent before moment `t` in a headless run (what the diagram must draw at `t`)."""
    return sorted(ev["id"] for ev in sends(scenario, t))


def seek(page, t):
    page.evaluate("(t) => window.playground.timeline.seek(t)", t)
    page.wait_for_function(f"""() => window.playground.snapshot.t === {t} && !window.playground.state.playing""",
                           timeout=20_000)


def arrows(page):
    """Message ids drawn as arrows, after the diagram has shown the whole run so far."""
    page.evaluate("() => { const st = window.playground.spacetime; st.showAll(); }")
    page.wait_for_timeout(300)
    return page.evaluate("() => window.playground.spacetime.drawnIds()")


def click_arrow(page, msg_id):
    """Click the diagram's canvas where the arrow of `msg_id` is drawn (hit-testing finds it there)."""
    point = page.evaluate("(id) => window.playground.spacetime.arrowPoint(id)", msg_id)
    assert point, f"arrow {msg_id} is not drawn where it can be clicked"
    page.mouse.click(point["x"], point["y"])


@pytest.mark.parametrize("protocol", sorted(EXAMPLES))
def test_diagram_draws_the_trace_follows_seek_and_inspects(daphne_server, make_page, protocol):
    sc = scenario_of(protocol)
    page, errors = make_page()
    open_playground(page, daphne_server, protocol, scenario=sc, speed=1000)
    page.click("#spacetime-toggle")  # split view
    assert page.locator("[data-view=spacetime]").is_visible()
    late = 1200
    early = sends(sc, late)[len(sends(sc, late)) // 2]["t"]  # half-way through the traffic so far
    page.wait_for_function(f"() => window.playground.snapshot.t >= {late}", timeout=30_000)
    seek(page, late)  # back (or exactly) to `late`: every event before it was received
    assert arrows(page) == sends_before(sc, late)
    seek(page, early)  # back in time: the arrows of the abandoned future disappear
    drawn = arrows(page)
    assert drawn == sends_before(sc, early) and len(drawn) < len(sends_before(sc, late))
    # clicking an arrow opens the inspector with its fields
    mid = drawn[-1]
    click_arrow(page, mid)
    page.wait_for_selector(f'.inspector[data-msg="{mid}"]:not([hidden])')
    assert page.get_attribute("[data-view=spacetime]", "data-selected") == str(mid)
    kind = page.text_content(".inspector .insp-kind")
    assert kind and page.locator(".inspector .insp-fields tr").count() >= 1
    errors.check()


def test_a_link_opened_at_t_draws_what_is_in_flight(daphne_server, make_page):
    sc = scenario_of("raft")
    page, errors = make_page()
    open_playground(page, daphne_server, "raft", scenario=sc, speed=1000)
    seek(page, 900)
    page.click("#spacetime-toggle")
    flying = page.evaluate("() => window.playground.snapshot.messages.map((m) => m.id)")
    drawn = arrows(page)
    assert set(flying) <= set(drawn)
    errors.check()


def test_dropping_a_message_from_the_inspector_replays_from_the_saved_link(daphne_server, make_page):
    sc = scenario_of("raft")
    page, errors = make_page()
    open_playground(page, daphne_server, "raft", scenario=sc, speed=1000)
    page.wait_for_function("() => window.playground.snapshot.t >= 700", timeout=30_000)
    seek(page, 700)
    page.click("#spacetime-toggle")
    mid = page.evaluate("() => window.playground.snapshot.messages.filter((m) => !m.held)[0].id")
    page.evaluate("(id) => window.playground.inspector.open(id)", mid)
    page.click(".inspector .insp-drop")
    page.wait_for_function(f"""() => window.playground.spacetime.log.some((e) => e.type === 'drop' && e.id === {mid}
        && e.reason === 'intervention')""")
    page.screenshot(path=str(ARTIFACTS / "spacetime-raft-1280x720.png"))
    page.evaluate("() => window.playground.timeline.seek(1500)")
    page.wait_for_function("() => window.playground.snapshot.t === 1500")
    page.click("#share")
    page.wait_for_selector("#share-dialog[open] #share-name")
    page.fill("#share-name", "dropped one")
    page.click("#share-create")
    page.wait_for_selector("#share-result:not([hidden])")
    url = page.input_value("#share-url")
    slug = url.rstrip("/").rsplit("/", 1)[-1]
    with urllib.request.urlopen(f"{daphne_server}/api/scenarios/{slug}") as resp:
        saved = json.load(resp)
    scenario = saved["scenario"]
    assert {"at": 700, "action": "drop_message", "id": mid} in scenario["interventions"]
    events = Simulation(json.loads(json.dumps(scenario))).run()
    assert [e for e in events if e["type"] == "drop" and e["id"] == mid][0]["reason"] == "intervention"
    page, errors2 = make_page()  # (a new page: the first one rewrites every `start` to the example's scenario)
    page.goto(f"{url}?speed=1000")  # the link replays it: the page's trace is the headless one
    page.wait_for_function(f"() => window.playground && window.playground.snapshot"
                           f" && window.playground.snapshot.t === {scenario['duration']}"
                           " && !window.playground.state.playing", timeout=30_000)
    page_events = page.evaluate("() => window.playground.spacetime.log")
    differ = next((i for i, (a, b) in enumerate(zip(page_events, events)) if a != b), min(len(page_events), len(events)))
    assert trace_hash(page_events) == trace_hash(events), (len(page_events), len(events), differ,
                                                           page_events[differ:differ + 2], events[differ:differ + 2])
    errors.check()
    errors2.check()


def save(base, scenario):
    """Save `scenario` through the API; its slug."""
    req = urllib.request.Request(f"{base}/api/scenarios", data=json.dumps({"scenario": scenario}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)["slug"]


def window_messages(scenario, t0, t1):
    """Ids of the messages whose arrows belong in the window [t0, t1] at moment t1 of a headless run: sent
    before t1, and delivered or dropped at t0 or later (or not yet)."""
    sim = Simulation(json.loads(json.dumps(scenario)))
    sim.advance(t1)
    events = sim.drain()
    ended = {ev["id"]: ev["t"] for ev in events if ev["type"] in ("deliver", "drop")}
    return sorted(ev["id"] for ev in events if ev["type"] == "send" and ended.get(ev["id"], t1) >= t0)


def test_a_link_opened_far_ahead_draws_the_window_before_it(daphne_server, make_page):
    """?t= far ahead: the page plays the diagram's window (1 s) before t in, so its arrows are there, exactly the
    trace's messages of that window, and the feed tells that stretch; the run then waits at t, paused."""
    sc = scenario_of("raft")
    sc["duration"] = 6000
    slug = save(daphne_server, sc)
    page, errors = make_page()
    page.goto(f"{daphne_server}/s/{slug}?t=4500&speed=1000")
    page.wait_for_function("() => window.playground && window.playground.snapshot && window.playground.snapshot.t === 4500"
                           " && !window.playground.state.playing && !window.playground.spacetime.filling"
                           " && window.playground.spacetime.log.length > 0", timeout=30_000)
    page.evaluate("() => { const st = window.playground.spacetime; st.setMode('split'); st.setSpan(1000); }")
    assert page.evaluate("() => window.playground.spacetime.window") == [3500, 4500]
    expected = window_messages(sc, 3500, 4500)
    assert len(expected) > 10
    assert page.evaluate("() => window.playground.spacetime.drawnIds()") == expected
    assert page.evaluate("() => window.playground.state.speed") == 1000  # the user's speed again
    told = page.eval_on_selector_all("#feed li[data-t]", "els => els.map((e) => Number(e.dataset.t))")
    assert told and min(told) >= 3500  # the window's story, nothing from before it
    # the SVG export draws the same window: one arrow per message
    with page.expect_download() as download:
        page.click(".st-export")
    svg = open(download.value.path(), encoding="utf-8").read()
    ids = sorted(int(x) for x in re.findall(r'<g class="st-msg[^"]*" data-msg="(\d+)"', svg))
    assert ids == expected
    assert svg.startswith("<svg") and svg.count("<g ") == len(expected)
    errors.check()


def test_linked_hover_and_select_across_feed_diagram_and_timeline(daphne_server, make_page):
    """Hovering a feed line highlights its arrows in the diagram and its moment on the timeline; hovering an
    arrow lights its feed line; selecting an arrow scrolls the feed to its line."""
    sc = scenario_of("raft")
    page, errors = make_page()
    open_playground(page, daphne_server, "raft", scenario=sc, speed=1000)
    page.wait_for_function("() => window.playground.snapshot.t >= 3000", timeout=30_000)
    seek(page, 3000)
    page.click("#spacetime-toggle")
    page.evaluate("() => window.playground.spacetime.showAll()")
    log = page.evaluate("() => window.playground.spacetime.log")

    def caused(node, t):  # what a node received and sent at a moment: the arrows of its feed line
        return sorted(ev["id"] for ev in log if ev["t"] == t and ((ev["type"] == "deliver" and ev["to"] == node)
                                                                 or (ev["type"] == "send" and ev["from"] == node)))

    lines = page.eval_on_selector_all("#feed li[data-t][data-node]", """els => els.map((e) => ({id: e.id,
        t: Number(e.dataset.t), node: e.dataset.node}))""")
    line = next(x for x in lines if caused(x["node"], x["t"]))
    page.locator(f"#{line['id']}").hover()
    page.wait_for_function("(n) => window.playground.spacetime.hovered.length === n", arg=len(caused(line["node"], line["t"])))
    assert sorted(page.evaluate("() => window.playground.spacetime.hovered")) == caused(line["node"], line["t"])
    marker = page.locator(".timeline .tl-link:not(.sel)")
    assert marker.is_visible() and marker.get_attribute("data-t") == str(line["t"])
    # an arrow: the oldest message whose receiver told of its delivery (else whose sender told of its send) in
    # the feed, so that the feed must scroll down to it; one drawn apart from its neighbours (a pointer finds it)
    told = {(x["node"], x["t"]) for x in lines}
    sent = {ev["id"]: ev for ev in log if ev["type"] == "send"}
    candidates = [(ev, (ev["to"], ev["t"])) for ev in log if ev["type"] == "deliver" and (ev["to"], ev["t"]) in told]
    candidates += [(ev, (ev["from"], ev["t"])) for ev in log if ev["type"] == "send" and (ev["from"], ev["t"]) in told
                   and not any(c[0]["id"] == ev["id"] for c in candidates)]
    assert candidates
    for target, (node, t) in candidates:
        point = page.evaluate("(id) => window.playground.spacetime.arrowPoint(id)", target["id"])
        if point:
            break
    feed_line = page.locator(f'#feed li[data-t="{t}"][data-node="{node}"]').last
    page.evaluate("() => { const f = document.querySelector('#feed'); f.scrollTop = 0; }")
    assert page.evaluate("""(id) => { const r = document.getElementById(id).getBoundingClientRect();
        return r.top > document.getElementById('feed').getBoundingClientRect().bottom; }""", feed_line.get_attribute("id"))
    page.mouse.move(point["x"], point["y"])
    page.wait_for_function("(id) => window.playground.spacetime.hovered.join() === String(id)", arg=target["id"])
    page.wait_for_function(f"""() => [...document.querySelectorAll('#feed li.linked')].some((e) =>
        e.dataset.t === '{t}' && e.dataset.node === '{node}')""")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector(f'.inspector[data-msg="{target["id"]}"]:not([hidden])')
    assert "linked-sel" in (feed_line.get_attribute("class") or "")
    page.wait_for_function("""(id) => { const el = document.getElementById(id), feed = document.getElementById('feed');
        const r = el.getBoundingClientRect(), v = feed.getBoundingClientRect();
        return feed.scrollTop > 0 && r.bottom > v.top && r.top < v.bottom; }""", arg=feed_line.get_attribute("id"),
                           timeout=5000)  # scrolled to it (it was far below the feed's box)
    assert page.locator(".timeline .tl-link.sel").get_attribute("data-t") == str(sent[target["id"]]["t"])
    errors.check()


@pytest.mark.parametrize("size", [(1280, 720), (1024, 768), (390, 844)])
def test_screenshots_of_the_diagram(daphne_server, make_page, size):
    page, errors = make_page(*size)
    open_playground(page, daphne_server, "raft", scenario=scenario_of("raft"), speed=1000)
    page.wait_for_function("() => window.playground.snapshot.t >= 1500", timeout=30_000)  # received, not jumped over
    seek(page, 1500)
    page.click("#spacetime-toggle")
    page.wait_for_timeout(300)
    # beside the diagram the stage is half as wide: its hint would wrap into a column over the nodes
    assert page.locator(".stage-col").get_attribute("data-spacetime") == "split"
    assert page.locator(".stage-hint").is_hidden()
    page.screenshot(path=str(ARTIFACTS / f"spacetime-split-{size[0]}x{size[1]}.png"))
    page.click("#spacetime-toggle")
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"spacetime-only-{size[0]}x{size[1]}.png"))
    errors.check()
