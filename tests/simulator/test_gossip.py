"""Gossip and SWIM: spread, residue, failure detection, refutation, invariants, mutations, scale.

Fuzzing is bounded (a few dozen Hypothesis examples per property); set PLAYGROUND_LONG=1 for more.
"""

import glob
import json
import math
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import InterventionError, ScenarioError, Simulation, run_scenario
from simulator.protocols import get_protocol
from simulator.protocols.gossip import Gossip, retransmit_limit, suspicion_timeout
from simulator.trace import canonical, trace_hash
from simulator.view import replay

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LONG = os.environ.get("PLAYGROUND_LONG") == "1"
FUZZ = settings(max_examples=200 if LONG else 20, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def gossip(**kw):
    sc = {"protocol": "gossip", "seed": 1, "nodes": 16, "duration": 5000}
    params = kw.pop("params", {})
    sc.update(kw)
    sc["params"] = params
    return sc


def preset(slug):
    return next(p["scenario"] for p in Gossip.presets() if p["slug"] == slug)


def violations(summary):
    return sorted({v["invariant"] for v in summary["violations"]})


# --- registry and input checks ------------------------------------------------------------------
def test_registered_with_bounds_that_allow_ten_thousand_nodes():
    """The protocol is listed, with every parameter bounded and 10,000 nodes allowed."""
    proto = get_protocol("gossip")
    d = proto.describe()
    assert d["nodes"]["max"] == 10_000 and d["nodes"]["default"] == 16
    for name, p in d["params"].items():
        assert p["kind"] in ("choice", "bool") or (p["min"] is not None and p["max"] is not None), name
    assert set(d["params"]["mode"]["choices"]) == {"rumor", "anti_entropy", "swim"}
    assert set(d["params"]["style"]["choices"]) == {"push", "pull", "push_pull"}
    assert "rumor" in d["actions"]
    assert set(d["mutations"]) == {"no_version_check", "forget_on_crash", "no_refutation"}


@pytest.mark.parametrize("bad,field", [
    ({"nodes": 10_001}, "nodes"),
    ({"nodes": 1}, "nodes"),
    ({"params": {"mode": "flood"}}, "params.mode"),
    ({"params": {"fanout": 0}}, "params.fanout"),
    ({"params": {"probe_timeout": 1000, "probe_interval": 1000, "mode": "swim"}}, "params.probe_timeout"),
    ({"params": {"stop_k": 0}}, "params.stop_k"),
    ({"mutations": ["no_gossip"]}, "mutations[0]"),
])
def test_bad_scenarios_are_rejected_naming_the_field(bad, field):
    with pytest.raises(ScenarioError) as err:
        Simulation(gossip(**bad))
    assert err.value.field == field
    assert field.split(".")[-1].split("[")[0] in err.value.message


def test_bad_rumor_interventions_change_nothing():
    """`rumor` in SWIM mode, at a crashed node, or with a bad id: a typed error, and the trace is unaffected."""
    sim = Simulation(gossip(params={"mode": "swim"}))
    sim.advance(500)
    with pytest.raises(InterventionError) as err:
        sim.intervene({"action": "rumor", "node": "n2"})
    assert err.value.code == "invalid_mode"

    def run(bad):
        sim = Simulation(gossip(duration=3000))
        sim.advance(1000)
        events = sim.drain()
        sim.intervene({"action": "crash", "node": "n3"})
        events += sim.drain()
        for iv in bad:
            with pytest.raises(InterventionError) as err:
                sim.intervene(iv)
            assert err.value.field in ("node", "id", "intervention.id", "intervention.node")
        sim.advance()
        return trace_hash(events + sim.drain())

    clean = run([])
    assert run([{"action": "rumor", "node": "n3"},
                {"action": "rumor", "node": "n2", "id": "has space"},
                {"action": "rumor", "node": "n99"},
                {"action": "rumor", "node": "n2", "id": "x" * 25}]) == clean


def test_formulas_match_memberlist():
    """Suspicion timeout 4 x probe x max(1, log10 N); retransmits 4 x ceil(log10(N + 1))."""
    assert suspicion_timeout(5, 1000, 4) == 4000
    assert suspicion_timeout(16, 1000, 4) == 4816
    assert suspicion_timeout(1000, 1000, 4) == 12000
    assert retransmit_limit(16, 4) == 8
    assert retransmit_limit(1000, 4) == 16


# --- determinism ---------------------------------------------------------------------------------
@FUZZ
@given(seed=st.integers(0, 2**32), mode=st.sampled_from(["rumor", "anti_entropy", "swim"]),
       style=st.sampled_from(["push", "pull", "push_pull"]), n=st.integers(2, 40),
       loss=st.sampled_from([0.0, 0.2]))
def test_same_seed_same_trace(seed, mode, style, n, loss):
    sc = gossip(seed=seed, nodes=n, duration=4000, network={"loss": loss},
                params={"mode": mode, "style": style, "fanout": min(3, n - 1)},
                interventions=[{"at": 1500, "action": "crash", "node": "n2"}])
    a, sa = run_scenario(sc)
    b, sb = run_scenario(sc)
    assert sa["trace_hash"] == sb["trace_hash"]
    assert canonical(sa["metrics"]) == canonical(sb["metrics"])


@pytest.mark.parametrize("slug", ["gossip-residue", "gossip-swim-pause"])
def test_trace_does_not_depend_on_the_hash_seed(slug, tmp_path):
    """Two interpreters with different PYTHONHASHSEED print the same trace hash."""
    path = tmp_path / "sc.json"
    path.write_text(json.dumps(preset(slug)))
    hashes = []
    for hs in ("1", "4242"):
        out = subprocess.run([sys.executable, "-m", "simulator", "run", str(path), "--quiet"], cwd=ROOT,
                             env=dict(os.environ, PYTHONHASHSEED=hs), capture_output=True, text=True, check=True)
        hashes.append(json.loads(out.stdout.strip().splitlines()[-1])["trace_hash"])
    assert hashes[0] == hashes[1]


# --- spread --------------------------------------------------------------------------------------
@FUZZ
@given(seed=st.integers(0, 2**32), n=st.integers(2, 200), fanout=st.integers(1, 3))
def test_push_pull_anti_entropy_reaches_everyone(seed, n, fanout):
    """Without loss every node learns the rumour, in about log N rounds, and the series climbs to 1."""
    _, s = run_scenario(gossip(seed=seed, nodes=n, duration=20_000,
                               params={"mode": "anti_entropy", "style": "push_pull", "fanout": min(fanout, n - 1)}))
    m = s["metrics"]
    assert m["residue"] == 0 and m["informed_fraction"] == 1.0
    assert all(v["store"].get("r1") == [1, "n1", "hello"] for v in s["final"].values())
    assert m["rounds_to_full_spread"] <= 3 * math.log2(n) + 6
    series = m["rumors"][0]["series"]
    assert series[-1][1] == 1.0
    assert all(a[1] <= b[1] and a[0] < b[0] for a, b in zip(series, series[1:]))
    assert violations(s) == []


def test_anti_entropy_reaches_every_live_node_despite_loss_and_crashes():
    """Anti-entropy keeps exchanging: 30% loss and two crashed nodes only slow it down."""
    for style in ("push", "pull", "push_pull"):
        sc = gossip(nodes=40, duration=30_000, network={"loss": 0.3}, params={"mode": "anti_entropy", "style": style},
                    interventions=[{"at": 0, "action": "crash", "node": "n7"},
                                   {"at": 0, "action": "crash", "node": "n9"}])
        _, s = run_scenario(sc)
        m = s["metrics"]
        assert m["residue"] == 0, style
        assert m["full_spread_ms"] is not None, style
        assert s["final"]["n7"]["store"] == {} and s["final"]["n9"]["store"] == {}


def test_push_pull_beats_pull_beats_push():
    """Rounds to full spread, anti-entropy, 256 nodes, averaged over seeds: push-pull < pull < push."""
    rounds = {}
    for style in ("push", "pull", "push_pull"):
        r = [run_scenario(gossip(seed=seed, nodes=256, duration=8000,
                                 params={"mode": "anti_entropy", "style": style}))[1]["metrics"]
             ["rounds_to_full_spread"] for seed in (1, 2, 3, 4)]
        rounds[style] = sum(r) / len(r)
    assert rounds["push_pull"] < rounds["pull"] < rounds["push"], rounds


def test_rumor_mongering_leaves_the_residue_the_theory_predicts():
    """Push, feedback, coin with k = 1: residue s solves s = exp(-(k+1)(1-s)) (about 20%); anti-entropy: 0."""
    k = 1
    s_theory = 0.5
    for _ in range(200):
        s_theory = math.exp(-(k + 1) * (1 - s_theory))
    fractions = []
    for seed in (1, 2, 3):
        _, s = run_scenario(gossip(seed=seed, nodes=1000, duration=10_000,
                                   params={"mode": "rumor", "style": "push", "stop": "coin", "stop_k": k}))
        m = s["metrics"]
        assert m["residue"] > 0
        assert m["messages_by_kind"]["push"] < 3 * 1000  # it dies out: a few messages per node
        fractions.append(m["rumors"][0]["residue_fraction"])
        assert violations(s) == []
    mean = sum(fractions) / len(fractions)
    assert abs(mean - s_theory) < 0.05, (mean, s_theory)
    _, ae = run_scenario(gossip(seed=1, nodes=1000, duration=10_000, params={"mode": "anti_entropy",
                                                                               "style": "push"}))
    assert ae["metrics"]["residue"] == 0


def test_a_larger_k_leaves_less_residue_and_costs_more_messages():
    res, msgs = [], []
    for k in (1, 2, 4):
        _, s = run_scenario(gossip(seed=5, nodes=500, duration=10_000,
                                   params={"style": "push", "stop": "counter", "stop_k": k}))
        res.append(s["metrics"]["residue"])
        msgs.append(s["metrics"]["messages"])
    assert res[0] > res[1] >= res[2] and msgs[0] < msgs[1] < msgs[2], (res, msgs)


def test_blind_stop_rule_runs_without_feedback_messages():
    _, s = run_scenario(gossip(nodes=100, params={"style": "push", "feedback": False, "stop_k": 3}))
    assert "feedback" not in s["metrics"]["messages_by_kind"]
    assert all(v["hot"] == [] for v in s["final"].values())  # every node lost interest eventually


def test_a_newer_version_replaces_the_old_one_everywhere():
    sc = gossip(seed=3, duration=8000, params={"mode": "anti_entropy", "style": "push_pull"},
                interventions=[{"at": 2000, "action": "rumor", "node": "n5", "id": "r1", "value": "new"},
                               {"at": 2500, "action": "rumor", "node": "n9"}])
    events, s = run_scenario(sc)
    started = [e for e in events if e["type"] == "intervention"]
    assert started[0]["version"] == 2 and started[1]["id"] == "r2" and started[1]["value"] == "v1"
    for v in s["final"].values():
        assert v["store"] == {"r1": [2, "n5", "new"], "r2": [1, "n9", "v1"]}
    assert [r["residue"] for r in s["metrics"]["rumors"]] == [0, 0, 0]
    assert violations(s) == []


# --- SWIM ----------------------------------------------------------------------------------------
def test_swim_detects_a_crashed_node_within_the_expected_time():
    """Dead no sooner than probe timeout + suspicion timeout after the crash, and within a few periods more."""
    probe, timeout = 1000, 500
    for seed in range(1, 7):
        sc = gossip(seed=seed, nodes=16, duration=20_000, params={"mode": "swim", "fanout": 3},
                    interventions=[{"at": 3000, "action": "crash", "node": "n5"}])
        _, s = run_scenario(sc)
        m = s["metrics"]
        susp = suspicion_timeout(16, probe, 4)
        assert m["suspicion_timeout_ms"] == susp
        det = m["detections"][0]
        assert timeout + susp <= det["first_dead_ms"] <= susp + 6 * probe, (seed, det)
        assert det["all_dead_ms"] is not None and det["all_dead_ms"] <= det["first_dead_ms"] + 2 * probe
        assert m["false_suspicions"] == 0 and m["false_deaths"] == 0
        for nid, v in s["final"].items():
            if nid != "n5":
                assert ["n5", 0] in v["dead"]
        assert violations(s) == []


def test_swim_paused_node_is_suspected_then_refutes():
    _, s = run_scenario(preset("gossip-swim-pause"))
    m = s["metrics"]
    assert m["false_suspicions"] >= 1 and m["refutations"] >= 1 and m["deaths"] == 0
    assert s["final"]["n7"]["incarnation"] == 1
    assert all(v["suspects"] == [] and v["dead"] == [] for v in s["final"].values())
    assert violations(s) == []


def test_swim_restarted_node_rejoins_with_a_higher_incarnation():
    sc = gossip(duration=25_000, params={"mode": "swim", "fanout": 3},
                interventions=[{"at": 2000, "action": "crash", "node": "n4"},
                               {"at": 12_000, "action": "restart", "node": "n4"}])
    events, s = run_scenario(sc)
    dead_before = [e for e in events if e["type"] == "state" and ["n4", 0] in e["changes"].get("dead", [])]
    assert dead_before and all(e["t"] < 12_000 for e in dead_before)
    assert s["final"]["n4"]["incarnation"] == 1
    assert all(v["dead"] == [] and v["suspects"] == [] for v in s["final"].values())
    assert violations(s) == []


def test_indirect_probes_cut_false_suspicions_under_loss():
    """With 10% loss, ping-req through 3 members suspects far fewer live nodes than direct pings alone."""
    counts = {}
    for k in (0, 3):
        total = 0
        for seed in (1, 2):
            _, s = run_scenario(gossip(seed=seed, nodes=16, duration=30_000, network={"loss": 0.1},
                                       params={"mode": "swim", "fanout": 3, "indirect_checks": k}))
            total += s["metrics"]["false_suspicions"]
            assert violations(s) == []
        counts[k] = total
    assert counts[3] * 3 < counts[0], counts


# --- mutations are caught ------------------------------------------------------------------------
@pytest.mark.parametrize("slug,invariant", [
    ("gossip-stale-overwrite", "versions_monotonic"),
    ("gossip-swim-no-refutation", "refute_before_death"),
])
def test_mutation_presets_are_caught_and_clean_without_the_mutation(slug, invariant):
    sc = preset(slug)
    _, s = run_scenario(sc)
    assert invariant in violations(s)
    _, clean = run_scenario(dict(sc, mutations=[]))
    assert violations(clean) == []


@pytest.mark.parametrize("mode", ["rumor", "anti_entropy"])
def test_forget_on_crash_is_caught(mode):
    sc = gossip(params={"mode": mode}, interventions=[{"at": 2000, "action": "crash", "node": "n1"},
                                                      {"at": 2500, "action": "restart", "node": "n1"}])
    _, clean = run_scenario(sc)
    assert violations(clean) == [] and clean["final"]["n1"]["store"]
    _, s = run_scenario(dict(sc, mutations=["forget_on_crash"]))
    assert violations(s) == ["informed_never_reverts"]


# --- invariants hold under random faults ---------------------------------------------------------
def fault_schedules(n):
    node = st.integers(1, n).map(lambda i: f"n{i}")
    fault = st.one_of(
        st.tuples(st.just("crash"), node), st.tuples(st.just("restart"), node),
        st.tuples(st.just("pause"), node), st.tuples(st.just("resume"), node),
        st.tuples(st.just("cut"), node, node), st.tuples(st.just("heal_all")),
        st.tuples(st.just("set_link"), node, node, st.sampled_from([0.0, 0.5, 1.0])),
        st.tuples(st.just("rumor"), node, st.sampled_from(["", "r1", "r2"])),
    )
    return st.lists(st.tuples(st.integers(0, 9000), fault), max_size=14)


def to_interventions(schedule):
    out = []
    for at, f in schedule:
        kind = f[0]
        if kind in ("crash", "restart", "pause", "resume"):
            out.append({"at": at, "action": kind, "node": f[1]})
        elif kind == "cut" and f[1] != f[2]:
            out.append({"at": at, "action": "cut", "a": f[1], "b": f[2]})
        elif kind == "heal_all":
            out.append({"at": at, "action": "heal_all"})
        elif kind == "set_link" and f[1] != f[2]:
            out.append({"at": at, "action": "set_link", "a": f[1], "b": f[2], "loss": f[3]})
        elif kind == "rumor":
            out.append({"at": at, "action": "rumor", "node": f[1], "id": f[2]})
    return out


@FUZZ
@given(data=st.data(), seed=st.integers(0, 2**32), mode=st.sampled_from(["rumor", "anti_entropy", "swim"]),
       style=st.sampled_from(["push", "pull", "push_pull"]), stop=st.sampled_from(["coin", "counter"]),
       feedback=st.booleans(), loss=st.sampled_from([0.0, 0.1, 0.3]), duplicate=st.sampled_from([0.0, 0.1]))
def test_invariants_hold_under_random_faults(data, seed, mode, style, stop, feedback, loss, duplicate):
    n = data.draw(st.integers(3, 24))
    ivs = to_interventions(data.draw(fault_schedules(n)))
    if mode == "swim":
        ivs = [iv for iv in ivs if iv["action"] != "rumor"]
    sc = gossip(seed=seed, nodes=n, duration=12_000, network={"loss": loss, "duplicate": duplicate},
                params={"mode": mode, "style": style, "stop": stop, "feedback": feedback,
                        "fanout": data.draw(st.integers(1, min(3, n - 1)))},
                interventions=ivs)
    _, s = run_scenario(sc)
    assert violations(s) == [], s["violations"][:3]


# --- snapshot + events == snapshot -----------------------------------------------------------------
@pytest.mark.parametrize("slug", ["gossip-residue", "gossip-push-pull", "gossip-swim-pause", "gossip-swim-crash",
                                  "gossip-stale-overwrite"])
def test_snapshot_plus_events_equals_snapshot(slug):
    sim = Simulation(preset(slug))
    for t0, t1 in ((0, 900), (2500, 4200), (6000, 8000)):
        sim.advance(t0)
        sim.drain()
        before = json.loads(canonical(sim.snapshot()))
        sim.advance(t1)
        events = json.loads(json.dumps(sim.drain()))
        after = json.loads(canonical(sim.snapshot()))
        assert canonical(replay(before, events, until=t1)) == canonical(after)


def test_live_rumor_is_recorded_and_replays_exactly():
    sim = Simulation(gossip(duration=4000))
    sim.advance(1234)
    events = sim.drain()
    iv = sim.intervene({"action": "rumor", "node": "n6", "value": "live"})
    assert iv["at"] == 1234
    sim.advance()
    events += sim.drain()
    replayed, _ = run_scenario(sim.recorded_scenario())
    assert trace_hash(replayed) == trace_hash(events)


# --- scale ---------------------------------------------------------------------------------------
def test_ten_thousand_nodes_run_without_per_node_peer_lists():
    """10,000 nodes: built and run for a few rounds; nobody materialises an N-1 peer list."""
    sim = Simulation(gossip(nodes=10_000, duration=600, params={"style": "push_pull"}))
    sim.advance()
    events = sim.drain()
    assert len(sim.peers) == 10_000 and not sim.peers._cache
    states = [e for e in events if e["type"] == "state"]
    assert len(states) <= 3 * sum(1 for v in sim.snapshot()["nodes"].values() if v["store"]) + 10
    assert sim.protocol.metrics()["rumors"][0]["informed"] > 1


def test_swim_runs_at_two_thousand_nodes():
    sim = Simulation(gossip(nodes=2000, duration=3000, params={"mode": "swim"},
                            interventions=[{"at": 100, "action": "crash", "node": "n77"}]))
    sim.advance()
    assert max(len(n.members) for n in sim.nodes.values()) < 50  # only members heard about are stored


# --- examples and presets -------------------------------------------------------------------------
def test_examples_run_and_match_their_mutations():
    paths = sorted(glob.glob(os.path.join(ROOT, "docs", "examples", "gossip-*.json")))
    assert len(paths) >= 4
    for path in paths:
        with open(path) as fh:
            sc = json.load(fh)
        _, s = run_scenario(sc)
        if sc.get("mutations"):
            assert violations(s), path
        else:
            assert violations(s) == [], path


def test_presets_teach_what_they_say():
    got = {p["slug"]: run_scenario(p["scenario"])[1] for p in Gossip.presets()
           if p["slug"] in ("gossip-push", "gossip-pull", "gossip-push-pull", "gossip-residue",
                            "gossip-swim-crash")}
    r = {k: got[k]["metrics"]["rounds_to_full_spread"] for k in ("gossip-push", "gossip-pull", "gossip-push-pull")}
    assert r["gossip-push-pull"] < r["gossip-pull"] < r["gossip-push"]
    assert got["gossip-residue"]["metrics"]["residue"] > 0
    assert got["gossip-swim-crash"]["metrics"]["detection_ms"] is not None


@pytest.mark.parametrize("mode", ["rumor", "anti_entropy", "swim"])
def test_a_deep_copy_is_an_exact_checkpoint(mode):
    """Time travel seeks from copy.deepcopy(sim): the copy and the original go on identically."""
    import copy

    sim = Simulation(gossip(seed=2, nodes=30, duration=8000, params={"mode": mode, "fanout": 2},
                            interventions=[{"at": 3000, "action": "crash", "node": "n3"},
                                           {"at": 5000, "action": "restart", "node": "n3"}]))
    sim.advance(2500)
    sim.drain()
    twin = copy.deepcopy(sim)
    sim.advance()
    twin.advance()
    assert trace_hash(sim.drain()) == trace_hash(twin.drain())
    assert canonical(sim.protocol.metrics()) == canonical(twin.protocol.metrics())
