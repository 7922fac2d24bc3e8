"""The engine: determinism, stepping, snapshots, live interventions and their record, refusals.

Raft is the protocol under test here, but nothing below depends on what Raft does: these are the
engine's promises to every protocol and to the server.
"""

import copy
import json
import os
import random
import subprocess
import sys

import pytest

from simulator import InterventionError, Simulation, run_scenario
from simulator.trace import canonical, trace_hash
from simulator.view import replay

from simhelpers import ROOT, fuzz_scenario, leader_of, of, quiet_raft, raft, run, same

FAULTY = dict(network={"latency": [5, 60], "loss": 0.05, "duplicate": 0.1},
              params={"client_interval": 40, "pre_vote": True})

HASH_SNIPPET = """
import json, sys
from simulator import run_scenario
from simulator.chaos import random_schedule, raft_actions
ids = ["n1", "n2", "n3", "n4", "n5"]
sc = {"protocol": "raft", "seed": 11, "duration": 5000, "params": {"client_interval": 50},
      "network": {"latency": [5, 40], "loss": 0.05, "duplicate": 0.1},
      "interventions": random_schedule(4, ids, 5000, count=20, extra=raft_actions)}
print(run_scenario(sc)[1]["trace_hash"])
"""


# --- determinism ------------------------------------------------------------------------------
def test_same_scenario_same_hash_across_processes_and_hash_seeds():
    """The trace hash does not depend on the process or on PYTHONHASHSEED (string hashing order)."""
    hashes = set()
    for hash_seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=ROOT)
        out = subprocess.run([sys.executable, "-c", HASH_SNIPPET], env=env, cwd=ROOT, capture_output=True,
                             text=True, check=True)
        hashes.add(out.stdout.strip())
    assert len(hashes) == 1
    # ... and this process agrees
    ns = {}
    exec(compile(HASH_SNIPPET.replace("print(", "result = ("), "snippet", "exec"), ns)
    assert ns["result"] == hashes.pop()


def test_different_seeds_give_different_traces():
    hashes = {run_scenario(raft(seed=s, duration=2000))[1]["trace_hash"] for s in range(8)}
    assert len(hashes) == 8


def test_same_seed_same_trace_in_one_process():
    sc = fuzz_scenario(3, **FAULTY)
    assert run_scenario(sc)[1]["trace_hash"] == run_scenario(copy.deepcopy(sc))[1]["trace_hash"]


@pytest.mark.parametrize("slicing", ["1ms", "random", "max_steps", "step_events"])
def test_slicing_does_not_change_the_trace(slicing):
    """Running in slices (as a live viewer does) gives exactly the trace of one go."""
    sc = fuzz_scenario(5, duration=3000, **FAULTY)
    whole = trace_hash(Simulation(sc).run())
    sim = Simulation(sc)
    events = []
    rng = random.Random(1)
    if slicing == "1ms":
        for t in range(1, 3001):
            sim.advance(t)
            events += sim.drain()
    elif slicing == "random":
        t = 0
        while t < 3000:
            t = min(3000, t + rng.randint(0, 97))
            sim.advance(t)
            events += sim.drain()
    elif slicing == "max_steps":
        while sim.advance(3000, max_steps=rng.randint(1, 40)):
            events += sim.drain()
    else:
        while True:
            t_next = min(sim.env.peek(), sim.scripted[-1]["at"] if sim.scripted else float("inf"))
            if t_next >= 3000:
                break
            sim.step_events(rng.randint(1, 5))
            events += sim.drain()
            # step_events may overshoot the duration by a few events: keep only what a run would do
        sim.advance(3000)
        events += sim.drain()
        events = [e for e in events if e["t"] < 3000]
    assert trace_hash(events) == whole


def test_events_are_flat_timed_and_in_time_order():
    events, sim = run(fuzz_scenario(9, **FAULTY))
    kinds = set()
    last = 0
    for ev in events:
        assert isinstance(ev["t"], int) and ev["t"] >= last
        last = ev["t"]
        kinds.add(ev["type"])
        if ev["type"] in ("send", "deliver", "drop"):
            assert {"id", "from", "to"} <= set(ev)
        if ev["type"] in ("state", "timer"):
            assert ev["node"] in sim.nodes
        json.dumps(ev)  # JSON-compatible
    assert {"send", "deliver", "drop", "timer", "state", "intervention", "net"} <= kinds
    assert sim.event_count == len(events)


# --- snapshots ----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_snapshot_plus_events_is_the_later_snapshot(seed):
    """snapshot(t0) + events(t0..t1) == snapshot(t1), at random cut points (some mid-millisecond)."""
    rng = random.Random(seed)
    sc = fuzz_scenario(seed, nodes=rng.choice([3, 5, 7]), duration=5000, count=25, **FAULTY)
    sim = Simulation(sc)
    snap = copy.deepcopy(sim.snapshot())
    events = sim.drain()
    # the first snapshot already holds the start: replaying the t=0 events onto it changes nothing
    assert same(replay(snap, events, until=0), snap)
    t = 0
    while t < 5000:
        if rng.random() < 0.3:
            sim.step_events(rng.randint(1, 4))  # stop in the middle of a millisecond
        else:
            t = min(5000, t + rng.randint(1, 400))
            sim.advance(t)
        events = sim.drain()
        later = sim.snapshot()
        assert same(replay(snap, events, until=sim.now), later)
        snap = copy.deepcopy(later)
        t = max(t, sim.now)


def test_snapshot_shows_held_and_in_flight_messages():
    sim = Simulation(quiet_raft(interventions=[{"at": 10, "action": "timeout", "node": "n1"},
                                               {"at": 35, "action": "pause", "node": "n2"}]))
    sim.advance(45)
    msgs = sim.snapshot()["messages"]
    assert any(m["to"] == "n2" and m["held"] for m in msgs)
    assert any(not m["held"] and m["sent_at"] <= 45 < m["deliver_at"] for m in msgs)
    for m in msgs:
        assert set(m) >= {"id", "from", "to", "sent_at", "deliver_at", "msg", "held"}


# --- live interventions and the record -------------------------------------------------------------
def test_live_interventions_are_recorded_and_replay_exactly():
    """Interventions applied live (between slices and mid-millisecond) replay to the identical trace."""
    sc = raft(seed=4, duration=4000, params={"client_interval": 100}, network={"latency": [5, 40]},
              interventions=[{"at": 2500, "action": "partition", "groups": [["n1", "n2"]]}])
    sim = Simulation(sc)
    events = []
    sim.advance(700)
    applied = [sim.intervene({"action": "crash", "node": "leader"})]
    assert applied[0]["at"] == 700 and sim.now == 700
    crashed = of(sim.pending, "intervention")[-1]["node"]
    sim.advance(1200)
    events += sim.drain()
    sim.step_events(1)  # part of millisecond t has run: the intervention lands at t + 1
    t = sim.now
    applied.append(sim.intervene({"action": "client_request", "node": "leader", "value": "live"}))
    assert applied[-1]["at"] == t + 1 == sim.now
    sim.advance(1900)
    applied.append(sim.intervene({"action": "restart", "node": crashed, "at": 5}))  # `at` is ignored
    assert applied[-1]["at"] == 1900
    sim.advance(3100)
    applied.append(sim.intervene({"action": "heal_all"}))
    events += sim.run()
    # the intervention events say what was applied and where the selector pointed
    ivs = of(events, "intervention")
    assert [e["action"] for e in ivs] == ["crash", "client_request", "restart", "partition", "heal_all"]
    assert ivs[0]["selector"] == {"node": "leader"} and ivs[0]["node"].startswith("n")
    assert ivs[0]["t"] == 700 and ivs[1]["t"] == t + 1
    recorded = sim.recorded_scenario()
    assert [iv["at"] for iv in recorded["interventions"]] == [700, t + 1, 1900, 2500, 3100]
    assert recorded["interventions"][0]["node"] == "leader"  # recorded as given: replay re-resolves it
    replayed, summary = run_scenario(json.loads(json.dumps(recorded)))  # through JSON, as a saved link
    assert summary["trace_hash"] == trace_hash(events)


def test_recorded_scenario_keeps_pending_scripted_interventions():
    sc = raft(duration=3000, interventions=[{"at": 2000, "action": "crash", "node": "n1"}])
    sim = Simulation(sc)
    sim.advance(1000)
    sim.intervene({"action": "pause", "node": "n2"})
    rec = sim.recorded_scenario()
    assert [(iv["at"], iv["action"]) for iv in rec["interventions"]] == [(1000, "pause"), (2000, "crash")]
    rec["params"]["client_interval"] = 5  # a copy: changing it does not touch the running simulation
    assert sim.params["client_interval"] == 0


def test_live_intervention_before_a_scripted_one_at_the_same_time():
    sc = raft(duration=2000, interventions=[{"at": 1000, "action": "crash", "node": "n1"}])
    sim = Simulation(sc)
    sim.advance(1000)  # the clock is at 1000; the scripted crash has not applied yet
    sim.intervene({"action": "pause", "node": "n1"})
    events = sim.drain() + sim.run()
    ivs = of(events, "intervention")
    assert [(e["t"], e["action"]) for e in ivs] == [(1000, "pause"), (1000, "crash")]
    assert of(events, "state", node="n1")[-1]["changes"]["status"] == "crashed"
    again = run_scenario(sim.recorded_scenario())[0]
    assert trace_hash(again) == trace_hash(events)


REFUSED = [
    ("crash a crashed node", [{"action": "crash", "node": "n2"}], {"action": "crash", "node": "n2"},
     "invalid_state"),
    ("restart an up node", [], {"action": "restart", "node": "n2"}, "invalid_state"),
    ("resume a node that is not paused", [], {"action": "resume", "node": "n3"}, "invalid_state"),
    ("pause a crashed node", [{"action": "crash", "node": "n2"}], {"action": "pause", "node": "n2"},
     "invalid_state"),
    ("unknown node", [], {"action": "crash", "node": "n9"}, "unknown_node"),
    ("unknown action", [], {"action": "explode", "node": "n1"}, "unknown_action"),
    ("action not a string", [], {"action": ["crash"]}, "unknown_action"),
    ("unknown field", [], {"action": "crash", "node": "n1", "when": 3}, "invalid_intervention"),
    ("missing field", [], {"action": "cut", "a": "n1"}, "invalid_intervention"),
    ("same link ends", [], {"action": "cut", "a": "n1", "b": "n1"}, "invalid_intervention"),
    ("link end resolves to the other end", [], {"action": "cut", "a": "leader", "b": "LEADER"},
     "invalid_target"),
    ("node in two groups via a selector", [], {"action": "partition", "groups": [["leader"], ["LEADER"]]},
     "invalid_target"),
    ("bad drift factor", [], {"action": "set_drift", "node": "n1", "factor": 0}, "invalid_intervention"),
    ("bad latency", [], {"action": "set_link", "a": "n1", "b": "n2", "latency": [50, 10]},
     "invalid_intervention"),
    ("set_link with nothing to set", [], {"action": "set_link", "a": "n1", "b": "n2"}, "invalid_intervention"),
    ("not an object", [], ["crash", "n1"], "invalid_intervention"),
    ("client request to a crashed node", [{"action": "crash", "node": "n3"}],
     {"action": "client_request", "node": "n3"}, "invalid_state"),
    ("timeout on the leader", [], {"action": "timeout", "node": "LEADER"}, "invalid_state"),
    ("client request value too long", [], {"action": "client_request", "value": "x" * 41}, "invalid_intervention"),
]


def _sim_with_leader(setup, mid_millisecond):
    sim = Simulation(raft(seed=2, duration=5000, params={"client_interval": 100}))
    sim.advance(1000)
    leader = leader_of(sim)
    assert leader is not None
    for iv in setup:
        sim.intervene(iv)
    sim.advance(1500)
    sim.drain()
    if mid_millisecond:
        sim.step_events(1)
        assert sim.steps_at_now
    return sim, leader


@pytest.mark.parametrize("mid_millisecond", [False, True], ids=["clean-ms", "mid-ms"])
@pytest.mark.parametrize("name,setup,iv,code", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_interventions_raise_typed_errors_and_change_nothing(name, setup, iv, code, mid_millisecond):
    sim, leader = _sim_with_leader(setup, mid_millisecond)
    iv = json.loads(json.dumps(iv).replace("LEADER", leader))
    before = (canonical(sim.snapshot()), len(sim.pending), sim.now, sim.event_count, len(sim.applied),
              sim.env.peek())
    with pytest.raises(InterventionError) as err:
        sim.intervene(iv)
    assert err.value.code == code
    assert err.value.message and err.value.as_dict()["code"] == code
    after = (canonical(sim.snapshot()), len(sim.pending), sim.now, sim.event_count, len(sim.applied),
             sim.env.peek())
    assert after == before
    # and the run goes on exactly as if nothing had been tried
    rest = sim.run()
    sim2, _ = _sim_with_leader(setup, mid_millisecond)
    assert trace_hash(rest) == trace_hash(sim2.run())


def test_no_leader_is_refused_with_no_target():
    sim = Simulation(raft())
    with pytest.raises(InterventionError) as err:
        sim.intervene({"action": "crash", "node": "leader"})
    assert err.value.code == "no_target" and err.value.field == "node"
    assert sim.now == 0 and not of(sim.drain(), "intervention")


def test_scripted_intervention_that_cannot_apply_is_a_rejected_event():
    sc = raft(interventions=[{"at": 50, "action": "crash", "node": "leader"},
                             {"at": 100, "action": "restart", "node": "n1"}])
    events, sim = run(sc)
    rejected = of(events, "rejected")
    assert [(e["t"], e["error"]["code"]) for e in rejected] == [(50, "no_target"), (100, "invalid_state")]
    assert rejected[1]["intervention"] == {"at": 100, "action": "restart", "node": "n1"}
    assert not of(events, "intervention")
    # kept in the record, so a replay rejects them the same way
    assert trace_hash(run_scenario(sim.recorded_scenario())[0]) == trace_hash(events)


def test_leader_selector_resolves_when_applied():
    sc = quiet_raft(interventions=[{"at": 10, "action": "timeout", "node": "n3"},
                                   {"at": 500, "action": "crash", "node": "leader"},
                                   {"at": 520, "action": "timeout", "node": "n1"},
                                   {"at": 900, "action": "client_request", "node": "leader", "value": "v"}])
    events, sim = run(sc)
    ivs = of(events, "intervention")
    assert ivs[1]["node"] == "n3" and ivs[1]["selector"] == {"node": "leader"}
    assert ivs[3]["node"] == "n1" and ivs[3]["result"] == "appended" and ivs[3]["value"] == "v"


def test_deepcopy_is_an_exact_checkpoint():
    sim = Simulation(fuzz_scenario(8, duration=4000, **FAULTY))
    sim.advance(1500)
    sim.drain()
    twin = copy.deepcopy(sim)
    a = sim.run()
    b = twin.run()
    assert trace_hash(a) == trace_hash(b) and a
    assert not sim.pending and not twin.pending  # each emits into its own list


def test_advance_stops_before_until_and_is_resumable():
    sim = Simulation(raft(duration=3000))
    assert sim.advance(1000) > 0 and sim.now == 1000
    assert all(e["t"] < 1000 for e in sim.drain())
    assert sim.advance(999) == 0 and sim.now == 1000  # never goes back
    n = sim.advance(3000, max_steps=7)
    assert n == 7 and sim.now < 3000


def test_a_run_leaves_no_reference_cycles_and_restores_the_gc():
    """advance() turns the cyclic GC off for its slice (speed): that is only safe while a run creates no
    garbage cycles, so check it for every example scenario (every protocol, faults, mutations)."""
    import gc
    import glob
    was = gc.isenabled()
    gc.collect()
    gc.freeze()  # (what exists already is not this test's business, and scanning it is slow)
    try:
        for path in sorted(glob.glob(os.path.join(ROOT, "docs", "examples", "*.json"))):
            with open(path) as f:
                sim = Simulation(json.load(f))
            gc.collect()
            sim.advance(sim.duration // 2)
            sim.drain()
            assert gc.isenabled()  # back on after the slice
            sim.advance()
            sim.drain()
            assert gc.collect() == 0, path
        gc.disable()
        sim.advance(sim.duration + 1)
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.unfreeze()
        gc.enable() if was else gc.disable()


def test_dispose_frees_a_run_without_the_cyclic_gc():
    """A dropped run is cyclic garbage (its parts point at one another) that only a full GC pass would free, a
    long one for a big run; dispose() empties it in pieces so reference counting frees all of it (every example
    scenario: every protocol, faults, mutations)."""
    import gc
    import glob
    gc.collect()
    gc.freeze()
    try:
        paths = sorted(glob.glob(os.path.join(ROOT, "docs", "examples", "*.json")))
        assert paths
        for path in paths:
            with open(path) as f:
                scenario = json.load(f)
            sim = Simulation(scenario)
            sim.advance(sim.duration // 2)
            del sim
            assert gc.collect() > 0, f"{path}: a dropped run was expected to be cyclic garbage"
            sim = Simulation(scenario)
            sim.advance(sim.duration // 2)
            pieces = sum(1 for _ in sim.dispose(piece=50))
            assert pieces >= 1
            del sim
            assert gc.collect() == 0, f"{path}: dispose() left garbage cycles"
    finally:
        gc.unfreeze()
