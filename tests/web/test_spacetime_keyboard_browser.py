"""The space-time diagram from the keyboard (docs/frontend.md, "The space-time diagram", Keyboard): Tab reaches
the diagram, whose name says how many messages are in view; ←/→ move a cursor over the window's messages in time
order (highlighted as a hovered arrow is, read out by a polite live region, checked against a headless run of the
same scenario), without stepping the run; Enter opens the inspector as a click does, Escape lets go of both; a
seek that takes the message out of view drops the cursor."""

import json

import pytest

from simulator import Simulation

from .conftest import ARTIFACTS, open_playground
from .test_spacetime_browser import scenario_of, seek

pytestmark = pytest.mark.browser

T = 1200  # paused here: the diagram's default window is [200, 1200]


def window_records(scenario, t0, t1):
    """The messages whose arrows belong in the window [t0, t1] at moment t1 of a headless run, in time order (sent,
    then id), each as {id, from, to, kind, sent, msg, end: (t, type, reason) or None, due}."""
    sim = Simulation(json.loads(json.dumps(scenario)))
    sim.advance(t1)
    events = [ev for ev in sim.drain() if ev["t"] < t1]  # (the page holds what happened before t1)
    ended = {ev["id"]: (ev["t"], ev["type"], ev.get("reason")) for ev in events if ev["type"] in ("deliver", "drop")}
    out = [{"id": ev["id"], "from": ev["from"], "to": ev["to"], "kind": ev["msg"]["kind"], "sent": ev["t"],
            "msg": ev["msg"], "end": ended.get(ev["id"]), "due": ev["deliver_at"]}
           for ev in events if ev["type"] == "send" and (ended.get(ev["id"]) or (t1,))[0] >= t0]
    return sorted(out, key=lambda r: (r["sent"], r["id"]))


def spoken(rec, k, n):
    """What the live region must say about a message (the k-th of n in view)."""
    ms = lambda t: f"{t:,} ms"  # noqa: E731
    end = rec["end"]
    life = (f"received {ms(end[0])}" if end and end[1] == "deliver" else f"dropped {ms(end[0])} ({end[2]})" if end
            else f"in flight, due {ms(rec['due'])}")
    return f"{rec['from']} → {rec['to']} {rec['kind']}, sent {ms(rec['sent'])}, {life} ({k} of {n})"


def wait_said(page, text):
    page.wait_for_function("(text) => document.querySelector('[data-view=spacetime] .st-said').textContent === text",
                           arg=text, timeout=10_000)


def cursor(page):
    return page.evaluate("() => window.playground.spacetime.cursor")


def tab_to_diagram(page, limit=150):
    page.locator("body").click(position={"x": 5, "y": 5})
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.matches('.st-canvas')"):
            return
    raise AssertionError("Tab never reached the space-time diagram")


@pytest.mark.parametrize("protocol,size", [("raft", (1280, 720)), ("paxos", (1024, 768)), ("raft", (390, 844))])
def test_keyboard_selects_announces_and_opens_messages(daphne_server, make_page, protocol, size):
    sc = scenario_of(protocol)
    page, errors = make_page(*size)
    open_playground(page, daphne_server, protocol, scenario=sc, speed=1000)
    page.click("#spacetime-toggle")  # beside the topology
    page.wait_for_function(f"() => window.playground.snapshot.t >= {T}", timeout=30_000)
    seek(page, T)
    page.wait_for_function("() => window.playground.spacetime.window[1] === %d" % T)
    expected = window_records(sc, T - 1000, T)
    assert len(expected) >= 5, expected
    n = len(expected)
    page.wait_for_function("(n) => window.playground.spacetime.drawnIds().length === n", arg=n, timeout=10_000)
    assert page.evaluate("() => window.playground.spacetime.drawnIds()") == sorted(r["id"] for r in expected)

    tab_to_diagram(page)
    assert page.evaluate("() => document.activeElement.matches(':focus-visible')")
    name = page.get_attribute(".st-canvas", "aria-label")
    assert name == f"Space-time diagram: {n} messages in view; arrow keys select a message, Enter opens it", name
    assert page.get_attribute("[data-view=spacetime] .st-said", "aria-live") == "polite"
    assert cursor(page) is None

    for _ in range(3):
        page.keyboard.press("ArrowRight")
    third = expected[2]
    wait_said(page, spoken(third, 3, n))  # the third message of the window, in time order, as the trace has it
    assert cursor(page) == third["id"]
    # highlighted as a hovered arrow is: the diagram's hover list, the topology's and the feed's linked views
    assert page.evaluate("() => window.playground.spacetime.hovered") == [third["id"]]
    assert page.get_attribute("[data-view=spacetime]", "data-hovered") == str(third["id"])
    page.keyboard.press("ArrowLeft")
    wait_said(page, spoken(expected[1], 2, n))
    page.keyboard.press("ArrowDown")
    wait_said(page, spoken(third, 3, n))
    # the arrow keys moved the cursor, not the run (the page's own → steps it)
    assert page.evaluate("() => window.playground.snapshot.t") == T
    assert not page.evaluate("() => window.playground.state.playing")
    page.screenshot(path=str(ARTIFACTS / f"spacetime-keyboard-{protocol}-{size[0]}x{size[1]}.png"))

    # Enter: the inspector a click opens, with that message's fields
    page.keyboard.press("Enter")
    page.wait_for_selector(f'.inspector[data-msg="{third["id"]}"]:not([hidden])', timeout=10_000)
    assert page.get_attribute("[data-view=spacetime]", "data-selected") == str(third["id"])
    assert page.text_content(".inspector .insp-kind") == third["kind"]
    fields = page.eval_on_selector_all(".inspector .insp-fields tr",
                                       "rows => rows.map((r) => [r.querySelector('th').textContent, r.querySelector('td').textContent])")
    want = [[k, v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))]
            for k, v in third["msg"].items() if k != "kind"]
    assert sorted(fields) == sorted(want)
    assert page.evaluate("() => document.activeElement.matches('.st-canvas')")  # the keys still drive the diagram

    # Escape: the cursor, the selection and the inspector go
    page.keyboard.press("Escape")
    wait_said(page, "Selection cleared, inspector closed")
    assert page.locator(".inspector").is_hidden()
    assert cursor(page) is None and page.evaluate("() => window.playground.spacetime.selected") is None
    assert page.get_attribute("[data-view=spacetime]", "data-selected") is None
    assert page.evaluate("() => window.playground.spacetime.hovered") == []

    # a seek that takes the selected message out of view drops it
    page.keyboard.press("End")
    wait_said(page, spoken(expected[-1], n, n))
    back = expected[-1]["sent"]  # back to the moment it was sent: it is not sent yet
    assert back > 0
    seek(page, back)
    page.wait_for_function("() => window.playground.spacetime.cursor === null", timeout=10_000)
    wait_said(page, "The selected message is out of view")
    assert page.evaluate("() => window.playground.spacetime.hovered") == []
    assert page.get_attribute("[data-view=spacetime]", "data-cursor") is None
    # and the cursor starts again from the new window's first message
    early = window_records(sc, max(0, back - 1000), back)
    assert early
    page.keyboard.press("ArrowRight")
    wait_said(page, spoken(early[0], 1, len(early)))
    errors.check()
