"""Classroom benchmark (issue 12): one teacher and N students spread over two Daphne processes on Redis.

Prints
- the frame lag from teacher to student: for each frame the teacher receives while measuring, the delay until
  each student receives the same frame (same `seq`), p50 / p90 / p99 / max over every (frame, student) pair, and
  the pairs missed (a student never got that frame: the server skipped it for a slow reader),
- the teacher's intervene-to-frame latency with the class attached (an intervention every --every seconds: cut
  then heal a link; time from sending it to the teacher's frame holding its `intervention` event),
- each process's CPU use (% of one core over the measured window) and resident memory: both Daphnes, Redis, and
  the bench's own client processes (they share the machine: their CPU is part of the picture).

    .venv/bin/python bench/classroom.py                          # 300 students, Raft at real time, 20 s
    .venv/bin/python bench/classroom.py --students 100 --seconds 10 --client-procs 1

Starts a Redis (redis-server on a free port, unless --redis names one) and two Daphne processes sharing it
(REDIS_URL: channels-redis and the cache), the teacher on the first, students alternating between both. The
teacher runs alone in this process; the students (the `websockets` library, each acknowledging every frame as the
page does) run in --client-procs child processes, as a class's students sit at their own machines: with all 300
in the teacher's event loop, the teacher's latency measured that loop's queue, not the server. Targets: frame lag
p99 < 100 ms, intervene-to-frame p99 < 50 ms.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ws import WebSocket, free_port, pct, proc_usage, start_daphne  # noqa: E402  (bench/ws.py)


def start_redis():
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


async def connect(port):
    return await WebSocket.connect(f"ws://127.0.0.1:{port}/ws/play/", f"http://127.0.0.1:{port}")


# --- the students: child processes ------------------------------------------------------------------------
async def student(port, room, arrivals, ready):
    ws = await connect(port)
    await ws.send(json.dumps({"type": "watch", "room": room}))
    while True:
        text = await ws.recv()
        if text is None:
            break
        now = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
        msg = json.loads(text)
        if msg.get("viewer"):
            ready.append(1)
        if msg["type"] == "frame":
            arrivals.append((msg["seq"], now))
            await ws.send(json.dumps({"type": "ack", "seq": msg["seq"]}))


async def students_main(ports, room, count, join_gap, delay, status, stop):
    arrivals = [[] for _ in range(count)]
    ready, tasks = [], []
    for i in range(count):  # a class joins over a few seconds (a burst of 150 watches at once on one process
        # exhausts channels-redis's connection pool: MaxConnectionsError, docs/classroom.md)
        tasks.append(asyncio.create_task(student(ports[i % 2], room, arrivals[i], ready)))
        await asyncio.sleep(join_gap)
    while len(ready) < count:
        await asyncio.sleep(0.05)
    status.put(("ready", len(ready)))
    while not stop.is_set():
        await asyncio.sleep(0.05)
    await asyncio.sleep(delay)  # the last frames reach the students
    for t in tasks:
        t.cancel()
    return arrivals


def students_process(ports, room, count, join_gap, delay, status, stop):
    """One client machine's worth of students (a child process): report (arrivals per student, CPU seconds)."""
    arrivals = asyncio.run(students_main(ports, room, count, join_gap, delay, status, stop))
    usage = os.times()
    status.put(("done", arrivals, usage.user + usage.system))


# --- the teacher: this process -----------------------------------------------------------------------------
class Teacher:
    def __init__(self, ws):
        self.ws = ws
        self.measuring = False
        self.frames = {}  # seq -> arrival at the teacher (while measuring)
        self.pending = {}  # intervention number -> when it was sent
        self.latencies = []

    async def read(self):
        while True:
            text = await self.ws.recv()
            if text is None:
                return
            now = time.monotonic()
            msg = json.loads(text)
            if msg["type"] != "frame":
                continue
            await self.ws.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
            if self.measuring:
                self.frames[msg["seq"]] = now
            for ev in msg["events"]:
                if ev["type"] == "intervention" and self.pending:
                    self.latencies.append(now - self.pending.pop(min(self.pending)))

    async def intervene(self, every, seconds):
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            action = "cut" if n % 2 == 0 else "heal"
            n += 1
            self.pending[n] = time.monotonic()
            await self.ws.send(json.dumps({"type": "intervene",
                                           "intervention": {"action": action, "a": "n1", "b": "n2"}}))
            await asyncio.sleep(every)


async def wait_queue(queue, timeout):
    return await asyncio.get_running_loop().run_in_executor(None, queue.get, True, timeout)


async def run(args):
    redis_proc = None
    redis_url = args.redis
    if not redis_url:
        redis_proc, redis_url = start_redis()
    os.environ["REDIS_URL"] = redis_url
    ports = [free_port(), free_port()]
    daphnes = [start_daphne(p) for p in ports]
    ctx = multiprocessing.get_context("spawn")
    children = []
    try:
        ws = await connect(ports[0])
        await ws.send(json.dumps({"type": "start", "scenario": {"protocol": args.protocol, "seed": 7},
                                  "speed": args.speed}))
        room = None
        while room is None:
            msg = json.loads(await ws.recv())
            if msg["type"] == "started":
                room = msg["room"]
                await ws.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
        await ws.send(json.dumps({"type": "teach"}))
        teacher = Teacher(ws)
        reader = asyncio.create_task(teacher.read())

        status, stop = ctx.Queue(), ctx.Event()
        k = max(1, args.client_procs)
        shares = [len(range(i, args.students, k)) for i in range(k)]
        for share in shares:
            child = ctx.Process(target=students_process, args=(ports, room, share, args.join_gap * k, 1.0,
                                                                status, stop))
            child.start()
            children.append(child)
        following = 0
        for _ in children:
            kind, n = await wait_queue(status, 120)
            following += n
        print(f"{following} of {args.students} students following (room {room}) from {k} client processes; "
              f"measuring {args.seconds} s")
        await asyncio.sleep(1)  # the last joiners' snapshots are out of the way
        pids = [("daphne 1 (teacher + half the students)", daphnes[0].pid),
                ("daphne 2 (the other students)", daphnes[1].pid)]
        if redis_proc is not None:
            pids.append(("redis", redis_proc.pid))
        usage0 = [proc_usage(pid) for _, pid in pids]
        clients0 = [proc_usage(c.pid) for c in children]
        t0 = time.monotonic()
        teacher.measuring = True
        await teacher.intervene(args.every, args.seconds)
        teacher.measuring = False
        elapsed = time.monotonic() - t0
        usage1 = [proc_usage(pid) for _, pid in pids]
        clients1 = [proc_usage(c.pid) for c in children]
        await asyncio.sleep(0.3)  # the last intervention's frame
        stop.set()
        arrivals = []
        for _ in children:
            kind, got, _cpu = await wait_queue(status, 120)
            arrivals.extend(got)
        reader.cancel()
        lags, missed = [], 0
        for got in arrivals:
            seen = dict(got)
            for seq, sent in teacher.frames.items():
                if seq in seen:
                    lags.append(seen[seq] - sent)
                else:
                    missed += 1
        ws.close()
        ms = lambda xs, p: f"{pct(xs, p) * 1000:.1f}"  # noqa: E731
        lat = teacher.latencies
        print(f"teacher frames: {len(teacher.frames)} in {elapsed:.1f} s; (frame, student) pairs {len(lags)}, "
              f"missed {missed}")
        print(f"frame lag teacher -> student ms: p50 {ms(lags, 50)}  p90 {ms(lags, 90)}  p99 {ms(lags, 99)}  "
              f"max {ms(lags, 100)}")
        print(f"teacher intervene -> frame ms ({len(lat)}): p50 {ms(lat, 50)}  p90 {ms(lat, 90)}  "
              f"p99 {ms(lat, 99)}  max {ms(lat, 100)}")
        cpu = lambda u0, u1: (u1[0] - u0[0]) / elapsed * 100 if None not in (u0[0], u1[0]) else float("nan")  # noqa
        for (role, _), u0, u1 in zip(pids, usage0, usage1):
            print(f"{role}: CPU {cpu(u0, u1):.0f}% of a core, RSS {u1[1]:.0f} MiB")
        for i, (u0, u1) in enumerate(zip(clients0, clients1)):
            print(f"bench client {i + 1} ({shares[i]} students): CPU {cpu(u0, u1):.0f}% of a core")
        own = os.times()
        print(f"bench teacher (this process): CPU {(own.user + own.system):.1f} s in all")
    finally:
        for child in children:
            child.join(5)
            if child.is_alive():
                child.kill()
        for d in daphnes:
            d.terminate()
            d.wait(10)
        if redis_proc is not None:
            redis_proc.terminate()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--speed", type=float, default=1000)
    parser.add_argument("--protocol", default="raft")
    parser.add_argument("--every", type=float, default=0.25, help="seconds between the teacher's interventions")
    parser.add_argument("--client-procs", type=int, default=2, help="processes the students are spread over")
    parser.add_argument("--join-gap", type=float, default=0.01, help="seconds between students joining")
    parser.add_argument("--redis", help="redis://... of a running Redis (default: start one)")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
