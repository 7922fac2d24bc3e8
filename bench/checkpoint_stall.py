"""Checkpoint stalls in a model of bench/ws.py's server: 50 Raft sessions started together, advancing in lock
step (one frame tick = 1/30 s of wall clock), each observing its TimeMachine after each tick as
playground/travel.py does. Prints the checkpoint-copy CPU per tick: what the copies of all sessions cost within
one frame, i.e. how long they hold the GIL / the event loop. CPU time, so a busy machine barely skews it
(unlike bench/ws.py's wall-clock latencies).

    .venv/bin/python bench/checkpoint_stall.py before        # no CopyGate, no per-session phase (the old way)
    .venv/bin/python bench/checkpoint_stall.py after         # the process-wide CopyGate + per-session phase
    .venv/bin/python bench/checkpoint_stall.py after 100     # at 100 simulated ms/s (bench/ws.py --speed 100)
    .venv/bin/python bench/checkpoint_stall.py thread        # the GIL: a big checkpoint in a worker thread

`thread`: what a dear checkpoint (made in a worker thread, playground/travel.py) does to the event loop of the
other sessions: an asyncio loop ticks every 1 ms while a thread packs (simulator.timetravel.compact.pack, what checkpoints
are now), unpacks, or deep-copies (what they were) a big simulation; printed is how late the loop's ticks come
(the longest = the longest time the thread held the GIL; a plain pickle.dumps would hold it throughout).
"""
import os, sys, time, zlib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from simulator.timetravel import TimeMachine, CopyGate, MAX_THREAD_COPY
from simulator import Simulation
mode = sys.argv[1] if len(sys.argv) > 1 else "after"; N = 50
if mode == "thread":
    import asyncio, copy, pickle, statistics
    from simulator.timetravel import compact

    pieces = []  # CPU seconds of each pickle call (C code: it holds the GIL throughout)

    class TimedPickler(pickle.Pickler):
        def dump(self, obj):
            c0 = time.thread_time(); super().dump(obj); pieces.append(time.thread_time() - c0)

    class TimedUnpickler(pickle.Unpickler):
        def load(self):
            c0 = time.thread_time(); obj = super().load(); pieces.append(time.thread_time() - c0); return obj

    async def lateness(fn):
        late, done = [], False
        async def tick():
            while not done:
                t0 = time.perf_counter(); await asyncio.sleep(0.001); late.append(time.perf_counter() - t0 - 0.001)
        task = asyncio.create_task(tick()); await asyncio.sleep(0.02); late.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.to_thread(fn)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        done = True; await task
        return wall, cpu, max(late)

    print("a worker thread copies/packs/unpacks while the event loop ticks every 1 ms (median of 5 runs each):")
    for label, sc, until in (("Raft 5 nodes, a client write every 20 ms, at 590 s", {"protocol": "raft", "seed": 1, "params": {"client_interval": 20}}, 590_000),
                             ("gossip 1000 nodes at 20 s", {"protocol": "gossip", "seed": 1, "nodes": 1000}, 20_000)):
        sim = Simulation(sc); t = 0
        while t < until: t += 1000; sim.advance(t); sim.drain()
        blob = compact.pack(sim)
        print(f"{label}: packed {len(blob) / 2**20:.2f} MiB")
        for name, fn in (("deepcopy", lambda: copy.deepcopy(sim)), ("pack", lambda: compact.pack(sim)), ("unpack", lambda: compact.unpack(blob))):
            runs, longest = [], []
            for _ in range(5):
                pieces.clear()
                compact.pickle.Pickler, compact.pickle.Unpickler = TimedPickler, TimedUnpickler
                try:
                    runs.append(asyncio.run(lateness(fn)))
                finally:
                    compact.pickle.Pickler, compact.pickle.Unpickler = pickle.Pickler, pickle.Unpickler
                longest.append(max(pieces, default=0.0))
            hold = (f"longest pickle call {statistics.median(longest) * 1000:4.1f} ms" if name != "deepcopy"
                    else f"Python code: yields the GIL every {sys.getswitchinterval() * 1000:g} ms")
            print(f"  {name:8} {statistics.median(c for _, c, _ in runs) * 1000:5.0f} ms CPU ({statistics.median(w for w, _, _ in runs) * 1000:4.0f} ms wall); {hold}; "
                  f"event loop late by at most {statistics.median(m for _, _, m in runs) * 1000:5.1f} ms")
    sys.exit(0)
TICK = 1 / 30; SPEED = float(sys.argv[2]) if len(sys.argv) > 2 else 1000
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
