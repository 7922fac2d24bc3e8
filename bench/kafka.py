"""Kafka figures: what a rebalance costs under each protocol, static membership, stalls, and simulator speed.

    .venv/bin/python bench/kafka.py              # 50 seeds per row (about half a minute)
    .venv/bin/python bench/kafka.py --seeds 200
    .venv/bin/python bench/kafka.py --fuzz 2000  # also: invariants under random faults (chaos schedules)
    .venv/bin/python bench/kafka.py --fuzz 500 --brokers 3  # the same with 3 brokers (coordinator failovers)
    .venv/bin/python bench/kafka.py --lossy-static 400  # only: static cooperative members under loss and churn

Rows (default timings at time_scale 10, i.e. heartbeat 300 ms, session 4.5 s, max.poll 30 s; 20 records/s per
partition; latency 10-30 ms):

- join: 3 consumers on 6 partitions, a 4th joins at 4 s. Per mode (eager range, eager sticky, cooperative-sticky,
  KIP-848 uniform): partition-ms unowned in that rebalance, partitions left unowned at some point, partitions
  moved, rebalance duration (coordinator leaves Stable -> everyone consumes again), records processed twice.
- rolling restart of 3 consumers (clean shutdown + start), dynamic vs static membership: rebalances, partitions
  moved, partition-ms unowned.
- stall: c3 stops polling for 9 s (max.poll 6 s) and c4 joins at 6 s: eager vs KIP-848 unowned partition-ms.
- coordinator failover: 3 brokers, 3 consumers on 6 partitions, the coordinator b1 crashes at 6 s
  (broker.session.timeout.ms 9 s = 900 ms here). Per mode: when the last consumer talks to the new coordinator,
  rebalances after the crash, partition-ms unowned after it, records processed twice.
- speed: simulated seconds per wall second and events per second, 3 consumers, 60 s.
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
from simulator.chaos import random_schedule  # noqa: E402
from simulator.protocols.kafka import Kafka  # noqa: E402

MODES = [("eager range", {"assignor": "range"}), ("eager sticky", {"assignor": "sticky"}),
         ("cooperative-sticky", {"assignor": "cooperative-sticky"}),
         ("KIP-848 uniform", {"group_protocol": "consumer", "assignor": "uniform"})]


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def episode_after(sim, t):
    return next(e for e in sim.protocol.metrics()["rebalance_log"] if e["start"] >= t)


def join_row(name, params, seeds):
    ms, touched, moved, dur, dups = [], [], [], [], []
    for seed in range(seeds):
        sc = {"protocol": "kafka", "seed": seed, "nodes": 4, "duration": 12000,
              "params": dict(params, partitions=6, consumers=3),
              "interventions": [{"at": 4000, "action": "add_consumer", "node": "c4"}]}
        sim = Simulation(sc)
        sim.run()
        assert not sim.violations, sim.violations
        e = episode_after(sim, 4000)
        ms.append(e["unowned_partition_ms"])
        touched.append(len(e["unowned_by_partition"]))
        moved.append(e["moved"])
        dur.append(e["duration_ms"])
        dups.append(e["duplicates"])
    print(f"  {name:20s} unowned {med(ms):6.0f} partition-ms · partitions unowned at some point {med(touched):.0f}/6 "
          f"· moved {med(moved):.0f} · rebalance {med(dur):5.0f} ms · duplicates {med(dups):.0f}")


def rolling_row(static, seeds):
    reb, moved, ms = [], [], []
    base = copy.deepcopy(next(p["scenario"] for p in Kafka.presets()
                              if p["slug"] == ("kafka-rolling-restart-static" if static else "kafka-rolling-restart")))
    for seed in range(seeds):
        sc = dict(base, seed=seed)
        sim = Simulation(sc)
        sim.run()
        assert not sim.violations
        m = sim.protocol.metrics()
        reb.append(m["rebalances"] - 1)
        moved.append(m["partitions_moved"])
        ms.append(m["unowned_partition_ms"])
    print(f"  {'static' if static else 'dynamic':20s} rebalances after the first {med(reb):.0f} · partitions moved "
          f"{med(moved):.0f} · unowned {med(ms):.0f} partition-ms")


def stall_row(name, slug, seeds):
    ms, dur = [], []
    base = copy.deepcopy(next(p["scenario"] for p in Kafka.presets() if p["slug"] == slug))
    for seed in range(seeds):
        sim = Simulation(dict(base, seed=seed))
        sim.run()
        assert not sim.violations
        e = next(e for e in sim.protocol.metrics()["rebalance_log"] if e["trigger"] == "c4 joined")
        ms.append(e["unowned_partition_ms"])
        dur.append(e["duration_ms"])
    print(f"  {name:20s} unowned {med(ms):6.0f} partition-ms in the rebalance c4 started · it lasted {med(dur):.0f} ms")


def failover_row(name, params, seeds):
    found, reb, ms, dups = [], [], [], []
    for seed in range(seeds):
        sc = {"protocol": "kafka", "seed": seed, "nodes": 3, "duration": 16000,
              "params": dict(params, brokers=3, partitions=6, consumers=3),
              "interventions": [{"at": 6000, "action": "crash", "node": "coordinator"}]}
        sim = Simulation(sc)
        sim.advance(6000)
        m0 = sim.protocol.metrics()
        last = None
        for ev in sim.drain() + sim.run():
            if ev["type"] == "state" and ev["changes"].get("coordinator") == "b2":
                last = ev["t"]
        assert not sim.violations, sim.violations
        m = sim.protocol.metrics()
        assert m["failovers"] and m["failovers"][0][2] == "b2"
        found.append(last - 6000)
        reb.append(m["rebalances"] - m0["rebalances"])
        ms.append(m["unowned_partition_ms"] - m0["unowned_partition_ms"])
        dups.append(m["duplicate_records"] - m0["duplicate_records"])
    print(f"  {name:20s} every consumer on b2 {med(found):4.0f} ms after the crash · rebalances {med(reb):.0f} "
          f"· unowned {med(ms):.0f} partition-ms · duplicates {med(dups):.0f}")


def speed():
    sc = {"protocol": "kafka", "seed": 1, "nodes": 4, "duration": 60000, "params": {"partitions": 6, "consumers": 3}}
    t0 = time.perf_counter()
    sim = Simulation(sc)
    n = len(sim.run())
    wall = time.perf_counter() - t0
    print(f"  60 s simulated in {wall:.2f} s wall: {60 / wall:.0f}x real time, {n / wall:,.0f} events/s ({n:,} events)")


def extra(rng, ids):
    k = rng.random()
    c = rng.choice([i for i in ids if i.startswith("c")])
    if k < 0.35:
        return {"action": "add_consumer", "node": c}
    if k < 0.6:
        return {"action": "remove_consumer", "node": c}
    if k < 0.85:
        return {"action": "stall", "node": c, "duration": rng.randint(100, 5000)}
    return {"action": "add_partitions", "topic": "t0", "count": 1}


def fuzz(runs, brokers=1):
    """Random chaos schedules (crashes, pauses, cuts, partitions, loss, duplication, drift, coordinator crashes)
    plus joins, leaves, stalls and new partitions; then every fault is healed: no violation, and the group settles."""
    bad = 0
    modes = MODES + [("KIP-848 range", {"group_protocol": "consumer", "assignor": "range"}),
                     ("eager roundrobin", {"assignor": "roundrobin"})]
    t0 = time.perf_counter()
    for seed in range(runs):
        rng = random.Random(seed)
        bs = [f"b{i}" for i in range(1, brokers + 1)] if brokers > 1 else ["broker"]
        ids = bs + [f"c{i}" for i in range(1, 6)]
        params = dict(rng.choice(modes)[1], partitions=rng.randint(1, 8), consumers=rng.randint(0, 5),
                      topics=rng.randint(1, 2), static_membership=rng.random() < 0.4, max_poll_interval_ms=20000,
                      session_timeout_ms=10000, metadata_max_age_ms=5000, commit_on_revoke=rng.random() < 0.3,
                      auto_commit=rng.random() < 0.85, brokers=brokers)
        ivs = random_schedule(seed, ids, 15000, count=rng.randint(3, 25), extra=extra, extra_weight=6)
        sc = {"protocol": "kafka", "seed": seed, "nodes": 5, "duration": 40000, "params": params,
              "network": {"latency": [1, rng.choice([10, 30, 100, 300])], "loss": rng.choice([0, 0, 0.02, 0.1]),
                          "duplicate": rng.choice([0, 0, 0.05])}, "interventions": ivs}
        sim = Simulation(sc)
        sim.advance(15001)
        for nid, node in sim.nodes.items():
            if node.status == "paused":
                sim.intervene({"action": "resume", "node": nid})
            elif node.status == "crashed":
                sim.intervene({"action": "restart", "node": nid})
            if node.drift != 1.0:
                sim.intervene({"action": "set_drift", "node": nid, "factor": 1.0})
        sim.intervene({"action": "heal_all"})
        sim.network.reset_links()  # links back to the defaults, no loss or duplication: let it settle
        sim.run()
        unsettled = any(sim.nodes[c].active for c in ids[len(bs):]) and not sim.protocol.settled()
        if sim.violations or unsettled:
            bad += 1
            print(f"  seed {seed}: {'violation ' + sim.violations[0]['details'] if sim.violations else 'did not settle'}")
    print(f"  {runs} random fault schedules: {bad} with a violation or a group that did not settle "
          f"({time.perf_counter() - t0:.0f} s)")


def lossy_static_cooperative(runs):
    """The setting that showed a stale static member sharing partitions: cooperative-sticky, static members, 10%
    loss and 5% duplication, a consumer joining and leaving every 700 ms."""
    bad = 0
    for seed in range(runs):
        sc = {"protocol": "kafka", "seed": seed, "nodes": 5, "duration": 20000,
              "params": {"assignor": "cooperative-sticky", "partitions": 8, "topics": 2, "consumers": 3,
                         "static_membership": True, "max_poll_interval_ms": 20000, "session_timeout_ms": 10000,
                         "metadata_max_age_ms": 5000},
              "network": {"latency": [1, 100], "loss": 0.1, "duplicate": 0.05},
              "interventions": [{"at": 3000 + 700 * k, "action": "add_consumer" if k % 2 == 0 else "remove_consumer",
                                 "node": "c4"} for k in range(10)]}
        sim = Simulation(sc)
        sim.run()
        if sim.violations:
            bad += 1
            print(f"  seed {seed}: violation {sim.violations[0]['details']}")
    print(f"  {runs} lossy static cooperative runs: {bad} with a violation")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--fuzz", type=int, default=0)
    ap.add_argument("--brokers", type=int, default=1, help="brokers in the --fuzz runs (2..5: coordinator failover)")
    ap.add_argument("--lossy-static", type=int, default=0, metavar="N",
                    help="only N runs of cooperative-sticky static members under 10%% loss with churn, then stop")
    args = ap.parse_args()
    if args.lossy_static:
        print("Cooperative-sticky, static members, 10% loss, a consumer joining and leaving every 700 ms:")
        lossy_static_cooperative(args.lossy_static)
        return
    print(f"A 4th consumer joins 3 on 6 partitions (median of {args.seeds} seeds):")
    for name, params in MODES:
        join_row(name, params, args.seeds)
    print("Rolling restart of 3 consumers:")
    rolling_row(False, args.seeds)
    rolling_row(True, args.seeds)
    print("A stalled consumer (9 s, max.poll.interval 6 s) while c4 joins:")
    stall_row("eager range", "kafka-stalled-consumer", args.seeds)
    stall_row("KIP-848 uniform", "kafka-kip848-stall", args.seeds)
    print("The coordinator's broker crashes (3 brokers, failover after 900 ms):")
    for name, params in MODES:
        failover_row(name, params, args.seeds)
    print("Speed:")
    speed()
    if args.fuzz:
        print("Invariants under random faults:")
        fuzz(args.fuzz, args.brokers)


if __name__ == "__main__":
    main()
