"""Two-phase commit / 3PC figures: simulator speed, how often a partition splits 3PC, and long fuzzing.

    .venv/bin/python bench/twophase.py                # about half a minute
    .venv/bin/python bench/twophase.py --runs 1000    # more partition schedules and fuzz runs

Rows:

- speed: 60 simulated seconds, a transaction every 200 ms (10% NO votes), 3 participants, 2PC and 3PC:
  events, wall time, events/s (median of 3);
- partitions: N random single partitions during one transaction (random time 150..1200 ms, random split of
  coord, p1..p3), healed at 4 s; in 3PC: how many split the decision (atomicity violated); in 2PC: violations
  (must be 0) and how many left a participant blocked until the heal;
- fuzz: N random crash schedules (coordinator and participant crashes, restarts and crash points; the same
  generator as the tests) per mode, and per mutation in 2PC: runs with a violation, runs that did not settle.
"""

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from simulator import Simulation  # noqa: E402


def speed():
    for mode in ("2pc", "3pc"):
        times = []
        for _ in range(3):
            sc = {"protocol": "twophase", "seed": 3, "duration": 60_000,
                  "params": {"begin_interval": 200, "no_probability": 0.1, "mode": mode}}
            t0 = time.perf_counter()
            sim = Simulation(sc)
            events = sim.run()
            times.append(time.perf_counter() - t0)
        wall = statistics.median(times)
        m = sim.protocol.metrics()
        print(f"speed {mode}: {len(events)} events, {m['transactions']} transactions ({m['commits']} committed), "
              f"{wall:.2f} s wall, {len(events) / wall:,.0f} events/s")


def partitions(runs):
    rng = random.Random(1)
    split = blocked = bad_2pc = 0
    for i in range(runs):
        t = rng.randint(150, 1200)
        ids = ["coord", "p1", "p2", "p3"]
        rng.shuffle(ids)
        k = rng.randint(1, 3)
        for mode in ("3pc", "2pc"):
            sc = {"protocol": "twophase", "seed": i, "duration": 6000, "params": {"begin_interval": 0, "mode": mode},
                  "interventions": [{"at": 100, "action": "begin"},
                                    {"at": t, "action": "partition", "groups": [ids[:k]]},
                                    {"at": 4000, "action": "heal_all"}]}
            sim = Simulation(sc)
            sim.run(4000)
            if mode == "3pc":
                split += bool(sim.violations)
            else:
                bad_2pc += bool(sim.violations)
                blocked += sim.protocol.metrics()["blocked_now"] > 0
    print(f"partitions: 3PC split the decision in {split}/{runs}; 2PC violated atomicity in {bad_2pc}/{runs} "
          f"and left a participant blocked until the heal in {blocked}/{runs}")


def fuzz(runs):
    from hypothesis import HealthCheck, given, settings

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "simulator"))
    import test_twophase as T  # the tests' schedule generators and settle check

    cases = [("2pc", []), ("3pc", []), ("net", []), ("2pc", ["commit_on_timeout"]), ("2pc", ["no_force_write"]),
             ("2pc", ["no_force_prepare"])]
    for kind, mutations in cases:
        strategy = {"2pc": T.crash_schedules_2pc(), "3pc": T.crash_schedules_3pc(),
                    "net": T.network_fault_schedules()}[kind]
        counts = {"runs": 0, "violating": 0, "unsettled": 0}

        @settings(max_examples=runs, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def one(sc):
            sim = Simulation(dict(sc, mutations=mutations))
            sim.run()
            counts["runs"] += 1
            counts["violating"] += bool(sim.violations)
            try:
                T._check_settled(sim)
            except AssertionError:
                counts["unsettled"] += 1

        t0 = time.perf_counter()
        one()
        label = kind if kind != "net" else "2pc + network faults"
        print(f"fuzz {label} {'+'.join(mutations) or 'correct'}: {counts['violating']}/{counts['runs']} with a "
              f"violation, {counts['unsettled']} not settled ({time.perf_counter() - t0:.1f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=300)
    args = ap.parse_args()
    speed()
    partitions(args.runs)
    fuzz(args.runs)


if __name__ == "__main__":
    main()
