"""Issue 9 against a live Daphne (what only the real server shows): its 1 MiB cap on outgoing messages, and
flow control against a real client that acknowledges without reading its socket."""

import asyncio
import base64
import json
import os
import socket
import struct
import time
from urllib.parse import urlparse

from playground.session import WRITE_BUFFER_BYTES

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


class RawWebSocket:
    """A WebSocket client on a bare socket with a small receive buffer: it can send without ever reading, as a
    hostile client would (a library client reads in the background)."""

    def __init__(self, base, rcvbuf=8192):
        url = urlparse(base)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: a small TCP window
        self.sock.connect((url.hostname, url.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws/play/ HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Origin: {base}\r\n\r\n").encode())
        self.pending = b""
        while b"\r\n\r\n" not in self.pending:
            self.pending += self.sock.recv(1)  # byte by byte: nothing past the handshake is read now
        assert self.pending.startswith(b"HTTP/1.1 101"), self.pending
        self.pending = b""

    def send(self, obj):
        payload = json.dumps(obj).encode()
        mask = os.urandom(4)
        size = bytes([0x80 | len(payload)]) if len(payload) < 126 else bytes([0xFE]) + struct.pack("!H", len(payload))
        head = bytes([0x81]) + size  # a final text frame, masked (0x80) as a client's must be
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _exactly(self, n):
        while len(self.pending) < n:
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError
            self.pending += data
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def read_until(self, last, timeout, max_bytes=64 << 20):
        """Read the server's messages up to the first for which last(message) is true: (texts, payload bytes)."""
        self.sock.settimeout(timeout)
        texts, size = [], 0
        while size < max_bytes:
            b0, b1 = self._exactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._exactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exactly(8))[0]
            payload = self._exactly(n)
            size += n
            if b0 & 0x0F == 0x8:
                raise EOFError(f"closed {payload[:2].hex()}")
            if b0 & 0x0F == 0x1:
                texts.append(payload.decode())
                if last(json.loads(texts[-1])):
                    return texts, size
        raise AssertionError(f"more than {max_bytes} bytes to read")

    def close(self):
        self.sock.close()


def ack_without_reading(ws, seconds):
    """Acknowledge one more guessed frame every 50 ms (the frame rate), never reading: the kernel's buffers fill,
    then Daphne's."""
    guess, end = 1, time.monotonic() + seconds
    while time.monotonic() < end:
        guess += 1
        ws.send({"type": "ack", "seq": guess})
        time.sleep(0.05)


# megabytes a second of frames (1,000 events each), with few messages in flight (under the live run's limit)
HEAVY_START = {"type": "start", "speed": 10000,
               "scenario": {"protocol": "raft", "seed": 3, "nodes": 101, "params": {"client_interval": 1}}}


async def test_a_client_that_acks_without_reading_leaves_the_server_buffer_bounded(daphne_server):
    """Defect 2 with a real non-reading client, on a run that produces megabytes a second: whatever it acks,
    everything the server queued for it stays within what the kernel's socket buffers hold, plus the 1 MiB
    write-buffer bound and a frame (it used to grow by 3.3 MB/s without limit). Its `pause`, sent while it does not
    read, is answered once it reads: the run stopped where the buffer was full, and nothing more comes."""
    ws = await asyncio.to_thread(RawWebSocket, daphne_server)
    try:
        ws.send(HEAVY_START)
        await asyncio.to_thread(ack_without_reading, ws, 10)  # unbounded, ~9.6 MB were queued by now
        ws.send({"type": "pause"})
        await asyncio.sleep(3)  # the request waits for the client to read (up to 10 s)
        texts, size = await asyncio.to_thread(ws.read_until,
                                              lambda m: m["type"] == "status" and not m["playing"], 30)
    finally:
        ws.close()
    msgs = [json.loads(t) for t in texts]
    assert size > 2 * WRITE_BUFFER_BYTES  # it did produce more than the bound (frames go out in chunks)
    kernel = int(open("/proc/sys/net/ipv4/tcp_wmem").read().split()[2]) + 2 * 8192
    largest = max(len(t) for t in texts)
    assert size < kernel + WRITE_BUFFER_BYTES + 2 * largest, (size, kernel, largest)


async def test_a_client_that_never_reads_its_answers_is_disconnected(daphne_server):
    """The same client keeps not reading after its request: after 10 s the session ends with `not_reading`
    (an `error` and close 4008 queued behind what it did not read; the connection is then dropped, since a client
    that does not read cannot take a close handshake either: the server's log says `ended (not_reading)`)."""
    ws = await asyncio.to_thread(RawWebSocket, daphne_server)
    try:
        ws.send(HEAVY_START)
        await asyncio.to_thread(ack_without_reading, ws, 8)
        ws.send({"type": "pause"})
        asked = time.monotonic()
        await asyncio.sleep(12)
        with pytest.raises((EOFError, ConnectionResetError)):  # dropped: reading now finds the end
            await asyncio.to_thread(ws.read_until, lambda m: False, 30)
        assert time.monotonic() - asked < 40
    finally:
        ws.close()
