"""Message-level interventions: `drop_message` and `delay_message` (docs/scenario.md, docs/trace.md)."""

import copy

import pytest

from simulator import Simulation
from simulator.errors import InterventionError
from simulator.trace import trace_hash
from simulator.view import replay

from simhelpers import ROOT, load, of, raft, same

EXAMPLES = {"raft": "raft-basic", "paxos": "paxos-basic", "twophase": "twophase-commit", "gossip": "gossip-push",
            "kafka": "kafka-join-eager"}
PROTOCOLS = sorted(EXAMPLES)


def paused_with_messages(protocol, t=60):
    """One of the protocol's examples paused at the first moment from `t` on with a message in flight;
    (sim, events so far)."""
    sc = load(f"{ROOT}/docs/examples/{EXAMPLES[protocol]}.json")
    sim = Simulation(sc)
    events = sim.run(t)
    while not sim.network.in_flight:
        assert t < sim.duration, "nothing in flight in the whole example"
        t += 10
        events += sim.run(t)
    return sim, events


def replayed_hash(sim, until):
    """The trace hash of the recorded scenario replayed headless from scratch up to `until`."""
    sc = sim.recorded_scenario()
    sc["duration"] = until
    return trace_hash(Simulation(sc).run())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_drop_message_loses_it_with_reason_intervention_and_replays(protocol):
    sim, before = paused_with_messages(protocol)
    mid = next(iter(sim.network.in_flight))
    iv = sim.intervene({"action": "drop_message", "id": mid})
    assert iv == {"action": "drop_message", "id": mid, "at": sim.now}
    events = before + sim.run(sim.now + 2000)
    ours = [e for e in events if e.get("id") == mid and e["type"] in ("deliver", "drop")]
    assert [(e["type"], e.get("reason")) for e in ours] == [("drop", "intervention")]
    i = events.index(ours[0])
    assert events[i - 1]["type"] == "intervention" and events[i - 1]["action"] == "drop_message"
    assert trace_hash(events) == replayed_hash(sim, sim.now)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_delay_message_arrives_ms_later_and_replays(protocol):
    sim, before = paused_with_messages(protocol)
    snap0 = copy.deepcopy(sim.snapshot())
    rec = next(r for r in sim.network.in_flight.values() if not r.held and not r.lost)
    mid, due = rec.id, rec.ev["deliver_at"]
    sim.intervene({"action": "delay_message", "id": mid, "ms": 250})
    after = sim.drain()
    assert after[0]["type"] == "intervention" and after[0]["deliver_at"] == due + 250
    moved = [m for m in sim.snapshot()["messages"] if m["id"] == mid]
    assert moved and moved[0]["deliver_at"] == due + 250
    assert same(replay(snap0, after, sim.now), sim.snapshot())  # the page's replay follows the new time
    later = sim.run(due + 1000)
    ends = [e for e in later if e.get("id") == mid and e["type"] in ("deliver", "drop")]
    assert len(ends) == 1 and ends[0]["t"] >= due + 250
    assert trace_hash(before + after + later) == replayed_hash(sim, sim.now)


def test_unknown_or_finished_message_is_refused_and_nothing_changes():
    sim = Simulation(raft(seed=2))
    sim.run(400)
    delivered = of(sim.run(700), "deliver")[0]["id"]
    sim.step_events(1)  # mid-millisecond: a live action would land in the next one
    now, count, snap = sim.now, sim.event_count, copy.deepcopy(sim.snapshot())
    for iv, code in [({"action": "drop_message", "id": delivered}, "unknown_message"),
                     ({"action": "delay_message", "id": delivered, "ms": 5}, "unknown_message"),
                     ({"action": "drop_message", "id": 10**9}, "unknown_message")]:
        with pytest.raises(InterventionError) as err:
            sim.intervene(iv)
        assert err.value.code == code and err.value.field == "id"
        assert (sim.now, sim.event_count) == (now, count)
        assert same(sim.snapshot(), snap)


def test_bad_fields_are_invalid_intervention():
    sim = Simulation(raft())
    for iv in [{"action": "drop_message"}, {"action": "drop_message", "id": "7"},
               {"action": "delay_message", "id": 3}, {"action": "delay_message", "id": 3, "ms": 0}]:
        with pytest.raises(InterventionError) as err:
            sim.intervene(iv)
        assert err.value.code == "invalid_intervention"


def test_scripted_drop_of_an_unknown_message_is_rejected_and_replays():
    sc = raft(duration=600, interventions=[{"at": 300, "action": "drop_message", "id": 999999}])
    events = Simulation(sc).run()
    rejected = of(events, "rejected")
    assert len(rejected) == 1 and rejected[0]["error"]["code"] == "unknown_message"
    assert trace_hash(events) == trace_hash(Simulation(sc).run())


def test_dropping_a_message_held_by_a_paused_node():
    sim = Simulation(raft(seed=4, duration=5000))
    sim.run(1500)
    sim.intervene({"action": "pause", "node": "n2"})
    events = sim.run(1800)
    held = [e["id"] for e in events if e["type"] == "hold"]
    assert held, "n2 received nothing while paused"
    sim.intervene({"action": "drop_message", "id": held[0]})
    with pytest.raises(InterventionError) as err:
        sim.intervene({"action": "delay_message", "id": held[-1], "ms": 10})
    assert err.value.code == "invalid_state"
    sim.intervene({"action": "resume", "node": "n2"})
    events = sim.run(2000)
    assert not [e for e in events if e.get("id") == held[0] and e["type"] == "deliver"]
    if len(held) > 1:
        assert [e for e in events if e.get("id") == held[1] and e["type"] == "deliver"]
