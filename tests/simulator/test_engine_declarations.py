"""What a protocol declares is what its code does (docs/architecture.md).

Every declared invariant is checked by the method that declares it (@invariant) and is tripped by something:
a docs/examples file, a preset, a teaching mutation, or (for a safety property no mutation breaks) a state
corrupted by hand. Every teaching mutation is read by the protocol's code and breaks an invariant in a
scenario that runs clean without it. describe() is derived from the declarations, and a violation of an
undeclared name is refused. Every action has its check and its apply.
"""

import inspect
import json
import os

import pytest

from simulator import Simulation
from simulator.protocols import get_protocol
from simulator.protocols.base import Checker, Protocol, invariant

from simhelpers import ROOT

PROTOCOLS = ["raft", "paxos", "twophase", "gossip", "kafka"]


def broken(sim):
    return {v["invariant"] for v in sim.violations}


def run(sc):
    sim = Simulation(json.loads(json.dumps(sc)))
    sim.run()
    return sim


def gallery(protocol):
    """Every docs/examples file and preset of the protocol."""
    out = []
    examples = os.path.join(ROOT, "docs", "examples")
    for name in sorted(os.listdir(examples)):
        if name.startswith(protocol + "-") and name.endswith(".json"):
            with open(os.path.join(examples, name)) as fh:
                out.append(json.load(fh))
    return out + [p["scenario"] for p in get_protocol(protocol).presets()]


# --- states corrupted by hand: safety properties that no teaching mutation breaks ----------------------
def _flush(sim, node):
    sim.flush(node)
    return sim


def raft_two_leaders():
    sim = Simulation({"protocol": "raft", "seed": 1, "duration": 3000, "network": {"latency": [10, 10]},
                      "params": {"election_timeout_min": 1000, "election_timeout_max": 2000,
                                 "heartbeat_interval": 100}})
    sim.advance(10)
    sim.intervene({"action": "timeout", "node": "n1"})
    sim.advance(200)
    node = sim.nodes["n2"]  # n2 is a follower of term 1: make it a second leader of term 1
    node.role = "leader"
    node.mark("role")
    return _flush(sim, node)


def raft_leader_truncates():
    sim = Simulation({"protocol": "raft", "seed": 1, "duration": 3000, "network": {"latency": [10, 10]},
                      "params": {"election_timeout_min": 1000, "election_timeout_max": 2000,
                                 "heartbeat_interval": 100}})
    sim.advance(10)
    sim.intervene({"action": "timeout", "node": "n1"})
    sim.advance(200)
    sim.intervene({"action": "client_request", "node": "n1", "value": "a"})
    sim.advance(400)
    node = sim.nodes["n1"]
    del node.log[1:]  # the leader deletes its own entry 2
    node.mark_splice("log", 1)
    return _flush(sim, node)


def gossip_forged_value():
    sim = Simulation({"protocol": "gossip", "seed": 1, "nodes": 8, "duration": 3000})
    sim.advance(100)
    node = sim.nodes["n4"]
    node.store = {**node.store, "r1": [1, "n1", "forged"]}
    node.mark("store")
    return _flush(sim, node)


def gossip_invented_incarnation():
    sim = Simulation({"protocol": "gossip", "seed": 1, "nodes": 8, "duration": 3000, "params": {"mode": "swim"}})
    sim.advance(100)
    sim.dispatch(sim.nodes["n2"], "set_member", "n3", "suspect", 5)  # n3 never announced incarnation 5
    return sim


def kafka_partition_dropped():
    sim = Simulation({"protocol": "kafka", "seed": 1, "duration": 5000, "params": {"partitions": 6, "consumers": 3}})
    sim.advance(3000)
    assert sim.protocol.settled()
    node = sim.nodes["c1"]  # in a settled group, c1 silently stops owning one of its partitions
    node.owned = node.owned[1:]
    node.mark("owned")
    return _flush(sim, node)


def kafka_two_coordinators():
    sim = Simulation({"protocol": "kafka", "seed": 1, "duration": 5000, "params": {"brokers": 3}})
    sim.advance(1000)
    node = sim.nodes["b2"]  # a follower acts as the coordinator too
    node.role = "coordinator"
    node.mark("role")
    return _flush(sim, node)


HAND_MADE = {
    ("raft", "election_safety"): raft_two_leaders,
    ("raft", "leader_append_only"): raft_leader_truncates,
    ("gossip", "rumor_integrity"): gossip_forged_value,
    ("gossip", "incarnation_genuine"): gossip_invented_incarnation,
    ("kafka", "all_partitions_owned"): kafka_partition_dropped,
    ("kafka", "single_coordinator"): kafka_two_coordinators,
}

# Teaching mutations no example or preset switches on: a scenario (found once by a seed search, pinned here)
# that the mutation breaks and the correct protocol passes.
MUTATION_SCENARIOS = {
    "ignore_accepted_values": {
        "protocol": "paxos", "seed": 6, "duration": 2500, "params": {"multi": True, "client_interval": 0},
        "interventions": [{"at": 1000, "action": "propose", "node": "leader", "value": "x"},
                          {"at": 1005, "action": "crash", "node": "leader"}]},
    "commit_on_timeout": {
        "protocol": "twophase", "seed": 2, "duration": 4000, "params": {"begin_interval": 0},
        "network": {"latency": [5, 40]},
        "interventions": [{"at": 100, "action": "begin", "votes": {"p3": "no"}},
                          {"at": 224, "action": "crash", "node": "coord"},
                          {"at": 3000, "action": "restart", "node": "coord"}]},
    "no_force_write": {
        "protocol": "twophase", "seed": 2, "duration": 5000, "params": {"begin_interval": 0},
        "network": {"latency": [5, 40]},
        "interventions": [{"at": 0, "action": "arm_crash", "node": "coordinator",
                           "point": "after_first_decision_sent"},
                          {"at": 100, "action": "begin"}, {"at": 506, "action": "restart", "node": "coord"}]},
    "no_force_prepare": {
        "protocol": "twophase", "seed": 1, "duration": 5000, "params": {"begin_interval": 0},
        "network": {"latency": [5, 40]},
        "interventions": [{"at": 0, "action": "arm_crash", "node": "p2", "point": "after_vote"},
                          {"at": 100, "action": "begin"}, {"at": 371, "action": "restart", "node": "p2"}]},
    "forget_on_crash": {
        "protocol": "gossip", "seed": 1, "nodes": 16, "duration": 5000,
        "interventions": [{"at": 2000, "action": "crash", "node": "n1"},
                          {"at": 2500, "action": "restart", "node": "n1"}]},
}


# Invariants no gallery scenario trips: a scenario that does (with a mutation).
TRIPPING_SCENARIOS = [
    # an acceptor that forgets its promise of 1.2 then accepts p1's 1.1 (tests/simulator/test_paxos.py)
    {"protocol": "paxos", "seed": 1, "duration": 1000, "params": {"auto_propose": False},
     "mutations": ["forget_promise_on_restart"], "network": {"latency": [10, 10]},
     "interventions": [{"at": 0, "action": "propose", "node": "p1", "value": "A"},
                       {"at": 5, "action": "propose", "node": "p2", "value": "B"},
                       {"at": 17, "action": "crash", "node": "a1"}, {"at": 17, "action": "crash", "node": "a2"},
                       {"at": 17, "action": "crash", "node": "a3"},
                       {"at": 25, "action": "restart", "node": "a1"}, {"at": 25, "action": "restart", "node": "a2"},
                       {"at": 25, "action": "restart", "node": "a3"}]},
]


def mutation_cases(protocol):
    """mutation -> scenarios that switch it on (the gallery's, else the pinned one)."""
    out = {}
    for sc in gallery(protocol):
        for m in sc.get("mutations", []):
            out.setdefault(m, []).append(sc)
    for m, sc in MUTATION_SCENARIOS.items():
        if sc["protocol"] == protocol and m not in out:
            out[m] = [dict(sc, mutations=[m])]
    return out


# --- the tests ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_describe_lists_the_declared_invariants(protocol):
    cls = get_protocol(protocol)
    assert cls.describe()["invariants"] == cls.invariants
    assert set(cls.invariants) == set(cls.invariant_checks)
    for name, check in cls.invariant_checks.items():
        assert f'"{name}"' in inspect.getsource(check), f"{name} is not reported by {check.__name__}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_invariant_is_tripped_by_something(protocol):
    cls = get_protocol(protocol)
    tripped = {}
    scenarios = gallery(protocol) + [sc for sc in TRIPPING_SCENARIOS if sc["protocol"] == protocol]
    scenarios += [dict(sc, mutations=[m]) for m, sc in MUTATION_SCENARIOS.items() if sc["protocol"] == protocol]
    for sc in scenarios:
        for name in broken(run(sc)):
            tripped.setdefault(name, "a scenario")
    for (proto, name), make in HAND_MADE.items():
        if proto == protocol:
            sim = make()
            assert broken(sim) == {name}, (name, sim.violations)
            tripped.setdefault(name, make.__name__)
    assert set(tripped) == set(cls.invariants), f"never tripped: {set(cls.invariants) - set(tripped)}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_mutation_is_read_by_the_code_and_breaks_an_invariant(protocol):
    cls = get_protocol(protocol)
    package = os.path.join(ROOT, "simulator", "protocols", protocol)
    code = "".join(open(os.path.join(package, f)).read() for f in sorted(os.listdir(package)) if f.endswith(".py"))
    cases = mutation_cases(protocol)
    assert set(cases) == set(cls.mutations)
    for m, scenarios in cases.items():
        assert f"mutations.{m}" in code, f"mutation {m} is never read"
        for sc in scenarios:
            clean = run(dict(sc, mutations=[x for x in sc["mutations"] if x != m]))
            assert broken(run(sc)) - broken(clean), (m, "breaks nothing in", sc)


def test_reporting_an_undeclared_invariant_is_refused():
    sim = Simulation({"protocol": "raft", "seed": 1, "duration": 100})
    with pytest.raises(AssertionError):
        sim.protocol.report_violation("not_declared", "details", "n1", key=("x",))
    assert sim.violations == []


def test_invariants_cannot_be_listed_by_hand():
    with pytest.raises(TypeError):
        type("Listed", (Checker,), {"invariants": {"a": "b"}})
    with pytest.raises(TypeError):
        type("Both", (Checker,), {"invariants": {"a": "b"}, "check": invariant("a", "b")(lambda self: None)})
    declared = type("Declared", (Checker,), {"check": invariant("a", "what a asserts")(lambda self: None)})
    assert declared.invariants == {"a": "what a asserts"}


def test_an_action_needs_its_check_and_its_apply():
    from simulator.params import Action
    with pytest.raises(TypeError, match="check_poke and apply_poke"):
        type("Half", (Protocol,), {"actions": {"poke": Action("poke")}, "check_poke": lambda self, iv: None})
    whole = type("Whole", (Protocol,), {"actions": {"poke": Action("poke")}, "check_poke": lambda self, iv: None,
                                        "apply_poke": lambda self, iv: {"poked": True}})
    assert whole.act(object.__new__(whole), {"action": "poke"}) == {"poked": True}
