"""Helpers shared by the engine, scenario, CLI, Raft and Kafka tests (not a test module)."""

import copy
import json
import os

from hypothesis import strategies as st

from simulator import Simulation
from simulator.chaos import raft_actions, random_schedule
from simulator.trace import canonical, trace_hash

LONG = os.environ.get("PLAYGROUND_LONG") == "1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def raft(**kw):
    """A Raft scenario: 5 nodes, a fast fixed-ish network, 3 s; keyword arguments override fields."""
    sc = {"protocol": "raft", "seed": 1, "nodes": 5, "duration": 3000}
    sc.update(kw)
    return sc


def quiet_raft(**kw):
    """Raft where nothing happens by itself for a while: long election timeouts, fixed 10 ms latency.

    Elections are started with `timeout` interventions, so a test decides who leads and when."""
    params = {"election_timeout_min": 1000, "election_timeout_max": 2000, "heartbeat_interval": 100}
    params.update(kw.pop("params", {}))
    sc = raft(params=params, network=kw.pop("network", {"latency": [10, 10]}))
    sc.update(kw)
    return sc


def run(sc, until=None):
    """Run a scenario; return (events, sim)."""
    sim = Simulation(sc)
    events = sim.run(until)
    return events, sim


def of(events, type_, **match):
    """Events of one type whose fields equal `match`."""
    return [e for e in events if e["type"] == type_ and all(e.get(k) == v for k, v in match.items())]


def leader_of(sim):
    return sim.protocol.resolve("leader")


def same(a, b):
    """Equal as JSON (tuples and lists alike)."""
    return canonical(a) == canonical(b)


def fuzz_scenario(seed, nodes=5, duration=4000, count=15, **kw):
    ids = [f"n{i}" for i in range(1, nodes + 1)]
    sc = raft(seed=seed, nodes=nodes, duration=duration,
              interventions=random_schedule(seed, ids, duration, count=count, extra=raft_actions))
    sc.update(kw)
    return sc


def example_files():
    d = os.path.join(ROOT, "docs", "examples")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".json"))


def load(path):
    with open(path) as fh:
        return json.load(fh)


__all__ = ["copy", "trace_hash", "canonical", "Simulation"]


def consumer_intervention(draw, kind, t, node):
    """The fuzz schedules' consumer actions (add, remove, stall, crash, restart, pause, resume) at `t`, or None."""
    if kind == "add":
        return {"at": t, "action": "add_consumer", "node": node}
    if kind == "remove":
        return {"at": t, "action": "remove_consumer", "node": node}
    if kind == "stall":
        return {"at": t, "action": "stall", "node": node, "duration": draw(st.integers(100, 4000))}
    if kind in ("crash", "restart", "pause", "resume"):
        return {"at": t, "action": kind, "node": node}
    return None
