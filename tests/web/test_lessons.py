"""The lesson player's server side (playground/lessons.py): pages, the frame policy, `play_until`, `lesson_do`."""

import pytest
from django.test import Client as HttpClient

from playground.lessons import lesson_get
from simulator import Simulation
from simulator.lessons import expect_failures

FAST = 5000


@pytest.fixture
def http(monkeypatch):
    from django.conf import settings

    settings.DEBUG  # noqa: B018  (loads the settings)
    # DEBUG is off in tests and no DJANGO_SECRET_KEY is set; the messages middleware needs a key
    monkeypatch.setattr(settings._wrapped, "SECRET_KEY", "tests-only")
    settings.__dict__.pop("SECRET_KEY", None)
    return HttpClient()


# --- pages and the frame policy -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_learn_lists_every_lesson_by_protocol(http):
    """/learn/ groups the thirteen lessons by protocol (Raft first, Kafka last) and links each one."""
    html = http.get("/learn/").content.decode()
    assert html.count('class="card lesson-card"') == 13
    order = [html.index(f'data-protocol="{p}"') for p in ("raft", "paxos", "twophase", "gossip", "kafka")]
    assert order == sorted(order)
    assert 'href="/learn/raft-leader-election/"' in html


@pytest.mark.django_db
def test_lesson_page_carries_the_lesson_and_refuses_framing(http):
    response = http.get("/learn/raft-leader-election/")
    assert response.status_code == 200
    assert '"lesson": {' in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_unknown_lessons_are_404(http):
    assert http.get("/learn/no-such-lesson/").status_code == 404
    assert http.get("/embed/no-such-lesson/").status_code == 404
    assert http.get("/embed/s/nosuchslug/").status_code == 404


@pytest.mark.django_db
def test_only_the_embed_routes_allow_framing(http):
    """/embed/<slug>/ and /embed/s/<slug>/ may be framed by any site; every other route still refuses."""
    from playground.services import scenario_create

    row = scenario_create(scenario={"protocol": "raft", "seed": 2, "duration": 500})
    for path in ("/embed/raft-leader-election/", f"/embed/s/{row.slug}/"):
        response = http.get(path)
        assert response.status_code == 200, path
        assert "X-Frame-Options" not in response, path
        assert "frame-ancestors *" in response["Content-Security-Policy"], path
        assert "script-src 'self'" in response["Content-Security-Policy"], path
    for path in ("/", "/learn/", "/learn/paxos-duel/", "/play/raft/", f"/s/{row.slug}", "/healthz"):
        response = http.get(path)
        assert response["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"], path


@pytest.mark.django_db
def test_lesson_text_is_served_as_spans_never_markup(http):
    """The page gets spans; the lesson's markup characters never reach it as HTML."""
    html = http.get("/learn/raft-leader-election/").content.decode()
    assert '"spans": [[["text"' in html
    assert "<strong>" not in html.split('id="playground-config"')[1]


# --- the WebSocket messages -----------------------------------------------------------------------------------
async def _start_lesson(client, slug):
    lesson = lesson_get(slug)
    started = await client.start(lesson["scenario"], paused=True, speed=FAST)
    assert started["playing"] is False
    return lesson


async def _play_until(client, t):
    await client.send({"type": "play_until", "t": t})
    while True:
        msg = await client.recv_type("status", timeout=10)
        if not msg["playing"]:
            return msg


async def _until_did(client):
    """The messages up to and including `lesson_did` (the frame with the action comes first)."""
    msgs = []
    while not msgs or msgs[-1]["type"] != "lesson_did":
        msgs.append(await client.recv(timeout=5))
    return msgs


@pytest.mark.asyncio
async def test_play_until_stops_exactly_at_the_moment(client):
    """The run pauses at t exactly: the live state equals a headless `advance(t)` of the same scenario."""
    lesson = await _start_lesson(client, "raft-leader-election")
    status = await _play_until(client, 151)
    assert status["t"] == 151
    headless = Simulation(lesson["scenario"])
    headless.advance(151)
    await client.send({"type": "export"})
    exported = await client.recv_type("exported", timeout=10)
    assert exported["scenario"]["duration"] == 151
    assert expect_failures(lesson["steps"][1], headless) == []


@pytest.mark.asyncio
async def test_play_until_refuses_going_backwards(client):
    await _start_lesson(client, "raft-leader-election")
    await _play_until(client, 250)
    await client.send({"type": "play_until", "t": 100, "id": 7})
    err = await client.recv_type("error")
    assert err["code"] == "bad_t" and err["field"] == "t" and err["id"] == 7
    await client.send({"type": "play_until", "t": "soon"})
    assert (await client.recv_type("error"))["code"] == "bad_t"


@pytest.mark.asyncio
async def test_lesson_do_recognises_the_action_by_role(client):
    """Crashing the leader by its id matches `{"node": "leader"}`; it is applied; `lesson_did` says so."""
    lesson = await _start_lesson(client, "raft-leader-election")
    await _play_until(client, lesson["steps"][3]["moment"])
    await client.send({"type": "lesson_do", "lesson": "raft-leader-election", "step": 3,
                       "intervention": {"action": "crash", "node": "n3"}})
    msgs = await _until_did(client)
    assert msgs[-1]["ok"] is True and msgs[-1]["step"] == 3
    applied = [ev for m in msgs if m["type"] == "frame" for ev in m["events"] if ev["type"] == "intervention"]
    assert applied[0]["node"] == "n3" and applied[0]["t"] == 1000


@pytest.mark.asyncio
async def test_a_different_action_is_applied_and_answered_gently(client):
    lesson = await _start_lesson(client, "raft-leader-election")
    await _play_until(client, lesson["steps"][3]["moment"])
    await client.send({"type": "lesson_do", "lesson": "raft-leader-election", "step": 3,
                       "intervention": {"action": "crash", "node": "n2"}})
    msgs = await _until_did(client)
    msg = msgs[-1]
    assert msg["ok"] is False and "not quite it" in msg["message"] and "n2" in msg["message"]
    crashed = [ev for m in msgs if m["type"] == "frame" for ev in m["events"]
               if ev["type"] == "intervention"]
    assert crashed and crashed[0]["node"] == "n2"  # applied anyway


@pytest.mark.asyncio
async def test_do_it_for_me_and_a_predicted_refusal(client):
    """2PC: the abort of a participant that voted YES is refused `uncertain`, which the lesson expects: done."""
    lesson = await _start_lesson(client, "twophase-coordinator-crash")
    await _play_until(client, lesson["steps"][0]["moment"])
    await client.send({"type": "lesson_do", "lesson": lesson["slug"], "step": 0, "for_me": True})
    assert (await client.recv_type("lesson_did"))["ok"] is True
    await _play_until(client, lesson["steps"][3]["moment"])
    await client.send({"type": "lesson_do", "lesson": lesson["slug"], "step": 3, "for_me": True})
    did = await client.recv_type("lesson_did")
    assert did["ok"] is True and did["refused"] == "uncertain"


@pytest.mark.asyncio
async def test_lesson_do_errors(client):
    lesson = await _start_lesson(client, "raft-leader-election")
    await client.send({"type": "lesson_do", "lesson": "nope", "step": 3, "for_me": True})
    assert (await client.recv_type("error"))["code"] == "unknown_lesson"
    await client.send({"type": "lesson_do", "lesson": lesson["slug"], "step": 0, "for_me": True})
    assert (await client.recv_type("error"))["code"] == "bad_step"  # step 0 asks for no action
    await client.send({"type": "lesson_do", "lesson": lesson["slug"], "step": 3, "for_me": True})
    err = await client.recv_type("error")  # the run is at 0 ms, the step at 1000
    assert err["code"] == "not_at_step"
