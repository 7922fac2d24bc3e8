"""Two-phase commit and 3PC: the lessons (blocking, cooperative termination, 3PC's split), invariants under
generated crashes, each teaching mutation caught, determinism, and snapshot + events == snapshot.

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

from simulator import InterventionError, ScenarioError, Simulation, run_scenario
from simulator.protocols import get_protocol, protocol_names
from simulator.protocols.twophase import TwoPhase
from simulator.trace import canonical, trace_hash
from simulator.view import replay

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LONG = os.environ.get("PLAYGROUND_LONG") == "1"
FUZZ = settings(max_examples=1000 if LONG else 60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
PY = sys.executable


def twophase(**kw):
    """A scenario with only the scripted transactions (no automatic ones) unless `params` says otherwise."""
    sc = {"protocol": "twophase", "seed": 1, "duration": 5000}
    sc.update(kw)
    sc["params"] = {"begin_interval": 0, **sc.get("params", {})}
    return sc


def preset(slug):
    return copy.deepcopy(next(p["scenario"] for p in TwoPhase.presets() if p["slug"] == slug))


def participants(sim):
    return sim.node_ids[1:]


def tx_state(sim, node, tx):
    e = sim.nodes[node].tx.get(tx)
    return e["state"] if e else None


def outcomes(sim, tx):
    return {p: tx_state(sim, p, tx) for p in participants(sim)}


def run_until(sim, t):
    sim.advance(t)
    return sim.drain()


def invariants_hit(sim):
    return sorted({v["invariant"] for v in sim.violations})


# --- registry, description, bad input ----------------------------------------------------------
def test_registered_and_described():
    """Listed by the registry; ids are coord + p1..pN; every numeric parameter is bounded."""
    assert "twophase" in protocol_names()
    proto = get_protocol("twophase")
    d = proto.describe()
    json.dumps(d)
    assert d["nodes"]["default"] == 3
    assert proto.node_ids(4) == ["coord", "p1", "p2", "p3", "p4"]
    for name, p in d["params"].items():
        assert p["kind"] in ("choice", "bool") or (p["min"] is not None and p["max"] is not None), name
    assert d["params"]["mode"]["choices"] == ["2pc", "3pc"]
    assert set(d["actions"]) == {"begin", "abort", "arm_crash"}
    assert set(d["mutations"]) == {"commit_on_timeout", "no_force_write", "no_force_prepare"}
    assert set(d["invariants"]) == {"atomicity", "commit_needs_all_yes"}
    assert d["selectors"] == {"coordinator": "the coordinator (coord)"}


@pytest.mark.parametrize("bad,field", [
    ({"nodes": 1}, "nodes"),
    ({"nodes": 13}, "nodes"),
    ({"params": {"mode": "4pc"}}, "params.mode"),
    ({"params": {"vote_timeout": 0}}, "params.vote_timeout"),
    ({"params": {"no_probability": 1.5}}, "params.no_probability"),
    ({"params": {"cooperative": "yes"}}, "params.cooperative"),
    ({"mutations": ["commit_always"]}, "mutations[0]"),
    ({"interventions": [{"at": 5, "action": "begin", "votes": {"p2": "maybe"}}]}, "interventions[0].votes.p2"),
    ({"interventions": [{"at": 5, "action": "begin", "votes": {"coord": "no"}}]}, "interventions[0].votes.coord"),
    ({"interventions": [{"at": 5, "action": "begin", "votes": ["p2"]}]}, "interventions[0].votes"),
    ({"interventions": [{"at": 5, "action": "arm_crash", "point": "sometime"}]}, "interventions[0].point"),
    ({"interventions": [{"at": 5, "action": "abort", "node": "p7"}]}, "interventions[0].node"),
])
def test_bad_scenarios_are_rejected_naming_the_field(bad, field):
    with pytest.raises(ScenarioError) as err:
        Simulation(twophase(**bad))
    assert err.value.field == field


@pytest.mark.parametrize("iv,code,field", [
    ({"action": "begin", "votes": {"p5": "no"}}, "unknown_node", "votes.p5"),
    ({"action": "arm_crash", "node": "p1", "point": "after_votes"}, "invalid_point", "point"),
    ({"action": "arm_crash", "node": "coordinator", "point": "after_vote"}, "invalid_point", "point"),
    ({"action": "abort", "node": "p1"}, "uncertain", "node"),
    ({"action": "begin", "votes": {"p4": "yes", "p1": "no"}}, "unknown_node", "votes.p4"),
])
def test_bad_interventions_raise_typed_errors_and_change_nothing(iv, code, field):
    """While everyone is uncertain (voted YES, decision not yet sent), bad interventions are refused with a code
    and a message naming the field; the run afterwards is identical to one without them."""
    base = preset("twophase-coordinator-crash")
    sim_a, sim_b = Simulation(base), Simulation(base)
    run_until(sim_a, 240)
    run_until(sim_b, 240)
    assert all(tx_state(sim_a, p, "tx1") == "prepared" for p in participants(sim_a))
    with pytest.raises(InterventionError) as err:
        sim_a.intervene(iv)
    assert err.value.code == code and err.value.field == field
    assert err.value.message
    assert sim_a.snapshot() == sim_b.snapshot()
    assert trace_hash(sim_a.run()) == trace_hash(sim_b.run())


def test_a_refused_action_mid_millisecond_does_not_move_the_clock():
    """Live, after a single step (mid-millisecond): a refused `abort` leaves time and trace untouched."""
    sc = preset("twophase-coordinator-crash")
    sim_a, sim_b = Simulation(sc), Simulation(sc)
    for sim in (sim_a, sim_b):
        sim.advance(240)
        sim.step_events(1)
    now = sim_a.now
    with pytest.raises(InterventionError) as err:
        sim_a.intervene({"action": "abort", "node": "p2"})
    assert err.value.code == "uncertain"
    assert sim_a.now == now
    assert trace_hash(sim_a.run()) == trace_hash(sim_b.run())


def test_uncertain_participant_may_not_abort_but_a_working_one_may():
    """The `abort` action explains why a participant that voted YES cannot abort; before voting it can, and the
    coordinator then aborts everywhere."""
    sim = Simulation(twophase(params={"work_ms": 1000}))
    sim.intervene({"action": "begin"})
    run_until(sim, 200)
    assert tx_state(sim, "p2", "tx1") == "working"
    sim.intervene({"action": "abort", "node": "p2"})
    sim.run(3000)
    assert set(outcomes(sim, "tx1").values()) == {"aborted"}
    assert sim.nodes["coord"].tx["tx1"]["state"] == "aborted"
    assert not sim.violations
    with pytest.raises(InterventionError) as err:
        sim.intervene({"action": "abort", "node": "coordinator"})
    assert err.value.code == "invalid_state" and "no undecided" in err.value.message
    with pytest.raises(InterventionError) as err:
        sim.intervene({"action": "abort", "node": "p1"})
    assert err.value.code == "invalid_state"


def test_default_scenario_commits_a_transaction_every_two_seconds():
    """What the page shows when opened: a client begins a transaction at 0.5 s and every 2 s after; each commits."""
    sim = Simulation({"protocol": "twophase", "seed": 5, "duration": 10_500})
    sim.run()
    m = sim.protocol.metrics()
    assert m["transactions"] == 5 and m["commits"] == 5 and m["aborts"] == 0 and m["in_doubt"] == 0
    assert not sim.violations


def test_begin_needs_an_up_coordinator():
    sim = Simulation(twophase())
    sim.intervene({"action": "crash", "node": "coord"})
    with pytest.raises(InterventionError) as err:
        sim.intervene({"action": "begin"})
    assert err.value.code == "invalid_state"
    assert sim.protocol.tx_seq == 0


# --- the presets: what each one teaches ------------------------------------------------------
def test_clean_commit_writes_the_log_in_the_right_order():
    """prepared is on a participant's disk before its YES is sent; COMMIT is on the coordinator's disk before it
    is sent; END comes after every acknowledgement; locks are released at the end."""
    sim = Simulation(preset("twophase-commit"))
    events = sim.run()
    sends = [e for e in events if e["type"] == "send"]
    first_yes = min(e["t"] for e in sends if e["msg"]["kind"] == "Vote")
    first_commit = min(e["t"] for e in sends if e["msg"]["kind"] == "Decision")
    last_ack = max(e["deliver_at"] for e in sends if e["msg"]["kind"] == "Ack")
    disk = sim.params["disk_ms"]
    for p in participants(sim):
        log = sim.nodes[p].log
        assert [r[1] for r in log] == ["prepared", "commit"]
        assert log[0][2] + disk <= first_yes
        assert sim.nodes[p].locks == []
    coord_log = sim.nodes["coord"].log
    assert [r[1] for r in coord_log] == ["commit", "end"]
    assert coord_log[0][2] + disk <= first_commit
    assert coord_log[1][2] >= last_ack
    assert sim.protocol.metrics()["commits"] == 1 and not sim.violations


def test_a_no_vote_aborts_everywhere_with_presumed_abort():
    sim = Simulation(preset("twophase-no-vote"))
    sim.run()
    assert set(outcomes(sim, "tx1").values()) == {"aborted"}
    assert sim.nodes["p2"].tx["tx1"]["vote"] == "no"
    assert [r[1] for r in sim.nodes["coord"].log] == ["abort"]  # lazily written, no END needed
    assert sim.protocol.metrics()["aborts"] == 1 and not sim.violations


@pytest.mark.parametrize("point,outcome", [("after_decision_logged", "committed"), ("after_votes", "aborted")])
def test_blocking_lesson(point, outcome):
    """Coordinator crashes after the YES votes: every participant stays uncertain, holding its lock and blocked,
    for as long as the coordinator is down; after its restart all finish the same way: COMMIT if the decision
    was logged (re-sent from the log), ABORT if not (presumed abort)."""
    sc = preset("twophase-coordinator-crash")
    sc["interventions"][0]["point"] = point
    restart = sc["interventions"][2]["at"]
    sim = Simulation(sc)
    events = run_until(sim, restart)
    crash = next(e for e in events if e["type"] == "fault")
    assert crash["node"] == "coord" and crash["point"] == point
    assert sim.nodes["coord"].status == "crashed"
    for p in participants(sim):
        e = sim.nodes[p].tx["tx1"]
        assert e["state"] == "prepared" and e["vote"] == "yes"
        assert sim.nodes[p].locks == ["tx1"]
        assert crash["t"] < e["blocked_since"] < restart
    inquiries = [e for e in events if e["type"] == "send" and e["msg"]["kind"] == "Inquire"]
    assert len(inquiries) >= 2 * len(participants(sim))  # they keep asking; nobody answers
    m = sim.protocol.metrics()
    assert m["in_doubt"] == 3 and m["blocked_now"] == 3 and m["blocked_ms"] > 0
    events = run_until(sim, sc["duration"])
    assert set(outcomes(sim, "tx1").values()) == {outcome}
    decided = [e["t"] for e in events if e["type"] == "state" and e["node"] != "coord"
               and any(t["state"] == outcome for t in e["changes"].get("txs", []))]
    assert decided and min(decided) > restart
    m = sim.protocol.metrics()
    assert m["in_doubt"] == 0 and m["blocked_now"] == 0 and m["max_blocked_ms"] >= restart - 1000
    assert all(sim.nodes[p].locks == [] for p in participants(sim))
    assert not sim.violations


def test_cooperative_termination_cannot_help_when_everyone_voted_yes():
    """All uncertain: asking peers gets only 'uncertain' answers; they block exactly as long as without it."""
    plain = Simulation(preset("twophase-coordinator-crash"))
    plain.run()
    coop = Simulation(preset("twophase-cooperative-blocked"))
    events = coop.run()
    peer_answers = [e for e in events if e["type"] == "send" and e["msg"]["kind"] == "Status"]
    assert peer_answers and all(e["msg"]["state"] == "uncertain" for e in peer_answers)
    assert coop.protocol.metrics()["blocked_ms"] == plain.protocol.metrics()["blocked_ms"] > 0
    assert set(outcomes(coop, "tx1").values()) == {"committed"}


def test_cooperative_termination_helps_when_a_peer_knows():
    """The coordinator crashes after telling p1 only; p2 and p3 learn COMMIT from p1 and never see it again."""
    sim = Simulation(preset("twophase-cooperative-helps"))
    sim.run()
    assert sim.nodes["coord"].status == "crashed"
    assert set(outcomes(sim, "tx1").values()) == {"committed"}
    assert "p1" in sim.nodes["p2"].tx["tx1"]["why"]
    without = preset("twophase-cooperative-helps")
    without["params"]["cooperative"] = False
    sim2 = Simulation(without)
    sim2.run()
    assert outcomes(sim2, "tx1") == {"p1": "committed", "p2": "prepared", "p3": "prepared"}


def test_cooperative_termination_helps_when_a_peer_has_not_voted():
    """p3 never got PREPARE (link cut) and the coordinator crashes: p1 and p2 ask p3, which has not voted, so
    it aborts on its own and tells them; they abort without the coordinator."""
    ivs = [{"at": 100, "action": "begin"}, {"at": 150, "action": "cut", "a": "coord", "b": "p3"},
           {"at": 260, "action": "crash", "node": "coord"}]
    for coop, expect in ((True, {"aborted"}), (False, {"prepared", "working", "aborted"})):
        sim = Simulation(twophase(network={"latency": [20, 20]}, params={"cooperative": coop}, interventions=ivs,
                                  duration=1400))
        sim.run()
        got = outcomes(sim, "tx1")
        if coop:
            assert set(got.values()) == expect
        else:
            assert got["p1"] == got["p2"] == "prepared"  # blocked
        assert not sim.violations


def test_3pc_does_not_block_on_a_coordinator_crash():
    """Same crash in 3PC: the participants terminate among themselves, without the coordinator."""
    sim = Simulation(preset("threephase-crash"))
    sim.run()
    assert sim.nodes["coord"].status == "crashed"
    assert set(outcomes(sim, "tx1").values()) == {"aborted"}
    assert sim.protocol.metrics()["blocked_ms"] == 0 and not sim.violations


def test_3pc_commits_through_termination_when_someone_precommitted():
    """The coordinator crashes after sending PRE-COMMIT to p1 only: the backup pre-commits the others, then
    everyone commits without the coordinator."""
    sim = Simulation(twophase(network={"latency": [20, 20]}, params={"mode": "3pc"}, duration=3000, interventions=[
        {"at": 0, "action": "arm_crash", "node": "coordinator", "point": "after_first_decision_sent"},
        {"at": 100, "action": "begin"}]))
    sim.run()
    assert sim.nodes["coord"].status == "crashed"
    assert set(outcomes(sim, "tx1").values()) == {"committed"}
    assert not sim.violations


def test_3pc_partition_splits_and_the_checker_reports_it_once():
    """A partition right after PRE-COMMIT left: coordinator + p1 commit, p2 and p3 abort. One atomicity
    violation for tx1 (not one per participant); commit_needs_all_yes holds (everyone did vote YES)."""
    sim = Simulation(preset("threephase-partition"))
    sim.run()
    assert outcomes(sim, "tx1") == {"p1": "committed", "p2": "aborted", "p3": "aborted"}
    assert [v["invariant"] for v in sim.violations] == ["atomicity"]
    assert "tx1" in sim.violations[0]["details"]
    assert sim.protocol.metrics()["split"] == 1
    # the same schedule in 2PC blocks instead of splitting
    sc = preset("threephase-partition")
    sc["params"]["mode"] = "2pc"
    sim2 = Simulation(sc)
    sim2.run()
    assert not sim2.violations


def test_lock_contention_makes_a_concurrent_transaction_vote_no():
    """A transaction that finds the row locked by another votes NO (no-wait locking) and aborts."""
    sim = Simulation(twophase(params={"work_ms": 1000}, interventions=[
        {"at": 100, "action": "begin"}, {"at": 300, "action": "begin"}]))
    sim.run(3000)
    assert set(outcomes(sim, "tx1").values()) == {"committed"}
    assert set(outcomes(sim, "tx2").values()) == {"aborted"}
    assert all("locked by tx1" in sim.nodes[p].tx["tx2"]["why"] for p in participants(sim))
    assert not sim.violations
    sim = Simulation(twophase(params={"work_ms": 1000, "contention": False}, interventions=[
        {"at": 100, "action": "begin"}, {"at": 300, "action": "begin"}]))
    sim.run(3000)
    assert set(outcomes(sim, "tx2").values()) == {"committed"}


def test_a_recovered_participant_reacquires_the_lock_of_a_prepared_transaction():
    """Crash and restart while blocked: the prepared record brings the transaction back, uncertain, with its
    lock; it asks again at once and keeps blocking until the coordinator returns."""
    sc = preset("twophase-coordinator-crash")
    sc["interventions"] += [{"at": 1000, "action": "crash", "node": "p3"},
                            {"at": 1100, "action": "restart", "node": "p3"},
                            {"at": 3000, "action": "begin"}]
    sim = Simulation(sc)
    events = run_until(sim, 2500)
    assert sim.nodes["p3"].locks == ["tx1"] and sim.nodes["p3"].tx["tx1"]["state"] == "prepared"
    assert any(e["type"] == "send" and e["from"] == "p3" and e["t"] == 1100 and e["msg"]["kind"] == "Inquire"
               for e in events)
    sim.run()
    assert set(outcomes(sim, "tx1").values()) == {"committed"}
    assert set(outcomes(sim, "tx2").values()) == {"committed"}
    assert not sim.violations


def test_example_files_run_through_the_cli():
    """docs/examples/twophase-*.json run headless; each one's summary matches its stated lesson (a partitioned 3PC
    and every teaching mutation's example split the decision; the others keep it atomic)."""
    files = sorted(glob.glob(os.path.join(ROOT, "docs", "examples", "twophase-*.json")))
    assert len(files) >= 4
    for path in files:
        out = subprocess.run([PY, "-m", "simulator", "run", "--quiet", path], cwd=ROOT, capture_output=True,
                             text=True, check=True, timeout=60).stdout
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["type"] == "summary" and summary["metrics"]["transactions"] == 1
        assert summary["metrics"]["in_doubt"] == 0, path
        if "partition" in path or "mutation" in path:
            assert summary["metrics"]["split"] == 1 and summary["violations"], path
        else:
            assert summary["metrics"]["split"] == 0 and not summary["violations"], path


# --- fuzzing: invariants under crashes at random points --------------------------------------
def _schedules(draw, mode):
    n = draw(st.integers(2, 4))
    ids = [f"p{i}" for i in range(1, n + 1)]
    nodes = ["coord"] + ids
    lo = draw(st.integers(1, 30))
    hi = draw(st.integers(lo, 60))
    ivs = []
    for _ in range(draw(st.integers(1, 4))):
        votes = {p: "no" for p in ids if draw(st.integers(0, 9)) == 0}
        ivs.append({"at": draw(st.integers(0, 3000)), "action": "begin", "votes": votes})
    for _ in range(draw(st.integers(0, 6))):
        node = draw(st.sampled_from(nodes))
        t = draw(st.integers(0, 3500))
        ivs.append({"at": t, "action": "crash", "node": node})
        ivs.append({"at": t + draw(st.integers(1, 2000)), "action": "restart", "node": node})
    for _ in range(draw(st.integers(0, 3))):
        node = draw(st.sampled_from(nodes))
        points = ["after_votes", "after_decision_logged", "after_first_decision_sent"] if node == "coord" \
            else ["after_vote"]
        ivs.append({"at": draw(st.integers(0, 3000)), "action": "arm_crash", "node": node,
                    "point": draw(st.sampled_from(points))})
    for node in nodes:  # everyone comes back; then the run must settle
        ivs.append({"at": 6000, "action": "restart", "node": node})
    params = {"mode": mode, "cooperative": draw(st.booleans()), "disk_ms": draw(st.integers(0, 20)),
              "contention": draw(st.booleans())}
    return twophase(seed=draw(st.integers(0, 2**32)), nodes=n, network={"latency": [lo, hi]}, params=params,
                    interventions=ivs, duration=14000)


@st.composite
def crash_schedules_2pc(draw):
    return _schedules(draw, "2pc")


@st.composite
def crash_schedules_3pc(draw):
    return _schedules(draw, "3pc")


def _check_settled(sim):
    """No violation; every participant decided every transaction; the coordinator agrees with them."""
    assert not sim.violations, sim.violations
    for p in participants(sim):
        node = sim.nodes[p]
        undecided = [tx for tx, e in node.tx.items() if e["state"] not in ("committed", "aborted")]
        assert not undecided, (p, undecided)
        assert node.locks == []
    for tx in sorted(sim.protocol.began):
        got = {s for s in outcomes(sim, tx).values() if s}
        assert len(got) <= 1, (tx, got)
        c = sim.nodes["coord"].tx.get(tx)
        if c and c["state"] in ("committing", "committed"):
            assert got <= {"committed"}, (tx, got)
            assert c["state"] == "committed"  # every acknowledgement arrived: END written
        if "committed" in got:
            assert c is not None and c["state"] == "committed", (tx, c)


@FUZZ
@given(crash_schedules_2pc())
def test_2pc_invariants_hold_and_everyone_settles_under_crashes(sc):
    sim = Simulation(sc)
    sim.run()
    _check_settled(sim)


@FUZZ
@given(crash_schedules_3pc())
def test_3pc_invariants_hold_and_everyone_settles_under_crashes(sc):
    """Crash failures only (no partitions, bounded delays): 3PC keeps atomicity."""
    sim = Simulation(sc)
    sim.run()
    _check_settled(sim)


@st.composite
def network_fault_schedules(draw):
    """2PC with everything the network and the clock can do: loss, duplication, cuts, partitions, pauses,
    drift, plus crashes; all healed/resumed/restarted at 6 s."""
    sc = _schedules(draw, "2pc")
    nodes = ["coord"] + [f"p{i}" for i in range(1, sc["nodes"] + 1)]
    ivs = sc["interventions"]
    for _ in range(draw(st.integers(1, 6))):
        t = draw(st.integers(0, 4000))
        kind = draw(st.sampled_from(["cut", "partition", "pause", "drift"]))
        if kind == "cut":
            a, b = draw(st.permutations(nodes))[:2]
            ivs.append({"at": t, "action": "cut", "a": a, "b": b, "oneway": draw(st.booleans())})
        elif kind == "partition":
            order = draw(st.permutations(nodes))
            k = draw(st.integers(1, len(nodes) - 1))
            ivs.append({"at": t, "action": "partition", "groups": [list(order[:k])]})
        elif kind == "pause":
            node = draw(st.sampled_from(nodes))
            ivs.append({"at": t, "action": "pause", "node": node})
            ivs.append({"at": t + draw(st.integers(1, 2000)), "action": "resume", "node": node})
        else:
            ivs.append({"at": t, "action": "set_drift", "node": draw(st.sampled_from(nodes)),
                        "factor": draw(st.sampled_from([0.5, 2.0, 5.0]))})
    ivs.append({"at": 5999, "action": "heal_all"})
    ivs += [{"at": 5999, "action": "resume", "node": n} for n in nodes]
    sc["network"]["loss"] = draw(st.sampled_from([0.0, 0.05, 0.2]))
    sc["network"]["duplicate"] = draw(st.sampled_from([0.0, 0.1]))
    sc["duration"] = 30_000
    return sc


@FUZZ
@given(network_fault_schedules())
def test_2pc_is_safe_under_any_network_fault_and_settles_once_healed(sc):
    """2PC's safety does not depend on timing: partitions, pauses, loss and duplicates only make it block.
    Once healed (loss stays on), retries settle every transaction."""
    sim = Simulation(sc)
    sim.run()
    _check_settled(sim)


def test_3pc_coordinator_decides_when_every_participant_recovered_uncertain():
    """3PC total failure: PRECOMMIT logged but never sent, then everyone crashes. Recovered participants may not
    terminate on their own (they cannot know what the others did while they were down); the recovered
    coordinator hears from all of them, sees nobody could have decided, and aborts for all."""
    sim = Simulation(twophase(network={"latency": [20, 20]}, params={"mode": "3pc"}, duration=4000, interventions=[
        {"at": 0, "action": "arm_crash", "node": "coordinator", "point": "after_decision_logged"},
        {"at": 100, "action": "begin"},
        {"at": 300, "action": "crash", "node": "p1"}, {"at": 300, "action": "crash", "node": "p2"},
        {"at": 300, "action": "crash", "node": "p3"},
        {"at": 400, "action": "restart", "node": "coord"},
        {"at": 1000, "action": "restart", "node": "p1"}, {"at": 1000, "action": "restart", "node": "p2"},
        {"at": 1500, "action": "restart", "node": "p3"}]))
    sim.advance(1400)
    assert sim.nodes["coord"].tx["tx1"]["state"] == "recovering"
    assert tx_state(sim, "p1", "tx1") == tx_state(sim, "p2", "tx1") == "prepared"  # p3 is down: wait
    sim.run()
    assert set(outcomes(sim, "tx1").values()) == {"aborted"}
    assert not sim.violations


@FUZZ
@given(seed=st.integers(0, 2**32), crash_at=st.integers(100, 700), n=st.integers(2, 5),
       point=st.sampled_from(["time", "after_votes", "after_decision_logged", "after_first_decision_sent"]))
def test_3pc_never_blocks_participants_that_stay_up(seed, crash_at, n, point):
    """The coordinator crashes for good, anywhere in the protocol: within two decision timeouts of its last
    message every participant has decided, the same way. (2PC with the same crash after the votes blocks.)"""
    ivs = [{"at": 100, "action": "begin"}]
    if point == "time":
        ivs.append({"at": crash_at, "action": "crash", "node": "coord"})
    else:
        ivs.insert(0, {"at": 0, "action": "arm_crash", "node": "coord", "point": point})
    sim = Simulation(twophase(seed=seed, nodes=n, params={"mode": "3pc"}, duration=3000, interventions=ivs))
    sim.run()
    assert sim.nodes["coord"].status == "crashed"
    got = set(outcomes(sim, "tx1").values())
    assert len(got) == 1 and got <= {"committed", "aborted"}, got
    assert not sim.violations


# --- each mutation is caught --------------------------------------------------------------------
def _caught(mutation, scenarios):
    """The first scenario where the mutation trips the checker, checking the correct protocol passes it."""
    for sc in scenarios:
        bad = Simulation(dict(sc, mutations=[mutation]))
        bad.run()
        if bad.violations:
            good = Simulation(sc)
            good.run()
            assert not good.violations, (sc, good.violations)
            return sc, invariants_hit(bad)
    return None, []


def _seeds(n=30):
    return range(1, n + 1)


def test_mutation_commit_on_timeout_is_caught():
    """p-k votes NO; the coordinator crashes around the votes: an uncertain participant commits on its own."""
    def scenarios():
        for seed in _seeds():
            k = 1 + seed % 3
            yield twophase(seed=seed, network={"latency": [5, 40]}, duration=4000, interventions=[
                {"at": 100, "action": "begin", "votes": {f"p{k}": "no"}},
                {"at": 150 + (seed * 37) % 250, "action": "crash", "node": "coord"},
                {"at": 3000, "action": "restart", "node": "coord"}])
    sc, hit = _caught("commit_on_timeout", scenarios())
    assert sc is not None
    assert "atomicity" in hit and "commit_needs_all_yes" in hit


def test_mutation_no_force_write_is_caught():
    """The coordinator tells some COMMIT, crashes before the record is on disk, and presumes abort."""
    def scenarios():
        for seed in _seeds():
            yield twophase(seed=seed, network={"latency": [5, 40]}, duration=5000, interventions=[
                {"at": 0, "action": "arm_crash", "node": "coordinator",
                 "point": ["after_first_decision_sent", "after_decision_logged"][seed % 2]},
                {"at": 100, "action": "begin"},
                {"at": 400 + (seed * 53) % 1500, "action": "restart", "node": "coord"}])
    sc, hit = _caught("no_force_write", scenarios())
    assert sc is not None
    assert hit == ["atomicity"]


def test_mutation_no_force_prepare_is_caught():
    """A participant votes YES, crashes before the prepared record is on disk, and cannot commit."""
    def scenarios():
        for seed in _seeds():
            k = 1 + seed % 3
            yield twophase(seed=seed, network={"latency": [5, 40]}, duration=5000, interventions=[
                {"at": 0, "action": "arm_crash", "node": f"p{k}", "point": "after_vote"},
                {"at": 100, "action": "begin"},
                {"at": 300 + (seed * 71) % 900, "action": "restart", "node": f"p{k}"}])
    sc, hit = _caught("no_force_prepare", scenarios())
    assert sc is not None
    assert hit == ["atomicity"]


# --- determinism and the event stream ----------------------------------------------------------
def _fixed_fuzz_scenario():
    return twophase(seed=99, nodes=4, duration=8000, network={"latency": [5, 45]},
                    params={"begin_interval": 150, "no_probability": 0.1, "cooperative": True},
                    interventions=[{"at": 700, "action": "crash", "node": "coord"},
                                   {"at": 1900, "action": "restart", "node": "coord"},
                                   {"at": 2300, "action": "crash", "node": "p2"},
                                   {"at": 2350, "action": "arm_crash", "node": "coord", "point": "after_votes"},
                                   {"at": 3000, "action": "restart", "node": "p2"},
                                   {"at": 4000, "action": "restart", "node": "coord"}])


def test_same_scenario_same_trace_across_processes():
    """Byte-identical traces in this process and in fresh interpreters with different hash seeds."""
    sc = _fixed_fuzz_scenario()
    events, summary = run_scenario(sc)
    assert trace_hash(Simulation(sc).run()) == summary["trace_hash"]
    assert summary["metrics"]["transactions"] > 20
    code = ("import json,sys; from simulator import run_scenario; "
            "print(run_scenario(json.loads(sys.stdin.read()))[1]['trace_hash'])")
    for hashseed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        out = subprocess.run([PY, "-c", code], input=json.dumps(sc), cwd=ROOT, env=env, capture_output=True,
                             text=True, check=True, timeout=60).stdout.strip()
        assert out == summary["trace_hash"]


def test_recorded_live_interventions_replay_exactly():
    """Interventions applied live (at whatever ms the viewer clicked) replay byte for byte from the record."""
    sim = Simulation(twophase(duration=6000, params={"mode": "3pc"}))
    events = run_until(sim, 100)
    sim.intervene({"action": "begin", "votes": {"p3": "yes"}})
    sim.step_events(5)
    sim.intervene({"action": "arm_crash", "node": "coordinator", "point": "after_first_decision_sent"})
    events += run_until(sim, 1500)
    sim.intervene({"action": "restart", "node": "coordinator"})
    events += run_until(sim, 6000)
    again = Simulation(sim.recorded_scenario())
    assert trace_hash(again.run()) == trace_hash(events)


@FUZZ
@given(crash_schedules_2pc(), st.lists(st.integers(1, 13_999), min_size=1, max_size=4))
def test_snapshot_plus_events_equals_snapshot(sc, cuts):
    """Snapshot at t0 plus the events up to t1 rebuilds the snapshot at t1, through JSON (as the page sees it)."""
    sim = Simulation(sc)
    snap = json.loads(canonical(sim.snapshot()))
    sim.drain()
    for t in sorted(set(cuts)):
        sim.advance(t)
        events = json.loads(json.dumps(sim.drain()))
        snap = replay(snap, events, until=t)
        assert canonical(snap) == canonical(sim.snapshot()), t


def test_deepcopy_is_an_exact_checkpoint():
    """Time travel copies the simulation: a copy taken mid-run (mid-blocking, timers and a forced write pending)
    continues exactly like the original."""
    sc = twophase(seed=7, duration=8000, params={"begin_interval": 300, "cooperative": True, "no_probability": 0.1},
                  interventions=[{"at": 900, "action": "arm_crash", "node": "coordinator",
                                  "point": "after_decision_logged"},
                                 {"at": 2500, "action": "restart", "node": "coord"}])
    a = Simulation(sc)
    a.advance(1234)
    a.drain()
    assert a.nodes["coord"].status == "crashed" and a.protocol.metrics()["in_doubt"] > 0
    b = copy.deepcopy(a)
    assert trace_hash(a.run()) == trace_hash(b.run())
    assert a.protocol.metrics() == b.protocol.metrics()


def test_view_lists_recent_and_undecided_transactions_only():
    """A long run keeps each state event small: the view holds the last 8 transactions plus undecided ones."""
    sim = Simulation(twophase(duration=20_000, params={"begin_interval": 200}))
    events = sim.run()
    assert sim.protocol.tx_seq > 50
    for nid in sim.node_ids:
        view = sim.nodes[nid].view()["txs"]
        assert 1 <= len(view) <= 8 + len(sim.nodes[nid].open)
        nums = [int(t["tx"][2:]) for t in view]
        assert nums == sorted(nums) and nums[-1] >= sim.protocol.tx_seq - 1
    biggest = max(len(canonical(e)) for e in events if e["type"] == "state")
    assert biggest < 4000


def test_the_client_cannot_abort_once_the_coordinator_is_writing_its_commit_decision():
    """Found by the hunt (docs/hunt.md): all YES votes are in at 655 ms and the coordinator forces its COMMIT
    record (disk_ms 10). An abort during that write used to be accepted: ABORT went out, then COMMIT once the
    write ended, and tx1 was committed at p2 but aborted at p1 and p3. A decision being written is made."""
    sc = {"protocol": "twophase", "seed": 1, "duration": 900,
          "interventions": [{"at": 656, "action": "abort", "node": "coord"}]}
    events = Simulation(sc).run()
    assert not [e for e in events if e["type"] == "violation"]
    [rejected] = [e for e in events if e["type"] == "rejected"]
    assert rejected["error"]["code"] == "invalid_state" and "already made" in rejected["error"]["message"]
    # the window is exactly the write: just before the votes are in, the abort still works
    sc["interventions"][0]["at"] = 650
    events = Simulation(sc).run()
    assert [e for e in events if e["type"] == "intervention" and e["action"] == "abort"][0]["aborted"] == ["tx1"]
    assert not [e for e in events if e["type"] == "violation"]


def test_a_live_abort_during_the_commit_write_is_refused_and_changes_nothing():
    sim = Simulation({"protocol": "twophase", "seed": 1, "duration": 900})
    sim.advance(660)
    before = (sim.now, canonical(sim.snapshot()), len(sim.pending))
    with pytest.raises(InterventionError) as err:
        sim.intervene({"action": "abort", "node": "coord"})
    assert err.value.code == "invalid_state"
    assert (sim.now, canonical(sim.snapshot()), len(sim.pending)) == before
