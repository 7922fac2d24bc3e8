"""Engine speed against bare SimPy, and Raft's speed at 5 and 51 nodes (issue 2's targets).

    .venv/bin/python bench/engine.py                     # the figures, from one run (about 15 s)
    .venv/bin/python bench/engine.py --client-interval 10 --minutes 2
    .venv/bin/python bench/engine.py --profile           # cProfile of the 5-node run, top 25 functions
    .venv/bin/python bench/engine.py --fuzz 2000         # Raft invariants under 2000 random fault schedules
    .venv/bin/python bench/engine.py --compare /tmp/old  # this checkout against another, alternately, 5 rounds

It prints:

1. events/s of a 5-node Raft run under steady client load (params.client_interval, default 20 ms: 50
   writes/s), consumed the way the CLI and the server do (1 s slices, events drained after each);
   "events" are trace events (send, deliver, state, timer...);
2. events/s of a bare SimPy loop processing the same number of events: callbacks on timeouts (no
   processes), with as many timeouts pending at once as the Raft run had on average, each callback
   scheduling the next one 1..30 ms later: SimPy's own ceiling for this workload;
3. their ratio (target: at least 1/3);
4. simulated seconds per wall second of 5-node and 51-node Raft under the same load (target: one simulated
   minute of 5-node Raft in under 1 s).

Each figure is the best of --repeat runs. Rates use this process's CPU time, which a busy machine (other
processes on the same cores) inflates less than the wall clock; wall-clock figures are printed beside them.
The last line is the same figures as JSON.
"""

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import simpy  # noqa: E402

from simulator import Simulation, run_scenario  # noqa: E402
from simulator.chaos import raft_actions, random_schedule  # noqa: E402


def raft_scenario(nodes, seconds, client_interval, seed=1):
    return {"protocol": "raft", "seed": seed, "nodes": nodes, "duration": seconds * 1000,
            "params": {"client_interval": client_interval}}


def run_sliced(sim, slice_ms=1000):
    """Run to the end in slices, draining events (as the CLI and a live session do). Returns
    (events, mean SimPy queue length sampled every slice)."""
    lengths = []
    t = 0
    while t < sim.duration:
        t = min(sim.duration, t + slice_ms)
        sim.advance(t)
        sim.drain()
        lengths.append(sim.scheduled)
    return sim.event_count, sum(lengths) / len(lengths)


def best(fn, repeat):
    """(min CPU s, min wall s, result of the last call)."""
    cpu, wall, result = [], [], None
    for _ in range(repeat):
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall), result


def bare_simpy(n_events, pending):
    """Process `n_events` timeout callbacks with `pending` timeouts in the queue at any time."""
    env = simpy.Environment()
    count = 0

    def callback(_event):
        nonlocal count
        count += 1
        if count <= n_events - pending:
            env.timeout(1 + count % 30).callbacks.append(callback)

    for i in range(pending):
        env.timeout(1 + i % 30).callbacks.append(callback)
    env.run()
    return count


def bare_simpy_processes(n_events, pending):
    """The same with `pending` processes, each a loop of `yield env.timeout(...)` (SimPy's usual style)."""
    env = simpy.Environment()
    per = n_events // pending

    def proc(i):
        for k in range(per):
            yield env.timeout(1 + (i + k) % 30)

    for i in range(pending):
        env.process(proc(i))
    env.run()
    return per * pending


def raft_run(nodes, seconds, client_interval):
    sim = Simulation(raft_scenario(nodes, seconds, client_interval))
    events, queue = run_sliced(sim)
    assert not sim.violations, sim.violations[:1]
    return events, queue, sim.protocol.metrics()


def fuzz(count, seed0=0):
    """Raft invariants under `count` seeded random fault schedules (3 to 7 nodes, random parameters)."""
    t0 = time.perf_counter()
    bad = []
    events = 0
    for seed in range(seed0, seed0 + count):
        rng = random.Random(seed)
        nodes = rng.choice([3, 4, 5, 7])
        ids = [f"n{i}" for i in range(1, nodes + 1)]
        sc = {"protocol": "raft", "seed": seed, "nodes": nodes, "duration": 6000,
              "params": {"client_interval": rng.choice([0, 30, 100]), "pre_vote": rng.random() < 0.5,
                         "check_quorum": rng.random() < 0.5, "leader_noop": rng.random() < 0.8,
                         "max_entries_per_append": rng.choice([1, 4, 16])},
              "network": {"latency": rng.choice([[10, 30], [0, 5], [5, 120]]), "loss": rng.choice([0, 0.05, 0.2]),
                          "duplicate": rng.choice([0, 0.1, 0.3])},
              "interventions": random_schedule(seed, ids, 6000, count=rng.randint(5, 40), extra=raft_actions)}
        _, summary = run_scenario(sc)
        events += summary["events"]
        if summary["violations"]:
            bad.append((seed, summary["violations"][0]))
            print(f"seed {seed}: {summary['violations'][0]}", flush=True)
        if (seed - seed0 + 1) % 200 == 0:
            print(f"  {seed - seed0 + 1} schedules, {len(bad)} with violations, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
    dt = time.perf_counter() - t0
    print(f"fuzz: {count} random fault schedules, {events:,} events in {dt:.1f} s: "
          f"{len(bad)} with violations")
    return 1 if bad else 0


def compare(other, rounds, extra):
    """Run this checkout's bench and `other`'s (a checkout with its own bench/engine.py and simulator/)
    alternately, each in a subprocess of this Python, `rounds` times each (who starts alternates too, so a
    load that drifts during the sitting falls on both alike). Prints every round's ratios and the medians."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    other = os.path.abspath(other)
    checkouts = {"this": here, "other": other}
    ratios = {"this": [], "other": []}
    for r in range(rounds):
        order = ("this", "other") if r % 2 == 0 else ("other", "this")
        line = []
        for name in order:
            root = checkouts[name]
            out = subprocess.run([sys.executable, os.path.join(root, "bench", "engine.py"), *extra], cwd=root,
                                 check=True, capture_output=True, text=True).stdout
            ratio = json.loads(out.strip().splitlines()[-1])["ratio"]
            ratios[name].append(ratio)
            line.append(f"{name} {ratio:.3f}")
        print(f"round {r + 1}: " + ", ".join(line), flush=True)
    med_this, med_other = statistics.median(ratios["this"]), statistics.median(ratios["other"])
    print(f"this  ({here}): {' '.join(f'{x:.3f}' for x in ratios['this'])}  median {med_this:.3f}")
    print(f"other ({other}): {' '.join(f'{x:.3f}' for x in ratios['other'])}  median {med_other:.3f}")
    print(f"median ratio this/other: {med_this / med_other:.3f}")
    print(json.dumps({"this": ratios["this"], "other": ratios["other"], "median_this": med_this,
                      "median_other": med_other}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--client-interval", type=int, default=20, help="ms between client writes (default 20)")
    ap.add_argument("--minutes", type=float, default=1.0, help="simulated minutes of the 5-node run (default 1)")
    ap.add_argument("--big-seconds", type=int, default=20, help="simulated seconds of the 51-node run (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts (default 3)")
    ap.add_argument("--profile", action="store_true", help="cProfile the 5-node run instead")
    ap.add_argument("--fuzz", type=int, metavar="N", help="check Raft's invariants under N random fault schedules")
    ap.add_argument("--compare", metavar="DIR", help="alternate with the checkout DIR (e.g. an older commit's "
                    "`git archive`), --rounds times each, and print both ratios per round and their medians")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per checkout with --compare (default 5)")
    args = ap.parse_args()
    if args.fuzz:
        return fuzz(args.fuzz)
    if args.compare:
        extra = ["--client-interval", str(args.client_interval), "--minutes", str(args.minutes),
                 "--big-seconds", str(args.big_seconds), "--repeat", str(args.repeat)]
        return compare(args.compare, args.rounds, extra)
    seconds = int(args.minutes * 60)
    ci = args.client_interval
    if args.profile:
        sim = Simulation(raft_scenario(5, seconds, ci))
        prof = cProfile.Profile()
        prof.runcall(run_sliced, sim)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return 0

    # Interleaved (Raft, bare, processes, Raft, bare...) so that all three see the same machine load.
    events, queue, metrics = raft_run(5, seconds, ci)  # warm-up; gives the event count and queue length
    pending = max(1, round(queue))
    timings = {"raft": [], "bare": [], "proc": []}
    for _ in range(args.repeat):
        for name, fn in (("raft", lambda: raft_run(5, seconds, ci)), ("bare", lambda: bare_simpy(events, pending)),
                         ("proc", lambda: bare_simpy_processes(events, pending))):
            timings[name].append(best(fn, 1))
    (cpu5, wall5, _), (cpu_bare, wall_bare, processed), (cpu_proc, _, processed_proc) = (
        min(timings[k], key=lambda t: t[0]) for k in ("raft", "bare", "proc"))
    assert processed == events
    cpu51, wall51, (events51, _, _) = best(lambda: raft_run(51, args.big_seconds, ci), max(1, args.repeat - 1))

    rate = events / cpu5
    rate_bare = processed / cpu_bare
    out = {
        "client_interval_ms": ci,
        "raft5_events": events,
        "raft5_events_per_s": round(rate),
        "bare_simpy_events_per_s": round(rate_bare),
        "bare_simpy_pending": pending,
        "ratio": round(rate / rate_bare, 3),
        "bare_simpy_processes_events_per_s": round(processed_proc / cpu_proc),
        "ratio_to_processes": round(rate / (processed_proc / cpu_proc), 3),
        "raft5_sim_s_per_wall_s": round(seconds / cpu5, 1),
        "raft5_s_per_sim_minute": round(cpu5 * 60 / seconds, 3),
        "raft51_events_per_s": round(events51 / cpu51),
        "raft51_sim_s_per_wall_s": round(args.big_seconds / cpu51, 2),
        "entries_committed_per_s": round(metrics["entries_committed"] / seconds, 1),
    }
    print(f"5-node Raft, a client write every {ci} ms, {seconds} simulated s: {events:,} events "
          f"({metrics['entries_committed']:,} entries committed)")
    print(f"  engine + Raft : {rate:>11,.0f} events/s   ({cpu5:.3f} s CPU, {wall5:.3f} s wall)")
    print(f"  bare SimPy    : {rate_bare:>11,.0f} events/s   ({cpu_bare:.3f} s CPU, {wall_bare:.3f} s wall; "
          f"{processed:,} timeout callbacks, {pending} pending)")
    print(f"  ratio         : {out['ratio']:.3f}   (target >= 0.333)")
    print(f"  (bare SimPy with {pending} processes yielding timeouts: {out['bare_simpy_processes_events_per_s']:,} "
          f"events/s; ratio {out['ratio_to_processes']:.3f})")
    print(f"simulated seconds per wall second (CPU): 5 nodes {out['raft5_sim_s_per_wall_s']} "
          f"(one simulated minute in {out['raft5_s_per_sim_minute']:.3f} s; target < 1 s), "
          f"51 nodes {out['raft51_sim_s_per_wall_s']} ({out['raft51_events_per_s']:,} events/s; "
          f"{args.big_seconds} simulated s in {cpu51:.2f} s CPU, {wall51:.2f} s wall)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
