"""Paxos acceptors with a disk (`params.disk_ms`): a promise or an accept is answered only once it is on disk,
writes queue on an acceptor, and a crash loses what was not written yet."""

from hypothesis import given
from hypothesis import strategies as st

from simulator import Simulation
from simulator.protocols.paxos.nodes import AcceptorNode, DurableAcceptorNode

from test_paxos import FUZZ, run, scenario_from

DISK = 15


def paxos(**kw):
    sc = {"protocol": "paxos", "seed": 4, "duration": 1000, "network": {"latency": [5, 5]},
          "params": {"disk_ms": DISK, "auto_propose": False}}
    sc.update(kw)
    return sc


def test_only_a_scenario_with_a_disk_gets_durable_acceptors():
    assert type(Simulation(dict(paxos(), params={})).nodes["a1"]) is AcceptorNode
    sim = Simulation(paxos())
    assert type(sim.nodes["a1"]) is DurableAcceptorNode and sim.snapshot()["nodes"]["a1"]["writing"] is None


def test_promise_and_accepted_come_after_the_write():
    sim = Simulation(paxos(interventions=[{"at": 10, "action": "propose", "node": "p1", "value": "X"}]))
    events = sim.run()
    arrived = {e["id"]: e["t"] for e in events if e["type"] == "deliver"}
    sent = {e["id"]: e for e in events if e["type"] == "send"}
    for kind, answer in (("prepare", "promise"), ("accept", "accepted")):
        requests = [e for e in sent.values() if e["msg"]["kind"] == kind and e["to"] == "a1"]
        answers = [e for e in sent.values() if e["msg"]["kind"] == answer and e["from"] == "a1"]
        assert requests and answers
        assert answers[0]["t"] == arrived[requests[0]["id"]] + DISK  # not at once
    assert sim.protocol.chosen == {1: "X"}
    assert sim.violations == []


def test_a_crash_before_the_write_is_done_forgets_the_promise():
    ivs = [{"at": 10, "action": "propose", "node": "p1", "value": "X"},
           {"at": 20, "action": "crash", "node": "a1"}, {"at": 21, "action": "restart", "node": "a1"}]
    sim = Simulation(paxos(duration=22, interventions=ivs))
    sim.run()
    assert sim.nodes["a1"].promised is None  # the prepare arrived at 15; its write would end at 30
    assert sim.nodes["a2"].promised is not None  # a2 was not crashed: its write is still going
    ivs[1]["at"], ivs[2]["at"] = 31, 32  # after the write: kept
    sim = Simulation(paxos(duration=33, interventions=ivs))
    sim.run()
    assert sim.nodes["a1"].promised is not None


@FUZZ
@given(seed=st.integers(0, 2**31), multi=st.booleans(), crash_acceptors=st.booleans())
def test_invariants_hold_with_a_disk_under_random_faults(seed, multi, crash_acceptors):
    sc = scenario_from(seed, multi, crash_acceptors=crash_acceptors)
    sc["params"]["disk_ms"] = seed % 3 * 10 + 2
    sim, _ = run(sc)
    assert sim.violations == [], sim.violations
    for slot, value in sim.protocol.learned.items():
        assert sim.protocol.chosen[slot] == value
