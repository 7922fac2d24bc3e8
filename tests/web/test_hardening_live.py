"""Issue 9 against a live Daphne (what only the real server shows): its 1 MiB cap on outgoing messages.

The write-buffer bound (a client that acks without reading) is tested in test_hardening.py with the buffer
faked; against a real server the kernel's socket buffers hide it for megabytes, so bench/attack.py measures it
(the server's RSS under such clients)."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

pytestmark = pytest.mark.asyncio

HEAVY_GOSSIP = {"protocol": "gossip", "nodes": 10000, "params": {"style": "push_pull", "fanout": 32, "interval": 1}}


def ws_url(base):
    return base.replace("http://", "ws://") + "/ws/play/"


async def open_ws(base):
    return await connect(ws_url(base), origin=base, max_size=None)


async def test_a_started_over_one_mebibyte_arrives_in_chunks(daphne_server):
    """A 10,000-node gossip run with 3,000 scripted actions: `started` is over 1 MiB, which Daphne refuses to send
    in one message (the session used to die silently). It comes as `chunk` messages that join into it."""
    interventions = [{"at": 1000 + i, "action": "crash" if i % 2 == 0 else "restart", "node": f"n{i % 5000 + 1}"}
                     for i in range(3000)]
    async with await open_ws(daphne_server) as ws:
        await ws.send(json.dumps({"type": "start", "paused": True,
                                  "scenario": {**HEAVY_GOSSIP, "interventions": interventions}}))
        parts = []
        while True:
            text = await asyncio.wait_for(ws.recv(), 30)
            assert len(text.encode()) <= 1024 * 1024
            msg = json.loads(text)
            assert msg["type"] == "chunk", msg.get("type")
            parts.append(msg["data"])
            if msg["n"] == msg["of"] - 1:
                break
        started = json.loads("".join(parts))
        assert started["type"] == "started" and len(started["snapshot"]["order"]) == 10000
        assert sum(len(p) for p in parts) > 1024 * 1024
        await ws.send(json.dumps({"type": "ack", "seq": started["seq"]}))
        await ws.send(json.dumps({"type": "nope"}))
        while (msg := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "error":
            pass
        assert msg["code"] == "unknown_type"  # the session goes on
