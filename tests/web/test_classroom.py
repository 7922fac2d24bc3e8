"""The class over the WebSocket (issue 12; playground/classroom.py): teach answers a short code (and /c/<code>, the
QR code and /join lead to the room), the teacher sees how many follow, a question is answered once per student and
tallied, the class survives the teacher's reconnect (reclaim with the token) and ends plainly when they do not
come back, and a student's fork is the teacher's run at that moment, then their own."""

import asyncio

import pytest
from django.test import Client as HttpClient

from playground import classroom

from .conftest import drain

pytestmark = pytest.mark.asyncio


async def teaching(make_client, students=0, scenario=None):
    teacher = await make_client()
    started = await teacher.start(scenario, speed=1000)
    await teacher.send({"type": "teach"})
    cls = await teacher.recv_type("class")
    joined = []
    for n in range(students):
        s = await make_client()
        await s.send({"type": "watch", "room": started["room"]})
        assert (await s.recv_type("started"))["viewer"] is True
        assert (await teacher.recv_type("viewers"))["count"] == n + 1
        joined.append(s)
    return teacher, cls, joined


@pytest.fixture
def http(monkeypatch):
    from django.conf import settings

    settings.DEBUG  # noqa: B018  (loads the settings)
    monkeypatch.setattr(settings._wrapped, "SECRET_KEY", "tests-only")  # DEBUG is off in tests, no key set
    settings.__dict__.pop("SECRET_KEY", None)
    return HttpClient()


async def test_teach_gives_a_short_unambiguous_code_that_leads_to_the_room(http, make_client):
    teacher, cls, _ = await teaching(make_client)
    code = cls["code"]
    assert len(code) == 6 and set(code) <= set(classroom.ALPHABET) and not set(code) & set("0O1IL")
    assert cls["url"].endswith(f"/c/{code}") and cls["token"] and cls["viewers"] == 0
    await teacher.send({"type": "teach"})  # asking again: the same class
    assert (await teacher.recv_type("class"))["code"] == code
    r = await asyncio.to_thread(http.get, f"/c/{code}")
    assert r.status_code == 302 and f"watch={cls['room']}" in r["Location"] and r["Location"].startswith("/play/raft/")
    r = await asyncio.to_thread(http.get, f"/join?code={code.lower()[:3]} {code.lower()[3:]}")  # typed loosely
    assert r.status_code == 302 and r["Location"] == f"/c/{code}"
    r = await asyncio.to_thread(http.get, "/join?code=ZZZZZZ")
    assert r.status_code == 404 and "No class has the code" in r.content.decode()
    r = await asyncio.to_thread(http.get, f"/c/{code}/qr.svg")
    assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml" and b"<svg" in r.content
    assert (await asyncio.to_thread(http.get, "/c/ZZZZZZ/qr.svg")).status_code == 404


async def test_the_teacher_sees_how_many_follow(make_client):
    teacher, cls, (a, b) = await teaching(make_client, students=2)
    await a.close()
    assert (await teacher.recv_type("viewers"))["count"] == 1


async def test_a_question_is_answered_once_per_student_and_tallied(make_client):
    teacher, cls, (a, b) = await teaching(make_client, students=2)
    await teacher.send({"type": "ask", "question": "Who wins the election?", "choices": ["n1", "n2", "nobody"]})
    assert (await teacher.recv_type("status"))["playing"] is False  # the run waits for the answers
    tally = await teacher.recv_type("tally")
    assert tally["counts"] == [0, 0, 0] and tally["students"] == 2
    for s in (a, b):
        ask = await s.recv_type("ask")
        assert ask["question"] == "Who wins the election?" and ask["choices"] == ["n1", "n2", "nobody"]
    await a.send({"type": "answer", "choice": 3})
    assert (await a.recv_type("error"))["code"] == "bad_choice"
    await a.send({"type": "answer", "choice": 1})
    assert (await a.recv_type("answered"))["choice"] == 1
    assert (await teacher.recv_type("tally"))["counts"] == [0, 1, 0]
    await a.send({"type": "answer", "choice": 2})
    assert (await a.recv_type("error"))["code"] == "already_answered"
    await b.send({"type": "answer", "choice": 1})
    assert (await teacher.recv_type("tally"))["counts"] == [0, 2, 0]
    await b.send({"type": "ask", "question": "?", "choices": ["a", "b"]})  # a student cannot ask
    assert (await b.recv_type("error"))["code"] == "read_only"
    await teacher.send({"type": "reveal"})
    reveal = await b.recv_type("reveal")
    assert reveal["counts"] == [0, 2, 0]
    assert (await teacher.recv_type("reveal"))["counts"] == [0, 2, 0]
    assert (await teacher.recv_type("status"))["playing"] is True  # ... and plays on
    await b.send({"type": "answer", "choice": 0})  # the question is closed
    assert (await b.recv_type("error"))["code"] == "no_question"
    await teacher.send({"type": "reveal"})
    assert (await teacher.recv_type("error"))["code"] == "no_question"


async def test_bad_questions_and_asking_without_a_class_are_typed_errors(make_client):
    owner = await make_client()
    await owner.start()
    await owner.send({"type": "ask", "question": "What next?", "choices": ["a", "b"]})
    assert (await owner.recv_type("error"))["code"] == "not_teaching"
    await owner.send({"type": "answer", "choice": 0})
    assert (await owner.recv_type("error"))["code"] == "not_a_student"
    await owner.send({"type": "teach"})
    await owner.recv_type("class")
    for bad, code in [({"question": "x", "choices": ["only one"]}, "bad_choices"),
                      ({"question": "x", "choices": ["a", "b", "c", "d", "e"]}, "bad_choices"),
                      ({"question": "", "choices": ["a", "b"]}, "bad_question"),
                      ({"question": "x", "choices": ["a", 3]}, "bad_choices")]:
        await owner.send({"type": "ask", **bad})
        assert (await owner.recv_type("error"))["code"] == code


async def test_the_class_survives_the_teachers_reconnect(make_client):
    teacher, cls, (a,) = await teaching(make_client, students=1)
    await teacher.send({"type": "intervene", "intervention": {"action": "crash", "node": "n2"}})
    await drain(teacher, 0.5)
    await teacher.close()
    paused = await a.recv_type("class_paused", timeout=3)
    assert paused["seconds"] == classroom.RECLAIM_SECONDS
    back = await make_client()
    await back.send({"type": "reclaim", "room": cls["room"], "token": "not the token"})
    assert (await back.recv_type("error"))["code"] == "bad_reclaim"
    await back.send({"type": "reclaim", "room": cls["room"], "token": cls["token"]})
    started = await back.recv_type("started", timeout=5)
    assert started["room"] == cls["room"] and started["playing"] is False and started["snapshot"]["t"] > 0
    assert started["snapshot"]["nodes"]["n2"]["status"] == "crashed"  # the run as it was
    again = await back.recv_type("class")
    assert again["code"] == cls["code"]
    resync = await a.recv_type("started", timeout=3)  # the student follows the rebuilt run
    assert resync["viewer"] and resync["snapshot"] == started["snapshot"]
    assert (await back.recv_type("viewers"))["count"] == 1
    await back.send({"type": "resume"})
    frame = await a.recv_type("frame", timeout=3)
    assert frame["t"] >= started["snapshot"]["t"]


async def test_the_class_ends_plainly_when_the_teacher_does_not_come_back(make_client, monkeypatch):
    monkeypatch.setattr(classroom, "RECLAIM_SECONDS", 0.3)
    teacher, cls, (a,) = await teaching(make_client, students=1)
    await teacher.close()
    await a.recv_type("class_paused", timeout=3)
    closed = await a.recv_type("closed", timeout=3)
    assert closed["message"] == "The class has ended."
    assert classroom.lookup(cls["code"]) is None  # the code is free again
    late = await make_client()
    await late.send({"type": "reclaim", "room": cls["room"], "token": cls["token"]})
    assert (await late.recv_type("error"))["code"] == "bad_reclaim"


async def test_a_students_fork_is_the_teachers_run_at_that_moment(make_client):
    teacher, cls, (a,) = await teaching(make_client, students=1)
    await teacher.send({"type": "intervene", "intervention": {"action": "cut", "a": "n1", "b": "n3"}})
    await drain(teacher, 0.6)
    await teacher.send({"type": "pause"})
    await teacher.recv_type("status")
    await drain(teacher, 0.2)
    witness = await make_client()  # a late viewer's snapshot: the teacher's run exactly now
    await witness.send({"type": "watch", "room": cls["room"]})
    now = (await witness.recv_type("started"))["snapshot"]
    await a.send({"type": "fork"})
    forked = await a.recv_type("started", timeout=5)
    assert not forked.get("viewer") and forked["room"] != cls["room"]
    assert forked["snapshot"] == now  # the same trace up to the teacher's moment
    await a.send({"type": "intervene", "intervention": {"action": "crash", "node": "n1"}})
    frame = await a.recv_type("frame")
    assert frame["events"][0]["type"] == "intervention"
    await teacher.send({"type": "resume"})
    seen = await drain(witness, 0.5)
    assert not any(ev.get("type") == "intervention" for m in seen if m["type"] == "frame" for ev in m["events"])
    await a.send({"type": "answer", "choice": 0})  # now a run of its own, not a student
    assert (await a.recv_type("error"))["code"] == "not_a_student"


async def _recv_all(client, seconds):
    """Every message for `seconds` (errors included), acknowledging frames as a page does."""
    out = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        try:
            out.append(await client.recv(timeout=left))
        except asyncio.TimeoutError:
            break
    return out


async def test_a_lesson_taught_in_a_class_keeps_its_answers_until_the_reveal(http, make_client):
    from playground.lessons import lesson_get

    lesson = lesson_get("raft-leader-election")
    first = lesson["steps"][0]
    teacher = await make_client()
    started = await teacher.start(lesson["scenario"], paused=True, speed=1000)
    await teacher.send({"type": "teach", "lesson": "paxos-duel"})  # another protocol's lesson
    assert (await teacher.recv_type("error"))["code"] == "unknown_lesson"
    await teacher.send({"type": "teach", "lesson": "raft-leader-election"})
    cls = await teacher.recv_type("class")
    r = await asyncio.to_thread(http.get, f"/c/{cls['code']}")  # students land on the lesson's page
    assert r.status_code == 302 and r["Location"].startswith("/learn/raft-leader-election/?watch=")
    page = (await asyncio.to_thread(http.get, r["Location"])).content.decode()
    assert first["ask"]["spans"]["why"][0][0][1][:40] not in page and '"why"' not in page and '"expect"' not in page
    assert (await asyncio.to_thread(http.get, "/learn/raft-leader-election/")).content.decode().count('"why"') >= 3

    student = await make_client()
    await student.send({"type": "watch", "room": started["room"]})
    await student.recv_type("started")
    assert (await student.recv_type("lesson_step"))["step"] == 0  # a student joining is shown the step
    await teacher.send({"type": "ask", "step": 2})  # step 2 asks nothing
    assert (await teacher.recv_type("error"))["code"] == "bad_step"
    await teacher.send({"type": "ask", "step": 0})
    tally = await teacher.recv_type("tally")
    assert tally["step"] == 0 and tally["counts"] == [0] * len(first["ask"]["choices"])
    ask = await student.recv_type("ask")
    assert ask["step"] == 0 and ask["lesson"] == "raft-leader-election" and "answer" not in ask
    assert "*" not in ask["question"] and len(ask["choices"]) == len(first["ask"]["choices"])
    await student.send({"type": "answer", "choice": 1})
    assert (await teacher.recv_type("tally"))["counts"][1] == 1
    before = await _recv_all(student, 0.3)
    assert not any("answer" in m or "why" in m for m in before)

    await teacher.send({"type": "reveal"})
    reveal = await student.recv_type("reveal")
    assert reveal["answer"] == first["ask"]["answer"] and reveal["why_spans"] == first["ask"]["spans"]["why"]
    assert (await student.recv_type("lesson_step"))["step"] == 1  # ... then the next step
    assert (await teacher.recv_type("lesson_step"))["step"] == 1
    moment = lesson["steps"][1]["moment"]
    while True:  # the class's run plays to the next step's moment and stops there
        status = await teacher.recv_type("status", timeout=10)
        if not status["playing"]:
            break
    assert status["t"] == moment
    await teacher.send({"type": "lesson_step", "step": 2})  # Next: every student is shown step 2
    assert (await student.recv_type("lesson_step"))["step"] == 2
    await teacher.send({"type": "lesson_step", "step": 99})
    assert (await teacher.recv_type("error"))["code"] == "bad_step"


async def test_the_tally_survives_the_teachers_reload(make_client):
    teacher, cls, (a, b) = await teaching(make_client, students=2)
    await teacher.send({"type": "ask", "question": "Who leads next?", "choices": ["n1", "n2", "nobody"]})
    await teacher.recv_type("tally")
    for s in (a, b):
        await s.recv_type("ask")
    await a.send({"type": "answer", "choice": 2})
    assert (await teacher.recv_type("tally"))["counts"] == [0, 0, 1]
    await teacher.close()
    await a.recv_type("class_paused", timeout=3)
    back = await make_client()
    await back.send({"type": "reclaim", "room": cls["room"], "token": cls["token"]})
    await back.recv_type("class", timeout=5)
    tally = await back.recv_type("tally")
    assert tally["question"] == "Who leads next?" and tally["counts"] == [0, 0, 1]  # the same tally
    await b.recv_type("started", timeout=3)  # b follows the rebuilt run ...
    await b.send({"type": "answer", "choice": 0})  # ... and answers the question still open
    assert (await back.recv_type("tally"))["counts"] == [1, 0, 1]
    await back.send({"type": "reveal"})
    assert (await a.recv_type("reveal"))["counts"] == [1, 0, 1]


async def test_a_fork_over_the_cost_limits_is_refused_and_the_student_stays_in_the_class(make_client, settings):
    teacher, cls, (a,) = await teaching(make_client, students=1)
    await drain(teacher, 1.0)  # the run has done a few thousand engine events
    settings.PLAYGROUND_TRAVEL_MAX_EVENTS = 50
    await a.send({"type": "fork"})
    err = await a.recv_type("error", timeout=5)
    assert err["code"] == "too_costly" and "PLAYGROUND_TRAVEL_MAX_EVENTS" in err["message"], err
    t0 = (await a.recv_type("frame"))["t"]  # still following the class's run
    frame = await a.recv_type("frame", timeout=3)
    assert frame["t"] >= t0
    await a.send({"type": "answer", "choice": 0})
    assert (await a.recv_type("error"))["code"] == "no_question"  # a student still, not an owner
    settings.PLAYGROUND_TRAVEL_MAX_EVENTS = 3_000_000
    await a.send({"type": "fork"})
    forked = await a.recv_type("started", timeout=5)
    assert not forked.get("viewer") and forked["room"] != cls["room"]


async def test_a_teacher_picks_a_lesson_in_class_and_the_students_are_sent_to_it(http, make_client):
    teacher, cls, (a,) = await teaching(make_client, students=1)
    assert cls["lesson"] is None and "raft-leader-election" in [e["slug"] for e in cls["lessons"]]
    await teacher.close()  # the page goes to the lesson's page ...
    await a.recv_type("class_paused", timeout=3)
    back = await make_client()  # ... which reclaims the class with the lesson
    await back.send({"type": "reclaim", "room": cls["room"], "token": cls["token"], "lesson": "paxos-duel"})
    assert (await back.recv_type("error"))["code"] == "unknown_lesson"  # another protocol's: the class still waits
    await back.send({"type": "reclaim", "room": cls["room"], "token": cls["token"], "lesson": "raft-leader-election"})
    started = await back.recv_type("started", timeout=5)
    from playground.lessons import lesson_get

    assert started["snapshot"]["t"] == 0
    assert started["scenario"]["seed"] == lesson_get("raft-leader-election")["scenario"]["seed"] != 3
    again = await back.recv_type("class")
    assert again["code"] == cls["code"] and again["lesson"] == "raft-leader-election"
    assert (await back.recv_type("lesson_step"))["step"] == 0
    moved = await a.recv_type("class_lesson", timeout=3)
    assert moved["url"] == f"/learn/raft-leader-election/?watch={cls['room']}&class={cls['code']}"
    r = await asyncio.to_thread(http.get, f"/c/{cls['code']}")  # students joining now land on the lesson
    assert r["Location"].startswith("/learn/raft-leader-election/")
