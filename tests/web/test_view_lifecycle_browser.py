"""The view-module lifecycle in the real page (docs/frontend.md): after a seek back and after a fork, every
protocol's panel shows the state of that moment, never what the view learned from the abandoned future.

The oracle is a fresh page: the same run opened at the same moment with `?t=` (nothing played before it) must
show the same panel as the page that played further, travelled back and forked. Each protocol plays one of its
presets (a saved run with scripted actions), so the future the page forgets has real changes in it.
"""

import json
import re
import urllib.request

import pytest

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

# protocol -> (preset, a late moment to open at and play on from, the moment to travel back to), in ms
CASES = {
    "raft": ("raft-minority-leader", 6000, 2500),
    "paxos": ("multipaxos-failover", 1800, 700),
    "twophase": ("twophase-coordinator-crash", 3000, 1200),
    "gossip": ("gossip-stale-overwrite", 4500, 1800),
    "kafka": ("kafka-zombie", 15000, 8000),
}

# the panel as HTML, without empty class attributes (a flag class toggled off leaves one on an element the view
# keeps from one update to the next)
PANEL = """() => { const c = document.querySelector('#panel').cloneNode(true);
    c.querySelectorAll('[class=""]').forEach((e) => e.removeAttribute('class'));
    return c.innerHTML; }"""


def preset_url(page, base, slug):
    page.goto(f"{base}/")
    return base + page.locator(f'.preset-card[data-preset="{slug}"] a').get_attribute("href")


def at(page, url, t):
    """Open `url` at moment `t` (paused there) and wait until the panel has drawn it."""
    page.goto(f"{url}?t={t}&speed=1000")
    settle(page, t)


def settle(page, t):
    page.wait_for_function(f"""() => window.playground && window.playground.snapshot
        && window.playground.snapshot.t === {t} && !window.playground.state.playing""", timeout=20_000)
    page.wait_for_timeout(400)  # a few frames: the panel's update has run


def panel(page):
    html = page.evaluate(PANEL)
    assert len(re.sub(r"<[^>]+>", "", html)) > 20, "the panel is (nearly) empty"
    return html


def difference(a, b):
    """Where two panels' HTML first differ, with some context (empty when they are the same)."""
    if a == b:
        return ""
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    return f"at {i}:\n  {a[max(0, i - 150):i + 150]!r}\n  {b[max(0, i - 150):i + 150]!r}"


def share(page):
    page.click("#share")
    page.wait_for_selector("#share-dialog[open] #share-name")
    page.click("#share-create")
    page.wait_for_selector("#share-result:not([hidden])")
    url = page.input_value("#share-url")
    page.keyboard.press("Escape")
    return url


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_after_a_seek_back_and_a_fork_the_panel_shows_that_moment(daphne_server, make_page, protocol):
    slug, late, back = CASES[protocol]
    page, errors = make_page()
    url = preset_url(page, daphne_server, slug)

    # the fresh page: the run opened at `back`, nothing seen before
    fresh, fresh_errors = make_page()
    at(fresh, url, back)
    expected = panel(fresh)

    # the travelling page: opened late, plays on for a while (its view learns from those events), then back
    at(page, url, late)
    page.keyboard.press("Space")
    page.wait_for_function(f"window.playground.snapshot.t > {late + 600}", timeout=20_000)
    page.keyboard.press("Space")
    page.wait_for_function("!window.playground.state.playing")
    travelled = panel(page)
    page.evaluate(f"window.playground.timeline.seek({back})")
    settle(page, back)
    diff = difference(panel(page), expected)
    assert not diff, f"after the seek back the panel differs from a fresh page at that moment {diff}"
    assert travelled != expected  # the moment travelled back to looks different: the check above means something

    # fork: crash a node from its menu there, play a little on the new branch, pause, and share the branch
    victim = page.evaluate("""() => { const s = window.playground.snapshot;
        return [...s.order].reverse().find((id) => s.nodes[id].status === 'up'); }""")
    page.click(f'.node[data-node="{victim}"] .node-body', button="right")
    page.click('#node-menu .menu-item:has-text("Crash")')
    page.wait_for_function(f"window.playground.snapshot.nodes['{victim}'].status === 'crashed'")
    assert page.evaluate("window.playground.state.selected") == victim  # the menu selected it (the panel may say more)
    page.wait_for_selector(".tl-status:has-text('drag to travel')", timeout=5_000)  # the recorded future is gone
    for _ in range(12):
        page.keyboard.press("ArrowRight")  # one event at a time, on the new branch
    page.wait_for_timeout(600)
    forked_at = page.evaluate("window.playground.snapshot.t")
    branch = share(page)
    with urllib.request.urlopen(f"{daphne_server}/api/scenarios/{branch.rsplit('/', 1)[1]}", timeout=10) as r:
        t = json.loads(r.read())["scenario"]["duration"]  # the branch was saved up to where the page is
    settle(page, t)
    forked = panel(page)
    page.screenshot(path=ARTIFACTS / f"lifecycle-{protocol}-forked-1280x720.png")

    other, other_errors = make_page()
    at(other, branch, t)
    other.click(f'.node[data-node="{victim}"] .node-body', button="right")  # the same node selected
    other.keyboard.press("Escape")
    other.wait_for_timeout(300)
    diff = difference(forked, panel(other))
    assert not diff, f"after the fork at {forked_at} ms the panel differs from the branch's own {diff}"
    for e in (errors, fresh_errors, other_errors):
        e.check()
