"""Paxos figures: how long duels last with and without backoff, Multi-Paxos latency, and simulator speed.

    .venv/bin/python bench/paxos.py             # 200 seeds per row (about a minute)
    .venv/bin/python bench/paxos.py --seeds 50
    .venv/bin/python bench/paxos.py --fuzz 2000 # also: safety under random faults, 2,000 runs per mode
    .venv/bin/python bench/paxos.py --fuzz 300 --no-catch-up  # the same with learner catch-up off

Rows (two proposers, five acceptors, p2 proposes 30 ms after p1, 10 s per run):

- duel network (fixed latencies, preset paxos-duel), backoff off: the perpetual duel;
- duel network, backoff on (preset paxos-duel-backoff) over many seeds;
- random latency 10..30 ms, backoff off: jitter ends most duels by luck, with a tail;
- random latency 10..30 ms, backoff on;
- the same network in Multi-Paxos mode (distinguished leader), backoff off.

For each: runs where a value was chosen, and the time to choose from the first proposal (median, p90, max),
and ballots used (median, max).
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from simulator import Simulation  # noqa: E402
from simulator.protocols.paxos import DUEL_NETWORK, Paxos  # noqa: E402


def duel(seed, network, backoff, multi=False):
    ivs = [{"at": 0, "action": "propose", "node": "p1", "value": "A"},
           {"at": 30, "action": "propose", "node": "p2", "value": "B"}]
    if multi:
        ivs = [dict(iv, at=iv["at"] + 500) for iv in ivs]
    return {"protocol": "paxos", "seed": seed, "duration": 10_000, "network": network,
            "params": {"auto_propose": False, "backoff": backoff, "multi": multi, "client_interval": 0},
            "interventions": ivs}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def row(name, scenarios):
    times, ballots, chosen = [], [], 0
    t0 = time.perf_counter()
    for sc in scenarios:
        sim = Simulation(sc)
        sim.run()
        proto = sim.protocol
        ballots.append(proto.ballots)
        if proto.chosen_at:
            chosen += 1
            first = min(proto.chosen_at.values())
            times.append(first - (proto.first_proposal_at or 0))
    wall = time.perf_counter() - t0
    n = len(scenarios)
    t = f"median {statistics.median(times):6.0f}  p90 {pct(times, 0.9):6.0f}  max {max(times):6.0f} ms" if times else "-"
    print(f"{name:<44} chosen {chosen:4d}/{n:<4d} time to choose: {t}   ballots: median "
          f"{statistics.median(ballots):.0f} max {max(ballots)}   ({wall:.1f} s wall)")


def speed():
    sc = {"protocol": "paxos", "seed": 1, "duration": 600_000, "params": {"multi": True, "client_interval": 20}}
    sim = Simulation(sc)
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    m = sim.summary()["metrics"]
    print(f"Multi-Paxos, a value every 20 ms for 10 simulated minutes: {sim.event_count} events in {wall:.2f} s "
          f"({sim.event_count / wall:,.0f} events/s, {600 / wall:,.0f}x real time); {m['chosen_slots']} slots, "
          f"choose latency mean {m['choose_latency_ms']['mean']} ms, max {m['choose_latency_ms']['max']} ms")


def fuzz(runs, catch_up=True):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "simulator"))
    from test_paxos import scenario_from  # the same generator the tests use

    for multi in (False, True):
        bad, slots, behind, t0 = 0, 0, 0, time.perf_counter()
        for seed in range(runs):
            sc = scenario_from(10_000 + seed, multi, crash_acceptors=seed % 2 == 0)
            sc["params"]["catch_up"] = catch_up
            sim = Simulation(sc)
            sim.run()
            bad += bool(sim.violations)
            slots += len(sim.protocol.chosen)
            # catch-up: learners still missing a slot chosen at least 1 s before the end (healed 1.5 s before)
            old = [s for s, t in sim.protocol.chosen_at.items() if t <= sc["duration"] - 1000]
            behind += sum(1 for lid in sim.protocol.learners for s in old
                          if s > len(sim.nodes[lid].learned) or sim.nodes[lid].learned[s - 1] is None)
        print(f"random faults, {'multi ' if multi else 'single'}: {runs} runs, {slots} slots chosen, "
              f"{bad} with a violation, {behind} learner-slots still missing at the end "
              f"({time.perf_counter() - t0:.1f} s)")
    for mutation in Paxos.mutations:
        for multi in (False, True):
            caught = 0
            for seed in range(runs):
                sc = scenario_from(seed, multi, mutations=[mutation],
                                   crash_acceptors=mutation == "forget_promise_on_restart")
                sc["params"]["catch_up"] = catch_up
                sim = Simulation(sc)
                sim.run()
                caught += bool(sim.violations)
            print(f"mutation {mutation} ({'multi' if multi else 'single'}): caught in {caught}/{runs} random runs")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--fuzz", type=int, default=0, help="runs per mode of the random-fault safety check")
    ap.add_argument("--no-catch-up", action="store_true", help="learners do not ask for what they missed")
    args = ap.parse_args()
    seeds = range(1, args.seeds + 1)
    jitter = {"latency": [10, 30]}
    row("duel network, backoff off (1 seed: no jitter)", [duel(1, DUEL_NETWORK, False)])
    row("duel network, backoff on", [duel(s, DUEL_NETWORK, True) for s in seeds])
    row("latency 10-30 ms, backoff off", [duel(s, jitter, False) for s in seeds])
    row("latency 10-30 ms, backoff on", [duel(s, jitter, True) for s in seeds])
    row("duel network, Multi-Paxos leader, backoff off", [duel(s, DUEL_NETWORK, False, multi=True) for s in seeds])
    speed()
    if args.fuzz:
        fuzz(args.fuzz, catch_up=not args.no_catch_up)


if __name__ == "__main__":
    main()
