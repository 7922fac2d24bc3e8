"""Kafka group coordinator failover (params.brokers >= 2): the coordinator is the leader of the group's
__consumer_offsets partition; when its broker dies the controller moves the leadership to the next in-sync broker
after broker.session.timeout.ms, the new coordinator loads the group from its replica, and the consumers find it
with FindCoordinator. With brokers = 1 nothing changes: the trace equals the one without the key.

Fuzzing is bounded (a few dozen Hypothesis examples per property); set PLAYGROUND_LONG=1 for more.
"""

import copy
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import InterventionError, Simulation
from simulator.protocols.kafka import Kafka
from simulator.trace import canonical, trace_hash
from simulator.view import replay

from simhelpers import consumer_intervention

LONG = os.environ.get("PLAYGROUND_LONG") == "1"
FUZZ = settings(max_examples=300 if LONG else 12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

MODES = {
    "eager": {"assignor": "range"},
    "cooperative": {"assignor": "cooperative-sticky"},
    "kip848": {"group_protocol": "consumer", "assignor": "uniform"},
}
FAILOVER_MS = 900  # broker.session.timeout.ms 9000 at time_scale 10


def failover(mode="eager", crash_at=6000, duration=20000, **params):
    return {"protocol": "kafka", "seed": 5, "duration": duration, "nodes": 3,
            "params": dict(MODES[mode], brokers=3, partitions=6, consumers=3, **params),
            "interventions": [{"at": crash_at, "action": "crash", "node": "coordinator"}]}


def stable_and_owned(sim):
    owned = sorted(t for c in sim.protocol.consumer_ids for t in sim.nodes[c].owned)
    return sim.protocol.settled() and owned == sorted(name for name, _ in sim.protocol.broker.partitions)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_coordinator_fails_over_and_the_group_is_stable_again(mode):
    """After the coordinator's broker crashes, within the failover delay plus a bound, another broker is the
    coordinator, the group is stable and every partition is owned."""
    sim = Simulation(failover(mode))
    sim.advance(6000)
    assert sim.protocol.resolve("coordinator") == "b1" and stable_and_owned(sim)
    sim.advance(6000 + FAILOVER_MS - 1)
    assert sim.protocol.leader == "b1", "the controller waits broker.session.timeout.ms"
    sim.advance(6000 + FAILOVER_MS + 1500)
    assert sim.protocol.resolve("coordinator") == "b2"
    assert sim.nodes["b2"].role == "coordinator" and sim.nodes["b1"].role == "follower"
    assert stable_and_owned(sim)
    assert all(sim.nodes[c].coordinator == "b2" for c in ("c1", "c2", "c3"))
    sim.run()
    assert sim.violations == []


def test_consumers_find_the_new_coordinator_with_find_coordinator():
    """The consumers' connections to the crashed b1 reset; they send FindCoordinator to another broker, get
    COORDINATOR_NOT_AVAILABLE until the controller moves the leadership, then b2."""
    sim = Simulation(failover())
    events = sim.run()
    finds = [e for e in events if e["type"] == "send" and e["msg"]["kind"] == "FindCoordinator" and e["t"] >= 6000]
    answers = [e for e in events if e["type"] == "send" and e["msg"]["kind"] == "FindCoordinatorResponse"
               and e["t"] >= 6000]
    assert {e["from"] for e in finds} == {"c1", "c2", "c3"} and {e["to"] for e in finds} == {"b2"}
    assert any(e["msg"]["error"] == "COORDINATOR_NOT_AVAILABLE" for e in answers)
    found = [e for e in answers if e["msg"]["error"] == "NONE"]
    assert {e["to"] for e in found} == {"c1", "c2", "c3"} and {e["msg"]["coordinator"] for e in found} == {"b2"}
    assert min(e["t"] for e in found) >= 6000 + FAILOVER_MS
    # afterwards the group traffic goes to b2 only
    late = [e for e in events if e["type"] == "send" and e["from"] in ("c1", "c2", "c3") and e["t"] > 8000]
    assert late and {e["to"] for e in late} == {"b2"}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_committed_offsets_survive_the_failover(mode):
    """No committed offset goes backwards: the new coordinator starts from what the old one had replicated."""
    sim = Simulation(failover(mode))
    best = {}
    seen = []

    def check():
        committed = sim.protocol.broker.committed
        for t in sorted(set(best) | set(committed)):
            off = committed.get(t, -1)
            assert off >= best.get(t, -1), (sim.now, t, off, best[t])
            best[t] = off
        seen.append(dict(committed))

    for t in range(100, 20001, 100):
        sim.advance(t)
        check()
    before = next(c for c, t in zip(seen, range(100, 20001, 100)) if t == 6000)
    assert before and all(v > 0 for v in before.values())
    assert sim.protocol.broker.id == "b2" and all(sim.nodes["b2"].committed[t] >= v for t, v in before.items())
    assert sim.violations == []


def test_a_consumer_reading_after_the_failover_resumes_from_the_replicated_offsets():
    """A consumer that restarts after the failover fetches the committed offsets from the new coordinator: no
    partition falls back to auto.offset.reset (which would skip records)."""
    sc = failover()
    sc["interventions"] += [{"at": 9000, "action": "crash", "node": "c1"},
                            {"at": 9100, "action": "restart", "node": "c1"}]
    sim = Simulation(sc)
    sim.advance(6000)
    skipped = sim.protocol.metrics()["records_skipped"]  # the group's first start, with auto.offset.reset=latest
    sim.run()
    assert sim.violations == [] and stable_and_owned(sim)
    assert sim.protocol.metrics()["records_skipped"] == skipped
    assert sim.protocol.broker.id == "b2" and sim.nodes["b2"].generation >= 2  # b2 ran the rebalance c1 caused


def test_not_coordinator_from_a_broker_that_lost_the_leadership():
    """A paused coordinator is fenced like a crashed one (no connection reset: the consumers notice by request
    timeouts). When it runs again it is a follower: what it received meanwhile is answered with NOT_COORDINATOR,
    and the consumers carry on with b2."""
    sc = failover(duration=20000)
    sc["interventions"] = [{"at": 6000, "action": "pause", "node": "b1"},
                           {"at": 11000, "action": "resume", "node": "b1"}]
    sim = Simulation(sc)
    events = sim.run()
    nc = [e for e in events if e["type"] == "send" and e["from"] == "b1" and e["msg"].get("error") == "NOT_COORDINATOR"]
    assert nc and all(e["t"] >= 11000 for e in nc)
    assert sim.protocol.leader == "b2" and sim.nodes["b1"].role == "follower" and sim.nodes["b1"].in_sync
    assert sim.violations == [] and stable_and_owned(sim)


def test_a_coordinator_back_before_the_controller_notices_stays_coordinator():
    sc = failover()
    sc["interventions"].append({"at": 6300, "action": "restart", "node": "b1"})
    sim = Simulation(sc)
    sim.run()
    assert sim.protocol.leader == "b1" and sim.protocol.metrics()["failovers"] == []
    assert sim.violations == [] and stable_and_owned(sim)


def test_only_in_sync_brokers_take_over_and_the_restarted_one_follows():
    """b2 crashed earlier (out of the ISR): when b1 dies, b3 takes over; b1 and b2 restart as followers and catch
    up. Then b3 dies: b1 (in sync again) takes over."""
    sc = failover(duration=30000)
    sc["interventions"] = [{"at": 4000, "action": "crash", "node": "b2"},
                           {"at": 6000, "action": "crash", "node": "b1"},
                           {"at": 10000, "action": "restart", "node": "b1"},
                           {"at": 10000, "action": "restart", "node": "b2"},
                           {"at": 14000, "action": "crash", "node": "coordinator"}]
    sim = Simulation(sc)
    sim.advance(9000)
    assert sim.protocol.leader == "b3"
    sim.run()
    assert [f[1:] for f in sim.protocol.metrics()["failovers"]] == [["b1", "b3"], ["b3", "b1"]]
    assert sim.violations == [] and stable_and_owned(sim)


def test_broker_actions_are_refused_for_consumer_actions():
    sim = Simulation(failover())
    with pytest.raises(InterventionError) as e:
        sim.intervene({"action": "stall", "node": "b2", "duration": 100})
    assert e.value.field == "node"


@pytest.mark.parametrize("slug", [p["slug"] for p in Kafka.presets() if "failover" not in p["slug"]])
def test_one_broker_is_the_scenario_without_the_key(slug):
    """brokers = 1 changes nothing: the same trace as the scenario that does not mention it."""
    sc = copy.deepcopy(next(p["scenario"] for p in Kafka.presets() if p["slug"] == slug))
    with_key = copy.deepcopy(sc)
    with_key["params"]["brokers"] = 1
    assert trace_hash(Simulation(with_key).run()) == trace_hash(Simulation(sc).run())


def test_one_broker_with_a_crash_is_the_scenario_without_the_key():
    sc = {"protocol": "kafka", "seed": 2, "duration": 15000, "nodes": 4,
          "params": {"partitions": 6, "consumers": 3, "group_protocol": "consumer", "assignor": "uniform"},
          "interventions": [{"at": 3000, "action": "crash", "node": "coordinator"},
                            {"at": 4000, "action": "restart", "node": "broker"},
                            {"at": 5000, "action": "pause", "node": "broker"},
                            {"at": 6000, "action": "resume", "node": "broker"}]}
    with_key = copy.deepcopy(sc)
    with_key["params"]["brokers"] = 1
    assert trace_hash(Simulation(with_key).run()) == trace_hash(Simulation(sc).run())


def test_the_failover_preset_runs_clean_and_moves_the_coordinator():
    sc = next(p["scenario"] for p in Kafka.presets() if p["slug"] == "kafka-coordinator-failover")
    sim = Simulation(copy.deepcopy(sc))
    sim.run()
    assert sim.violations == [] and stable_and_owned(sim)
    assert [f[1:] for f in sim.protocol.metrics()["failovers"]] == [["b1", "b2"]]
    assert sim.nodes["b1"].role == "follower" and sim.nodes["b1"].in_sync
    assert sim.nodes["c4"].owned


def test_same_failover_scenario_same_trace():
    sc = failover("kip848")
    sc["interventions"].append({"at": 12000, "action": "restart", "node": "b1"})
    assert trace_hash(Simulation(copy.deepcopy(sc)).run()) == trace_hash(Simulation(copy.deepcopy(sc)).run())
    sim = Simulation(copy.deepcopy(sc))
    sim.advance(6500)
    sim.drain()
    twin = copy.deepcopy(sim)
    assert trace_hash(sim.run()) == trace_hash(twin.run())


def test_a_paused_then_crashed_coordinator_fails_over_from_the_pause():
    """The controller's clock starts when the broker goes silent (the pause), not at the later crash."""
    sc = failover()
    sc["interventions"] = [{"at": 6000, "action": "pause", "node": "b1"}, {"at": 6500, "action": "crash", "node": "b1"}]
    sim = Simulation(sc)
    sim.run()
    assert sim.protocol.metrics()["failovers"][0][0] == 6000 + FAILOVER_MS


def test_same_trace_across_processes():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "docs", "examples", "kafka-coordinator-failover.json")
    hashes = set()
    for seed in ("0", "4242"):
        out = subprocess.run([sys.executable, "-m", "simulator", "run", path, "--quiet"], cwd=root, capture_output=True,
                             text=True, check=True, env=dict(os.environ, PYTHONHASHSEED=seed))
        hashes.add(json.loads(out.stdout)["trace_hash"])
    assert len(hashes) == 1


@pytest.mark.parametrize("mode", sorted(MODES))
def test_snapshot_plus_events_equals_snapshot_across_failovers(mode):
    """What the page rebuilds from the events equals the snapshot, through crashes, takeovers, catch-ups."""
    sc = failover(mode, duration=22000)
    sc["nodes"] = 4
    sc["interventions"] += [{"at": 8000, "action": "add_consumer", "node": "c4"},
                            {"at": 9000, "action": "add_partitions", "topic": "t0", "count": 1},
                            {"at": 10000, "action": "restart", "node": "b1"},
                            {"at": 12000, "action": "pause", "node": "b2"},
                            {"at": 16000, "action": "resume", "node": "b2"}]
    sim = Simulation(sc)
    sim.advance(1000)
    snap = json.loads(canonical(sim.snapshot()))
    for t in (3000, 6001, 7000, 9500, 11000, 13500, 17000, 22000):
        events = json.loads("[" + ",".join(canonical(e) for e in sim.run(t)) + "]")
        snap = replay(snap, events, until=t)
        assert canonical(snap) == canonical(sim.snapshot()), t
    assert [f[1:] for f in sim.protocol.metrics()["failovers"]] == [["b1", "b2"], ["b2", "b3"]]
    assert sim.violations == []


# --- invariants under generated schedules -----------------------------------------------------------------------
FAST = {"max_poll_interval_ms": 20000, "session_timeout_ms": 10000, "metadata_max_age_ms": 5000,
        "request_timeout_ms": 10000}
SETTLE = 25000


@st.composite
def schedules(draw, mode):
    brokers = draw(st.integers(2, 3))
    params = dict(MODES[mode], **FAST, brokers=brokers, partitions=draw(st.integers(1, 8)),
                  consumers=draw(st.integers(1, 4)), static_membership=draw(st.booleans()))
    bs = [f"b{i}" for i in range(1, brokers + 1)]
    slots = ["c1", "c2", "c3", "c4", "c5"]
    ivs = []
    t = 0
    count = draw(st.integers(1, 12))
    crash_at = draw(st.integers(0, count - 1))  # every schedule crashes the coordinator at least once
    for i in range(count):
        if i == crash_at:
            ivs.append({"at": t, "action": "crash", "node": "coordinator"})
        t += draw(st.integers(50, 2500))
        kind = draw(st.sampled_from(["add", "remove", "stall", "crash", "restart", "pause", "resume",
                                     "bcrash", "brestart", "bpause", "bresume", "coordinator"]))
        node = draw(st.sampled_from(slots))
        broker = draw(st.sampled_from(bs))
        iv = consumer_intervention(draw, kind, t, node)
        if iv is not None:
            ivs.append(iv)
        elif kind == "coordinator":
            ivs.append({"at": t, "action": "crash", "node": "coordinator"})
        else:
            ivs.append({"at": t, "action": kind[1:], "node": broker})
    return {"protocol": "kafka", "seed": draw(st.integers(0, 10_000)), "nodes": 5, "duration": t + 1 + SETTLE,
            "params": params, "interventions": ivs}


@pytest.mark.parametrize("mode", sorted(MODES))
@FUZZ
@given(data=st.data())
def test_invariants_hold_across_failovers_and_the_group_settles(mode, data):
    sc = data.draw(schedules(mode))
    sim = Simulation(sc)
    sim.advance(sc["duration"] - SETTLE)
    assert sim.violations == [], sim.violations
    for nid, node in sim.nodes.items():
        if node.status == "paused":
            sim.intervene({"action": "resume", "node": nid})
        elif node.status == "crashed":
            sim.intervene({"action": "restart", "node": nid})
    sim.run()
    assert sim.violations == [], sim.violations
    acting = [b for b in sim.protocol.ctx.params.broker_ids if sim.nodes[b].role == "coordinator"]
    assert acting == [sim.protocol.leader]
    if any(sim.nodes[c].active for c in sim.protocol.consumer_ids):
        assert stable_and_owned(sim), "the group settles once the faults stop"
