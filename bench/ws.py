"""WebSocket benchmark: N concurrent live sessions on one Daphne process, over loopback.

Prints
- the latency from an `intervene` message to the first `frame` holding its `intervention` event
  (p50 / p90 / p99 / max), every session intervening every ~0.5 s (cut, then heal, a link),
- the frames per second sustained by the N sessions together (and per session), events and bytes per second,
- Daphne's CPU use and resident memory.

    .venv/bin/python bench/ws.py                      # 50 sessions, Raft, real-time speed, 10 s
    .venv/bin/python bench/ws.py --sessions 100 --seconds 20 --speed 100
    .venv/bin/python bench/ws.py --url ws://127.0.0.1:8000/ws/play/   # against a server already running

Without --url it starts `daphne playground.asgi:application` on a free port with the embedded defaults (in-memory
channel layer), DEBUG off. Target: p99 under 50 ms with 50 sessions. The client is the `websockets` library
(in the test extras: `pip install -e '.[test]'`).
"""

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent


# --- the client: the `websockets` library (test extras), with the three calls the sessions use ------------------
class WebSocket:
    def __init__(self, conn):
        self.conn = conn

    @classmethod
    async def connect(cls, url, origin):
        # no permessage-deflate: the page does not use it either, and it would cost both sides CPU
        return cls(await connect(url, origin=origin, max_size=None, compression=None))

    async def send(self, text):
        await self.conn.send(text)

    async def recv(self):
        """The next text message, or None once the connection is closed."""
        try:
            return await self.conn.recv()
        except ConnectionClosed:
            return None

    def close(self):
        """Start closing; returns a future (await it to wait for the closing handshake)."""
        return asyncio.ensure_future(self.conn.close())


# --- one session ----------------------------------------------------------------------------------------
class Stats:
    def __init__(self):
        self.frames = 0
        self.events = 0
        self.bytes = 0
        self.latencies = []
        self.errors = 0
        self.measuring = False
        self.loop_lag = []  # how late this client's own event loop wakes up (it shares the machine)


async def session(url, origin, args, stats, stop, index):
    ws = await WebSocket.connect(url, origin)
    scenario = {"protocol": args.protocol, "seed": 1000 + index}
    if args.nodes:
        scenario["nodes"] = args.nodes
    await ws.send(json.dumps({"type": "start", "scenario": scenario, "speed": args.speed}))
    pending = None  # (action, sent at)
    cut = False
    rng = random.Random(index)
    next_iv = time.perf_counter() + rng.uniform(0.2, 1.0)
    a, b = None, None
    acks = {"last": 0, "top": 0, "since": 0.0}  # like the page: every 8 messages or after 100 ms

    async def flush_ack():
        if acks["top"] > acks["last"]:
            acks["last"] = acks["top"]
            await ws.send(f'{{"type":"ack","seq":{acks["top"]}}}')

    async def reader():
        nonlocal pending, a, b
        while not stop.is_set():
            text = await ws.recv()
            if text is None:
                return
            now = time.perf_counter()
            if text.startswith('{"type":"frame"'):
                # frames are most of the traffic: read the sequence number (the last field) without parsing
                # the whole frame, unless it may hold the intervention we wait for
                seq = int(text[text.rindex('"seq":') + 6:-1])
                kind = "frame"
                msg = json.loads(text) if pending is not None and '"intervention"' in text else None
            else:
                msg = json.loads(text)
                kind = msg["type"]
                seq = msg.get("seq")
            if seq is not None:
                if acks["top"] == acks["last"]:
                    acks["since"] = now
                acks["top"] = seq
                if acks["top"] - acks["last"] >= 8:
                    await flush_ack()
            if kind == "started":
                a, b = msg["snapshot"]["order"][:2]
            elif kind == "frame":
                if stats.measuring:
                    stats.frames += 1
                    stats.events += text.count('{"t":')
                    stats.bytes += len(text)
                if msg is not None:
                    for ev in msg["events"]:
                        if ev["type"] == "intervention" and ev["action"] == pending[0]:
                            if stats.measuring:
                                stats.latencies.append(now - pending[1])
                            pending = None
                            break
            elif kind == "error":
                stats.errors += 1
                pending = None

    task = asyncio.create_task(reader())
    try:
        while not stop.is_set() and not task.done():
            now = time.perf_counter()
            if acks["top"] > acks["last"] and now - acks["since"] >= 0.1:
                await flush_ack()
            if pending is None and a is not None and now >= next_iv:
                cut = not cut
                action = "cut" if cut else "heal"
                pending = (action, time.perf_counter())
                await ws.send(json.dumps({"type": "intervene", "intervention": {"action": action, "a": a, "b": b}}))
                next_iv = now + rng.uniform(0.3, 0.7)
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await ws.close()


# --- the server under test ----------------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daphne(port):
    env = dict(os.environ, DJANGO_SECRET_KEY="bench-only-secret", DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
               DJANGO_LOG_LEVEL="WARNING")
    env.pop("DJANGO_DEBUG", None)
    daphne = Path(sys.executable).with_name("daphne")
    cmd = [str(daphne) if daphne.exists() else "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0",
           "playground.asgi:application"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("daphne exited at start")
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("daphne did not start")


def proc_usage(pid):
    """(cpu seconds, rss MiB) of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        with open(f"/proc/{pid}/status") as fh:
            rss = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024
        return cpu, rss
    except (OSError, StopIteration, IndexError):
        return None, None


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


async def run(args):
    proc = None
    if args.url:
        url = args.url
        pid = args.pid
    else:
        port = free_port()
        proc = start_daphne(port)
        url = f"ws://127.0.0.1:{port}/ws/play/"
        pid = proc.pid
    u = urlparse(url)
    origin = f"http://{u.netloc}"
    stats = Stats()
    stop = asyncio.Event()
    async def lag_probe():
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            if stats.measuring:
                stats.loop_lag.append(time.perf_counter() - t - 0.01)

    try:
        tasks = [asyncio.create_task(session(url, origin, args, stats, stop, i)) for i in range(args.sessions)]
        tasks.append(asyncio.create_task(lag_probe()))
        await asyncio.sleep(args.warmup)
        cpu0, _ = proc_usage(pid) if pid else (None, None)
        t0 = time.perf_counter()
        stats.measuring = True
        await asyncio.sleep(args.seconds)
        stats.measuring = False
        elapsed = time.perf_counter() - t0
        cpu1, rss = proc_usage(pid) if pid else (None, None)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    lat = [x * 1000 for x in stats.latencies]
    result = {
        "sessions": args.sessions,
        "protocol": args.protocol,
        "speed": args.speed,
        "seconds": round(elapsed, 2),
        "latency_ms": {"n": len(lat), "p50": round(pct(lat, 50), 2), "p90": round(pct(lat, 90), 2),
                       "p99": round(pct(lat, 99), 2), "max": round(max(lat), 2) if lat else None,
                       "mean": round(statistics.fmean(lat), 2) if lat else None},
        "frames_per_s": round(stats.frames / elapsed, 1),
        "frames_per_s_per_session": round(stats.frames / elapsed / args.sessions, 2),
        "events_per_s": round(stats.events / elapsed),
        "kib_per_s": round(stats.bytes / elapsed / 1024, 1),
        "errors": stats.errors,
        "client_loop_lag_ms": {"p50": round(pct([x * 1000 for x in stats.loop_lag], 50), 2),
                               "p99": round(pct([x * 1000 for x in stats.loop_lag], 99), 2)},
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    if cpu0 is not None and cpu1 is not None:
        result["daphne_cpu_pct_of_one_core"] = round(100 * (cpu1 - cpu0) / elapsed, 1)
        result["daphne_rss_mib"] = round(rss, 1)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", "-n", type=int, default=50, help="concurrent sessions (default 50)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring (default 2)")
    parser.add_argument("--protocol", default="raft")
    parser.add_argument("--nodes", type=int, default=None, help="nodes per session (protocol default)")
    parser.add_argument("--speed", type=float, default=1000.0,
                        help="simulated ms per wall second (default 1000: real time, the slider's top)")
    parser.add_argument("--url", help="ws://host:port/ws/play/ of a running server (default: start one)")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid, to report its CPU and memory")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    r = asyncio.run(run(args))
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    lat = r["latency_ms"]
    print(f"{r['sessions']} sessions of {r['protocol']} at {r['speed']:g} simulated ms/s on one Daphne process, "
          f"measured {r['seconds']} s (loopback)")
    print(f"intervene -> first frame with its event: n={lat['n']}  p50 {lat['p50']} ms  p90 {lat['p90']} ms  "
          f"p99 {lat['p99']} ms  max {lat['max']} ms")
    print(f"frames: {r['frames_per_s']}/s in all, {r['frames_per_s_per_session']}/s per session; "
          f"{r['events_per_s']} events/s, {r['kib_per_s']} KiB/s")
    if "daphne_cpu_pct_of_one_core" in r:
        print(f"daphne: {r['daphne_cpu_pct_of_one_core']}% of one core, {r['daphne_rss_mib']} MiB resident")
    if r["errors"]:
        print(f"errors: {r['errors']}")
    lag = r["client_loop_lag_ms"]
    print(f"bench client's own loop lag: p50 {lag['p50']} ms, p99 {lag['p99']} ms; machine load average "
          f"{r['load_average'][0]} on {r['cpus']} CPUs (figures are only meaningful on an otherwise idle machine)")
    verdict = "OK" if lat["p99"] < 50 else "ABOVE TARGET"
    print(f"target p99 < 50 ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
