"""Sharing and time travel in the real page (headless Chromium against a live Daphne with a database).

Make a run, share it, open the link in a fresh browser context: the same run (the same leader at the same
simulated time, the same node layout). Seek by dragging the timeline, step back, fork, share the fork.
Screenshots of the timeline and the share dialog go to test-artifacts/.
"""

import json
import subprocess
import sys
import urllib.request

import pytest

from simulator import run_scenario

from .conftest import ARTIFACTS, drag

pytestmark = pytest.mark.browser

ROOT = ARTIFACTS.parent


@pytest.fixture
def server(daphne_server):
    return daphne_server  # the shared live Daphne (on the test database): tests/web/conftest.py


def api(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.loads(r.read())


def center(page, selector):
    box = page.locator(selector).bounding_box()
    assert box, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def ready(page, condition="true", timeout=10_000):
    """Wait until the page has a run and `condition` (JavaScript) holds."""
    page.wait_for_function(f"window.playground && window.playground.snapshot && ({condition})", timeout=timeout)


def state(page):
    return page.evaluate("""() => ({t: window.playground.snapshot.t, leader: window.playground.leader(),
        nodes: window.playground.snapshot.nodes, layout: window.playground.layout,
        playing: window.playground.state.playing})""")


def track_point(page, frac):
    box = page.locator(".tl-track").bounding_box()
    return box["x"] + box["width"] * frac, box["y"] + box["height"] / 2


def make_a_run(page, base):
    """Raft at real-time speed: wait for a leader, crash it, wait for the next one, a client write, pause."""
    page.goto(f"{base}/play/raft/?seed=3&speed=1000")
    page.wait_for_function("window.playground && window.playground.leader()")
    first = page.evaluate("window.playground.leader()")
    drag(page, center(page, f'[data-node="{first}"] .node-body'), center(page, ".crash-zone rect"))
    page.wait_for_function(f"window.playground.leader() && window.playground.leader() !== '{first}'")
    page.locator(".proto-toolbar button").first.click()  # a client request to the new leader
    page.wait_for_timeout(600)
    page.keyboard.press("Space")
    page.wait_for_function("!window.playground.state.playing")
    page.wait_for_timeout(300)
    # move a node, so that the layout is part of what is shared
    drag(page, center(page, '[data-node="n4"] .node-body'), (center(page, '[data-node="n4"] .node-body')[0] - 60,
                                                             center(page, '[data-node="n4"] .node-body')[1] - 40))
    return first


def share(page, title=None, description=None):
    """Share: the dialog asks for a title (prefilled) and a description, then shows the link."""
    page.click("#share")
    page.wait_for_selector("#share-dialog[open] #share-name")
    if title is not None:
        page.fill("#share-name", title)
    if description is not None:
        page.fill("#share-description", description)
    page.click("#share-create")
    page.wait_for_selector("#share-result:not([hidden])")
    url = page.input_value("#share-url")
    assert "/s/" in url
    return url


def test_a_shared_link_shows_the_same_run(server, make_page):
    """Make a run, share it, open the link in a fresh browser context: the same run, the same leader at the same
    simulated time, the same node layout; the timeline has a marker for each intervention."""
    page, errors = make_page()
    crashed = make_a_run(page, server)
    url = share(page)
    page.wait_for_timeout(200)
    page.screenshot(path=ARTIFACTS / "share-dialog-1280x720.png")
    page.keyboard.press("Escape")
    a = state(page)
    slug = url.rsplit("/", 1)[1]
    saved = api(server, f"/api/scenarios/{slug}")
    assert saved["duration"] == a["t"] and saved["layout"] == a["layout"]
    assert [iv["action"] for iv in saved["scenario"]["interventions"]] == ["crash", "client_request"]

    other, other_errors = make_page()  # a fresh context: no cookies, nothing shared but the link
    other.goto(url + "?speed=1000")
    ready(other, f"window.playground.snapshot.t === {a['t']} && !window.playground.state.playing", timeout=30_000)
    b = state(other)
    assert b["leader"] == a["leader"] != crashed
    assert b["t"] == a["t"] and b["nodes"] == a["nodes"] and b["layout"] == a["layout"]
    marks = other.locator(".tl-mark.iv")
    assert marks.count() == 2
    assert "crash" in marks.first.get_attribute("title")
    other.screenshot(path=ARTIFACTS / "shared-link-1280x720.png")
    errors.check()
    other_errors.check()


def test_seek_step_back_and_fork(server, make_page):
    """Drag the timeline back: the view shows that moment and the fork notice; ← steps back one event; acting
    there forks (the recorded future is dropped) and sharing saves the new branch, forked from the link."""
    page, errors = make_page()
    make_a_run(page, server)
    url = share(page)
    page.keyboard.press("Escape")
    slug = url.rsplit("/", 1)[1]
    end = api(server, f"/api/scenarios/{slug}")["duration"]
    assert state(page)["t"] == end

    other, other_errors = make_page()
    other.goto(url + "?speed=1000")
    ready(other, f"window.playground.snapshot.t === {end} && !window.playground.state.playing", timeout=30_000)
    crash_t = api(server, f"/api/scenarios/{slug}")["scenario"]["interventions"][0]["at"]
    # drag the knob back to well before the crash
    drag(other, track_point(other, 0.97), track_point(other, 0.5 * crash_t / end), steps=8)
    other.wait_for_function("document.querySelector('#timeline').classList.contains('behind')")
    # the view follows the knob while dragging (one seek in flight at a time); then it lands where it was let go
    other.wait_for_function(f"Math.abs(window.playground.snapshot.t - {crash_t / 2}) < {end * 0.02}")
    t_seek = state(other)["t"]
    assert all(v["status"] == "up" for v in state(other)["nodes"].values())  # before the crash
    assert other.locator(".tl-status").inner_text() == "⎇ Acting here forks the run (drops 2 later actions)"
    other.screenshot(path=ARTIFACTS / "timeline-seek-back-1280x720.png")

    # one event back
    count = other.evaluate("window.playground.state.eventCount")
    other.keyboard.press("ArrowLeft")
    other.wait_for_function(f"window.playground.snapshot.t <= {t_seek} && document.querySelector('#feed')"
                            ".textContent.includes('One event back')")

    # fork: crash n2 here; the recorded crash and client request are dropped
    drag(other, center(other, '[data-node="n2"] .node-body'), center(other, ".crash-zone rect"))
    other.wait_for_function("window.playground.snapshot.nodes.n2.status === 'crashed'")
    other.wait_for_function("!document.querySelector('#timeline').classList.contains('behind')")
    ivs = other.evaluate("window.playground.timeline.marks.filter((m) => m.kind === 'intervention')"
                         ".map((m) => m.iv.action)")
    assert ivs == ["crash"]
    assert other.locator(".toast").inner_text().startswith("⎇ Forked at")
    other.screenshot(path=ARTIFACTS / "timeline-forked-1280x720.png")
    fork_url = share(other)
    fork = api(server, f"/api/scenarios/{fork_url.rsplit('/', 1)[1]}")
    assert fork["forked_from"] == slug
    assert [(iv["action"], iv["node"]) for iv in fork["scenario"]["interventions"]] == [("crash", "n2")]
    assert fork["scenario"]["interventions"][0]["at"] <= t_seek
    assert count > 0
    errors.check()
    other_errors.check()


def test_a_link_with_t_opens_at_that_moment(server, make_page):
    page, errors = make_page()
    page.goto(f"{server}/")
    card = page.locator('.preset-card[data-preset="raft-minority-leader"] a')
    href = card.get_attribute("href")
    page.goto(f"{server}{href}?t=2500")
    ready(page, "window.playground.snapshot.t === 2500")
    assert state(page)["playing"] is False
    # the partition at 2 s has happened, the heal at 5 s is ahead: two markers, the second hollow
    # (a `?t=` link plays the second before t into the diagram: the partition was ahead until then)
    page.wait_for_function("document.querySelectorAll('.tl-mark.iv').length === 2")
    page.wait_for_function("document.querySelectorAll('.tl-mark.iv.ahead').length === 1", timeout=5_000)
    page.screenshot(path=ARTIFACTS / "preset-at-moment-1280x720.png")
    errors.check()


def test_home_gallery_lists_presets_and_opens_them(server, make_page):
    page, errors = make_page()
    page.goto(f"{server}/")
    cards = page.locator(".preset-card")
    assert cards.count() >= 8
    for key in ("raft-split-vote", "raft-minority-leader", "twophase-coordinator-crash", "paxos-duel"):
        assert page.locator(f'.preset-card[data-preset="{key}"]').count() == 1, key
    page.locator(".scenario-gallery").screenshot(path=ARTIFACTS / "home-presets.png")
    page.locator('.preset-card[data-preset="raft-split-vote"] a').click()
    page.wait_for_url("**/s/*")
    page.wait_for_function("window.playground && window.playground.snapshot")
    assert "split" in page.locator("#feed").inner_text().lower()
    errors.check()


def test_export_and_import(server, make_page, tmp_path):
    """Export downloads a file the CLI runs (same trace as the run); importing it opens it as a saved run."""
    page, errors = make_page(accept_downloads=True)
    make_a_run(page, server)
    with page.expect_download() as info:
        page.click("#export")
    path = tmp_path / "run.json"
    info.value.save_as(path)
    sc = json.loads(path.read_text())
    assert sc["duration"] == state(page)["t"] and len(sc["interventions"]) == 2
    out = subprocess.run([sys.executable, "-m", "simulator", "run", str(path), "--quiet"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1])["trace_hash"] == run_scenario(sc)[1]["trace_hash"]

    page.set_input_files("#import-file", str(path))
    page.wait_for_url("**/s/*")
    page.wait_for_function("window.playground && window.playground.snapshot")
    errors.check()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**sc, "nodes": 999}))
    page.set_input_files("#import-file", str(bad))
    page.wait_for_function("document.querySelector('#toast').textContent.includes('nodes')")
    assert errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]


def test_the_share_dialog_names_the_run_and_the_link_shows_it(server, make_page):
    """Share asks for a title (prefilled: protocol, seed, interventions) and a description; a fresh page opened
    on the link shows them as its title and heading. Screenshots at projector and phone sizes."""
    page, errors = make_page()
    make_a_run(page, server)
    page.click("#share")
    page.wait_for_selector("#share-dialog[open] #share-name")
    assert page.input_value("#share-name") == "Raft · seed 3 · 2 interventions"
    assert page.evaluate("document.activeElement.id") == "share-name"
    page.fill("#share-name", "Leader crash: who wins next?")
    page.fill("#share-description", "The leader crashes at about 1 s. Watch the next election and the client "
                                    "write that follows.")
    page.wait_for_timeout(150)
    page.screenshot(path=ARTIFACTS / "share-dialog-title-1280x720.png")
    page.click("#share-create")
    page.wait_for_selector("#share-result:not([hidden])")
    assert page.locator(".share-saved-title").inner_text() == "Leader crash: who wins next?"
    url = page.input_value("#share-url")
    page.screenshot(path=ARTIFACTS / "share-dialog-link-1280x720.png")
    slug = url.rsplit("/", 1)[1]
    assert api(server, f"/api/scenarios/{slug}")["title"] == "Leader crash: who wins next?"

    other, other_errors = make_page()
    other.goto(url)
    ready(other)
    assert other.title() == "Leader crash: who wins next? · Raft · Protocol Playground"
    heading = other.locator(".saved-caption h2")
    assert heading.inner_text().strip() == "Leader crash: who wins next?" and heading.is_visible()
    assert "Watch the next election" in other.locator(".saved-description").inner_text()
    assert other.locator(".version-notice").count() == 0
    other.screenshot(path=ARTIFACTS / "shared-link-title-1280x720.png")

    phone, phone_errors = make_page(390, 844)
    phone.goto(url)
    ready(phone)
    assert phone.locator(".saved-caption h2").is_visible()
    box = phone.locator(".saved-caption").bounding_box()
    assert box["width"] <= 390
    phone.screenshot(path=ARTIFACTS / "shared-link-title-390.png")
    phone.click("#share")
    phone.wait_for_selector("#share-dialog[open] #share-name")
    assert phone.input_value("#share-name").startswith("Leader crash: who wins next? · ")  # a branch of it
    dialog = phone.locator("#share-dialog").bounding_box()
    assert dialog["x"] >= 0 and dialog["x"] + dialog["width"] <= 390
    phone.screenshot(path=ARTIFACTS / "share-dialog-title-390.png")
    errors.check()
    other_errors.check()
    phone_errors.check()


def test_the_share_dialog_pauses_the_run_and_cancel_resumes_it(server, make_page):
    page, errors = make_page()
    page.goto(f"{server}/play/raft/?seed=3&speed=1000")
    page.wait_for_function("window.playground && window.playground.state.playing")
    page.click("#share")
    page.wait_for_selector("#share-dialog[open] #share-name")
    page.wait_for_function("!window.playground.state.playing")
    t = page.evaluate("window.playground.snapshot.t")
    page.wait_for_timeout(400)
    assert page.evaluate("window.playground.snapshot.t") == t  # nothing moves while one types the title
    page.click("#share-cancel")
    page.wait_for_function(f"window.playground.state.playing && window.playground.snapshot.t > {t}")
    errors.check()


def test_a_link_from_another_version_shows_a_notice(server, make_page, django_db_blocker, monkeypatch):
    """A link recorded under another Raft version (written straight into the live server's database) opens
    with a polite notice that the replay may differ."""
    from playground import services
    from simulator.protocols import get_protocol

    monkeypatch.setattr(get_protocol("raft"), "version", "0")  # in this process only: the server runs v1
    with django_db_blocker.unblock():
        row = services.scenario_create(scenario={"protocol": "raft", "seed": 3, "duration": 2000}, title="From v0",
                                       description="Recorded by an older server.")
    for width, height, name in ((1280, 720, "1280x720"), (390, 844, "390")):
        page, errors = make_page(width, height)
        page.goto(f"{server}/s/{row.slug}")
        ready(page)
        notice = page.locator(".version-notice")
        assert notice.is_visible()
        assert "Recorded with Raft v0; this server runs Raft v1: the replay may differ" in notice.inner_text()
        page.screenshot(path=ARTIFACTS / f"shared-link-version-notice-{name}.png")
        errors.check()


def test_a_refused_save_is_told_once_in_the_dialog(server, make_page):
    """Over the save limit (the server's answer is stood in for here: the live server counts per process, and
    tests/web/test_scenarios_ws.py tests that it answers so), the dialog says why and keeps what was typed; no
    second message pops up and the settings dialog stays shut (the error is the dialog's, not the run's)."""
    page, errors = make_page()

    def route(ws):
        server_ws = ws.connect_to_server()

        def from_page(message):
            msg = json.loads(message)
            if msg.get("type") == "save":
                ws.send(json.dumps({"type": "error", "code": "rate_limited", "id": msg.get("id"), "retry_after": 40,
                                    "message": "too many scenarios saved from this address: at most 30 a minute"}))
                return
            server_ws.send(message)

        ws.on_message(from_page)

    page.route_web_socket("**/ws/play/**", route)
    page.goto(f"{server}/play/raft/?seed=3&speed=1000")
    page.wait_for_function("window.playground && window.playground.snapshot && window.playground.snapshot.t > 0")
    page.click("#share")
    page.wait_for_selector("#share-dialog[open] #share-name")
    page.fill("#share-name", "The second one")
    page.click("#share-create")
    page.wait_for_selector("#share-error:not([hidden])")
    assert "try again in 40 s" in page.inner_text("#share-error")
    assert page.input_value("#share-name") == "The second one"
    page.wait_for_timeout(300)
    assert page.locator("dialog[open]").count() == 1  # the share dialog only: settings did not open
    assert "too many" not in (page.locator("#toast").text_content() or "")
    page.screenshot(path=ARTIFACTS / "share-dialog-rate-limited-1280x720.png")
    errors.check()
