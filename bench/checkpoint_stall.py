"""Checkpoint stalls in a model of bench/ws.py's server: 50 Raft sessions started together, advancing in lock
step (one frame tick = 1/30 s of wall clock), each observing its TimeMachine after each tick as
playground/travel.py does. Prints the checkpoint-copy CPU per tick: what the copies of all sessions cost within
one frame, i.e. how long they hold the GIL / the event loop. CPU time, so a busy machine barely skews it
(unlike bench/ws.py's wall-clock latencies).

    .venv/bin/python bench/checkpoint_stall.py before        # no CopyGate, no per-session phase (the old way)
    .venv/bin/python bench/checkpoint_stall.py after         # the process-wide CopyGate + per-session phase
    .venv/bin/python bench/checkpoint_stall.py after 100     # at 100 simulated ms/s (bench/ws.py --speed 100)
"""
import os, sys, time, zlib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from playground.timetravel import TimeMachine, CopyGate, MAX_THREAD_COPY
from simulator import Simulation
mode = sys.argv[1] if len(sys.argv) > 1 else "after"; N = 50; TICK = 1 / 30; SPEED = float(sys.argv[2]) if len(sys.argv) > 2 else 1000
sims = [Simulation({"protocol": "raft", "seed": i + 1}) for i in range(N)]
fake = [0.0, 0.0]
gate = CopyGate(clock=lambda: fake[0] + time.thread_time() - fake[1]) if mode == "after" else None
tms = [TimeMachine(s, phase=(zlib.crc32(f"room{i}".encode()) % 1000) / 1000 if mode == "after" else 0.0) for i, s in enumerate(sims)]
per_tick = []
for k in range(int(14 / TICK)):
    t = int((k + 1) * TICK * SPEED)
    fake[0] = k * TICK; fake[1] = time.thread_time()
    cost = 0.0
    for s, tm in zip(sims, tms):
        s.advance(t); s.drain()
        c0 = time.thread_time()
        exp = tm.observe(s, live=True, gate=gate)
        if exp is not None and exp <= MAX_THREAD_COPY:
            if gate: gate.begin()
            tm.checkpoint(s)
            if gate: gate.end()
        c = time.thread_time() - c0
        cost += c
    per_tick.append(cost * 1000)
per_tick.sort()
print(f"{mode} speed {SPEED}: copy CPU per 33 ms tick: p50 {per_tick[len(per_tick)//2]:.2f} ms  p99 {per_tick[int(len(per_tick)*0.99)]:.2f} ms  max {per_tick[-1]:.2f} ms; copies {sum(tm.copies for tm in tms)}")
