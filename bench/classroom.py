"""Classroom benchmark (issue 12): one teacher and N students spread over two Daphne processes on Redis.

Prints
- the frame lag from teacher to student: for each frame the teacher receives, the delay until each student
  receives the same frame (same `seq`), p50 / p90 / p99 / max over every (frame, student) pair,
- the teacher's intervene-to-frame latency with the class attached (an intervention every ~0.5 s: cut then heal
  a link; time from sending it to the teacher's frame holding its `intervention` event),
- each Daphne process's CPU use (% of one core over the measured window) and resident memory.

    .venv/bin/python bench/classroom.py                          # 300 students, Raft at real time, 15 s
    .venv/bin/python bench/classroom.py --students 100 --seconds 10

Starts a Redis (redis-server on a free port, unless --redis names one) and two Daphne processes sharing it
(REDIS_URL: channels-redis and the cache), the teacher on the first, students alternating between both. Targets:
frame lag p99 < 100 ms, intervene-to-frame p99 < 50 ms. The clients (the `websockets` library) all run in this
process, so their own scheduling is part of the figures.
"""

import argparse
import asyncio
import json
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


async def student(port, room, arrivals, stop, ready):
    ws = await connect(port)
    await ws.send(json.dumps({"type": "watch", "room": room}))
    while not stop.is_set():
        text = await ws.recv()
        if text is None:
            break
        now = time.monotonic()
        msg = json.loads(text)
        if msg.get("viewer"):
            ready.append(1)
        if msg["type"] == "frame":
            arrivals.append((msg["seq"], now))
            await ws.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
    ws.close()


async def run(args):
    redis_proc = None
    redis_url = args.redis
    if not redis_url:
        redis_proc, redis_url = start_redis()
    os.environ["REDIS_URL"] = redis_url
    ports = [free_port(), free_port()]
    daphnes = [start_daphne(p) for p in ports]
    try:
        teacher = await connect(ports[0])
        await teacher.send(json.dumps({"type": "start", "scenario": {"protocol": args.protocol, "seed": 7},
                                       "speed": args.speed}))
        room = None
        while room is None:
            msg = json.loads(await teacher.recv())
            if msg["type"] == "started":
                room = msg["room"]
                await teacher.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
        await teacher.send(json.dumps({"type": "teach"}))
        stop = asyncio.Event()
        arrivals = [[] for _ in range(args.students)]
        ready = []
        tasks = []
        for i in range(args.students):  # a class joins over a few seconds (a burst of 150 watches at once on one
            # process exhausts channels-redis's connection pool: MaxConnectionsError, docs/classroom.md)
            tasks.append(asyncio.create_task(student(ports[i % 2], room, arrivals[i], stop, ready)))
            await asyncio.sleep(args.join_gap)
        teacher_frames = {}  # seq -> arrival at the teacher
        latencies, pending = [], {}
        deadline = time.monotonic() + 60
        while len(ready) < args.students and time.monotonic() < deadline:  # every student has its snapshot
            text = await asyncio.wait_for(teacher.recv(), 60)
            msg = json.loads(text)
            if "seq" in msg:
                await teacher.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
        print(f"{len(ready)} of {args.students} students following (room {room}); measuring {args.seconds} s")
        usage0 = [proc_usage(d.pid) for d in daphnes]
        t0 = time.monotonic()
        next_iv, n_iv = t0 + 0.5, 0
        while time.monotonic() - t0 < args.seconds:
            if time.monotonic() >= next_iv:
                action = "cut" if n_iv % 2 == 0 else "heal"
                n_iv += 1
                pending[n_iv] = time.monotonic()
                await teacher.send(json.dumps({"type": "intervene", "intervention": {"action": action, "a": "n1",
                                                                                       "b": "n2"}}))
                next_iv += 0.5
            try:
                text = await asyncio.wait_for(teacher.recv(), 0.05)
            except asyncio.TimeoutError:
                continue
            now = time.monotonic()
            msg = json.loads(text)
            if msg["type"] == "frame":
                teacher_frames[msg["seq"]] = now
                await teacher.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
                for ev in msg["events"]:
                    if ev["type"] == "intervention" and pending:
                        latencies.append(now - pending.pop(min(pending)))
        elapsed = time.monotonic() - t0
        usage1 = [proc_usage(d.pid) for d in daphnes]
        await asyncio.sleep(0.5)  # the last frames reach the students
        stop.set()
        lags, missed = [], 0
        for got in arrivals:
            seen = dict(got)
            for seq, sent in teacher_frames.items():
                if seq in seen:
                    lags.append(seen[seq] - sent)
                else:
                    missed += 1
        teacher.close()
        for t in tasks:
            t.cancel()
        ms = lambda xs, p: f"{pct(xs, p) * 1000:.1f}"  # noqa: E731
        print(f"teacher frames: {len(teacher_frames)} in {elapsed:.1f} s; (frame, student) pairs {len(lags)}, "
              f"missed {missed}")
        print(f"frame lag teacher -> student ms: p50 {ms(lags, 50)}  p90 {ms(lags, 90)}  p99 {ms(lags, 99)}  "
              f"max {ms(lags, 100)}")
        print(f"teacher intervene -> frame ms ({len(latencies)}): p50 {ms(latencies, 50)}  p90 {ms(latencies, 90)}"
              f"  p99 {ms(latencies, 99)}  max {ms(latencies, 100)}")
        for i, (u0, u1) in enumerate(zip(usage0, usage1)):
            cpu = (u1[0] - u0[0]) / elapsed * 100 if u0[0] is not None and u1[0] is not None else float("nan")
            role = "teacher + half the students" if i == 0 else "the other students"
            print(f"daphne {i + 1} ({role}): CPU {cpu:.0f}% of a core, RSS {u1[1]:.0f} MiB")
    finally:
        for d in daphnes:
            d.terminate()
            d.wait(10)
        if redis_proc is not None:
            redis_proc.terminate()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--speed", type=float, default=1000)
    parser.add_argument("--protocol", default="raft")
    parser.add_argument("--join-gap", type=float, default=0.01, help="seconds between students joining")
    parser.add_argument("--redis", help="redis://... of a running Redis (default: start one)")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
