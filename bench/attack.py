"""Soak and attack: replays every case of issue 9 against a production-like Daphne and prints what held.

    .venv/bin/python bench/attack.py                     # starts Daphne (DEBUG off, temporary SQLite), ~60 s
    .venv/bin/python bench/attack.py --url http://127.0.0.1:8000 --pid 1234 --log daphne.log

While the attacks run, honest sessions (Raft at the page's default speed, reading and acknowledging like the page) bring the
total to --sessions (50), and a probe measures the event loop: a ping (`{"type": "nope"}`, answered at once by
the loop) every 100 ms on one connection, and a fresh connection's `start` -> `started` every 0.5 s (both in a
process of their own, so that what they measure is the server, not this script's busy event loop).

Each case ends in one of: `typed` (an `error` with a code, an HTTP 4xx with a JSON error, or the expected answer),
`closed` (the server closed with a code and a reason after an `error`), `silent` (no answer and no close within
the time allowed: a silent death), or `FAIL` (answered wrongly, e.g. a 500, or a rate limit bypassed).
Then: tracebacks in the server log, peak RSS of the server (with children), longest ping and `started` latency.
Targets: 0 tracebacks, 0 silent deaths, RSS < 300 MB, stall < 100 ms, fresh `started` within 50 ms.
Loopback only, bounded in count and time.
"""

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

ROOT = Path(__file__).resolve().parent.parent
HEAVY_GOSSIP = {"protocol": "gossip", "nodes": 10000, "params": {"style": "push_pull", "fanout": 32, "interval": 1}}
DAY_MS = 24 * 3600 * 1000
ANSWER_SECONDS = 20.0  # the longest any attacked session may take to answer before it counts as a silent death
SEEK_SECONDS = 150.0  # ... a seek (re-simulation has its own time budget, and six share the workers)


# --- the server -----------------------------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daphne(port, workdir, watch_ms=0, nice=0):
    """A production-like server: DEBUG off, a real secret, a migrated SQLite file, logs to a file. `watch_ms`:
    log the stack of every event-loop stall over that many ms (playground/loopwatch.py); `nice`: its priority
    (negative, as root: measure the server itself on a machine others load, not the scheduler's sharing)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PLAYGROUND_", "DATABASE_URL",
                                                                      "REDIS_URL"))}
    env.update(DJANGO_SECRET_KEY="attack-bench-" + os.urandom(24).hex(), DJANGO_ALLOWED_HOSTS="127.0.0.1",
               DATABASE_URL=f"sqlite:///{workdir}/attack.sqlite3", DJANGO_LOG_LEVEL="INFO")
    if watch_ms:
        env["PLAYGROUND_LOOP_WATCH_MS"] = str(watch_ms)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    log_path = Path(workdir) / "daphne.log"
    log = open(log_path, "w")
    # as the production image starts it (playground/serve.py: no --proxy-headers unless PLAYGROUND_TRUSTED_PROXY)
    prefix = ["nice", "-n", str(nice)] if nice else []  # (nice execs the server: the pid stays the server's)
    proc = subprocess.Popen([*prefix, sys.executable, "-m", "playground.serve", "-b", "127.0.0.1", "-p", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return proc, log_path
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"daphne exited at start; see {log_path}")
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("daphne did not start")


def rss_mib(pid):
    """Resident memory of a process and its children, MiB."""
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            total += next(int(line.split()[1]) for line in open(f"/proc/{p}/status") if line.startswith("VmRSS"))
        except (OSError, StopIteration):
            pass
    return total / 1024


# --- results --------------------------------------------------------------------------------------------------
class Board:
    def __init__(self):
        self.rows = []  # (defect, case, outcome, detail)

    def add(self, defect, case, outcome, detail=""):
        self.rows.append((defect, case, outcome, detail))


class Client:
    """One attacking or honest connection: send JSON or raw text, wait for a message of some type."""

    def __init__(self, conn):
        self.conn = conn
        self.seq = 0
        self.read = [0, 0, None]  # messages and characters received, the last message's type (for `silent` rows)

    @classmethod
    async def open(cls, base):
        return cls(await connect(base.replace("http", "ws", 1) + "/ws/play/", origin=base, max_size=None,
                                 compression=None, open_timeout=ANSWER_SECONDS))

    async def send(self, msg):
        await self.conn.send(msg if isinstance(msg, str) else json.dumps(msg))

    async def next(self, timeout=ANSWER_SECONDS, kinds=None):
        """The next message (chunks joined), acknowledging numbered ones; None on close, TimeoutError if none."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        parts = []
        while True:
            text = await asyncio.wait_for(self.conn.recv(), max(0.01, end - loop.time()))
            msg = json.loads(text)
            self.read = [self.read[0] + 1, self.read[1] + len(text), msg.get("type")]
            if msg.get("type") == "chunk":
                parts.append(msg["data"])
                if msg["n"] < msg["of"] - 1:
                    continue
                msg = json.loads("".join(parts))
                parts = []
            if isinstance(msg.get("seq"), int) and not msg.get("viewer"):
                self.seq = max(self.seq, msg["seq"])
                await self.send({"type": "ack", "seq": msg["seq"]})
            if kinds is None or msg.get("type") in kinds:
                return msg

    async def outcome(self, expect=("error",), timeout=ANSWER_SECONDS):
        """Wait for one of `expect` (or an error): ('typed', msg) / ('closed', reason) / ('silent', None)."""
        try:
            msg = await self.next(timeout, kinds=set(expect) | {"error"})
            return "typed", msg
        except ConnectionClosed as err:
            rcvd = err.rcvd
            if rcvd is not None and rcvd.reason:
                return "closed", f"{rcvd.code} {rcvd.reason}"
            return "silent", f"closed without a reason ({rcvd.code if rcvd else 'no frame'})"
        except asyncio.TimeoutError:
            return "silent", "no answer"

    async def alive(self, timeout=ANSWER_SECONDS):
        """Does the session still answer? ('typed', ...) if it answers a probe (earlier errors such as bad_ack
        skipped), ('closed', reason) if the server ended it with a reason, ('silent', ...) otherwise."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        last = None
        read_before = list(self.read)
        try:
            await self.send({"type": "nope"})
            while True:
                msg = await self.next(end - loop.time(), kinds={"error"})
                if msg.get("code") == "unknown_type":
                    return "typed", "still answers"
                last = msg.get("code")
        except ConnectionClosed as err:
            if err.rcvd is not None and err.rcvd.reason:
                return "closed", f"{last}: {err.rcvd.code} {err.rcvd.reason}"
            return "silent", "closed without a reason"
        except asyncio.TimeoutError:
            return "silent", (f"no answer in {timeout:g} s ({self.read[0] - read_before[0]} messages, "
                              f"{self.read[1] - read_before[1]:,} characters read meanwhile, the last a "
                              f"{self.read[2]})")

    async def close(self):
        await self.conn.close()


def raw(obj, **fragments):
    text = json.dumps(obj)
    for marker, fragment in fragments.items():
        text = text.replace(f'"@{marker}"', fragment)
    return text


SURROGATE = '"\\ud800"'


def http(base, method, path, body=None, headers=None):
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=ANSWER_SECONDS) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def api_post(base, body, extra_headers=None):
    headers = {"Content-Type": "application/json", **(extra_headers or {})}
    return http(base, "POST", "/api/scenarios", body if isinstance(body, bytes) else body.encode(), headers)


def http_row(board, defect, case, status, body, want=400):
    if status == want:
        try:
            code = json.loads(body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = "?"
        board.add(defect, case, "typed", f"HTTP {status} {code}")
    else:
        board.add(defect, case, "FAIL", f"HTTP {status}")


# --- the attacks ----------------------------------------------------------------------------------------------
async def ws_case(board, base, defect, case, messages, expect=("error",), start=None, timeout=ANSWER_SECONDS,
                  refused=False):
    """Open a session (optionally `start` it), send `messages`, record how it answered (`refused`: anything but
    an error is a failure), and check it still answers afterwards."""
    c = await Client.open(base)
    try:
        if start is not None:
            await c.send({"type": "start", "paused": True, "scenario": start})
            state, msg = await c.outcome(("started",), timeout)
            if messages and (state != "typed" or msg["type"] != "started"):
                board.add(defect, case, state if state != "typed" else "FAIL", f"start: {msg}"[:120])
                return
        for m in messages:
            await c.send(m)
        if messages:
            state, msg = await c.outcome(expect, timeout)
        if state == "typed":
            detail = msg.get("code") or msg["type"]
            if refused and msg["type"] != "error":
                state, detail = "FAIL", f"accepted: {detail}"
            elif msg.get("code") not in ("internal", "not_reading"):
                after, why = await c.alive()
                if after != "typed":
                    state, detail = after, f"{detail}, then {why}"
            board.add(defect, case, state, detail)
        else:
            board.add(defect, case, state, str(msg)[:120])
    finally:
        await c.close()


async def attack_heavy_seek(board, base):
    await ws_case(board, base, 1, "seek 24 h on 10,000-node push_pull gossip", [{"type": "seek", "t": DAY_MS}],
                  expect=("seeked",), start={**HEAVY_GOSSIP, "duration": DAY_MS}, timeout=SEEK_SECONDS)


async def attack_six_raft_seeks(board, base):
    async def one(i):
        await ws_case(board, base, 1, f"seek 24 h on default Raft ({i + 1}/6)", [{"type": "seek", "t": DAY_MS}],
                      expect=("seeked",), start={"protocol": "raft", "seed": i, "duration": DAY_MS},
                      timeout=SEEK_SECONDS)
    await asyncio.gather(*(one(i) for i in range(6)))


async def attack_ack_without_reading(board, base, seconds):
    """Acks every guessed sequence number, reads nothing, on a heavy run; then reads again: still alive?"""
    c = await Client.open(base)
    try:
        await c.send({"type": "start", "speed": 10000, "scenario": {**HEAVY_GOSSIP, "nodes": 2000}})
        await c.next(60, kinds={"started"})
        c.conn.transport.pause_reading()
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        guess = c.seq
        while loop.time() < end:
            guess += 1
            await c.send(f'{{"type":"ack","seq":{guess}}}')
            await asyncio.sleep(0.05)
        c.conn.transport.resume_reading()
        state, why = await c.alive(60)
        board.add(2, f"ack without reading for {seconds:g} s (heavy gossip)", state, why)
    except ConnectionClosed as err:
        board.add(2, f"ack without reading for {seconds:g} s (heavy gossip)",
                  "closed" if err.rcvd and err.rcvd.reason else "silent", str(err.rcvd))
    finally:
        await c.close()


async def attack_large_messages(board, base):
    interventions = [{"at": 1000 + i, "action": "crash" if i % 2 == 0 else "restart", "node": f"n{i % 5000 + 1}"}
                     for i in range(3000)]
    await ws_case(board, base, 3, "started over 1 MiB (10,000 nodes, 3,000 actions)", [], expect=("started",),
                  start={**HEAVY_GOSSIP, "interventions": interventions}, timeout=60)
    c = await Client.open(base)  # Export and Share on a large gossip run that played a while
    try:
        await c.send({"type": "start", "speed": 10000, "scenario": {**HEAVY_GOSSIP, "nodes": 2000}})
        await c.next(60, kinds={"started"})
        await asyncio.sleep(3)
        for kind, answer in (("export", "exported"), ("save", "saved")):
            await c.send({"type": kind, "id": kind})
            state, msg = await c.outcome((answer,), SEEK_SECONDS)
            board.add(3, f"{kind} on a large gossip run", state,
                      (msg.get("code") or msg["type"]) if state == "typed" else str(msg)[:120])
        state, why = await c.alive()
        if state != "typed":
            board.add(3, "large gossip run after save/export", state, why)
    finally:
        await c.close()


async def attack_surrogates(board, base):
    await ws_case(board, base, 4, "lone surrogate in an echoed id", [raw({"type": "pause", "id": "@x"}, x=SURROGATE)],
                  start={"protocol": "raft"})
    await ws_case(board, base, 4, "lone surrogate in a client_request value",
                  [raw({"type": "intervene", "intervention": {"action": "client_request", "value": "@x"}},
                       x=SURROGATE)], start={"protocol": "raft"})
    await ws_case(board, base, 4, "lone surrogate in a rumour value",
                  [raw({"type": "intervene", "intervention": {"action": "rumor", "node": "n1", "value": "@x"}},
                       x=SURROGATE)], start={"protocol": "gossip"})
    await ws_case(board, base, 4, "lone surrogate in a scenario title",
                  [raw({"type": "start", "scenario": {"protocol": "raft", "title": "@x"}}, x=SURROGATE)])
    for kind in ("save", "export"):
        await ws_case(board, base, 4, f"lone surrogate in a {kind} title",
                      [raw({"type": kind, "title": "@x"}, x=SURROGATE)], start={"protocol": "raft"})
    status, _, body = await asyncio.to_thread(
        api_post, base, raw({"scenario": {"protocol": "raft"}, "title": "@x"}, x=SURROGATE))
    http_row(board, 4, "lone surrogate in an API title", status, body)


async def attack_nesting(board, base):
    await ws_case(board, base, 5, "2 KB of [ on the WebSocket", ["[" * 2048], start={"protocol": "raft"})
    status, _, body = await asyncio.to_thread(api_post, base, "[" * 2048)
    http_row(board, 5, "2 KB of [ on the API", status, body)


async def attack_nul(board, base):
    for field in ("title", "description"):
        status, _, body = await asyncio.to_thread(
            api_post, base, json.dumps({"scenario": {"protocol": "raft"}, field: "a\x00b"}))
        http_row(board, 6, f"NUL in an API {field}", status, body)
    status, _, body = await asyncio.to_thread(
        api_post, base, json.dumps({"protocol": "raft", "title": "a\x00b"}))
    http_row(board, 6, "NUL in scenario text (API)", status, body)
    await ws_case(board, base, 6, "NUL in a save title", [{"type": "save", "title": "a\x00b"}],
                  start={"protocol": "raft"})


async def attack_rate_limit(board, base):
    """70 saves, each from a new forged X-Forwarded-For: the limit (30 per fixed minute window, so at most 60
    across a window boundary) must still count them all as one client."""
    created = limited = 0
    windows = set()  # the limit counts per fixed minute: 30 in each window the requests touched
    for i in range(70):
        windows.add(int(time.time() // 60))
        status, _, _ = await asyncio.to_thread(api_post, base, json.dumps({"protocol": "raft", "seed": i}),
                                               {"X-Forwarded-For": f"203.0.113.{i}"})
        windows.add(int(time.time() // 60))
        created += status == 201
        limited += status == 429
    allowed = 30 * len(windows)
    board.add(7, "70 saves rotating X-Forwarded-For (30/min)", "typed" if created <= allowed else "FAIL",
              f"{created} saved, {limited} refused 429 ({len(windows)} minute window(s): at most {allowed})")


async def attack_lesser(board, base):
    status, _, body = await asyncio.to_thread(api_post, base, json.dumps({"scenario": None}))
    http_row(board, 9, "API {\"scenario\": null}", status, body)
    ivs = [{"at": 1000 + i, "action": "client_request", "value": "v" * 90} for i in range(2500)]
    await ws_case(board, base, 9, "start over 256 KiB once normalised",
                  [{"type": "start", "scenario": {"protocol": "raft", "interventions": ivs}}],
                  expect=("started",), refused=True)
    status, headers, _ = await asyncio.to_thread(http, base, "GET", "/play/raft/")
    csp = headers.get("Content-Security-Policy", "")
    board.add(10, "Content-Security-Policy on the page", "typed" if "script-src 'self'" in csp else "FAIL",
              csp[:60])
    for origin in ("http://127.0.0.1:9999", "https://127.0.0.1"):
        try:
            conn = await connect(base.replace("http", "ws", 1) + "/ws/play/", origin=origin)
            await conn.close()
            board.add(10, f"WebSocket from origin {origin}", "FAIL", "accepted")
        except InvalidStatus as err:
            board.add(10, f"WebSocket from origin {origin}", "typed", f"refused {err.response.status_code}")
    c = await Client.open(base)
    try:
        await c.send({"type": "x" * 900_000})
        state, msg = await c.outcome()
        size = len(json.dumps(msg)) if state == "typed" else 0
        board.add(10, "unknown_type of 900 KB", state if size < 2000 else "FAIL", f"answer {size} bytes")
    finally:
        await c.close()
    owner = await Client.open(base)
    viewer = await Client.open(base)
    try:
        await owner.send({"type": "start", "paused": True, "scenario": {"protocol": "raft"}})
        started = await owner.next(kinds={"started"})
        await viewer.send({"type": "watch", "room": started["room"]})
        await viewer.next(kinds={"started"})
        await viewer.send({"type": "ack", "seq": 10 ** 9})
        state, msg = await viewer.outcome()
        board.add(10, "viewer ack of 10^9", state, msg.get("code", "") if state == "typed" else str(msg))
    finally:
        await viewer.close()
        await owner.close()


# --- load and probes ------------------------------------------------------------------------------------------
async def honest_session(base, stop, index, speed):
    c = await Client.open(base)
    try:
        await c.send({"type": "start", "speed": speed, "scenario": {"protocol": "raft", "seed": 100 + index}})
        while not stop.is_set():
            try:
                await c.next(1.0, kinds={"nothing"})  # reads and acknowledges everything
            except asyncio.TimeoutError:
                pass
    except ConnectionClosed:
        pass
    finally:
        await c.close()


async def ping_probe(base, stop, pings):
    c = await Client.open(base)
    try:
        while not stop.is_set():
            t = time.perf_counter()
            await c.send({"type": "nope"})
            await c.next(30, kinds={"error"})
            pings.append(time.perf_counter() - t)
            await asyncio.sleep(0.1)
    finally:
        await c.close()


async def started_probe(base, stop, starts):
    while not stop.is_set():
        c = await Client.open(base)
        try:
            t = time.perf_counter()
            await c.send({"type": "start", "paused": True, "scenario": {"protocol": "raft"}})
            await c.next(30, kinds={"started"})
            starts.append(time.perf_counter() - t)
        finally:
            await c.close()
        await asyncio.sleep(0.5)


async def rss_probe(pid, stop, peak):
    while not stop.is_set():
        if pid:
            peak[0] = max(peak[0], rss_mib(pid))
        await asyncio.sleep(0.2)


async def probe_until_stdin_closes(base):
    """`--probe URL`: ping and `started` probes until stdin closes, then their latencies (s) as JSON on stdout."""
    stop = asyncio.Event()
    pings, starts = [], []
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(ping_probe(base, stop, pings)), loop.create_task(started_probe(base, stop, starts))]
    await loop.run_in_executor(None, sys.stdin.read)
    stop.set()
    await asyncio.wait(tasks, timeout=35)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"pings": pings, "starts": starts}))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


async def run(args):
    workdir = tempfile.mkdtemp(prefix="attack-")
    proc = None
    if args.url:
        host = urlparse(args.url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("bench/attack.py attacks loopback servers only")
        base, pid, log_path = args.url.rstrip("/"), args.pid, Path(args.log) if args.log else None
    else:
        port = free_port()
        proc, log_path = start_daphne(port, workdir, args.watch, args.nice)
        base, pid = f"http://127.0.0.1:{port}", proc.pid
    board = Board()
    stop = asyncio.Event()
    pings, starts, peak = [], [], [rss_mib(pid) if pid else 0.0]
    # the rate limit last: its 70 saves use up this address's allowance for the minute
    attacks = [attack_heavy_seek, attack_six_raft_seeks, attack_large_messages, attack_surrogates, attack_nesting,
               attack_nul, attack_lesser, attack_rate_limit]
    # 50 sessions in all: attackers (about 20 connections at the peak), 2 probes, the rest honest
    honest = max(0, args.sessions - 22)
    t0 = time.perf_counter()
    prober = None
    try:
        background = [asyncio.create_task(rss_probe(pid, stop, peak))]
        for i in range(honest):  # opened a few at a time, as a class would
            background.append(asyncio.create_task(honest_session(base, stop, i, args.speed)))
            await asyncio.sleep(0.05)
        # the probes in a process of their own: this one's event loop is busy parsing the attacks' megabytes,
        # which would be counted as the server's stalls
        prober = await asyncio.create_subprocess_exec(sys.executable, __file__, "--probe", base,
                                                      stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        await asyncio.sleep(1)
        # the ack-only client runs throughout; the other attacks one after the other (each opens 1 to 6 sessions)
        acker = asyncio.create_task(attack_ack_without_reading(board, base, args.ack_seconds))
        deadline = time.perf_counter() + args.timeout
        for attack in attacks:
            try:
                await asyncio.wait_for(attack(board, base), max(1.0, deadline - time.perf_counter()))
            except Exception as err:  # the attack script itself, not the server: say so
                board.add("-", attack.__name__, "FAIL", f"the attack raised {type(err).__name__}: {err}"[:120])
        try:
            await asyncio.wait_for(acker, max(1.0, deadline - time.perf_counter()))
        except Exception as err:
            board.add("-", "ack_without_reading", "FAIL", f"the attack raised {type(err).__name__}: {err}"[:120])
        await asyncio.sleep(1)
    finally:
        stop.set()
        if prober is not None:
            prober.stdin.close()  # the probes stop and report
            try:
                probed = json.loads((await asyncio.wait_for(prober.stdout.read(), 60)) or b"{}")
                pings, starts = probed.get("pings", []), probed.get("starts", [])
            except (asyncio.TimeoutError, ValueError):
                prober.kill()
        await asyncio.sleep(0.5)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    elapsed = time.perf_counter() - t0
    log_text = log_path.read_text(errors="replace") if log_path and log_path.exists() else ""
    return board, {
        "seconds": round(elapsed, 1),
        "sessions": honest + 22,
        "tracebacks": log_text.count("Traceback (most recent call last)"),
        "log": str(log_path) if log_path else None,
        "peak_rss_mib": round(peak[0], 1),
        "ping_ms": {"n": len(pings), "p50": round(pct(pings, 50) * 1000, 1), "max": round(max(pings, default=0) * 1000, 1)},
        "started_ms": {"n": len(starts), "p50": round(pct(starts, 50) * 1000, 1),
                       "max": round(max(starts, default=0) * 1000, 1)},
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def print_stalls(log_path):
    """Sum up what --watch logged: stalls by their innermost frames of our code, slow GC passes."""
    text = Path(log_path).read_text(errors="replace") if log_path else ""
    stalls = re.findall(r"loop stall (\d+) ms; \d+ samples; other threads: .*; top stacks:\n  \[\d+\]((?:\n    .*)+)",
                        text)
    gcs = [int(ms) for ms in re.findall(r"gc generation 2 took (\d+) ms", text)]
    print(f"\nstalls over the watch threshold: {len(stalls)}, longest {max((int(ms) for ms, _ in stalls), default=0)}"
          f" ms; full GC passes over 10 ms: {len(gcs)}, longest {max(gcs, default=0)} ms")
    by_place = {}
    for ms, stack in stalls:
        frames = [line.strip() for line in stack.strip().splitlines()]
        ours = [f for f in frames if f.split(":")[0].endswith(".py") and not f.startswith(("events.py", "base_"))]
        place = " < ".join(reversed(ours[-3:])) or frames[-1]
        total, count = by_place.get(place, (0, 0))
        by_place[place] = (total + int(ms), count + 1)
    for place, (total, count) in sorted(by_place.items(), key=lambda kv: -kv[1][0])[:8]:
        print(f"  {total:>6} ms in {count:>3} stalls: {place}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="http://127.0.0.1:PORT of a running server (default: start one)")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid (for its RSS)")
    parser.add_argument("--log", help="with --url: the server's log file (tracebacks are counted in it)")
    parser.add_argument("--sessions", type=int, default=50, help="sessions in all, attackers included (50)")
    parser.add_argument("--speed", type=float, default=100.0,
                        help="simulated ms per wall second of the honest Raft sessions (100: the page's default)")
    parser.add_argument("--ack-seconds", type=float, default=20.0, help="how long the ack-only client acks (20)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up on the attacks after this (600 s)")
    parser.add_argument("--watch", type=int, default=0, metavar="MS",
                        help="log the stack of every server event-loop stall over MS ms, and slow GC passes, and "
                             "sum them up (playground/loopwatch.py; it costs the server a little)")
    parser.add_argument("--nice", type=int, default=0, metavar="N",
                        help="start the server under `nice -n N` (negative needs root): on a machine other work "
                             "loads, what the server itself does rather than the CPU it was left; say so")
    parser.add_argument("--probe", metavar="URL", help=argparse.SUPPRESS)  # the probe process (see run)
    args = parser.parse_args(argv)
    if args.probe:
        asyncio.run(probe_until_stdin_closes(args.probe))
        return 0
    board, r = asyncio.run(run(args))
    width = max(len(case) for _, case, _, _ in board.rows)
    for defect, case, outcome, detail in sorted(board.rows, key=lambda row: str(row[0]).zfill(3)):
        print(f"{str(defect):>2}  {case:<{width}}  {outcome:<6}  {detail}")
    counts = {k: sum(1 for row in board.rows if row[2] == k) for k in ("typed", "closed", "silent", "FAIL")}
    print(f"\ntried {len(board.rows)}: {counts['typed']} typed answers, {counts['closed']} closed with a reason, "
          f"{counts['silent']} silent deaths, {counts['FAIL']} failed")
    print(f"server log: {r['tracebacks']} tracebacks ({r['log']})")
    print(f"peak RSS {r['peak_rss_mib']} MiB with {r['sessions']} sessions; {r['seconds']} s; "
          f"load average {r['load_average'][0]}" + (f"; server under nice -n {args.nice}" if args.nice else ""))
    print(f"event loop (ping every 100 ms): p50 {r['ping_ms']['p50']} ms, longest {r['ping_ms']['max']} ms "
          f"(n={r['ping_ms']['n']}); fresh start->started: p50 {r['started_ms']['p50']} ms, "
          f"longest {r['started_ms']['max']} ms (n={r['started_ms']['n']})")
    targets = [("0 tracebacks", r["tracebacks"] == 0), ("0 silent deaths", counts["silent"] == 0),
               ("RSS < 300 MB", r["peak_rss_mib"] < 300), ("stall < 100 ms", r["ping_ms"]["max"] < 100),
               ("started within 50 ms", r["started_ms"]["max"] < 50)]
    if args.watch:
        print_stalls(r["log"])
    print("targets: " + ", ".join(f"{name} {'OK' if ok else 'MISSED'}" for name, ok in targets))
    return 0 if all(ok for _, ok in targets) and counts["FAIL"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
