"""Kafka: a refused action changes nothing, clock included. Every kind of refusal of Kafka's own actions
(add_consumer, remove_consumer, stall, add_partitions), tried live in the middle of a millisecond (where an accepted
one would move the clock to the next): the error is typed, and the clock, the snapshot, the pending events and the
record stay as they were; the rest of the run is the trace of a twin that was never asked.
"""

import copy

import pytest

from simulator import InterventionError, Simulation
from simulator.trace import trace_hash


def scenario(**params):
    return {"protocol": "kafka", "seed": 7, "duration": 9000, "nodes": 4,
            "params": dict({"partitions": 6, "consumers": 3, "max_poll_interval_ms": 60000}, **params),
            "interventions": [{"at": 1000, "action": "crash", "node": "c1"},
                              {"at": 3000, "action": "stall", "node": "c3", "duration": 4000},
                              {"at": 3000, "action": "remove_consumer", "node": "c2"}]}


def mid_millisecond(sim, t):
    """Run to `t`, then on until some event of the current millisecond has run (a live action would land at the
    next one)."""
    sim.advance(t)
    while not sim.steps_at_now:
        sim.step_events(len(sim.pending) + 1)
    return sim


def state_of(sim):
    return (sim.now, copy.deepcopy(sim.snapshot()), copy.deepcopy(sim.pending), copy.deepcopy(sim.applied),
            sim.event_count)


# (what is refused, the action, the code) at 3001 ms: c1 crashed, c2 shutting down (its commit in flight), c3 stalled,
# c4 an idle slot.
REFUSALS = [
    ("a broker is no consumer", {"action": "add_consumer", "node": "broker"}, "invalid_target"),
    ("a crashed slot", {"action": "add_consumer", "node": "c1"}, "invalid_state"),
    ("a running consumer", {"action": "add_consumer", "node": "c3"}, "invalid_state"),
    ("instance_id without static membership", {"action": "add_consumer", "node": "c4", "instance_id": "x"},
     "invalid_state"),
    ("removing an idle slot", {"action": "remove_consumer", "node": "c4"}, "invalid_state"),
    ("removing a consumer that is shutting down", {"action": "remove_consumer", "node": "c2"}, "invalid_state"),
    ("removing a stalled consumer", {"action": "remove_consumer", "node": "c3"}, "invalid_state"),
    ("removing a crashed consumer", {"action": "remove_consumer", "node": "c1"}, "invalid_state"),
    ("removing the broker", {"action": "remove_consumer", "node": "broker"}, "invalid_target"),
    ("stalling a stalled consumer", {"action": "stall", "node": "c3", "duration": 100}, "invalid_state"),
    ("stalling an idle slot", {"action": "stall", "node": "c4", "duration": 100}, "invalid_state"),
    ("stalling a consumer that is shutting down", {"action": "stall", "node": "c2", "duration": 100},
     "invalid_state"),
    ("an unknown topic", {"action": "add_partitions", "topic": "t3", "count": 1}, "invalid_target"),
    ("too many partitions", {"action": "add_partitions", "topic": "t0", "count": 16}, "out_of_range"),
]


@pytest.mark.parametrize("why, action, code", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_kafka_action_changes_nothing(why, action, code):
    sim = mid_millisecond(Simulation(scenario(partitions=20)), 3001)
    c1, c2, c3, c4 = (sim.nodes[c] for c in ("c1", "c2", "c3", "c4"))
    assert c1.status == "crashed" and c2.closing and c3.stalled_until is not None and not c4.active  # the setting
    before = state_of(sim)
    with pytest.raises(InterventionError) as err:
        sim.intervene(action)
    assert err.value.code == code, why
    assert state_of(sim) == before, why
    twin = mid_millisecond(Simulation(scenario(partitions=20)), 3001)
    assert trace_hash(sim.run()) == trace_hash(twin.run())


def test_refusals_that_depend_on_the_mode_change_nothing_either():
    """KIP-848 and three brokers: the same refusals (a broker b1 is no consumer; a stalled member)."""
    sc = scenario(group_protocol="consumer", assignor="uniform", brokers=3)
    sim = mid_millisecond(Simulation(sc), 3001)
    for action in ({"action": "stall", "node": "b2", "duration": 10}, {"action": "stall", "node": "c3", "duration": 5},
                   {"action": "add_consumer", "node": "coordinator"}):
        before = state_of(sim)
        with pytest.raises(InterventionError):
            sim.intervene(action)
        assert state_of(sim) == before, action


def test_an_accepted_action_in_the_same_place_does_move_the_clock():
    """The contrast that makes the tests above meaningful: an action that applies lands at the next millisecond."""
    sim = mid_millisecond(Simulation(scenario()), 3001)
    now = sim.now
    iv = sim.intervene({"action": "add_consumer", "node": "c4"})
    assert iv["at"] == now + 1 and sim.now == now + 1 and sim.nodes["c4"].active
