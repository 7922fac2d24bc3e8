"""Paxos: single-decree and Multi-Paxos, safety under faults, the duel and what ends it, mutations caught.

Fuzzing is bounded (a few dozen Hypothesis examples per property, derandomised); set PLAYGROUND_LONG=1
for more examples and a longer search for mutation counterexamples.
"""

import copy
import glob
import json
import os
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import InterventionError, ScenarioError, Simulation, run_scenario
from simulator.protocols import get_protocol, protocol_names
from simulator.protocols.paxos import FAILOVER, NOOP, Paxos
from simulator.trace import trace_hash
from simulator.view import replay

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LONG = os.environ.get("PLAYGROUND_LONG") == "1"
FUZZ = settings(max_examples=500 if LONG else 60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def paxos(**kw):
    sc = {"protocol": "paxos", "seed": 1, "duration": 3000}
    sc.update(kw)
    return sc


def preset(slug):
    return copy.deepcopy(next(p["scenario"] for p in Paxos.presets() if p["slug"] == slug))


def run(sc, until=None):
    sim = Simulation(sc)
    events = sim.run(until)
    return sim, events


def invariants_broken(sim):
    return sorted({v["invariant"] for v in sim.violations})


# --- registry, ids and input checks ---------------------------------------------------------------
def test_registered_and_described():
    """paxos is in the registry with bounded parameters, a propose action, a leader selector, 3 invariants."""
    assert "paxos" in protocol_names()
    d = get_protocol("paxos").describe()
    assert d["nodes"]["default"] == 5
    for name, p in d["params"].items():
        assert p["kind"] == "bool" or (p["min"] is not None and p["max"] is not None), name
    assert d["params"]["proposers"]["default"] == 2
    assert set(d["actions"]) == {"propose"}
    assert "leader" in d["selectors"]
    assert set(d["invariants"]) == {"one_value_per_slot", "learners_agree", "promise_respected"}
    assert set(d["mutations"]) == {"forget_promise_on_restart", "ignore_accepted_values"}


def test_node_ids_follow_the_role_counts():
    """`nodes` counts acceptors; proposers and learners come from params, with role-named ids."""
    sim = Simulation(paxos(nodes=3, params={"proposers": 3, "learners": 1}))
    assert sim.node_ids == ["p1", "p2", "p3", "a1", "a2", "a3", "l1"]
    assert [sim.nodes[n].role for n in sim.node_ids] == ["proposer"] * 3 + ["acceptor"] * 3 + ["learner"]
    assert Simulation(paxos()).node_ids == ["p1", "p2", "a1", "a2", "a3", "a4", "a5", "l1", "l2"]


@pytest.mark.parametrize("bad,field", [
    ({"nodes": 0}, "nodes"),
    ({"nodes": 32}, "nodes"),
    ({"params": {"proposers": 0}}, "params.proposers"),
    ({"params": {"learners": 10}}, "params.learners"),
    ({"params": {"backoff_base": 500, "backoff_max": 100}}, "params.backoff_max"),
    ({"params": {"leader_timeout_min": 300, "leader_timeout_max": 200}}, "params.leader_timeout_max"),
    ({"params": {"heartbeat_interval": 150}}, "params.heartbeat_interval"),
    ({"params": {"multi": "yes"}}, "params.multi"),
    ({"params": {"phase_timeout": 5}}, "params.phase_timeout"),
    ({"mutations": ["forget_everything"]}, "mutations[0]"),
    ({"interventions": [{"at": 0, "action": "propose", "node": "p9"}]}, "interventions[0].node"),
    ({"interventions": [{"at": 0, "action": "propose"}]}, "interventions[0].node"),
    ({"interventions": [{"at": 0, "action": "propose", "node": "p1", "value": "x" * 41}]},
     "interventions[0].value"),
])
def test_bad_scenarios_name_the_field(bad, field):
    """Out-of-range or inconsistent settings raise ScenarioError naming the offending field."""
    with pytest.raises(ScenarioError) as err:
        Simulation(paxos(**bad))
    assert err.value.field == field
    assert err.value.message.startswith(field.split("[")[0])


@pytest.mark.parametrize("iv,code", [
    ({"action": "propose", "node": "a1", "value": "A"}, "not_a_proposer"),
    ({"action": "propose", "node": "l2", "value": "A"}, "not_a_proposer"),
    ({"action": "propose", "node": "p1", "value": NOOP}, "reserved_value"),
    ({"action": "propose", "node": "p1", "value": "B"}, "busy"),
    ({"action": "propose", "node": "leader", "value": "B"}, "no_target"),
    ({"action": "propose", "node": "p3", "value": "B"}, "unknown_node"),
])
def test_bad_interventions_change_nothing(iv, code):
    """A propose that cannot apply raises InterventionError with a code and leaves the run untouched."""
    sc = paxos(params={"auto_propose": False}, interventions=[{"at": 0, "action": "propose", "node": "p1"}])
    sim = Simulation(sc)
    sim.advance(5)  # p1 is busy with its first ballot
    before = copy.deepcopy(sim.snapshot())
    pending = len(sim.pending)
    with pytest.raises(InterventionError) as err:
        sim.intervene(iv)
    assert err.value.code == code
    assert sim.snapshot() == before and len(sim.pending) == pending


def test_propose_on_a_crashed_proposer_is_refused():
    sim = Simulation(paxos(params={"auto_propose": False}))
    sim.intervene({"action": "crash", "node": "p2"})
    with pytest.raises(InterventionError) as err:
        sim.intervene({"action": "propose", "node": "p2", "value": "B"})
    assert err.value.code == "invalid_state"


# --- the basic lesson ---------------------------------------------------------------------------
def test_default_scenario_chooses_one_value_that_everyone_learns():
    """With defaults both proposers propose; one value is chosen and every learner and proposer learns it."""
    sim, _ = run(paxos(duration=2000))
    chosen = sim.protocol.chosen
    assert set(chosen) == {1} and chosen[1] in ("A", "B")
    for nid in ("l1", "l2"):
        assert sim.nodes[nid].learned == [chosen[1]]
    for nid in ("p1", "p2"):
        assert sim.nodes[nid].chosen == [chosen[1]]
    assert sim.violations == []


def test_a_later_proposer_adopts_the_chosen_value():
    """p2 proposes B after A was chosen: the promises report A, so p2 proposes A (and nothing else is chosen)."""
    sim, events = run(preset("paxos-basic"))
    assert sim.protocol.chosen == {1: "A"}
    assert sim.nodes["p2"].value == "B" and sim.nodes["p2"].proposal == "A"
    assert sim.nodes["p2"].ballot > sim.nodes["p1"].ballot
    accepts = [e["msg"]["value"] for e in events if e["type"] == "send" and e["msg"]["kind"] == "accept"]
    assert set(accepts) == {"A"}
    assert sim.protocol.metrics()["readopted_values"] == 1


def test_acceptor_state_survives_a_crash_and_proposers_never_reuse_a_ballot():
    """promised/accepted are on stable storage; a restarted proposer's next ballot is above every earlier one."""
    sc = paxos(params={"auto_propose": False}, duration=2000, interventions=[
        {"at": 0, "action": "propose", "node": "p1", "value": "A"},
        {"at": 300, "action": "crash", "node": "a1"},
        {"at": 300, "action": "crash", "node": "p1"},
        {"at": 400, "action": "restart", "node": "a1"},
        {"at": 400, "action": "restart", "node": "p1"},
        {"at": 500, "action": "propose", "node": "p1", "value": "C"},
    ])
    sim = Simulation(sc)
    sim.advance(299)
    a1 = copy.deepcopy(sim.nodes["a1"].view())
    first_ballot = sim.nodes["p1"].ballot
    assert a1["accepted"] == [[first_ballot, "A"]]
    sim.advance(450)
    assert {k: sim.nodes["a1"].view()[k] for k in ("promised", "accepted")} == \
        {k: a1[k] for k in ("promised", "accepted")}
    assert sim.nodes["p1"].phase == "idle" and sim.nodes["p1"].ballot is None  # volatile state is gone
    sim.advance(2000)
    assert sim.nodes["p1"].ballot > first_ballot
    assert sim.protocol.chosen == {1: "A"} and sim.nodes["p1"].proposal == "A"


def test_a_minority_of_acceptors_cannot_choose():
    """With 3 of 5 acceptors down nothing is chosen; one restart gives a majority and the value is chosen."""
    sim = Simulation(preset("paxos-majority"))
    sim.advance(1500)
    assert sim.protocol.chosen == {}
    assert sim.protocol.ballots >= 3  # it kept retrying
    sim.advance(3000)
    assert sim.protocol.chosen == {1: "A"} and sim.protocol.chosen_at[1] > 1500


# --- duelling proposers -------------------------------------------------------------------------
def test_duel_preset_livelocks():
    """Backoff off, fixed latencies: the proposers pre-empt each other for 10 s and nothing is chosen."""
    sim, events = run(preset("paxos-duel"))
    m = sim.protocol.metrics()
    assert m["chosen_slots"] == 0 and m["value_chosen"] is None
    assert m["ballots"] > 200 and m["preemptions"] > 200
    # both proposers keep at it to the end: each starts a ballot in the last second
    late = {e["node"] for e in events if e["type"] == "state" and e["t"] > 9000
            and e["changes"].get("phase") == "prepare"}
    assert late == {"p1", "p2"}
    assert all(not n.learned for n in (sim.nodes["l1"], sim.nodes["l2"]))


def test_backoff_ends_the_duel():
    """Same network with randomised backoff: a value is chosen quickly."""
    sim, _ = run(preset("paxos-duel-backoff"))
    assert sim.protocol.chosen.get(1) in ("A", "B")
    assert sim.protocol.chosen_at[1] < 1000
    assert sim.protocol.metrics()["ballots"] < 20


@pytest.mark.parametrize("seed", range(1, 16))
def test_backoff_ends_the_duel_for_any_seed(seed):
    """Over many seeds (so many backoff draws), backoff always ends the duel within two seconds."""
    sc = preset("paxos-duel-backoff")
    sc["seed"] = seed
    sc["duration"] = 2000
    sim, _ = run(sc)
    assert 1 in sim.protocol.chosen, seed


def test_a_distinguished_proposer_ends_the_duel():
    """Multi-Paxos on the duel network, backoff still off: one leader, one phase 1, every value chosen."""
    sim, events = run(preset("paxos-duel-leader"))
    chosen = sim.protocol.chosen
    assert sorted(chosen.values()) == ["A", "B", "C", "D"] and sorted(chosen) == [1, 2, 3, 4]
    assert sim.protocol.metrics()["preemptions"] == 0
    prepares = [e for e in events if e["type"] == "send" and e["msg"]["kind"] == "prepare"]
    assert len({tuple(e["msg"]["ballot"]) for e in prepares}) == 1
    forwards = [e for e in events if e["type"] == "send" and e["msg"]["kind"] == "forward"]
    assert len(forwards) == 2  # the follower's two values went to the leader


# --- Multi-Paxos --------------------------------------------------------------------------------
def test_multi_paxos_runs_phase_one_once_and_fills_a_log():
    """A stable leader: ballots stay at the first election, the log fills in order on every learner."""
    sim, events = run(preset("multipaxos-log"))
    leader = sim.protocol.resolve("leader")
    assert leader is not None
    n = len(sim.protocol.chosen)
    assert n >= 12
    assert sim.protocol.chosen == {i: f"x{i}" for i in range(1, n + 1)}
    for nid in ("l1", "l2"):
        assert sim.nodes[nid].learned[:n] == [f"x{i}" for i in range(1, n + 1)]
    prepares_after = [e for e in events if e["type"] == "send" and e["msg"]["kind"] == "prepare" and e["t"] > 1000]
    assert prepares_after == []
    lat = sim.protocol.metrics()["choose_latency_ms"]
    assert lat["count"] == n and lat["max"] <= 60  # one round trip at 10..30 ms each way


def test_failover_reproposes_accepted_values():
    """The leader crashes right after sending x; the new leader finds x in the promises and proposes it again."""
    sim, events = run(FAILOVER)
    assert sim.protocol.chosen[1] == "x"
    new_leader = sim.protocol.resolve("leader")
    old = next(e["node"] for e in events if e["type"] == "intervention" and e["action"] == "crash")
    assert new_leader is not None and new_leader != old
    reproposed = [e for e in events if e["type"] == "send" and e["from"] == new_leader
                  and e["msg"]["kind"] == "accept" and e["msg"]["slot"] == 1]
    assert reproposed and {e["msg"]["value"] for e in reproposed} == {"x"}
    assert sim.nodes[new_leader].chosen[0] == "x" and sim.violations == []


def test_follower_forwards_and_leader_selector_resolves():
    """propose at a follower is forwarded to the leader; `leader` names the proposer leading."""
    sim = Simulation(paxos(params={"multi": True, "client_interval": 0}))
    sim.advance(1000)
    leader = sim.protocol.resolve("leader")
    follower = next(p for p in ("p1", "p2") if p != leader)
    iv = sim.intervene({"action": "propose", "node": follower, "value": "v"})
    assert iv["node"] == follower
    ev = [e for e in sim.pending if e["type"] == "intervention"][-1]
    assert ev["result"] == "forwarded" and ev["leader_hint"] == leader
    sim.intervene({"action": "propose", "node": "leader", "value": "w"})
    ev = [e for e in sim.pending if e["type"] == "intervention"][-1]
    assert ev["node"] == leader and ev["selector"] == {"node": "leader"} and ev["result"] == "proposing"
    sim.advance(1500)
    assert sorted(sim.protocol.chosen.values()) == ["v", "w"]


def test_gaps_are_filled_with_noops():
    """A new leader fills slots nobody in its quorum accepted anything in with no-ops, below accepted ones."""
    sc = paxos(params={"multi": True, "client_interval": 0}, duration=3000, interventions=[
        # the leader's accepts for slot 1 reach nobody; slot 2 reaches a1..a3 (chosen)
        {"at": 1000, "action": "partition", "groups": [["leader", "l1", "l2"]]},
        {"at": 1000, "action": "propose", "node": "leader", "value": "lost"},
        {"at": 1001, "action": "heal_all"},
        {"at": 1001, "action": "propose", "node": "leader", "value": "kept"},
        {"at": 1003, "action": "crash", "node": "leader"},
    ])
    sim, _ = run(sc)
    assert sim.protocol.chosen == {1: NOOP, 2: "kept"}
    assert sim.violations == []


# --- safety under faults ------------------------------------------------------------------------
def fault_schedule(rng, ids, proposers, duration, crashes=True, targets=None):
    """A random fault schedule: crash-restarts (and crashes) of any node, partitions, cuts, lossy links, and
    proposals from random proposers. Everything heals and restarts 1.5 s before the end."""
    ivs = []
    kinds = ["crash_restart", "crash_restart", "crash", "partition", "heal_all", "cut", "set_link",
             "propose", "propose", "propose"]
    if not crashes:
        kinds = [k for k in kinds if "crash" not in k]
    end = duration - 1500
    for _ in range(rng.randint(4, 18)):
        at = rng.randint(0, end)
        kind = rng.choice(kinds)
        if kind == "crash_restart":
            nid = rng.choice(targets or ids)
            ivs.append({"at": at, "action": "crash", "node": nid})
            ivs.append({"at": min(end, at + rng.randint(1, 600)), "action": "restart", "node": nid})
        elif kind == "crash":
            ivs.append({"at": at, "action": "crash", "node": rng.choice(ids)})
        elif kind == "partition":
            shuffled = ids[:]
            rng.shuffle(shuffled)
            k = rng.randint(1, len(ids) - 1)
            ivs.append({"at": at, "action": "partition", "groups": [shuffled[:k]]})
        elif kind == "heal_all":
            ivs.append({"at": at, "action": "heal_all"})
        elif kind == "cut":
            a, b = rng.sample(ids, 2)
            ivs.append({"at": at, "action": "cut", "a": a, "b": b})
        elif kind == "set_link":
            a, b = rng.sample(ids, 2)
            ivs.append({"at": at, "action": "set_link", "a": a, "b": b, "loss": rng.choice([0.0, 0.3, 0.9])})
        else:
            ivs.append({"at": at, "action": "propose", "node": rng.choice(proposers),
                        "value": rng.choice("ABCDEFGH")})
    for nid in ids:  # everybody is back and the network whole for the last 1.5 s
        ivs.append({"at": end, "action": "restart", "node": nid})
    ivs.append({"at": end, "action": "heal_all"})
    return ivs


def scenario_from(seed, multi, mutations=(), duration=4000, crashes=True, crash_acceptors=False):
    rng = random.Random(seed)
    nodes = rng.choice([3, 5])
    params = {"multi": multi, "proposers": rng.choice([2, 3]), "learners": 2,
              "backoff": rng.random() < 0.8, "client_interval": rng.choice([0, 100, 300])}
    ids = Paxos.scenario_node_ids(nodes, params)
    proposers = [i for i in ids if i.startswith("p")]
    return paxos(seed=seed, nodes=nodes, duration=duration, params=params, mutations=list(mutations),
                 network={"latency": rng.choice([[5, 15], [10, 30], [1, 60]]),
                          "loss": rng.choice([0.0, 0.05, 0.2]), "duplicate": rng.choice([0.0, 0.1, 0.3])},
                 interventions=fault_schedule(rng, ids, proposers, duration, crashes,
                                              [i for i in ids if i[0] == "a"] if crash_acceptors else None))


@FUZZ
@given(seed=st.integers(0, 2**31), multi=st.booleans(), crash_acceptors=st.booleans())
def test_invariants_hold_under_random_faults(seed, multi, crash_acceptors):
    """Crashes, restarts, partitions, cuts, loss and duplication never break safety (no mutation)."""
    sim, events = run(scenario_from(seed, multi, crash_acceptors=crash_acceptors))
    assert sim.violations == [], sim.violations
    # and the checker really looked: whatever learners learned was chosen
    for slot, value in sim.protocol.learned.items():
        assert sim.protocol.chosen[slot] == value


@FUZZ
@given(seed=st.integers(0, 2**31), multi=st.booleans(), t0=st.integers(0, 3000), t1=st.integers(0, 4000))
def test_snapshot_plus_events_is_the_later_snapshot(seed, multi, t0, t1):
    """snapshot(t0) + events(t0..t1) == snapshot(t1), also across crashes and restarts."""
    t0, t1 = min(t0, t1), max(t0, t1)
    sim = Simulation(scenario_from(seed, multi))
    sim.advance(t0)
    sim.drain()
    snap0 = copy.deepcopy(sim.snapshot())
    sim.advance(t1)
    events = sim.drain()
    assert replay(snap0, events, until=sim.now) == sim.snapshot()


@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31), multi=st.booleans())
def test_deterministic_sliced_and_checkpointed(seed, multi):
    """Same scenario -> same trace, whether run at once, in 7 ms slices, or from a deepcopy checkpoint."""
    sc = scenario_from(seed, multi, duration=3000)
    _, whole = run(sc)
    sim = Simulation(sc)
    sliced = []
    for t in range(7, 3000 + 7, 7):
        sim.advance(min(t, 3000))
        sliced += sim.drain()
    assert trace_hash(sliced) == trace_hash(whole)
    sim = Simulation(sc)
    sim.advance(1500)
    head = sim.drain()
    twin = copy.deepcopy(sim)
    assert trace_hash(head + sim.run()) == trace_hash(head + twin.run()) == trace_hash(whole)


def test_trace_does_not_depend_on_hash_seed():
    """The trace hash is the same in fresh interpreters with different PYTHONHASHSEED."""
    code = ("import json,sys; from simulator import run_scenario; from simulator.protocols.paxos import FAILOVER;"
            "sc=dict(FAILOVER, params=dict(FAILOVER['params'], client_interval=100), duration=3000);"
            "print(run_scenario(sc)[1]['trace_hash'])")
    hashes = set()
    for hs in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hs, PYTHONPATH=ROOT)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        hashes.add(out.stdout.strip())
    assert len(hashes) == 1


# --- mutations are caught -----------------------------------------------------------------------
def find_counterexample(mutation, multi, tries):
    for seed in range(tries):
        # forgetting matters only when acceptors restart: aim the crash-restarts at them
        sc = scenario_from(seed, multi, mutations=[mutation], crash_acceptors=mutation == "forget_promise_on_restart")
        sim, _ = run(sc)
        if sim.violations:
            return sc, sim
    return None, None


@pytest.mark.parametrize("mutation,multi", [
    ("forget_promise_on_restart", False),
    ("forget_promise_on_restart", True),
    ("ignore_accepted_values", False),
    ("ignore_accepted_values", True),
])
def test_random_search_finds_each_mutation(mutation, multi):
    """A seed and random fault schedule exist where the checker flags the mutation; the same run without
    the mutation is clean (so the mutation, not the faults, broke safety)."""
    sc, sim = find_counterexample(mutation, multi, tries=400 if LONG else 150)
    assert sc is not None, f"no counterexample for {mutation} (multi={multi})"
    assert set(invariants_broken(sim)) & {"one_value_per_slot", "learners_agree", "promise_respected"}
    clean, _ = run(dict(sc, mutations=[]))
    assert clean.violations == []


def test_forget_promise_preset_chooses_two_values():
    """The preset's schedule: with the mutation two values are chosen; without it only A."""
    sc = preset("paxos-forget-promise")
    sim, _ = run(sc)
    assert "one_value_per_slot" in invariants_broken(sim)
    assert sim.protocol.chosen_vals[1] == {"A": True, "B": True}
    clean, _ = run(dict(sc, mutations=[]))
    assert clean.violations == [] and clean.protocol.chosen_vals[1] == {"A": True}


def test_forgotten_promise_lets_a_lower_ballot_in():
    """An acceptor that forgets its promise accepts a ballot below it: promise_respected catches it."""
    sc = paxos(params={"auto_propose": False}, mutations=["forget_promise_on_restart"], duration=1000,
               network={"latency": [10, 10]}, interventions=[
                   {"at": 0, "action": "propose", "node": "p1", "value": "A"},  # prepares 1.1
                   {"at": 5, "action": "propose", "node": "p2", "value": "B"},  # 1.2 promised at t=15
                   {"at": 17, "action": "crash", "node": "a1"}, {"at": 17, "action": "crash", "node": "a2"},
                   {"at": 17, "action": "crash", "node": "a3"},
                   {"at": 25, "action": "restart", "node": "a1"}, {"at": 25, "action": "restart", "node": "a2"},
                   {"at": 25, "action": "restart", "node": "a3"},
               ])
    sim, _ = run(sc)
    # p1's accept(1.1) lands at t=30 on acceptors that promised 1.2 and then forgot it
    assert invariants_broken(sim) == ["learners_agree", "one_value_per_slot", "promise_respected"]
    clean, _ = run(dict(sc, mutations=[]))
    assert clean.violations == []


def test_ignore_accepted_values_breaks_failover():
    """The fail-over preset with the mutation: the new leader writes a no-op over x, and both invariants fire."""
    sim, _ = run(dict(FAILOVER, mutations=["ignore_accepted_values"]))
    assert invariants_broken(sim) == ["learners_agree", "one_value_per_slot"]
    assert sim.protocol.chosen_vals[1] == {"x": True, NOOP: True}
    # each distinct violation is reported once
    assert len(sim.violations) == 2


# --- figures, presets, examples -----------------------------------------------------------------
def test_message_metrics_match_the_trace():
    sim, events = run(preset("paxos-duel-backoff"))
    sends = [e for e in events if e["type"] == "send"]
    m = sim.protocol.metrics()
    assert m["messages"] == len(sends)
    for kind, n in m["messages_by_kind"].items():
        assert n == sum(1 for e in sends if e["msg"]["kind"] == kind)
    assert m["time_to_choose_ms"] == sim.protocol.chosen_at[1]  # first proposal at t=0


@pytest.mark.parametrize("p", Paxos.presets(), ids=lambda p: p["slug"])
def test_presets_run_and_only_mutants_break(p):
    assert p["slug"] and p["title"] and len(p["narrative"]) > 40
    events, summary = run_scenario(p["scenario"])
    assert events
    if p["scenario"].get("mutations"):
        assert summary["violations"]
    else:
        assert summary["violations"] == []


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "docs", "examples", "paxos-*.json"))),
                         ids=os.path.basename)
def test_examples_run_from_the_cli(path):
    out = subprocess.run([sys.executable, "-m", "simulator", "run", path, "--quiet"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    with open(path) as fh:
        sc = json.load(fh)
    assert summary["type"] == "summary"
    assert bool(summary["violations"]) == bool(sc.get("mutations"))


def test_examples_exist():
    assert len(glob.glob(os.path.join(ROOT, "docs", "examples", "paxos-*.json"))) >= 3
