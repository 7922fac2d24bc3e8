"""Stepping by happening (static/js/page/story-step.js, docs/frontend.md): "Happening ▶" (key .) moves the run
by exactly the next happening of the trace (a delivery, timer or intervention and what it caused, as a headless
run groups it), "◀ Happening" (key ,) goes back to just before the last one, and the feed and the diagram
follow: after a step back the feed tells exactly what it told at that moment."""

import json

import pytest

from simulator import Simulation

from .conftest import open_playground
from .test_spacetime_browser import scenario_of, seek

pytestmark = pytest.mark.browser

STARTS = ("deliver", "timer", "intervention", "fault")


def happenings_from(scenario, t, count):
    """The first `count` happenings at moment `t` or later in a headless run: lists of events."""
    sim = Simulation(json.loads(json.dumps(scenario)))
    sim.advance(t)
    sim.drain()
    sim.advance(t + 2000)
    groups = []
    for ev in sim.drain():
        if not groups or ev["type"] in STARTS or ev["t"] != groups[-1][0]["t"]:
            if len(groups) == count:
                break
            groups.append([])
        groups[-1].append(ev)
    return groups


def log_of(page):
    return page.evaluate("() => window.playground.spacetime.log")


def feed_lines(page):
    """The feed's told lines (not its separators), newest first."""
    return page.eval_on_selector_all("#feed li.feed-item:not(.separator) .feed-text", "els => els.map((e) => e.textContent)")


def wait_log(page, n):
    page.wait_for_function(f"() => window.playground.spacetime.log.length === {n} && !window.playground.state.playing",
                           timeout=20_000)


# 2PC at 120 ms: three deliveries in one millisecond (a step back replays the ones before it, one by one)
@pytest.mark.parametrize("protocol,t", [("raft", 400), ("twophase", 120)])
def test_step_moves_one_happening_on_and_back(daphne_server, make_page, protocol, t):
    sc = scenario_of(protocol)
    page, errors = make_page()
    open_playground(page, daphne_server, protocol, scenario=sc, speed=1000)
    page.wait_for_function(f"() => window.playground.snapshot.t >= {t}", timeout=30_000)
    seek(page, t)
    expected = happenings_from(sc, t, 3)
    assert len(expected) == 3
    base = len(log_of(page))
    page.click("#happening-next")  # the button
    wait_log(page, base + len(expected[0]))
    assert log_of(page)[base:] == expected[0]
    told = feed_lines(page)
    page.keyboard.press(".")  # the key, twice
    wait_log(page, base + len(expected[0]) + len(expected[1]))
    page.keyboard.press(".")
    wait_log(page, base + sum(len(g) for g in expected))
    assert log_of(page)[base:] == expected[0] + expected[1] + expected[2]
    page.keyboard.press(",")  # back: just before the third happening
    wait_log(page, base + len(expected[0]) + len(expected[1]))
    page.keyboard.press(",")  # and before the second
    wait_log(page, base + len(expected[0]))
    page.wait_for_timeout(300)
    assert log_of(page)[base:] == expected[0]
    assert page.evaluate("() => window.playground.snapshot.t") == expected[1][0]["t"]  # the clock: at its moment
    assert feed_lines(page) == told  # the feed tells what it told then, nothing of the abandoned steps
    page.keyboard.press(".")  # and on again: the same happening comes again
    wait_log(page, base + len(expected[0]) + len(expected[1]))
    assert log_of(page)[base:] == expected[0] + expected[1]
    errors.check()
