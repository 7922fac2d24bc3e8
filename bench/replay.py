"""Time to seek to the end of a long run, with and without checkpoints (issue 6: target under 1 s).

    .venv/bin/python bench/replay.py                  # 10 simulated minutes, 5-node Raft, 10 client writes/s
    .venv/bin/python bench/replay.py --minutes 2 --client-interval 50

First it plays the run the way a live session does (slices of SLICE_MS simulated ms, a TimeMachine observing
after each, a crash and a restart every minute applied live), then it measures:

- seek to the end WITHOUT checkpoints: re-simulate the recorded scenario from t=0 (what a fresh process does);
- seeks WITH checkpoints, as the page makes them (TimeMachine.seek: a copy of the nearest checkpoint before the
  moment + re-simulation of the rest): 10 s back from the end, then the middle, then the end;
- the worst case: seeks to random moments and to just before each checkpoint;
- step back one event from the end, ten times (TimeMachine.rewind).

It also prints the checkpoints (count, packed size against the budget, widest gap) and what one costs: packing
(simulator.timetravel.compact, what the live run does) and unpacking the newest, against a `copy.deepcopy` of the
simulation (what checkpoints were before).

Results are checked against the live run (same snapshot). Times are wall clock, with this process's CPU time in
brackets (on a busy machine the wall clock also counts waiting for a core).
"""

import argparse
import copy
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from simulator import Simulation  # noqa: E402
from simulator.timetravel import MAX_THREAD_COPY, TimeMachine, pack  # noqa: E402

SLICE_MS = 333  # a live session at 10x real time sends 30 frames a second: 333 simulated ms each


def observe(tm, sim):
    """What the session's run loop does (playground/travel.py): cheap checkpoints at once, dear ones (up to
    MAX_THREAD_COPY) in a worker thread while the session waits; here simply in line."""
    expected = tm.observe(sim, live=True)
    if expected is not None and expected <= MAX_THREAD_COPY:
        tm.checkpoint(sim)


def timed(fn, repeat):
    """(median wall seconds, median CPU seconds of this process, last result)."""
    wall, cpu = [], []
    result = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu), result


def gaps(tm):
    cps = tm.checkpoints
    widest = max(range(1, len(cps)), key=lambda i: cps[i].events - cps[i - 1].events, default=None)
    sizes = [cp.size for cp in cps[1:]] or [0]
    out = f"largest checkpoint {max(sizes) / 1024:.0f} KiB, mean {sum(sizes) / len(sizes) / 1024:.0f} KiB"
    if widest is not None:
        out += (f"; widest gap {cps[widest - 1].t / 1000:.0f}-{cps[widest].t / 1000:.0f} s "
                f"({cps[widest].events - cps[widest - 1].events} events)")
    return out


def fmt(wall, cpu):
    return f"{wall:.3f} s wall ({cpu:.3f} s CPU)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="simulated minutes (default 10)")
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--client-interval", type=int, default=100, help="ms between client writes (default 100)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--samples", type=int, default=20, help="random moments for the worst-case seek")
    ap.add_argument("--checkpoint-mb", type=int, default=24, help="memory for checkpoints (PLAYGROUND_CHECKPOINT_MB)")
    args = ap.parse_args(argv)

    end = int(args.minutes * 60_000)
    scenario = {"protocol": "raft", "seed": args.seed, "nodes": args.nodes, "duration": end,
                "params": {"client_interval": args.client_interval}}
    faults = {}
    for minute in range(1, int(args.minutes) + 1):  # a server crashes for 10 s every minute, in turn
        node = f"n{minute % args.nodes + 1}"
        faults[minute * 60_000 - 30_000] = {"action": "crash", "node": node}
        faults[minute * 60_000 - 20_000] = {"action": "restart", "node": node}
    print(f"Raft, {args.nodes} nodes, seed {args.seed}, a client write every {args.client_interval} ms, "
          f"{args.minutes:g} simulated minutes, {len(faults)} live interventions")

    # --- the live run ---------------------------------------------------------------------------------
    t0, c0 = time.perf_counter(), time.process_time()
    sim = Simulation(scenario)
    tm = TimeMachine(sim, budget=args.checkpoint_mb * 1024 * 1024)
    events = len(sim.drain())
    pending = sorted(faults.items())
    t = 0
    while t < end:
        t = min(end, t + SLICE_MS)
        sim.advance(t)
        drained = sim.drain()
        if drained:
            last_event_t = drained[-1]["t"]
        events += len(drained)
        observe(tm, sim)
        while pending and pending[0][0] <= t:
            _, iv = pending.pop(0)
            try:
                tm.intervene(sim, iv, live=True)
            except Exception as err:  # e.g. no leader at that moment
                print(f"  (skipped {iv['action']} at {t}: {err})")
            events += len(sim.drain())  # (the last event's time is only needed at the end)
    live, live_cpu = time.perf_counter() - t0, time.process_time() - c0
    live_snap = sim.snapshot()
    print(f"live run: {fmt(live, live_cpu)} for {events} events, log length {len(sim.nodes['n1'].log)}; "
          f"{len(tm.checkpoints)} checkpoints kept, {tm.size / 2**20:.1f} MiB packed (budget {args.checkpoint_mb} MiB) "
          f"(interval {tm.interval / 1000:g} s; {tm.copies} copies made in {tm.copy_seconds * 1000:.0f} ms)")
    print(f"  checkpoints at (s): {' '.join(f'{cp.t / 1000:.0f}' for cp in tm.checkpoints)}")
    print(f"  {gaps(tm)}")
    newest = tm.checkpoints[-1]
    t_pack, c_pack, _ = timed(lambda: pack(sim), args.repeat)
    t_unpack, c_unpack, _ = timed(newest.simulation, args.repeat)
    t_copy, c_copy, _ = timed(lambda: copy.deepcopy(sim), args.repeat)
    print(f"  a checkpoint at the end: pack {fmt(t_pack, c_pack)} -> {len(pack(sim)) / 2**20:.2f} MiB; "
          f"unpack {fmt(t_unpack, c_unpack)} (a deepcopy, as before: {fmt(t_copy, c_copy)})")

    # --- seeking ------------------------------------------------------------------------------------------
    recorded = sim.recorded_scenario()
    recorded["duration"] = end

    def straight():
        s = Simulation(recorded)
        t = 0
        while t < end:  # in 1 s slices, draining, like `python -m simulator run`
            t = min(end, t + 1000)
            s.advance(t)
            s.drain()
        return s

    t_straight, c_straight, s1 = timed(straight, args.repeat)
    assert s1.snapshot() == live_snap, "re-simulation differs from the live run"
    print(f"seek to the end without checkpoints (re-simulate {end / 1000:g} s from 0): {fmt(t_straight, c_straight)}")

    # What the page does. The first seek hands the live simulation over (it becomes a checkpoint): drag back 10 s
    # (the worst first move: the live loop makes no copy dearer than MAX_LIVE_COPY, so late in a long run the
    # nearest checkpoint can be minutes back), then to the middle, then to the end.
    near = end - 10_000
    t_near, c_near, back = timed(lambda: tm.seek(sim, near, adopt=True), 1)
    cur = back.sim
    mid = end // 2
    t_mid, c_mid, _ = timed(lambda: tm.seek(cur, mid), args.repeat)
    t_ckpt, c_ckpt, s2 = timed(lambda: tm.seek(cur, end).sim, args.repeat)
    assert s2.snapshot() == live_snap, "checkpointed seek differs from the live run"
    print(f"first seek, 10 s back from the end, with checkpoints:        {fmt(t_near, c_near)}"
          f"  {'OK' if t_near < 1 else 'OVER'}")
    print(f"then to the middle ({mid / 1000:g} s):                             {fmt(t_mid, c_mid)}")
    print(f"then to the end ({end / 1000:g} s):                                {fmt(t_ckpt, c_ckpt)}"
          f"  {'OK' if t_ckpt < 1 else 'OVER'} (target < 1 s)")

    # The worst case: any moment, as far as possible from the checkpoint before it.
    rng = random.Random(args.seed)
    moments = sorted({rng.randrange(0, end) for _ in range(args.samples)}
                     | {cp.t - 1 for cp in tm.checkpoints if cp.t > 0} | {end - 1})
    walls, cpus = [], []
    for t in moments:
        w, c, _ = timed(lambda: tm.seek(cur, t), 1)
        walls.append(w)
        cpus.append(c)
    worst = max(range(len(moments)), key=lambda i: walls[i])
    print(f"seek to any of {len(moments)} moments (random, and just before each checkpoint): "
          f"median {fmt(statistics.median(walls), statistics.median(cpus))}, "
          f"worst {fmt(walls[worst], cpus[worst])} at {moments[worst] / 1000:.1f} s"
          f"  {'OK' if walls[worst] < 1 else 'OVER'}")

    # Step back one event from the end, then nine more.
    position = sim.event_count - 1
    hint = last_event_t
    steps = []
    for _ in range(10):
        w, c, r = timed(lambda: tm.rewind(cur, position, hint=hint), 1)
        steps.append((w, c))
        cur, position, hint = r.sim, position - 1, r.last_t
    print(f"step back one event from the end: {fmt(*steps[0])}; each of the next nine: "
          f"median {fmt(statistics.median(w for w, _ in steps[1:]), statistics.median(c for _, c in steps[1:]))}")
    print(f"checkpoints now: {len(tm.checkpoints)}, {tm.size / 2**20:.1f} MiB packed; {gaps(tm)}")
    return 0 if max(t_ckpt, t_near, walls[worst]) < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
