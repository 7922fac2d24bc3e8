"""The class across Daphne processes on Redis (issue 12): the teacher on one process, the students on the other.
The code is found from either process (the cache is Redis), the count, questions and answers cross, the teacher's
reload lands on the other process and reclaims the class there, and a student's fork on the other process is
the teacher's run."""

import asyncio
import json
import urllib.request

import pytest

from .test_scaleout import _connect, _next, redis_url, two_daphnes  # noqa: F401  (fixtures)

pytestmark = pytest.mark.asyncio


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _location(url):
    try:
        urllib.request.build_opener(NoRedirect).open(url)
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location")
    raise AssertionError("no redirect")


async def test_students_on_another_process(two_daphnes):  # noqa: F811
    port_a, port_b = two_daphnes
    teacher = await _connect(port_a)
    students = [await _connect(port_b) for _ in range(2)]
    back = None
    try:
        await teacher.send(json.dumps({"type": "start", "scenario": {"protocol": "raft", "seed": 5}, "speed": 1000}))
        started = await _next(teacher, "started")
        await teacher.send(json.dumps({"type": "teach"}))
        cls = await _next(teacher, "class")
        status, location = await asyncio.to_thread(_location, f"http://127.0.0.1:{port_b}/c/{cls['code']}")
        assert status == 302 and f"watch={started['room']}" in location  # the code, known on the other process
        for n, s in enumerate(students):
            await s.send(json.dumps({"type": "watch", "room": started["room"]}))
            assert (await _next(s, "started", timeout=30))["viewer"]
            assert (await _next(teacher, "viewers", where=lambda m, n=n: m["count"] == n + 1))["count"] == n + 1
        await teacher.send(json.dumps({"type": "ask", "question": "Next leader?", "choices": ["n1", "n2"]}))
        for s in students:
            await _next(s, "ask")
            await s.send(json.dumps({"type": "answer", "choice": 1}))
        tally = await _next(teacher, "tally", where=lambda m: m["answered"] == 2)
        assert tally["counts"] == [0, 2]
        await teacher.send(json.dumps({"type": "reveal"}))
        assert (await _next(students[0], "reveal"))["counts"] == [0, 2]

        await teacher.send(json.dumps({"type": "intervene", "intervention": {"action": "crash", "node": "n4"}}))
        hit = await _next(teacher, "frame", where=lambda m: any(ev["type"] == "intervention" for ev in m["events"]))
        await _next(teacher, "frame", where=lambda m: m["t"] > hit["t"] + 50)  # the run moved past the crash
        await teacher.close()  # the teacher's reload...
        await _next(students[0], "class_paused", timeout=15)
        back = await _connect(port_b)  # ... comes back on the other process
        await back.send(json.dumps({"type": "reclaim", "room": cls["room"], "token": cls["token"]}))
        reclaimed = await _next(back, "started", timeout=30)
        assert reclaimed["room"] == cls["room"] and reclaimed["snapshot"]["nodes"]["n4"]["status"] == "crashed"
        assert (await _next(back, "class"))["code"] == cls["code"]
        resync = await _next(students[1], "started", where=lambda m: m["snapshot"]["t"] == reclaimed["snapshot"]["t"])
        assert resync["snapshot"] == reclaimed["snapshot"]
        await _next(back, "viewers", where=lambda m: m["count"] == 2, timeout=30)

        await students[0].send(json.dumps({"type": "fork"}))  # the student's own run, from the teacher's moment
        forked = await _next(students[0], "started", where=lambda m: not m.get("viewer"), timeout=30)
        assert forked["snapshot"] == reclaimed["snapshot"] and forked["room"] != cls["room"]
    finally:
        for ws in [teacher, back, *students]:
            if ws is not None:
                ws.close()
