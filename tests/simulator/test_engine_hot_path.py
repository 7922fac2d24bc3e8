"""What the engine's hot-path shortcuts must keep (docs/architecture.md, Speed): a violation sits right after the
state event that shows it, before that handler's sends; Raft's module-level handler table cannot drift from the
class's; a delayed message is delivered once, by its new record."""

import glob
import json
import os

import pytest

from simulator import Simulation
from simulator.node import receives
from simulator.protocols.raft.nodes import RaftNode

from simhelpers import ROOT


def raft_mutation_examples():
    return sorted(glob.glob(os.path.join(ROOT, "docs", "examples", "raft-mutation-*.json")))


@pytest.mark.parametrize("path", raft_mutation_examples(), ids=os.path.basename)
def test_violations_follow_the_state_event_that_shows_them(path):
    with open(path) as f:
        events = Simulation(json.load(f)).run()
    found = [i for i, ev in enumerate(events) if ev["type"] == "violation"]
    assert found, "the example is meant to show a violation"
    for i in found:
        j = i - 1
        while events[j]["type"] == "violation":
            j -= 1
        assert events[j]["type"] == "state" and events[j]["t"] == events[i]["t"], (i, events[j])


def test_some_violation_is_placed_before_the_sends_of_its_handler():
    """At least one example exercises the inserted (not appended) placement."""
    placed = 0
    for path in raft_mutation_examples():
        with open(path) as f:
            events = Simulation(json.load(f)).run()
        for i, ev in enumerate(events):
            if ev["type"] != "violation":
                continue
            k = i + 1
            while k < len(events) and events[k]["type"] == "violation":
                k += 1
            j = i - 1
            while events[j]["type"] == "violation":
                j -= 1
            if k < len(events) and events[k]["type"] == "send" and events[k]["from"] == events[j].get("node") \
                    and events[k]["t"] == ev["t"]:
                placed += 1
    assert placed > 0


def test_a_raft_subclass_cannot_change_the_message_handlers():
    with pytest.raises(TypeError, match="handles the messages RaftNode does"):
        class Chatty(RaftNode):
            @receives("Gossip")
            def on_gossip(self, src, m):
                pass


def test_a_delayed_message_is_delivered_once_at_its_new_time():
    sim = Simulation({"protocol": "raft", "seed": 3, "nodes": 3, "duration": 2000,
                      "network": {"latency": [10, 10]}})
    t = 0
    while not sim.network.in_flight:  # the first moment a message flies
        t += 1
        sim.advance(t)
    sim.drain()
    rec = next(iter(sim.network.in_flight.values()))
    mid, due = rec.ev["id"], rec.ev["deliver_at"]
    sim.intervene({"action": "delay_message", "id": mid, "ms": 50})
    delivered = [ev for ev in sim.run() if ev["type"] == "deliver" and ev["id"] == mid]
    assert [ev["t"] for ev in delivered] == [due + 50]
