"""Paxos learners that missed the decision catch up: they ask the acceptors and the other learners, and learn a
value only with evidence that it is chosen (a majority of acceptors at one ballot, or a learner that learned it).

Fuzzing follows test_paxos.py (a few dozen derandomised Hypothesis examples; PLAYGROUND_LONG=1 for more).
"""

import copy

from hypothesis import given
from hypothesis import strategies as st

from simulator import Simulation
from simulator.protocols.paxos import CATCH_UP, Paxos
from simulator.trace import trace_hash

from test_paxos import FUZZ, paxos, preset, run, scenario_from


def with_params(sc, **params):
    sc = copy.deepcopy(sc)
    sc["params"] = dict(sc.get("params", {}), **params)
    return sc


def sends(events, kind, src=None):
    return [e for e in events if e["type"] == "send" and e["msg"]["kind"] == kind and (src is None or e["from"] == src)]


# --- single-decree ------------------------------------------------------------------------------
def test_learner_down_through_the_decision_learns_it_after_restart():
    """l2 is crashed while A is chosen; after its restart it asks and learns A (not from a decide or accepted)."""
    sim = Simulation(preset("paxos-learner-catch-up"))
    sim.advance(999)
    assert sim.protocol.chosen == {1: "A"} and sim.nodes["l2"].learned == []
    sim.advance(2500)
    events = sim.drain()
    assert sim.nodes["l2"].learned == ["A"]
    assert sim.nodes["l2"].learned_from[0] in ("acceptors", "l1", "p1", "p2")
    assert sim.nodes["l2"].asking is False
    asks = sends(events, "learn?", "l2")
    assert asks and min(e["t"] for e in asks) == 1000  # it asks as soon as it is back
    assert sim.violations == []


def test_with_catch_up_off_the_learner_stays_behind():
    """The same run with catch_up off: l2 never learns A and never asks."""
    sim, events = run(with_params(CATCH_UP, catch_up=False))
    assert sim.protocol.chosen == {1: "A"}
    assert sim.nodes["l1"].learned == ["A"] and sim.nodes["l2"].learned == []
    assert sends(events, "learn?") == [] and sends(events, "commit") == []


def test_learner_cut_off_through_the_decision_catches_up_on_its_retry_timer():
    """l1 is cut off from every acceptor and proposer (not crashed) while A is chosen; after the heal its
    periodic retry finds A. Its retries are spread by the seed, not a fixed beat."""
    others = ["p1", "p2", "a1", "a2", "a3", "a4", "a5", "l2"]
    sc = paxos(params={"auto_propose": False}, duration=3000, interventions=[
        {"at": 0, "action": "partition", "groups": [["l1"], others]},
        {"at": 50, "action": "propose", "node": "p1", "value": "A"},
        {"at": 1000, "action": "heal_all"},
    ])
    sim, events = run(sc)
    assert sim.nodes["l1"].learned == ["A"] and sim.violations == []
    times = [e["t"] for e in sends(events, "learn?", "l1")]
    first = sorted(set(times))
    gaps = {b - a for a, b in zip(first, first[1:])}
    assert len(gaps) > 1  # randomised retries
    assert max(first) > 1000  # it learned only after the heal
    learned_at = next(e["t"] for e in events if e["type"] == "state" and e["node"] == "l1" and "learned" in
                      e.get("splice", {}))
    assert learned_at > 1000


def test_a_single_acceptors_accepted_value_is_not_learned():
    """Only a1 accepted A (p1's accepts to the others are cut, then p1 crashes): A is not chosen. A restarted
    learner asks, a1 reports A, and the learner must not learn it; it keeps asking."""
    sc = paxos(params={"auto_propose": False}, duration=3000, network={"latency": [10, 10]}, interventions=[
        {"at": 0, "action": "crash", "node": "l2"},
        {"at": 0, "action": "propose", "node": "p1", "value": "A"},  # prepare lands at 10, promises back at 20
        # accept(A) leaves at 20; cutting a link drops what is in flight, so only a1 gets it
        {"at": 21, "action": "cut", "a": "p1", "b": "a2"}, {"at": 21, "action": "cut", "a": "p1", "b": "a3"},
        {"at": 21, "action": "cut", "a": "p1", "b": "a4"}, {"at": 21, "action": "cut", "a": "p1", "b": "a5"},
        {"at": 25, "action": "crash", "node": "p1"},
        {"at": 500, "action": "restart", "node": "l2"},
    ])
    sim, events = run(sc)
    accepted = {a: sim.nodes[a].accepted for a in ("a1", "a2", "a3", "a4", "a5")}
    assert accepted["a1"] == [[[1, 1], "A"]] and all(v == [] for k, v in accepted.items() if k != "a1")
    assert sim.protocol.chosen == {}
    assert any(e["from"] == "a1" and e["to"] == "l2" and e["msg"]["accepted"] for e in sends(events, "report"))
    assert sim.nodes["l2"].learned == [] and sim.nodes["l1"].learned == []
    assert sim.nodes["l2"].asking is True
    assert len({e["t"] for e in sends(events, "learn?", "l2")}) >= 3  # it keeps asking
    assert sim.violations == []


def test_one_value_at_different_ballots_is_not_evidence():
    """A majority holding the same value at different ballots is not chosen (Paxos needs one ballot): a
    learner given such reports, and a duplicated report, learns nothing; a third vote for one ballot decides."""
    sim = Simulation(paxos(params={"auto_propose": False}))
    learner = sim.nodes["l1"]
    learner.on_message("a1", {"kind": "report", "accepted": [[1, [1, 1], "A"]]})
    learner.on_message("a1", {"kind": "report", "accepted": [[1, [1, 1], "A"]]})  # duplicate
    learner.on_message("a2", {"kind": "report", "accepted": [[1, [2, 2], "A"]]})
    learner.on_message("a3", {"kind": "report", "accepted": [[1, [3, 1], "A"]]})
    assert learner.learned == []
    learner.on_message("a4", {"kind": "report", "accepted": [[1, [3, 1], "A"]]})
    assert learner.learned == []
    learner.on_message("a5", {"kind": "accepted", "ballot": [3, 1], "slot": 1, "value": "A"})
    assert learner.learned == ["A"] and learner.learned_from == ["accepted"]


# --- Multi-Paxos --------------------------------------------------------------------------------
def multi_missed_slot(catch_up):
    return paxos(seed=6, duration=3000, params={"multi": True, "client_interval": 0, "catch_up": catch_up},
                 interventions=[{"at": 900, "action": "crash", "node": "l2"},
                                {"at": 1000, "action": "propose", "node": "leader", "value": "x"},
                                {"at": 1100, "action": "propose", "node": "leader", "value": "y"},
                                {"at": 1500, "action": "restart", "node": "l2"}])


def test_multi_paxos_learner_fetches_the_slots_it_missed():
    """l2 is down while slots 1 and 2 are chosen; after restart it asks and fills its log."""
    sim, events = run(multi_missed_slot(True))
    assert sim.protocol.chosen == {1: "x", 2: "y"}
    assert sim.nodes["l2"].learned == ["x", "y"] and sim.nodes["l1"].learned == ["x", "y"]
    assert all(how in ("acceptors", "l1", "p1", "p2") for how in sim.nodes["l2"].learned_from)
    assert sim.violations == []


def test_multi_paxos_learner_without_catch_up_keeps_a_hole():
    sim, events = run(multi_missed_slot(False))
    assert sim.protocol.chosen == {1: "x", 2: "y"}
    assert sim.nodes["l2"].learned == []


def test_multi_paxos_learner_that_missed_nothing_stops_asking():
    """A restarted Multi-Paxos learner asks once; when a majority of acceptors answered and reported nothing it
    misses, it stops asking (and shows so)."""
    sc = paxos(seed=6, duration=3000, params={"multi": True, "client_interval": 0},
               interventions=[{"at": 900, "action": "crash", "node": "l2"},
                              {"at": 1000, "action": "restart", "node": "l2"}])
    sim, events = run(sc)
    assert sim.nodes["l2"].asking is False
    assert {e["t"] for e in sends(events, "learn?", "l2")} == {1000}
    flips = [e["changes"]["asking"] for e in events if e["type"] == "state" and e["node"] == "l2"
             and "asking" in e["changes"] and e["t"] >= 1000]
    assert flips == [True, False]


def test_multi_paxos_cut_off_learner_hears_the_commit_point_and_asks():
    """l1 is cut off (not crashed) while slots are chosen and no more values come: the leader's commit point
    tells it what it misses, and it fetches the slots."""
    sc = paxos(seed=6, duration=4000, params={"multi": True, "client_interval": 0}, interventions=[
        {"at": 900, "action": "partition", "groups": [["l1"]]},
        {"at": 1000, "action": "propose", "node": "leader", "value": "x"},
        {"at": 1100, "action": "propose", "node": "leader", "value": "y"},
        {"at": 1500, "action": "heal_all"},
    ])
    sim, events = run(sc)
    assert sim.nodes["l1"].learned == ["x", "y"] and sim.violations == []
    assert sends(events, "commit") and min(e["t"] for e in sends(events, "learn?", "l1")) > 1500


# --- the preset and determinism --------------------------------------------------------------------
def test_catch_up_preset_is_listed():
    slugs = [p["slug"] for p in Paxos.presets()]
    assert "paxos-learner-catch-up" in slugs


def test_catch_up_is_deterministic():
    """Same scenario -> same trace, also in slices; the retry draws come from the seed."""
    sc = scenario_from(77, True)
    _, whole = run(sc)
    _, again = run(sc)
    assert trace_hash(whole) == trace_hash(again)
    sim = Simulation(sc)
    sliced = []
    for t in range(13, sc["duration"] + 13, 13):
        sim.advance(min(t, sc["duration"]))
        sliced += sim.drain()
    assert trace_hash(sliced) == trace_hash(whole)
    other, _ = run(dict(preset("paxos-learner-catch-up"), seed=3))
    assert other.nodes["l2"].learned == ["A"]


# --- fuzz: safety as before, and every learner catches up once the faults heal ----------------------
def healed(seed, multi, crash_learners):
    sc = scenario_from(seed, multi, crash_acceptors=False)
    if crash_learners:  # aim extra crash-restarts at the learners, across the decisions
        learners = [n for n in Paxos.scenario_node_ids(sc["nodes"], sc["params"]) if n[0] == "l"]
        for i, lid in enumerate(learners):
            sc["interventions"].append({"at": 20 + 150 * i, "action": "crash", "node": lid})
            sc["interventions"].append({"at": 1200 + 300 * i, "action": "restart", "node": lid})
    sc["duration"] += 4000  # a long quiet end: everybody up and the network whole
    return sc


@FUZZ
@given(seed=st.integers(0, 2**31), multi=st.booleans(), crash_learners=st.booleans())
def test_learners_catch_up_after_the_faults_heal(seed, multi, crash_learners):
    """Crashes, partitions, loss and duplication never break safety, and once everything is healed every
    learner knows every value chosen before the quiet end (liveness of catch-up)."""
    sc = healed(seed, multi, crash_learners)
    sim, _ = run(sc)
    assert sim.violations == [], sim.violations
    for slot, value in sim.protocol.learned.items():
        assert sim.protocol.chosen[slot] == value
    cutoff = sc["duration"] - 3000
    for lid in sim.protocol.learners:
        learned = sim.nodes[lid].learned
        for slot, value in sim.protocol.chosen.items():
            if sim.protocol.chosen_at[slot] <= cutoff:
                assert slot <= len(learned) and learned[slot - 1] == value, (lid, slot, value, learned)
