"""Rooms across processes: two Daphne processes sharing a Redis channel layer (REDIS_URL), as in production.

The owner of a run is on one process, a viewer on the other: the viewer gets the room's snapshot and then its
frames, including the owner's interventions. Uses the Redis at 127.0.0.1:6379 if one answers (CI starts it),
else starts redis-server on a free port.
"""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from ws import WebSocket, free_port, start_daphne  # noqa: E402  (bench/ws.py: a dependency-free client)

pytestmark = pytest.mark.asyncio


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def redis_url():
    if _answers(6379):
        yield "redis://127.0.0.1:6379/13"
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("these tests need Redis: run one on 127.0.0.1:6379 or install redis-server")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL)
    deadline = time.time() + 10
    while not _answers(port):
        assert time.time() < deadline, "redis-server did not start"
        time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(5)


@pytest.fixture(scope="module")
def two_daphnes(redis_url):
    old = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = redis_url
    procs, ports = [], []
    try:
        for _ in range(2):
            port = free_port()
            procs.append(start_daphne(port))
            ports.append(port)
    finally:
        if old is None:
            os.environ.pop("REDIS_URL", None)
        else:
            os.environ["REDIS_URL"] = old
    yield ports
    for p in procs:
        p.terminate()
        p.wait(10)


async def _connect(port):
    return await WebSocket.connect(f"ws://127.0.0.1:{port}/ws/play/", f"http://127.0.0.1:{port}")


async def _next(ws, kind, timeout=15.0, ack=True, where=None):
    """The next message of `kind` (acknowledging numbered ones); `where` filters further."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {kind} within {timeout} s"
        msg = json.loads(await asyncio.wait_for(ws.recv(), left))
        if ack and "seq" in msg and not msg.get("viewer"):
            await ws.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
        if msg["type"] == kind and (where is None or where(msg)):
            return msg


async def test_a_viewer_on_another_process_follows_the_run(two_daphnes):
    port_a, port_b = two_daphnes
    owner = await _connect(port_a)
    viewer = await _connect(port_b)
    try:
        await owner.send(json.dumps({"type": "start", "scenario": {"protocol": "raft", "seed": 3}, "speed": 1000}))
        started = await _next(owner, "started")
        await _next(owner, "frame")
        await viewer.send(json.dumps({"type": "watch", "room": started["room"]}))
        synced = await _next(viewer, "started", timeout=30)
        assert synced["viewer"] is True and synced["room"] == started["room"]
        assert synced["snapshot"]["order"] == started["snapshot"]["order"]
        frame = await _next(viewer, "frame")
        assert frame["seq"] > synced["seq"]
        await owner.send(json.dumps({"type": "intervene", "intervention": {"action": "crash", "node": "n2"}}))
        hit = await _next(viewer, "frame", where=lambda m: any(
            ev["type"] == "intervention" and ev.get("node") == "n2" for ev in m["events"]))
        assert hit["t"] >= synced["snapshot"]["t"]
        # read-only
        await viewer.send(json.dumps({"type": "pause"}))
        err = await _next(viewer, "error")
        assert err["code"] == "read_only"
        # the owner leaves: the viewer is told
        owner.close()
        closed = await _next(viewer, "closed")
        assert closed["message"]
    finally:
        owner.close()
        viewer.close()


async def test_watching_a_room_nobody_runs_is_an_error(two_daphnes):
    viewer = await _connect(two_daphnes[1])
    try:
        await viewer.send(json.dumps({"type": "watch", "room": "nobody-here-123"}))
        err = await _next(viewer, "error", timeout=15)
        assert err["code"] == "unknown_room" and err["field"] == "room"
    finally:
        viewer.close()
