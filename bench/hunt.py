"""Counterexample hunt figures (docs/hunt.md): speed, time to find and shrink each mutation, reliability.

    .venv/bin/python bench/hunt.py                          # everything; reliability: 10,000 schedules each
    .venv/bin/python bench/hunt.py --schedules 2000         # a shorter reliability run
    .venv/bin/python bench/hunt.py --only speed             # one section: speed, mutations or reliability
    nice -n 19 .venv/bin/python bench/hunt.py --only reliability --workers 1   # on a shared machine

Sections:

- speed: schedules per second on a correct Raft (no failure, so every schedule of the budget runs), in this
  process (with its CPU time per schedule, which a busy machine does not inflate) and on Dask worker
  processes (1 and 2 workers; the cluster's start-up is timed apart);
- mutations: for every teaching mutation, a hunt from its plain scenario (simulator.hunt.cases) with the default
  budget, in this process: schedules tried, seconds to find, seconds to shrink, interventions found -> shrunk,
  the shrunk run's length and the invariant;
- reliability: N schedules on each correct protocol (simulator.hunt.cases.CORRECT_STARTS) on `--workers`
  Dask workers (1: in this process, with CPU time per schedule): how many found a violation (the figure we
  publish per protocol: N schedules, 0 found), schedules per second per worker; `--time-limit S` stops each
  start after S seconds and extrapolates the time all N would take.
"""

import argparse
import contextlib
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from simulator.compute import default_workers, open_client  # noqa: E402
from simulator.hunt import DEFAULT_BUDGET, iter_hunt  # noqa: E402
from simulator.hunt.cases import CORRECT_STARTS, MUTATION_STARTS  # noqa: E402


def speed(n):
    start = CORRECT_STARTS["raft"]
    t0, cpu0 = time.perf_counter(), time.process_time()
    last = list(iter_hunt(start, budget=n, seed=1, workers=1))[-1]
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(f"speed  in-process     {last['tried']:6d} schedules  {wall:6.1f} s  {last['tried'] / wall:6.1f}/s  "
          f"(CPU {1000 * cpu / last['tried']:.1f} ms per schedule: {last['tried'] / cpu:.1f}/s on an idle core)")
    for workers in (1, 2):
        t0 = time.perf_counter()
        with open_client(workers) as client:
            started = time.perf_counter() - t0
            t1 = time.perf_counter()
            last = list(iter_hunt(start, budget=n, seed=1, client=client))[-1]
            wall = time.perf_counter() - t1
        rate = last["tried"] / wall
        print(f"speed  dask workers={workers} {last['tried']:6d} schedules  {wall:6.1f} s  {rate:6.1f}/s "
              f"({rate / workers:.1f}/s per worker; cluster start {started:.1f} s)")


def mutations(budget, seed, names):
    for name in names:
        start = MUTATION_STARTS[name]
        t0 = time.perf_counter()
        found_at = None
        for event in iter_hunt(start, budget=budget, seed=seed, workers=1):
            if event["type"] == "progress" and event["found"]:
                found_at = time.perf_counter() - t0
        total = time.perf_counter() - t0
        if not event["found"]:
            print(f"mutation {name:34s} NOT FOUND in {event['tried']} schedules ({total:.1f} s)")
            continue
        sc = event["scenario"]
        print(f"mutation {name:34s} tried {event['tried']:5d}  find {found_at:5.1f} s  shrink {total - found_at:5.1f} s"
              f"  interventions {event['found_interventions']:2d} -> {len(sc['interventions'])}"
              f"  nodes {sc.get('nodes', '-')}  run {sc['duration']} ms  {event['invariant']}", flush=True)


def reliability(n, workers, seed, names, time_limit=None):
    """`workers` 1 runs in this process (no Dask); a start stopped at `time_limit` seconds says how far it got
    and how long all `n` would take at that rate."""
    with open_client(workers) if workers > 1 else contextlib.nullcontext() as client:
        for name in names:
            start = CORRECT_STARTS[name]
            t0, cpu0 = time.perf_counter(), time.process_time()
            last, stopped = None, False
            events = iter_hunt(start, budget=n, seed=seed, workers=1 if client is None else None, client=client)
            for last in events:
                if time_limit and last["type"] == "progress" and time.perf_counter() - t0 > time_limit:
                    stopped = True
                    events.close()
                    break
            wall = time.perf_counter() - t0
            tried = last["tried"]
            if last.get("found"):
                verdict = f"FOUND {last['invariant']} at schedule {tried}"
            else:
                verdict = "0 found" + (f" (stopped at the time limit; all {n}: about {wall * n / tried:.0f} s)"
                                       if stopped else "")
            cpu = f", CPU {1000 * (time.process_time() - cpu0) / tried:.1f} ms each" if client is None else ""
            print(f"reliability {name:15s} {tried:6d} schedules  {verdict}  ({wall:.0f} s, "
                  f"{tried / wall / workers:.1f}/s per worker{cpu})", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=10_000, help="reliability: schedules per protocol")
    parser.add_argument("--speed-schedules", type=int, default=400, help="speed: schedules per measurement")
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET, help="mutations: the hunt's budget")
    parser.add_argument("--workers", type=int, default=default_workers(), help="reliability: Dask workers")
    parser.add_argument("--seed", type=int, default=1, help="the hunts' seed")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="reliability: stop a start after this many seconds and extrapolate")
    parser.add_argument("--only", choices=("speed", "mutations", "reliability"))
    parser.add_argument("--mutations", default=",".join(MUTATION_STARTS),
                        help="mutations: comma-separated names from simulator.hunt.cases.MUTATION_STARTS")
    parser.add_argument("--starts", default=",".join(CORRECT_STARTS),
                        help="reliability: comma-separated names from simulator.hunt.cases.CORRECT_STARTS")
    args = parser.parse_args()
    print(f"# bench/hunt.py  cores={os.cpu_count()}  load average {os.getloadavg()[0]:.1f}", flush=True)
    if args.only in (None, "speed"):
        speed(args.speed_schedules)
    if args.only in (None, "mutations"):
        mutations(args.budget, args.seed, args.mutations.split(","))
    if args.only in (None, "reliability"):
        reliability(args.schedules, args.workers, args.seed, args.starts.split(","), args.time_limit)


if __name__ == "__main__":
    main()
