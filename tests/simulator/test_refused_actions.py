"""A refused action changes nothing, clock included (docs/architecture.md, "Actions: check, then apply").

For every protocol and every kind of refusal its actions (and the common ones) can produce, a live
`sim.intervene(...)` that raises leaves `sim.now`, the canonical snapshot, the events emitted and the record
of interventions exactly as they were. Each case is tried twice: at a clean millisecond, and right after a
step (some event of the current millisecond has run), where an accepted intervention would move the clock
to the next millisecond first: the check must come before that move.
"""

import pytest

from simulator import InterventionError, Simulation
from simulator.trace import canonical


def state(sim):
    return (sim.now, canonical(sim.snapshot()), sim.event_count, len(sim.applied),
            canonical(sim.recorded_scenario()))


def at_clean_ms(sim, t):
    sim.advance(t)
    assert not sim.steps_at_now
    return sim


def after_a_step(sim, t):
    sim.advance(t)
    assert sim.step_events(len(sim.pending) + 1) >= 1, "nothing left to step"
    assert sim.steps_at_now  # an accepted intervention would now move the clock by 1 ms first
    return sim


def assert_refused(make, iv, code):
    """`make()` builds a simulation in the state to test; `iv` must be refused with `code`, changing nothing."""
    for position in (at_clean_ms, after_a_step):
        sim, t = make()
        position(sim, t)
        before = state(sim)
        with pytest.raises(InterventionError) as err:
            sim.intervene(iv)
        assert err.value.code == code, (position.__name__, err.value.as_dict())
        assert state(sim) == before, position.__name__
        # and the run goes on as if nothing had been tried
        sim.advance(sim.now + 50)


def sim_of(scenario, t, before=()):
    """A simulation of `scenario` advanced to `t`, after applying the interventions in `before` live."""
    def make():
        sim = Simulation(scenario)
        for when, iv in before:
            sim.advance(when)
            sim.intervene(iv)
        return sim, t
    return make


# --- the common actions, for every protocol -------------------------------------------------------------
COMMON_CASES = {  # protocol -> (a scenario that keeps running, a node to refuse things to)
    "raft": ({}, "n2"),
    "paxos": ({"params": {"multi": True}}, "a2"),
    "twophase": ({}, "p2"),
    "gossip": ({}, "n2"),
    "kafka": ({}, "c2"),
}


@pytest.mark.parametrize("protocol", sorted(COMMON_CASES))
def test_common_refusals_change_nothing(protocol):
    extra, node = COMMON_CASES[protocol]
    sc = dict({"protocol": protocol, "seed": 3, "duration": 5000}, **extra)
    up = sim_of(sc, 400)
    crashed = sim_of(sc, 400, [(100, {"action": "crash", "node": node})])
    paused = sim_of(sc, 400, [(100, {"action": "pause", "node": node})])
    assert_refused(crashed, {"action": "crash", "node": node}, "invalid_state")
    assert_refused(up, {"action": "restart", "node": node}, "invalid_state")
    assert_refused(paused, {"action": "pause", "node": node}, "invalid_state")
    assert_refused(up, {"action": "resume", "node": node}, "invalid_state")
    assert_refused(up, {"action": "crash", "node": "nobody"}, "unknown_node")
    assert_refused(up, {"action": "explode", "node": node}, "unknown_action")
    assert_refused(up, {"action": "cut", "a": node, "b": node}, "invalid_intervention")


# --- Raft -----------------------------------------------------------------------------------------------
RAFT = {"protocol": "raft", "seed": 1, "duration": 5000}


def test_raft_refusals_change_nothing():
    led = sim_of(RAFT, 1000)
    sim = Simulation(RAFT)
    sim.advance(1000)
    lid = sim.protocol.resolve("leader")
    assert lid is not None
    down = "n3" if lid != "n3" else "n4"
    crashed = sim_of(RAFT, 1000, [(900, {"action": "crash", "node": down})])
    paused = sim_of(RAFT, 1000, [(900, {"action": "pause", "node": down})])
    quiet = dict(RAFT, params={"election_timeout_min": 1000, "election_timeout_max": 2000, "heartbeat_interval": 100})
    assert_refused(crashed, {"action": "client_request", "node": down, "value": "x"}, "invalid_state")
    assert_refused(paused, {"action": "client_request", "node": down}, "invalid_state")
    assert_refused(crashed, {"action": "timeout", "node": down}, "invalid_state")
    assert_refused(led, {"action": "timeout", "node": lid}, "invalid_state")
    assert_refused(led, {"action": "timeout", "node": "leader"}, "invalid_state")
    assert_refused(sim_of(quiet, 20), {"action": "client_request", "node": "leader"}, "no_target")
    assert_refused(led, {"action": "client_request", "node": "n1", "value": "x" * 41}, "invalid_intervention")
    assert_refused(led, {"action": "timeout"}, "invalid_intervention")  # node is required


# --- Paxos ----------------------------------------------------------------------------------------------
PAXOS = {"protocol": "paxos", "seed": 2, "duration": 3000, "params": {"auto_propose": False}}


def test_paxos_refusals_change_nothing():
    idle = sim_of(PAXOS, 50)
    busy = sim_of(PAXOS, 60, [(50, {"action": "propose", "node": "p1", "value": "A"})])
    crashed = sim_of(PAXOS, 60, [(50, {"action": "crash", "node": "p2"})])
    assert_refused(idle, {"action": "propose", "node": "a1", "value": "A"}, "not_a_proposer")
    assert_refused(idle, {"action": "propose", "node": "l1", "value": "A"}, "not_a_proposer")
    assert_refused(crashed, {"action": "propose", "node": "p2", "value": "B"}, "invalid_state")
    assert_refused(idle, {"action": "propose", "node": "p1", "value": "no-op"}, "reserved_value")
    assert_refused(busy, {"action": "propose", "node": "p1", "value": "C"}, "busy")
    assert_refused(idle, {"action": "propose", "node": "leader", "value": "A"}, "no_target")  # single-decree
    assert_refused(idle, {"action": "propose", "node": "p9"}, "unknown_node")
    multi = {"protocol": "paxos", "seed": 4, "duration": 3000, "params": {"multi": True, "client_interval": 0}}
    assert_refused(sim_of(multi, 600, [(500, {"action": "crash", "node": "p1"})]),
                   {"action": "propose", "node": "p1", "value": "x"}, "invalid_state")


# --- two-phase commit ----------------------------------------------------------------------------------
TWOPHASE = {"protocol": "twophase", "seed": 1, "duration": 6000, "params": {"begin_interval": 3000},
            "network": {"latency": [20, 20]}}


def test_twophase_refusals_change_nothing():
    # tx1 begins at 500 ms and is committed everywhere by 1000 ms; tx2 begins at 3500 ms: in between nothing is
    # undecided, and the lazy log flushes are still to come (something to step)
    idle = sim_of(TWOPHASE, 1000)
    coord_down = sim_of(TWOPHASE, 1010, [(1000, {"action": "crash", "node": "coordinator"})])
    p2_down = sim_of(TWOPHASE, 1010, [(1000, {"action": "crash", "node": "p2"})])
    # tx2 by hand at 1000 ms: PREPARE leaves at 1100 (work_ms), p2 votes YES at 1130 once its prepared record is
    # on disk, and is uncertain until COMMIT arrives at 1180
    voted = sim_of(TWOPHASE, 1140, [(1000, {"action": "begin"})])
    assert_refused(idle, {"action": "begin", "votes": {"p9": "no"}}, "unknown_node")
    assert_refused(coord_down, {"action": "begin"}, "invalid_state")
    assert_refused(idle, {"action": "arm_crash", "node": "coordinator", "point": "after_vote"}, "invalid_point")
    assert_refused(idle, {"action": "arm_crash", "node": "p1", "point": "after_votes"}, "invalid_point")
    assert_refused(p2_down, {"action": "arm_crash", "node": "p2", "point": "after_vote"}, "invalid_state")
    assert_refused(p2_down, {"action": "abort", "node": "p2"}, "invalid_state")
    assert_refused(idle, {"action": "abort", "node": "coordinator"}, "invalid_state")
    assert_refused(idle, {"action": "abort", "node": "p1"}, "invalid_state")
    sim, t = voted()
    sim.advance(t)
    assert sim.nodes["p2"].tx["tx2"]["state"] == "prepared"
    assert_refused(voted, {"action": "abort", "node": "p2"}, "uncertain")
    assert_refused(idle, {"action": "begin", "votes": {"p1": "maybe"}}, "invalid_intervention")


# --- gossip ---------------------------------------------------------------------------------------------
GOSSIP = {"protocol": "gossip", "seed": 1, "nodes": 8, "duration": 4000}


def test_gossip_refusals_change_nothing():
    """The issue's example: a rumour at a node that is down used to advance the clock by 1 ms."""
    up = sim_of(GOSSIP, 300)
    crashed = sim_of(GOSSIP, 300, [(200, {"action": "crash", "node": "n3"})])
    paused = sim_of(GOSSIP, 300, [(200, {"action": "pause", "node": "n3"})])
    swim = sim_of(dict(GOSSIP, params={"mode": "swim"}), 300)
    assert_refused(crashed, {"action": "rumor", "node": "n3"}, "invalid_state")
    assert_refused(paused, {"action": "rumor", "node": "n3", "id": "r7"}, "invalid_state")
    assert_refused(swim, {"action": "rumor", "node": "n1"}, "invalid_mode")
    assert_refused(up, {"action": "rumor", "node": "n1", "id": "no spaces"}, "invalid_value")
    # with the store in memory only, n1 forgets r1 in a crash: starting r1 again would be version 1 again,
    # which n1 already started
    forgetful = sim_of(dict(GOSSIP, mutations=["forget_on_crash"]), 400,
                       [(200, {"action": "crash", "node": "n1"}), (300, {"action": "restart", "node": "n1"})])
    assert_refused(forgetful, {"action": "rumor", "node": "n1", "id": "r1"}, "invalid_state")
    assert_refused(up, {"action": "rumor", "node": "n99"}, "unknown_node")


# --- Kafka ----------------------------------------------------------------------------------------------
KAFKA = {"protocol": "kafka", "seed": 7, "duration": 9000, "nodes": 4,
         "params": {"partitions": 20, "consumers": 3, "max_poll_interval_ms": 60000}}
KAFKA_SETTING = [(1000, {"action": "crash", "node": "c1"}),
                 (3000, {"action": "stall", "node": "c3", "duration": 4000}),
                 (3000, {"action": "remove_consumer", "node": "c2"})]


def test_kafka_refusals_change_nothing():
    # at 3001 ms: c1 crashed, c2 shutting down (its commit in flight), c3 stalled, c4 an idle slot
    setting = sim_of(KAFKA, 3001, KAFKA_SETTING)
    sim, t = setting()
    sim.advance(t)
    c1, c2, c3, c4 = (sim.nodes[c] for c in ("c1", "c2", "c3", "c4"))
    assert c1.status == "crashed" and c2.closing and c3.stalled_until is not None and not c4.active
    assert_refused(setting, {"action": "add_consumer", "node": "broker"}, "invalid_target")
    assert_refused(setting, {"action": "add_consumer", "node": "c1"}, "invalid_state")
    assert_refused(setting, {"action": "add_consumer", "node": "c3"}, "invalid_state")
    assert_refused(setting, {"action": "add_consumer", "node": "c4", "instance_id": "x"}, "invalid_state")
    assert_refused(setting, {"action": "remove_consumer", "node": "c4"}, "invalid_state")
    assert_refused(setting, {"action": "remove_consumer", "node": "c2"}, "invalid_state")
    assert_refused(setting, {"action": "remove_consumer", "node": "c3"}, "invalid_state")
    assert_refused(setting, {"action": "remove_consumer", "node": "c1"}, "invalid_state")
    assert_refused(setting, {"action": "remove_consumer", "node": "broker"}, "invalid_target")
    assert_refused(setting, {"action": "stall", "node": "c3", "duration": 100}, "invalid_state")
    assert_refused(setting, {"action": "stall", "node": "c4", "duration": 100}, "invalid_state")
    assert_refused(setting, {"action": "stall", "node": "c2", "duration": 100}, "invalid_state")
    assert_refused(setting, {"action": "add_partitions", "topic": "t3", "count": 1}, "invalid_target")
    assert_refused(setting, {"action": "add_partitions", "topic": "t0", "count": 16}, "out_of_range")
    # KIP-848 with three brokers: a broker (by id or by role) is no consumer
    multi = dict(KAFKA, params=dict(KAFKA["params"], group_protocol="consumer", assignor="uniform", brokers=3))
    setting = sim_of(multi, 3001, KAFKA_SETTING)
    assert_refused(setting, {"action": "stall", "node": "b2", "duration": 10}, "invalid_target")
    assert_refused(setting, {"action": "add_consumer", "node": "coordinator"}, "invalid_target")
    assert_refused(setting, {"action": "stall", "node": "c3", "duration": 5}, "invalid_state")

def test_accepted_actions_still_apply_after_a_step():
    """The check is no obstacle: an action that can apply does, at the next millisecond after a step."""
    sim = after_a_step(Simulation(GOSSIP), 300)
    t = sim.now
    iv = sim.intervene({"action": "rumor", "node": "n2", "id": "fresh"})
    assert iv["at"] == t + 1 and sim.now == t + 1
    assert sim.nodes["n2"].store["fresh"][:2] == [1, "n2"]
