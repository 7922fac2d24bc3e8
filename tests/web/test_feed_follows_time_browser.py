"""The feed follows time (issue 11): after a seek back, a step back and a fork, the feed tells exactly the story
of the current branch up to the current moment: the lines a page that played straight to that moment had, and
never a line of the abandoned future."""

import pytest

from .conftest import open_playground
from .test_spacetime_browser import scenario_of, seek

pytestmark = pytest.mark.browser

FEED = """() => [...document.querySelectorAll('#feed .feed-item:not(.separator)')].map((li) => [
    li.querySelector('.feed-time').textContent, li.querySelector('.feed-text').textContent]).reverse()"""


def seconds(text):
    return float(text.split()[0]) if text else 0.0


def story(page):
    """The feed's lines, oldest first, as (time text, text)."""
    return [tuple(x) for x in page.evaluate(FEED)]


def test_feed_after_seek_back_step_back_and_fork(daphne_server, make_page):
    sc = scenario_of("raft")
    page, errors = make_page()
    open_playground(page, daphne_server, "raft", scenario=sc, speed=1000)
    page.wait_for_function("() => window.playground.snapshot.t >= 2500", timeout=30_000)
    seek(page, 2500)
    full = story(page)
    assert any(seconds(t) > 0.6 for t, _ in full), "nothing to forget after 0.6 s"
    seek(page, 600)
    told = story(page)
    assert told == [line for line in full if seconds(line[0]) < 0.6]  # exactly the story so far, in order
    # a step back: nothing after the moment shown
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => window.playground.snapshot.t <= 600 && !window.playground.state.playing")
    page.wait_for_timeout(300)
    t = page.evaluate("() => window.playground.snapshot.t") / 1000
    assert all(seconds(x) <= t for x, _ in story(page))
    # a fork: drop a message here (from the inspector) and play on; the lines before the fork stay, and those of
    # the abandoned future never come back
    before = story(page)
    mid = page.evaluate("() => (window.playground.snapshot.messages.find((m) => !m.held) || {}).id")
    assert mid, "no message in flight to drop"
    page.evaluate("(id) => window.playground.inspector.open(id)", mid)
    page.click(".inspector .insp-drop")
    page.wait_for_function(f"() => window.playground.spacetime.log.some((e) => e.type === 'drop' && e.id === {mid})")
    page.click("#play")
    page.wait_for_timeout(200)
    page.click("#play")
    page.wait_for_function("() => !window.playground.state.playing")
    now = page.evaluate("() => window.playground.snapshot.t") / 1000
    after = story(page)
    assert after[:len(before)] == before
    assert all(seconds(x) <= now for x, _ in after)
    errors.check()


def test_next_steps_to_the_next_narrated_happening(daphne_server, make_page):
    page, errors = make_page()
    open_playground(page, daphne_server, "raft", scenario=scenario_of("raft"), speed=1000)
    page.wait_for_function("() => window.playground.snapshot.t >= 400", timeout=30_000)
    seek(page, 100)  # before the first election: the next thing told is near
    lines = len(story(page))
    events = page.evaluate("() => window.playground.state.eventCount")
    page.click("#step-story")
    page.wait_for_function(f"() => document.querySelectorAll('#feed .feed-item:not(.separator)').length > {lines}",
                           timeout=20_000)
    page.wait_for_timeout(500)  # no more steps once the feed spoke
    after = page.evaluate("() => window.playground.state.eventCount")
    assert after > events and not page.evaluate("() => window.playground.state.playing")
    assert len(story(page)) == lines + 1  # it stopped at the first new line
    assert page.evaluate("() => window.playground.state.eventCount") == after
    errors.check()
