"""Gossip in lock-step rounds (`params.lockstep`): every node gossips at the same instants, and every exchange of
round r carries only what its sender knew at the start of round r (the synchronous model the theory counts)."""

import math

import pytest

from simulator import Simulation
from simulator.experiments import normalize_experiment, run_experiment

INTERVAL = 100


def spread(style, lockstep=True, nodes=60, seed=1, mode="anti_entropy", duration=2500):
    sc = {"protocol": "gossip", "seed": seed, "nodes": nodes, "duration": duration,
          "params": {"mode": mode, "style": style, "interval": INTERVAL, "lockstep": lockstep},
          "network": {"latency": [1, 10]}}
    sim = Simulation(sc)
    return sim.run(), sim


def learned_at(events):
    """node -> when its store first held r1."""
    out = {}
    for e in events:
        if e["type"] == "state" and "r1" in (e["changes"].get("store") or {}):
            out.setdefault(e["node"], e["t"])
    return out


@pytest.mark.parametrize("style", ["push", "pull", "push_pull"])
def test_every_exchange_carries_what_its_sender_knew_at_the_start_of_the_round(style):
    events, sim = spread(style)
    ticks = {e["t"] for e in events if e["type"] == "timer"}
    assert ticks and all(t % INTERVAL == 0 for t in ticks)  # everyone at the same instants
    known = learned_at(events)
    assert len(known) == 60  # it reached everyone
    carried = 0
    for e in events:
        if e["type"] == "send" and any(u[0] == "r1" for u in e["msg"].get("updates") or ()):
            round_start = e["t"] - e["t"] % INTERVAL
            assert known[e["from"]] < round_start, e  # learned in an earlier round
            carried += 1
    assert carried >= 59  # at least one exchange per node that learned it


def test_without_lockstep_a_node_hands_on_in_the_round_it_learned():
    """The free-running model the lock-step mode exists to avoid: some node passes the rumour on less than one
    interval after it learned it (push-pull: a pushed node answers a pull at once)."""
    events, _ = spread("push_pull", lockstep=False)
    known = learned_at(events)
    quick = [e for e in events if e["type"] == "send" and any(u[0] == "r1" for u in e["msg"].get("updates") or ())
             and e["t"] - known[e["from"]] < INTERVAL and e["from"] != "n1"]
    assert quick


def test_lockstep_spread_matches_the_synchronous_theory():
    """Mean rounds to reach all 100 nodes over 12 seeds: push near log2 N + ln N (Frieze & Grimmett; Pittel),
    push-pull near log3 N + log2 log2 N (Karp et al. 2000: log3 N + O(ln ln N)), pull in between."""
    n = 100
    exp = normalize_experiment({
        "scenario": {"protocol": "gossip", "nodes": n, "duration": 2500, "network": {"latency": [1, 10]},
                     "params": {"mode": "anti_entropy", "interval": INTERVAL, "lockstep": True}},
        "sweep": [{"label": s, "params": {"style": s}} for s in ("push", "pull", "push_pull")],
        "trials": 12, "metrics": ["rounds"]})
    means = {v["label"]: v["metrics"]["rounds"]["mean"] for v in run_experiment(exp)["variants"]}
    push_theory = math.log2(n) + math.log(n)
    assert 0.85 * push_theory <= means["push"] <= 1.2 * push_theory, means
    pp_theory = math.log(n, 3) + math.log2(math.log2(n))
    assert 0.8 * pp_theory <= means["push_pull"] <= 1.2 * pp_theory, means
    assert means["push"] > means["pull"] > means["push_pull"], means


def test_a_restarted_node_rejoins_the_rounds():
    sc = {"protocol": "gossip", "seed": 2, "nodes": 10, "duration": 1000,
          "params": {"mode": "anti_entropy", "style": "pull", "interval": INTERVAL, "lockstep": True},
          "network": {"latency": [1, 5]},
          "interventions": [{"at": 250, "action": "crash", "node": "n4"}, {"at": 333, "action": "restart", "node": "n4"}]}
    events = Simulation(sc).run()
    ticks = [e["t"] for e in events if e["type"] == "timer" and e["node"] == "n4"]
    assert 400 in ticks and all(t % INTERVAL == 0 for t in ticks)
