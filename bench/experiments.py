"""Experiment runner speed: Raft Figure-16 trials in a plain loop, and on Dask with one and with two workers.

    .venv/bin/python bench/experiments.py                    # 1,000 trials of the 150-200 ms row
    .venv/bin/python bench/experiments.py --trials 200 --variant "12-24 ms"

It prints, for the same trials of one row of docs/experiments/raft-figure16.json:

1. a plain in-process loop (`run_trial` for each trial, nothing else): wall and CPU time per trial;
2. the runner on a Dask LocalCluster of 1 worker process, then of 2 (simulator/compute.py, batches of 25
   trials): wall time (cluster start-up included, shown apart), the workers' user CPU (read from the finished
   child processes), the speed-up of 2 workers over 1 (target: at least 1.7 on two idle cores), and the
   per-trial overhead of the distributed path over the plain loop (wall, start-up excluded).

The numbers of every path are checked to be identical. On a shared, loaded machine wall-clock speed-ups
understate what two cores give: compare the user CPU too. The last line is the figures as JSON.
"""

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from simulator.compute import open_client  # noqa: E402
from simulator.experiments import normalize_experiment, run_experiment, run_trial, spread_over  # noqa: E402

FIGURE16 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "experiments",
                        "raft-figure16.json")


def experiment(variant, trials):
    with open(FIGURE16) as fh:
        raw = json.load(fh)
    raw["sweep"] = [v for v in raw["sweep"] if v["label"] == variant]
    if not raw["sweep"]:
        sys.exit(f"no variant {variant!r} in {FIGURE16}")
    raw["trials"] = trials
    return normalize_experiment(raw)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime, r.ru_stime


def plain_loop(exp):
    t0, c0 = time.perf_counter(), time.process_time()
    rows = [run_trial(exp, 0, i) for i in range(exp["trials"])]
    return rows, time.perf_counter() - t0, time.process_time() - c0


def on_dask(exp, workers):
    """The runner on a fresh LocalCluster of `workers` processes: (rows, wall incl. start-up, start-up, user
    CPU and system CPU of the workers)."""
    u0, s0 = children_cpu()
    t0 = time.perf_counter()
    with open_client(workers) as client:
        started = time.perf_counter() - t0
        result = run_experiment(exp, map_batches=spread_over(client=client))
    wall = time.perf_counter() - t0
    u1, s1 = children_cpu()  # the worker processes have ended and been waited for
    return result["rows"], wall, started, u1 - u0, s1 - s0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--variant", default="150-200 ms", help="a row of raft-figure16.json")
    args = ap.parse_args()
    exp = experiment(args.variant, args.trials)
    n = exp["trials"]
    print(f"Raft Figure 16, row {args.variant!r}, {n} trials; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")

    base, plain_wall, plain_cpu = plain_loop(exp)
    print(f"plain loop:     {plain_wall:7.1f} s wall, {plain_cpu:7.1f} s CPU "
          f"({1000 * plain_wall / n:.2f} ms wall, {1000 * plain_cpu / n:.2f} ms CPU per trial)")
    out = {"variant": args.variant, "trials": n, "plain_wall_s": round(plain_wall, 2),
           "plain_cpu_s": round(plain_cpu, 2)}
    walls = {}
    for workers in (1, 2):
        rows, wall, started, user, system = on_dask(exp, workers)
        assert rows == base, "the distributed path gave other numbers"
        walls[workers] = wall - started
        # what the distributed path adds to each trial: (its wall, start-up excluded, x workers - the plain
        # loop's wall) / trials; with 2 workers on 2 busy cores this also counts the cores' contention
        overhead = 1000 * (walls[workers] * workers - plain_wall) / n
        print(f"dask {workers} worker{'s' if workers > 1 else ' '}: {wall:7.1f} s wall ({started:.1f} s start-up), "
              f"workers' CPU {user:.1f} s user + {system:.1f} s system (start-up and imports included); "
              f"{overhead:+.2f} ms wall per trial over the plain loop")
        out[f"dask{workers}_wall_s"] = round(wall, 2)
        out[f"dask{workers}_startup_s"] = round(started, 2)
        out[f"dask{workers}_user_cpu_s"] = round(user, 2)
        out[f"dask{workers}_overhead_ms_per_trial"] = round(overhead, 3)
    speedup = walls[1] / walls[2]
    print(f"speed-up, 2 workers over 1 (wall, start-up excluded): {speedup:.2f} (target 1.7 on two idle cores)")
    out["speedup_2_over_1"] = round(speedup, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
