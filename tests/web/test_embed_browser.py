"""Embeds (headless Chromium, live Daphne): /embed/<lesson>/ and /embed/s/<slug>/ render in an iframe of a page
served from another origin (a second local port); every other route still refuses to be framed.

Screenshot: test-artifacts/embed-lesson.png.
"""

import http.server
import json
import threading
import urllib.request

import pytest

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser


@pytest.fixture
def other_origin():
    """serve(html) -> URL of a page holding `html`, on another port of 127.0.0.1 (so another origin)."""
    pages = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            body = pages.get(self.path, "").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def serve(html, path="/slides.html"):
        pages[path] = html
        return f"http://127.0.0.1:{server.server_port}{path}"

    yield serve
    server.shutdown()


def iframe(src, name):
    return f'<iframe name="{name}" src="{src}" width="960" height="640"></iframe>'


def save_scenario(base, scenario):
    req = urllib.request.Request(f"{base}/api/scenarios", data=json.dumps({"scenario": scenario}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req) as response:
        return json.loads(response.read())["slug"]


def frame_named(page, name):
    return next(f for f in page.frames if f.name == name)


def test_embeds_render_in_another_sites_iframe_and_nothing_else_does(daphne_server, make_page, other_origin):
    slug = save_scenario(daphne_server, {"protocol": "raft", "seed": 4, "duration": 1200})
    url = other_origin("<!doctype html><title>Slides</title><h1>My talk</h1>"
                       + iframe(f"{daphne_server}/embed/raft-leader-election/?speed=1000", "lesson")
                       + iframe(f"{daphne_server}/embed/s/{slug}/?speed=1000", "saved")
                       + iframe(f"{daphne_server}/play/raft/", "play")
                       + iframe(f"{daphne_server}/learn/raft-leader-election/", "learn"))
    assert not url.startswith(daphne_server)
    page, _ = make_page(1280, 2800)
    page.goto(url)
    # the lesson embed: steps without chrome, locked to the lesson (Next works inside the frame)
    lesson = frame_named(page, "lesson")
    lesson.wait_for_function("() => window.playground && window.playground.lesson && window.playground.lesson.reached",
                             timeout=30_000)
    assert not lesson.locator(".topbar").is_visible() and not lesson.locator("#play").is_visible()
    lesson.locator('#lesson .lesson-choice[data-choice="1"]').click()
    lesson.locator("#lesson-next").click()
    lesson.wait_for_function("() => window.playground.lesson.k === 1 && window.playground.lesson.reached",
                             timeout=30_000)
    assert lesson.locator(".embed-open").get_attribute("href") == "/learn/raft-leader-election/"
    # the saved-run embed: plays its recorded range, then pauses; it cannot be changed
    saved = frame_named(page, "saved")
    saved.wait_for_function("""() => window.playground && window.playground.snapshot
        && window.playground.snapshot.t === 1200 && !window.playground.state.playing""", timeout=30_000)
    assert not saved.locator(".topbar").is_visible()
    # locked to its range: Play at the end replays it from the start and stops at the end again, never past it
    saved.locator("#play").click()
    saved.wait_for_function("() => window.playground.snapshot.t < 1200", timeout=15_000)
    saved.wait_for_function("() => window.playground.snapshot.t === 1200 && !window.playground.state.playing",
                            timeout=30_000)
    page.wait_for_timeout(500)
    assert saved.evaluate("window.playground.snapshot.t") == 1200
    page.locator('iframe[name="lesson"]').screenshot(path=ARTIFACTS / "embed-lesson.png")
    # every other route refuses to be framed (frame-ancestors 'none', X-Frame-Options DENY): nothing of it loads
    for name in ("play", "learn"):
        frame = frame_named(page, name)
        assert frame.url.startswith("chrome-error://") or not frame.evaluate(
            "() => !!document.querySelector('#topology')"), name
