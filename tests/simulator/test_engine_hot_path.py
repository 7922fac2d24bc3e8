"""What the engine's hot-path shortcuts must keep (docs/architecture.md, Speed): a violation sits right after the
state event that shows it, before that handler's sends; Raft's module-level handler table cannot drift from the
class's; a delayed message is delivered once, by its new record; a message in flight, the network's link draws
and the Raft checker's reused prefix ids stay in step with what they stand for."""

import glob
import json
import os

import pytest

from simulator import Simulation
from simulator.node import receives
from simulator.protocols.raft.checker import RaftChecker
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


def test_a_message_in_flight_carries_the_fields_of_its_send_event():
    """InFlight's id, src, dst and msg (read on arrival) are its send event's, delayed messages included."""
    sim = Simulation({"protocol": "raft", "seed": 5, "nodes": 5, "duration": 3000,
                      "network": {"latency": [5, 40], "duplicate": 0.2}})
    checked = delayed = 0
    for t in range(100, 3000, 100):
        sim.advance(t)
        for rec in sim.network.in_flight.values():
            ev = rec.ev
            assert (rec.id, rec.src, rec.dst) == (ev["id"], ev["from"], ev["to"]) and rec.msg is ev["msg"]
            checked += 1
        if sim.network.in_flight and not delayed:
            mid = next(iter(sim.network.in_flight))
            sim.intervene({"action": "delay_message", "id": mid, "ms": 30})
            rec = sim.network.in_flight[mid]
            assert (rec.id, rec.src, rec.dst, rec.msg) == (mid, rec.ev["from"], rec.ev["to"], rec.ev["msg"])
            delayed += 1
        sim.drain()
    assert checked > 50 and delayed == 1


def test_link_draws_follow_the_link_settings():
    """send draws from (lo, span, loss) tuples: they match the links, before and after set_link."""
    sim = Simulation({"protocol": "raft", "seed": 2, "nodes": 3, "duration": 4000,
                      "network": {"latency": [10, 20], "links": [{"a": "n1", "b": "n2", "latency": [50, 50]}]},
                      "interventions": [{"at": 2000, "action": "set_link", "a": a, "b": "n3", "latency": [70, 90]}
                                        for a in ("n1", "n2")]})  # (whoever leads then sends on one of them)
    events = sim.run()
    net = sim.network
    assert net.default_draw == (10, 11, 0)
    assert list(net.draws) == list(net.overrides) == [("n1", "n2"), ("n2", "n1"), ("n1", "n3"), ("n3", "n1"),
                                                       ("n2", "n3"), ("n3", "n2")]
    for pair, link in net.overrides.items():
        lo, hi = link["latency"]
        assert net.draws[pair] == (lo, hi - lo + 1, link["loss"])
    seen = set()
    for ev in events:
        if ev["type"] != "send":
            continue
        pair = (ev["from"], ev["to"])
        lo, hi = (70, 90) if "n3" in pair and ev["t"] >= 2000 else \
            (50, 50) if pair in (("n1", "n2"), ("n2", "n1")) else (10, 20)
        assert lo <= ev["deliver_at"] - ev["t"] <= hi, ev
        seen.add((lo, hi))
    assert seen == {(10, 20), (50, 50), (70, 90)}


def test_reset_links_ends_loss_everywhere_for_what_is_sent_next():
    """Benchmarks let a lossy run settle with reset_links: every send after it arrives, at the default latency."""
    sim = Simulation({"protocol": "raft", "seed": 4, "nodes": 3, "duration": 6000,
                      "network": {"latency": [10, 20], "loss": 0.5,
                                  "links": [{"a": "n1", "b": "n2", "latency": [50, 60], "loss": 1.0}]}})
    sim.advance(3000)
    sim.network.reset_links()
    events = [ev for ev in sim.run() if ev["t"] >= 3000]
    sent = [ev for ev in events if ev["type"] == "send"]
    assert sent and all(10 <= ev["deliver_at"] - ev["t"] <= 20 for ev in sent)
    ids = {ev["id"] for ev in sent}
    assert not [ev for ev in events if ev["type"] == "drop" and ev["id"] in ids]


def without_reuse(monkeypatch):
    """Make the Raft checker compute every prefix id from its key (no reuse of the last id at an index)."""
    real = RaftChecker._log_matching

    def fresh(self, node, start):
        self.last_entry.clear()
        del self.last_parent[:], self.last_pid[:]
        real(self, node, start)

    monkeypatch.setattr(RaftChecker, "_log_matching", fresh)


def raft_examples():
    return sorted(glob.glob(os.path.join(ROOT, "docs", "examples", "raft-*.json")))


def test_reused_prefix_ids_are_the_ones_the_keys_give(monkeypatch):
    """The checker's shortcut (a follower's copy of its leader's entry reuses the id at that index) changes no
    prefix id, no violation and no event: every Raft example run with and without it."""
    runs = []
    for reuse in (True, False):
        if not reuse:
            without_reuse(monkeypatch)
        out = []
        for path in raft_examples():
            with open(path) as f:
                sim = Simulation(json.load(f))
            events = sim.run()
            out.append((events, {nid: list(ids) for nid, ids in sim.protocol.prefix_ids.items()},
                        len(sim.protocol.prefix_chain)))
            if reuse:
                assert len(sim.protocol.last_entry) >= max(len(n.log) for n in sim.nodes.values())  # (the longest ever)
        runs.append(out)
    assert len(runs[0]) >= 5
    assert runs[0] == runs[1]
    assert any(ev["type"] == "violation" for events, _, _ in runs[0] for ev in events)


def test_only_visible_timers_reach_the_view_when_armed_anew_or_re_armed():
    """set_timer reads VISIBLE_TIMERS once per token: Raft's heartbeat and quorum timers (armed and re-armed all
    run long) never show in `timers`, its election timer always does."""
    sim = Simulation({"protocol": "raft", "seed": 4, "nodes": 3, "duration": 3000, "params": {"check_quorum": True}})
    shown = set()
    for ev in sim.run():
        if ev["type"] == "state" and "timers" in ev["changes"]:
            shown.update(ev["changes"]["timers"])
    armed = {name for node in sim.nodes.values() for name in node._timers}
    assert shown == {"election"} and {"heartbeat", "quorum"} <= armed
