"""Kafka consumer-group rebalancing: Kafka's own assignor examples and assignor properties; the lessons (eager
stops the world, cooperative only moves what must move, static members come back without a rebalance, a
stalled consumer blocks an eager group but not a KIP-848 one, zombies' commits are fenced, duplicates after a
rebalance); invariants under generated joins, leaves, crashes and stalls in every mode; each teaching mutation
caught; determinism; snapshot + events == snapshot.

Fuzzing is bounded (a few dozen Hypothesis examples per property); set PLAYGROUND_LONG=1 for more.
"""

import copy
import glob
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import InterventionError, ScenarioError, Simulation
from simulator.protocols import get_protocol, protocol_names
from simulator.protocols.kafka import (
    Kafka, all_partitions, client_assign, range848_assign, range_assign, roundrobin_assign,
    sticky_assign, uniform_assign, valid_claims,
)
from simulator.trace import canonical, trace_hash
from simulator.view import replay

from simhelpers import consumer_intervention

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LONG = os.environ.get("PLAYGROUND_LONG") == "1"
FUZZ = settings(max_examples=300 if LONG else 25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
PROPS = settings(max_examples=1000 if LONG else 150, deadline=None, derandomize=True)
PY = sys.executable

MODES = {  # name -> params
    "eager-range": {"assignor": "range"},
    "eager-roundrobin": {"assignor": "roundrobin"},
    "eager-sticky": {"assignor": "sticky"},
    "cooperative": {"assignor": "cooperative-sticky"},
    "kip848-uniform": {"group_protocol": "consumer", "assignor": "uniform"},
    "kip848-range": {"group_protocol": "consumer", "assignor": "range"},
}


def kafka(**kw):
    sc = {"protocol": "kafka", "seed": 1, "duration": 10000, "nodes": 4,
          "params": {"partitions": 6, "consumers": 3}}
    params = kw.pop("params", {})
    sc.update(kw)
    sc["params"] = dict(sc["params"], **params)
    return sc


def preset(slug):
    return copy.deepcopy(next(p["scenario"] for p in Kafka.presets() if p["slug"] == slug))


def run(sc, until=None):
    sim = Simulation(sc)
    sim.advance(until)
    sim.drain()
    return sim


def invariants_hit(sim):
    return sorted({v["invariant"] for v in sim.violations})


def members(*ids, owned=None, gens=None, topics=("t0",), static=None):
    out = []
    for i, mid in enumerate(ids):
        out.append({"member_id": mid, "instance_id": (static or {}).get(mid), "topics": list(topics),
                    "owned": list((owned or {}).get(mid, [])), "generation": (gens or {}).get(mid, 1)})
    return out


def nums(tps):
    return [int(t.rpartition("p")[2]) for t in tps]


# --- registration and bad input ------------------------------------------------------------------------------
def test_registered_and_described():
    """kafka is registered, describes its parameters with bounds, actions, selectors, mutations and invariants."""
    assert "kafka" in protocol_names()
    d = get_protocol("kafka").describe()
    assert d["params"]["session_timeout_ms"]["default"] == 45000
    assert d["params"]["heartbeat_interval_ms"]["default"] == 3000
    assert d["params"]["max_poll_interval_ms"]["default"] == 300000
    assert d["params"]["initial_rebalance_delay_ms"]["default"] == 3000
    assert set(d["actions"]) == {"add_consumer", "remove_consumer", "stall", "add_partitions"}
    assert set(d["invariants"]) == {"exclusive_ownership", "all_partitions_owned", "fenced_commits",
                                    "single_coordinator"}
    assert set(d["mutations"]) == {"no_revoke_before_rejoin", "accept_stale_commits", "no_wait_for_release"}
    out = subprocess.run([PY, "-m", "simulator", "protocols"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert any(p["name"] == "kafka" for p in json.loads(out.stdout)["protocols"])


@pytest.mark.parametrize("params,field", [
    ({"consumers": 5}, "params.consumers"),  # 4 slots
    ({"assignor": "uniform"}, "params.assignor"),
    ({"group_protocol": "consumer", "assignor": "roundrobin"}, "params.assignor"),
    ({"heartbeat_interval_ms": 45000}, "params.heartbeat_interval_ms"),
    ({"session_timeout_ms": 1000}, "params.session_timeout_ms"),  # below Kafka's group.min.session.timeout.ms
    ({"partitions": 0}, "params.partitions"),
    ({"time_scale": 0}, "params.time_scale"),
    ({"assignor": "fastest"}, "params.assignor"),
])
def test_bad_scenarios_are_rejected_naming_the_field(params, field):
    with pytest.raises(ScenarioError) as err:
        Simulation(kafka(params=params))
    assert err.value.field == field
    assert field.split(".")[-1] in err.value.message


@pytest.mark.parametrize("iv,code,field", [
    ({"action": "add_consumer", "node": "c1"}, "invalid_state", "node"),  # already running
    ({"action": "remove_consumer", "node": "c4"}, "invalid_state", "node"),  # idle slot
    ({"action": "stall", "node": "c4"}, "invalid_state", "node"),
    ({"action": "stall", "node": "broker"}, "invalid_target", "node"),
    ({"action": "add_partitions", "topic": "t9"}, "invalid_target", "topic"),
    ({"action": "add_partitions", "topic": "t0", "count": 16}, "invalid_state", "count"),
    ({"action": "add_consumer", "node": "c4", "instance_id": "x"}, "invalid_state", "instance_id"),
    ({"action": "stall", "node": "c1", "duration": 0}, "invalid_intervention", "intervention.duration"),
    ({"action": "remove_consumer", "node": "c9"}, "unknown_node", "intervention.node"),
])
def test_bad_interventions_raise_typed_errors_and_change_nothing(iv, code, field):
    """A refused intervention raises a typed error naming the field, and the run goes on exactly as without it."""
    sc = kafka(params={"partitions": 30})
    sim_a, sim_b = Simulation(sc), Simulation(sc)
    sim_a.advance(3000)
    sim_b.advance(3000)
    before = sim_a.snapshot()
    with pytest.raises(InterventionError) as err:
        sim_a.intervene(iv)
    if code == "invalid_state" and field == "count":
        assert err.value.code == "out_of_range"
    else:
        assert err.value.code == code
    assert err.value.field == field
    assert sim_a.snapshot() == before
    assert trace_hash(sim_a.run(6000)) == trace_hash(sim_b.run(6000))


def test_stalled_or_leaving_consumers_refuse_another_action():
    sim = Simulation(kafka())
    sim.advance(2000)
    sim.intervene({"action": "stall", "node": "c2", "duration": 3000})
    for iv in ({"action": "stall", "node": "c2"}, {"action": "remove_consumer", "node": "c2"}):
        with pytest.raises(InterventionError) as err:
            sim.intervene(iv)
        assert err.value.code == "invalid_state" and "stalled" in err.value.message


# --- assignors: Kafka's worked examples ------------------------------------------------------------------------
def test_range_seven_partitions_three_consumers():
    """RangeAssignor javadoc arithmetic: 7 partitions over C0..C2 -> {0,1,2}, {3,4}, {5,6}."""
    out = range_assign({"t0": 7}, members("C0", "C1", "C2"))
    assert [nums(out[c]) for c in ("C0", "C1", "C2")] == [[0, 1, 2], [3, 4], [5, 6]]


def test_roundrobin_seven_partitions_three_consumers():
    out = roundrobin_assign({"t0": 7}, members("C0", "C1", "C2"))
    assert [nums(out[c]) for c in ("C0", "C1", "C2")] == [[0, 3, 6], [1, 4], [2, 5]]


def test_range_two_topics_of_three_partitions():
    """RangeAssignor javadoc: C0 gets t0p0, t0p1, t1p0, t1p1 and C1 gets t0p2, t1p2."""
    out = range_assign({"t0": 3, "t1": 3}, members("C0", "C1", topics=("t0", "t1")))
    assert out == {"C0": ["t0p0", "t0p1", "t1p0", "t1p1"], "C1": ["t0p2", "t1p2"]}


def test_roundrobin_two_topics_of_three_partitions():
    """RoundRobinAssignor javadoc: C0 [t0p0, t0p2, t1p1], C1 [t0p1, t1p0, t1p2]."""
    out = roundrobin_assign({"t0": 3, "t1": 3}, members("C0", "C1", topics=("t0", "t1")))
    assert out == {"C0": ["t0p0", "t0p2", "t1p1"], "C1": ["t0p1", "t1p0", "t1p2"]}


def test_roundrobin_skips_members_not_subscribed():
    """RoundRobinAssignor javadoc: t0, t1, t2 with 1, 2, 3 partitions; C0 reads t0, C1 t0-t1, C2 t0-t2:
    C0 [t0p0], C1 [t1p0], C2 [t1p1, t2p0, t2p1, t2p2]."""
    ms = members("C0", "C1", "C2")
    ms[0]["topics"], ms[1]["topics"], ms[2]["topics"] = ["t0"], ["t0", "t1"], ["t0", "t1", "t2"]
    out = roundrobin_assign({"t0": 1, "t1": 2, "t2": 3}, ms)
    assert out == {"C0": ["t0p0"], "C1": ["t1p0"], "C2": ["t1p1", "t2p0", "t2p1", "t2p2"]}


def test_static_members_sort_first_by_instance_id():
    """MemberInfo order: static members (by group.instance.id) before dynamic ones (by member id)."""
    ms = members("a-1", "b-1", "c-1", static={"c-1": "i0", "b-1": "i1"})
    out = range_assign({"t0": 3}, ms)
    assert out == {"c-1": ["t0p0"], "b-1": ["t0p1"], "a-1": ["t0p2"]}


def test_sticky_javadoc_example_keeps_every_survivor_partition():
    """StickyAssignor javadoc: C0, C1, C2 on t0..t3 (2 partitions each) start round-robin; C1 leaves. Round robin
    would move five partitions; sticky moves only C1's two, keeping C0 and C2 balanced at four each."""
    counts = {t: 2 for t in ("t0", "t1", "t2", "t3")}
    topics = tuple(counts)
    first = roundrobin_assign(counts, members("C0", "C1", "C2", topics=topics))
    assert first == {"C0": ["t0p0", "t1p1", "t3p0"], "C1": ["t0p1", "t2p0", "t3p1"], "C2": ["t1p0", "t2p1"]}
    after = sticky_assign(counts, members("C0", "C2", topics=topics, owned=first))
    assert set(first["C0"]) <= set(after["C0"]) and set(first["C2"]) <= set(after["C2"])
    assert sorted(len(v) for v in after.values()) == [4, 4]
    rr = roundrobin_assign(counts, members("C0", "C2", topics=topics))
    moved_rr = sum(1 for c in ("C0", "C2") for t in first[c] if t not in rr[c])
    assert moved_rr > 0  # round robin would have moved partitions the survivors already owned


def test_cooperative_sticky_leaves_a_moving_partition_out_for_one_round():
    """KIP-429's example: C0 owns p0-p2, C1 joins. Round 1 gives C0 {p0, p1} and C1 nothing (p2 is still C0's);
    round 2, once C0 reports it released p2, gives p2 to C1."""
    r1 = client_assign("cooperative-sticky", {"t0": 3},
                       members("C0", "C1", owned={"C0": ["t0p0", "t0p1", "t0p2"]}))
    assert r1 == {"C0": ["t0p0", "t0p1"], "C1": []}
    r2 = client_assign("cooperative-sticky", {"t0": 3}, members("C0", "C1", owned={"C0": ["t0p0", "t0p1"]}))
    assert r2 == {"C0": ["t0p0", "t0p1"], "C1": ["t0p2"]}
    eager = client_assign("sticky", {"t0": 3}, members("C0", "C1", owned={"C0": ["t0p0", "t0p1", "t0p2"]}))
    assert eager == {"C0": ["t0p0", "t0p1"], "C1": ["t0p2"]}


def test_claims_of_an_older_generation_lose_and_equal_claims_are_dropped():
    ms = members("A", "B", "C", owned={"A": ["t0p0", "t0p1"], "B": ["t0p1", "t0p2"], "C": ["t0p2"]},
                 gens={"A": 3, "B": 4, "C": 4})
    claims = valid_claims({"t0": 3}, ms)
    assert claims == {"A": [], "B": ["t0p1"], "C": []}  # A is older; B and C both claim p2 in generation 4
    assert valid_claims({"t0": 2}, members("A", owned={"A": ["t0p1", "t0p5"]})) == {"A": ["t0p1"]}  # p5 is gone


def test_kip848_range_from_scratch_matches_classic_range_and_is_sticky():
    ms = members("m1", "m2", "m3", topics=("t0", "t1"))
    fresh = range848_assign({"t0": 7, "t1": 3}, ms, {})
    assert fresh == range_assign({"t0": 7, "t1": 3}, ms)
    grown = range848_assign({"t0": 7, "t1": 3}, ms + members("m4", topics=("t0", "t1")), fresh)
    for m in ("m1", "m2", "m3"):  # each keeps its lowest partitions up to the new quota
        for topic in ("t0", "t1"):
            kept = [t for t in grown[m] if t.startswith(topic)]
            had = [t for t in fresh[m] if t.startswith(topic)]
            assert kept == had[:len(kept)]


# --- assignor properties ------------------------------------------------------------------------------------------
@st.composite
def groups(draw):
    counts = {t: draw(st.integers(1, 9)) for t in ("t0", "t1")[:draw(st.integers(1, 2))]}
    parts = all_partitions(counts)
    n = draw(st.integers(1, 7))
    ids = [f"m{i}" for i in range(n)]
    owned = {m: [] for m in ids}
    for t in parts:  # a previous assignment, possibly unbalanced, possibly partial
        who = draw(st.integers(-1, n - 1))
        if who >= 0:
            owned[ids[who]].append(t)
    return counts, members(*ids, owned=owned, topics=tuple(counts))


def check_complete_and_balanced(counts, out):
    parts = all_partitions(counts)
    got = sorted(t for ts in out.values() for t in ts)
    assert got == sorted(parts), "every partition exactly once"
    sizes = [len(v) for v in out.values()]
    assert max(sizes) - min(sizes) <= 1, f"balanced within one: {sizes}"


@PROPS
@given(groups())
def test_sticky_is_balanced_and_moves_as_few_partitions_as_balance_allows(g):
    counts, ms = g
    out = sticky_assign(counts, ms)
    check_complete_and_balanced(counts, out)
    # the most partitions any balanced assignment can leave in place: quotas ceil/floor, the larger ones
    # going to the members that owned the most
    n, c = len(all_partitions(counts)), len(ms)
    quotas = sorted([n // c + 1] * (n % c) + [n // c] * (c - n % c), reverse=True)
    had = sorted((len(m["owned"]) for m in ms), reverse=True)
    best = sum(min(h, q) for h, q in zip(had, quotas))
    kept = sum(1 for m in ms for t in m["owned"] if t in out[m["member_id"]])
    assert kept == best


@PROPS
@given(groups())
def test_cooperative_sticky_never_gives_a_partition_someone_else_still_owns(g):
    counts, ms = g
    out = client_assign("cooperative-sticky", counts, ms)
    holder = {t: m["member_id"] for m in ms for t in m["owned"]}
    for mid, ts in out.items():
        for t in ts:
            assert holder.get(t, mid) == mid
    # and once everyone has released what moved, the follow-up round is complete and balanced
    after = [dict(m, owned=list(out[m["member_id"]])) for m in ms]
    check_complete_and_balanced(counts, client_assign("cooperative-sticky", counts, after))


@PROPS
@given(groups(), st.sampled_from(["uniform", "range"]))
def test_kip848_assignors_are_complete_balanced_and_sticky_below_quota(g, assignor):
    counts, ms = g
    prev = {m["member_id"]: m["owned"] for m in ms}
    out = (uniform_assign if assignor == "uniform" else range848_assign)(counts, ms, prev)
    parts = all_partitions(counts)
    assert sorted(t for ts in out.values() for t in ts) == sorted(parts)
    if assignor == "uniform":
        check_complete_and_balanced(counts, out)
        floor = len(parts) // len(ms)
        for m in ms:  # a member at or under the minimum quota keeps everything it had
            if len(m["owned"]) <= floor:
                assert set(m["owned"]) <= set(out[m["member_id"]])
    else:
        for topic, n in counts.items():  # per topic, range quotas
            sizes = [sum(1 for t in out[m["member_id"]] if t.startswith(topic + "p")) for m in ms]
            assert max(sizes) - min(sizes) <= 1


@PROPS
@given(groups(), st.sampled_from(["range", "roundrobin"]))
def test_range_and_roundrobin_ignore_history(g, assignor):
    counts, ms = g
    fresh = [dict(m, owned=[]) for m in ms]
    assert client_assign(assignor, counts, ms) == client_assign(assignor, counts, fresh)


# --- the lessons -----------------------------------------------------------------------------------------------------
def join_episode(sim):
    log = sim.protocol.metrics()["rebalance_log"]
    return next(e for e in log if e["trigger"] and "c2 joined" in e["trigger"])


def test_eager_join_leaves_every_partition_unowned_cooperative_only_the_moved_one():
    """protocols.md: C0 owns p0-p2, C1 joins. Eager: all three unowned during the rebalance, then C0 {p0, p1},
    C1 {p2}. Cooperative: C0 keeps p0 and p1 throughout; only p2 is unowned, between the two rounds."""
    eager = run(preset("kafka-join-eager"))
    coop = run(preset("kafka-join-cooperative"))
    for sim in (eager, coop):
        assert sim.nodes["c1"].owned == ["t0p0", "t0p1"] and sim.nodes["c2"].owned == ["t0p2"]
        assert sim.violations == []
    e, c = join_episode(eager), join_episode(coop)
    assert sorted(e["unowned_by_partition"]) == ["t0p0", "t0p1", "t0p2"]
    assert all(ms > 0 for ms in e["unowned_by_partition"].values())
    assert list(c["unowned_by_partition"]) == ["t0p2"] and c["unowned_by_partition"]["t0p2"] > 0
    assert c["to_generation"] - c["from_generation"] == 2  # two rounds
    assert e["to_generation"] - e["from_generation"] == 1
    # the ownership log agrees: under cooperative c1 never dropped p0 or p1
    drops = [x for x in coop.nodes["c1"].log if x[1] in ("drop", "lost")]
    assert [x[2] for x in drops] == ["t0p2"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_partition_time_unowned_eager_every_partition_cooperative_only_moved_ones(seed):
    """Three consumers on six partitions, a fourth joins. Eager leaves all six unowned for a while; cooperative
    leaves unowned exactly the partitions that change owner, and fewer partition-milliseconds in all."""
    out = {}
    for assignor in ("sticky", "cooperative-sticky"):
        sc = kafka(seed=seed, duration=9000, params={"assignor": assignor},
                   interventions=[{"at": 4000, "action": "add_consumer", "node": "c4"}])
        sim = run(sc)
        assert sim.violations == []
        ep = next(e for e in sim.protocol.metrics()["rebalance_log"] if e["start"] >= 4000)
        out[assignor] = ep
    eager, coop = out["sticky"], out["cooperative-sticky"]
    assert len(eager["unowned_by_partition"]) == 6 and all(v > 0 for v in eager["unowned_by_partition"].values())
    assert 0 < len(coop["unowned_by_partition"]) == coop["moved"] < 6
    assert coop["unowned_partition_ms"] < eager["unowned_partition_ms"]


def test_initial_rebalance_delay_gathers_late_joiners_into_one_generation():
    """group.initial.rebalance.delay.ms: a member joining an empty group's delay extends it, so the first
    generation includes everyone; with no delay, the late joiner costs a second rebalance."""
    ivs = [{"at": 150, "action": "add_consumer", "node": "c2"}]
    with_delay = run(kafka(duration=3000, params={"consumers": 1}, interventions=ivs))
    no_delay = run(kafka(duration=3000, params={"consumers": 1, "initial_rebalance_delay_ms": 0}, interventions=ivs))
    assert with_delay.nodes["broker"].generation == 1
    assert no_delay.nodes["broker"].generation == 2
    for sim in (with_delay, no_delay):
        assert sorted(sim.nodes["c1"].owned + sim.nodes["c2"].owned) == all_partitions({"t0": 6})


def test_session_timeout_is_scaled_and_removes_a_crashed_member():
    """A crashed dynamic member is removed once session.timeout.ms / time_scale passes without a heartbeat."""
    for scale in (10, 5):
        sc = kafka(duration=30000, params={"time_scale": scale},
                   interventions=[{"at": 3000, "action": "crash", "node": "c2"}])
        sim = Simulation(sc)
        events = sim.run()
        removed = next(e["t"] for e in events if e["type"] == "state" and e["node"] == "broker"
                       and "session timed out" in (e["changes"].get("reason") or ""))
        session = 45000 // scale
        heartbeat = 3000 // scale
        assert 3000 + session - heartbeat <= removed <= 3000 + session + 100
        assert sorted(t for c in ("c1", "c3") for t in sim.nodes[c].owned) == all_partitions({"t0": 6})


def test_rolling_restart_static_membership_avoids_every_rebalance():
    """Dynamic members: each clean restart is LeaveGroup + JoinGroup, two rebalances apiece. Static members come
    back within the session timeout and get their own partitions back: no rebalance after the first."""
    dynamic = run(preset("kafka-rolling-restart"))
    static = run(preset("kafka-rolling-restart-static"))
    md, ms = dynamic.protocol.metrics(), static.protocol.metrics()
    assert md["rebalances"] == 7 and ms["rebalances"] == 1
    assert ms["partitions_moved"] == 0 < md["partitions_moved"]
    assert dynamic.violations == [] and static.violations == []
    first = {c: ["t0p0", "t0p1"] if c == "c1" else None for c in ("c1",)}
    assert static.nodes["c1"].owned == first["c1"]


def test_static_member_restart_within_session_timeout_keeps_its_partitions():
    sc = kafka(duration=9000, params={"static_membership": True, "assignor": "range"},
               interventions=[{"at": 3000, "action": "crash", "node": "c2"},
                              {"at": 4500, "action": "restart", "node": "c2"}])
    sim = Simulation(sc)
    sim.advance(2999)
    sim.drain()
    before = {c: list(sim.nodes[c].owned) for c in ("c1", "c2", "c3")}
    gen = sim.nodes["broker"].generation
    events = sim.run()
    assert {c: sim.nodes[c].owned for c in ("c1", "c2", "c3")} == before
    assert sim.nodes["broker"].generation == gen
    assert not any(e["type"] == "state" and e["node"] == "broker" and e["changes"].get("state") == "PreparingRebalance"
                   for e in events)
    late = run(dict(sc, interventions=[{"at": 3000, "action": "crash", "node": "c2"},
                                       {"at": 8000, "action": "restart", "node": "c2"}], duration=12000))
    assert late.protocol.metrics()["rebalances"] >= 3  # expired: c2 was removed, then joined again


def test_stale_duplicate_static_member_is_fenced():
    """KIP-345: a second process with the same group.instance.id takes over; the stale one is fenced."""
    sc = kafka(duration=9000, params={"static_membership": True},
               interventions=[{"at": 3000, "action": "pause", "node": "c2"},
                              {"at": 3500, "action": "add_consumer", "node": "c4", "instance_id": "c2"},
                              {"at": 5000, "action": "resume", "node": "c2"}])
    sim = Simulation(sc)
    sim.advance(2999)
    c2_had = list(sim.nodes["c2"].owned)
    gen = sim.nodes["broker"].generation
    sim.advance(4999)
    assert sim.nodes["c4"].owned == c2_had  # handed over without a rebalance
    assert sim.nodes["broker"].generation == gen
    sim.run()
    c2 = sim.nodes["c2"]
    assert c2.phase == "fenced" and not c2.active and c2.owned == [] and "FENCED_INSTANCE_ID" in c2.error
    assert sim.nodes["c4"].owned == c2_had
    assert sim.violations == []


def test_stalled_consumer_stops_an_eager_group_until_max_poll_interval():
    """c3 stops polling; c4 joins; everyone else revokes and waits for c3 until its poll timeout (6 s here).
    c3 then finishes its batch too late: CommitFailedException, and its records were processed twice."""
    sim = run(preset("kafka-stalled-consumer"))
    assert sim.violations == []
    ep = next(e for e in sim.protocol.metrics()["rebalance_log"] if e["trigger"] == "c4 joined")
    assert ep["duration_ms"] > 4000
    waited = {t: ms for t, ms in ep["unowned_by_partition"].items() if ms > 4000}
    assert sorted(waited) == ["t0p0", "t0p1", "t0p2", "t0p3"]  # c1's and c2's: revoked, waiting for c3
    c3 = sim.nodes["c3"]
    assert "CommitFailedException" in " ".join(str(x[3]) for x in c3.log if x[1] == "reject")
    assert any(x[1] == "dup" for x in c3.log) and sim.protocol.metrics()["duplicate_records"] > 0


def test_kip848_has_no_group_wide_barrier():
    """The same stall under KIP-848: c1 and c2 never stop; only the partition c3 must hand over waits."""
    sim = run(preset("kafka-kip848-stall"))
    assert sim.violations == []
    ep = next(e for e in sim.protocol.metrics()["rebalance_log"] if e["trigger"] == "c4 joined")
    c1c2 = [x for c in ("c1", "c2") for x in sim.nodes[c].log if x[1] in ("drop", "lost") and 6000 <= x[0] <= 11000]
    assert c1c2 == []
    assert 0 < len(ep["unowned_by_partition"]) <= 2
    eager = run(preset("kafka-stalled-consumer"))
    eager_ep = next(e for e in eager.protocol.metrics()["rebalance_log"] if e["trigger"] == "c4 joined")
    assert ep["unowned_partition_ms"] * 5 < eager_ep["unowned_partition_ms"]


def test_zombie_reprocesses_and_its_commit_is_fenced():
    """A GC pause beyond the session timeout: the partitions move; on waking, c2 processes them again and its
    commit is rejected (UNKNOWN_MEMBER_ID: the coordinator removed it). No invariant is broken: c2 is a zombie."""
    sim = run(preset("kafka-zombie"))
    m = sim.protocol.metrics()
    assert sim.violations == []
    assert m["commits_rejected"].get("UNKNOWN_MEMBER_ID", 0) >= 1
    assert m["duplicate_records"] > 0 and sim.nodes["c2"].dups > 0
    assert sim.nodes["c2"].owned  # it rejoined and got partitions again


def test_commit_from_an_old_generation_is_rejected_with_illegal_generation():
    """A static member that cannot hear the coordinator (one-way cut) misses a rebalance; it stays a member (static
    members are not dropped when the join completes), so its commits carry an old generation: ILLEGAL_GENERATION."""
    sc = kafka(duration=9000, params={"static_membership": True, "max_poll_interval_ms": 20000},
               interventions=[{"at": 3000, "action": "cut", "a": "broker", "b": "c2", "oneway": True},
                              {"at": 3200, "action": "add_consumer", "node": "c4"}])
    sim = run(sc)
    assert sim.protocol.metrics()["commits_rejected"].get("ILLEGAL_GENERATION", 0) >= 1
    assert sim.violations == []
    bad = run(dict(sc, mutations=["accept_stale_commits"]))
    assert invariants_hit(bad) == ["fenced_commits"]


def test_duplicates_after_a_crash_are_the_records_since_the_last_commit():
    sc = kafka(duration=12000, params={"auto_commit_interval_ms": 20000},
               interventions=[{"at": 4000, "action": "crash", "node": "c1"}])
    sim = run(sc)
    m = sim.protocol.metrics()
    assert m["duplicate_records"] > 0
    # at most what c1 consumed since its last commit: 2 s of auto-commit interval at 20 records/s, 2 partitions
    assert m["duplicate_records"] <= 2 * 20 * 2 + 10
    new_owners = [c for c in ("c2", "c3") if sim.nodes[c].dups > 0]
    assert new_owners
    assert sim.violations == []


def test_commit_on_revoke_removes_cooperative_duplicates():
    """Cooperative members keep consuming while they rejoin; a partition revoked after the auto-commit before
    rejoining is handed over uncommitted unless the application commits in onPartitionsRevoked."""
    totals = {}
    for commit in (False, True):
        dups = 0
        for seed in range(1, 6):
            sc = kafka(seed=seed, duration=9000, params={"assignor": "cooperative-sticky", "commit_on_revoke": commit,
                                                          "produce_rate": 200},
                       interventions=[{"at": 4000, "action": "add_consumer", "node": "c4"}])
            dups += run(sc).protocol.metrics()["duplicate_records"]
        totals[commit] = dups
    assert totals[True] == 0 < totals[False]


def test_add_partitions_classic_waits_for_the_leaders_metadata_refresh_kip848_reacts_at_once():
    ivs = [{"at": 3000, "action": "add_partitions", "topic": "t0", "count": 2}]
    for params, lo, hi in (({"metadata_max_age_ms": 60000}, 6000, 10000),
                           ({"group_protocol": "consumer", "assignor": "uniform"}, 3000, 4500)):
        sim = Simulation(kafka(duration=12000, params=params, interventions=ivs))
        events = sim.run()
        got = [e["t"] for e in events if e["type"] == "state" and "t0p7" in e["changes"].get("owned", [])]
        assert got and lo <= got[0] <= hi, (params, got)
        assert sim.violations == []
    latest = run(kafka(duration=12000, params={"metadata_max_age_ms": 60000}, interventions=ivs))
    earliest = run(kafka(duration=12000, params={"metadata_max_age_ms": 60000, "auto_offset_reset": "earliest"},
                         interventions=ivs))
    assert latest.protocol.metrics()["records_skipped"] > 0  # produced before the group noticed: never read
    assert earliest.protocol.metrics()["records_skipped"] == 0


def test_broker_crash_keeps_consumers_consuming_and_the_group_recovers():
    sc = kafka(duration=20000, interventions=[{"at": 3000, "action": "crash", "node": "broker"},
                                              {"at": 4000, "action": "restart", "node": "broker"},
                                              {"at": 6000, "action": "add_consumer", "node": "c4"}])
    sim = Simulation(sc)
    sim.advance(3900)
    assert all(sim.nodes[c].owned for c in ("c1", "c2", "c3"))  # the coordinator is not on the data path
    sim.run()
    assert sim.violations == [] and sim.protocol.settled()
    assert sorted(t for c in ("c1", "c2", "c3", "c4") for t in sim.nodes[c].owned) == all_partitions({"t0": 6})


# --- invariants under generated schedules -----------------------------------------------------------------------
FAST = {"max_poll_interval_ms": 20000, "session_timeout_ms": 10000, "metadata_max_age_ms": 5000}
SETTLE = 20000  # simulated ms after the last fault, ample for the timeouts above at time_scale 10


@st.composite
def schedules(draw, network=False):
    mode = draw(st.sampled_from(sorted(MODES)))
    params = dict(MODES[mode], **FAST, partitions=draw(st.integers(1, 8)), consumers=draw(st.integers(1, 4)),
                  static_membership=draw(st.booleans()), topics=draw(st.integers(1, 2)))
    slots = ["c1", "c2", "c3", "c4", "c5"]
    ivs = []
    t = 0
    for _ in range(draw(st.integers(1, 10))):
        t += draw(st.integers(50, 2500))
        kind = draw(st.sampled_from(["add", "remove", "crash", "restart", "stall", "pause", "resume", "partitions"]
                                    + (["cut", "heal", "broker"] if network else [])))
        node = draw(st.sampled_from(slots))
        iv = consumer_intervention(draw, kind, t, node)
        if iv is not None:
            ivs.append(iv)
        elif kind == "partitions":
            ivs.append({"at": t, "action": "add_partitions", "topic": "t0", "count": 1})
        elif kind in ("cut", "heal"):
            ivs.append({"at": t, "action": kind, "a": "broker", "b": node, "oneway": draw(st.booleans())})
        else:
            ivs.append({"at": t, "action": draw(st.sampled_from(["crash", "restart"])), "node": "broker"})
    sc = {"protocol": "kafka", "seed": draw(st.integers(0, 10_000)), "nodes": 5, "duration": t + 1 + SETTLE,
          "params": params, "interventions": ivs}
    if network:
        sc["network"] = {"loss": draw(st.sampled_from([0.0, 0.05])), "latency": [5, draw(st.integers(5, 120))]}
    return sc


def heal_everything(sim):
    """After the schedule: resume, restart, heal, so the group can settle."""
    for nid, node in sim.nodes.items():
        if node.status == "paused":
            sim.intervene({"action": "resume", "node": nid})
        elif node.status == "crashed":
            sim.intervene({"action": "restart", "node": nid})
    sim.intervene({"action": "heal_all"})


@FUZZ
@given(schedules())
def test_invariants_hold_and_the_group_settles_under_joins_leaves_crashes_and_stalls(sc):
    sim = Simulation(sc)
    sim.advance(sc["duration"] - SETTLE)  # every scripted fault has applied
    assert sim.violations == [], sim.violations
    heal_everything(sim)
    sim.run()
    assert sim.violations == [], sim.violations
    if any(sim.nodes[c].active for c in sim.node_ids[1:]):
        assert sim.protocol.settled(), "the group settles once the faults stop"
        owned = sorted(t for c in sim.node_ids[1:] for t in sim.nodes[c].owned)
        assert owned == sorted(name for name, _ in sim.nodes["broker"].partitions)


@FUZZ
@given(schedules(network=True))
def test_invariants_hold_under_network_faults_and_coordinator_crashes(sc):
    sim = Simulation(sc)
    sim.advance(sc["duration"] - SETTLE)
    heal_everything(sim)
    sim.run()
    assert sim.violations == [], sim.violations


# --- mutations are caught -------------------------------------------------------------------------------------------
def test_mutation_no_revoke_before_rejoin_is_caught():
    sc = preset("kafka-join-cooperative")
    assert run(sc).violations == []
    bad = run(dict(sc, mutations=["no_revoke_before_rejoin"]))
    assert invariants_hit(bad) == ["exclusive_ownership"]
    assert "t0p2" in bad.violations[0]["details"]


def test_mutation_accept_stale_commits_is_caught():
    sc = preset("kafka-zombie")
    bad = run(dict(sc, mutations=["accept_stale_commits"]))
    assert invariants_hit(bad) == ["fenced_commits"]
    assert "c2" in bad.violations[0]["details"]


def test_mutation_no_wait_for_release_is_caught():
    sc = kafka(duration=8000, params={"group_protocol": "consumer", "assignor": "uniform"},
               interventions=[{"at": 3000, "action": "add_consumer", "node": "c4"}])
    assert run(sc).violations == []
    bad = run(dict(sc, mutations=["no_wait_for_release"]))
    assert invariants_hit(bad) == ["exclusive_ownership"]


# --- determinism and the view ------------------------------------------------------------------------------------------
def test_same_scenario_same_trace_across_processes():
    """The trace hash of a run does not depend on the process (PYTHONHASHSEED) or on slicing."""
    path = os.path.join(ROOT, "docs", "examples", "kafka-stalled-consumer.json")
    hashes = set()
    for seed in ("0", "1", "12345"):
        out = subprocess.run([PY, "-m", "simulator", "run", path, "--quiet"], cwd=ROOT, capture_output=True,
                             text=True, check=True, env=dict(os.environ, PYTHONHASHSEED=seed))
        hashes.add(json.loads(out.stdout)["trace_hash"])
    assert len(hashes) == 1
    sc = json.load(open(path))
    whole = trace_hash(Simulation(sc).run())
    sim = Simulation(sc)
    sliced = []
    for t in range(137, sc["duration"] + 137, 137):
        sim.advance(min(t, sc["duration"]))
        sliced += sim.drain()
    assert trace_hash(sliced) == whole


def test_recorded_live_interventions_replay_exactly():
    sim = Simulation(kafka(duration=15000))
    sim.advance(2500)
    sim.step_events(3)
    sim.intervene({"action": "add_consumer"})
    sim.advance(5000)
    sim.intervene({"action": "stall", "node": "c1", "duration": 2000})
    sim.advance(7000)
    sim.intervene({"action": "remove_consumer"})
    events = sim.drain() + sim.run()
    replayed = Simulation(sim.recorded_scenario())
    assert trace_hash(replayed.run()) != "" and replayed.snapshot() == sim.snapshot()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_snapshot_plus_events_equals_snapshot(mode):
    """Snapshot at t0 plus the events up to t1 rebuilds the snapshot at t1, through JSON (as the page sees it)."""
    sc = kafka(duration=16000, params=dict(MODES[mode], static_membership=mode == "eager-sticky"),
               interventions=[{"at": 3000, "action": "add_consumer", "node": "c4"},
                              {"at": 5000, "action": "stall", "node": "c2", "duration": 4000},
                              {"at": 7000, "action": "crash", "node": "c1"},
                              {"at": 8000, "action": "add_partitions", "topic": "t0", "count": 2},
                              {"at": 9000, "action": "restart", "node": "c1"},
                              {"at": 11000, "action": "remove_consumer", "node": "c3"}])
    sim = Simulation(sc)
    sim.advance(1000)
    snap = json.loads(canonical(sim.snapshot()))
    for t in (2000, 4500, 7001, 9500, 12000, 16000):
        events = json.loads("[" + ",".join(canonical(e) for e in sim.run(t)) + "]")
        snap = replay(snap, events, until=t)
        assert canonical(snap) == canonical(sim.snapshot()), t


def test_example_files_run_through_the_cli():
    paths = sorted(glob.glob(os.path.join(ROOT, "docs", "examples", "kafka-*.json")))
    assert len(paths) >= 6
    for path in paths:
        out = subprocess.run([PY, "-m", "simulator", "run", path, "--quiet"], cwd=ROOT, capture_output=True,
                             text=True, check=True)
        summary = json.loads(out.stdout)
        expect_violation = "mutation" in os.path.basename(path)
        assert bool(summary["violations"]) == expect_violation, path


def test_timers_rearmed_after_a_pause_still_fire():
    """A paused coordinator holds its timers; re-arming one when it resumes (a held heartbeat re-arms a session
    timer) must not leave it dead: a consumer that crashes afterwards is still removed at its session timeout."""
    sc = kafka(duration=16000, interventions=[{"at": 3000, "action": "pause", "node": "broker"},
                                              {"at": 8000, "action": "resume", "node": "broker"},  # > session
                                              {"at": 8500, "action": "crash", "node": "c2"}])
    sim = run(sc)
    assert sorted(m[1] for m in sim.nodes["broker"].members) == ["c1", "c3"]
    assert sim.protocol.settled()


def test_a_deep_copy_is_a_faithful_checkpoint():
    """Time travel seeks from copy.deepcopy(sim): the copy and the original go on identically."""
    sim = Simulation(preset("kafka-stalled-consumer"))
    sim.advance(7000)
    sim.drain()
    twin = copy.deepcopy(sim)
    assert trace_hash(sim.run()) == trace_hash(twin.run())
    assert sim.protocol.metrics() == twin.protocol.metrics()
