"""Kafka KIP-848 (group.protocol=consumer): regression schedules found by bench/hunt.py, written out in full so
that they do not drift with the hunt's schedule generator.

- A member whose application thread is stalled has an assignment it has not taken yet. Its heartbeats report
  those partitions as owned (ModernConsumer.claimed): the coordinator frees whatever a member does not report, so
  reporting only what was consumed let it hand t0p1 to c2 while c1 was about to take it on waking (hunt
  reliability run, schedule 4,695: exclusive_ownership broken at 13,161 ms).
- An answer to a heartbeat that timed out is discarded (Kafka's client failed that request and closed the
  connection). c3's two heartbeats waited at a paused coordinator; the first was answered with t0p5, the second
  (sent before that answer, owning nothing) freed t0p5 for c2, and c3 took t0p5 from the first answer while c2
  held it (hunt after the fix above, schedule 8,015).
"""

from simulator import Simulation

# c1 and c3 stalled 12 s (below max.poll.interval, so their heartbeats go on), 30% loss: c1 is given t0p0 and
# t0p1 at epoch 4 while stalled; at epoch 5 t0p1 moves to c2 and the answer telling c1 so is lost.
STALLED_MEMBER_LOSES_ITS_NEW_EPOCH = {
    "protocol": "kafka", "nodes": 3, "seed": 476559643, "duration": 13162, "network": {"loss": 0.3},
    "params": {"group_protocol": "consumer", "assignor": "uniform", "produce_rate": 0, "partitions": 3},
    "interventions": [{"at": 79, "action": "partition", "groups": [["broker", "c3"]]},
                      {"at": 130, "action": "stall", "node": "c1", "duration": 12000},
                      {"at": 133, "action": "stall", "node": "c3", "duration": 12000},
                      {"at": 1501, "action": "heal_all"}],
}

# The hunt's trial 8,014 (seed 1) from bench's kafka-consumer start, as it ran.
PAUSED_COORDINATOR_ANSWERS_TWO_HEARTBEATS = {
    "protocol": "kafka", "params": {"group_protocol": "consumer", "assignor": "uniform"}, "seed": 1,
    "duration": 20000,
    "interventions": [
        {"at": 160, "action": "pause", "node": "broker"},
        {"at": 172, "action": "crash", "node": "c2"},
        {"at": 174, "action": "crash", "node": "leader"},
        {"action": "stall", "node": "c3", "duration": 5000, "at": 237},
        {"at": 639, "action": "crash", "node": "c1"},
        {"at": 639, "action": "crash", "node": "c2"},
        {"at": 639, "action": "crash", "node": "c4"},
        {"at": 640, "action": "partition", "groups": [["c2"]]},
        {"at": 654, "action": "set_link", "a": "broker", "b": "c1", "latency": [130, 493]},
        {"at": 663, "action": "crash", "node": "leader"},
        {"at": 839, "action": "restart", "node": "c1"},
        {"at": 839, "action": "restart", "node": "c2"},
        {"at": 839, "action": "restart", "node": "c4"},
        {"at": 1174, "action": "restart", "node": "c3"},
        {"at": 2140, "action": "heal_all"},
        {"at": 5493, "action": "resume", "node": "broker"},
        {"at": 5505, "action": "restart", "node": "c2"},
        {"at": 5558, "action": "crash", "node": "coordinator"},
        {"action": "stall", "node": "c4", "duration": 5000, "at": 6575},
        {"action": "add_partitions", "topic": "t0", "count": 1, "at": 10037},
        {"at": 10891, "action": "restart", "node": "c1"},
        {"at": 12506, "action": "cut", "a": "c1", "b": "broker", "oneway": False},
    ],
}


def sends(events, kind, frm=None, to=None):
    return [ev for ev in events if ev["type"] == "send" and ev["msg"].get("kind") == kind
            and (frm is None or ev["from"] == frm) and (to is None or ev["to"] == to)]


def test_a_stalled_member_reports_the_assignment_it_has_not_taken_and_keeps_it_from_others():
    sim = Simulation(STALLED_MEMBER_LOSES_ITS_NEW_EPOCH)
    events = sim.run()
    assert sim.violations == []
    # While stalled, c1 owned nothing yet its heartbeats reported t0p1, the partition given to it at epoch 4.
    stalled = [ev for ev in sends(events, "ConsumerGroupHeartbeat", frm="c1") if 4544 < ev["t"] < 12130]
    assert stalled and all("t0p1" in ev["msg"]["owned"] for ev in stalled)
    # So the coordinator kept t0p1 c1's (pending revocation) and c2 never got it within the run.
    c1, c2 = sim.nodes["c1"], sim.nodes["c2"]
    assert "t0p1" in c1.owned
    assert not any(e[1] == "own" and e[2] == "t0p1" and e[0] > 6101 for e in c2.log)
    assert sim.protocol.broker.group[c1.member_id]["state"] == "unrevoked"


def test_the_schedule_runs_clean_long_after_the_stalls():
    """30% loss keeps sessions timing out for 40 s: members come and go, and no partition has two current owners."""
    sim = Simulation(dict(STALLED_MEMBER_LOSES_ITS_NEW_EPOCH, duration=40000))
    sim.run()
    assert sim.violations == []
    assert sum(e[1] == "own" and e[2] == "t0p1" for c in ("c1", "c2", "c3") for e in sim.nodes[c].log) >= 4


def test_a_heartbeat_after_one_that_timed_out_is_a_full_request():
    """Kafka resends every field after a failed heartbeat; the coordinator answers a full request with the
    assignment, so an answer lost on the way is repeated."""
    sim = Simulation(STALLED_MEMBER_LOSES_ITS_NEW_EPOCH)
    events = sim.run()
    hbs = sends(events, "ConsumerGroupHeartbeat", frm="c1")
    full = [ev for ev in hbs if ev["msg"].get("full")]
    assert full
    for ev in full:  # the heartbeat before it got no answer within the request timeout (3,000 ms scaled)
        before = max(h["t"] for h in hbs if h["t"] < ev["t"])
        assert ev["t"] - before >= sim.nodes["c1"].params.request_timeout


def test_an_answer_to_a_heartbeat_that_timed_out_is_discarded():
    sim = Simulation(PAUSED_COORDINATOR_ANSWERS_TWO_HEARTBEATS)
    events = sim.run()
    assert sim.violations == []
    # c3 sent two heartbeats to the paused coordinator; both were answered when it resumed, in order.
    asked = [ev["msg"]["req"] for ev in sends(events, "ConsumerGroupHeartbeat", frm="c3") if ev["t"] < 5493]
    answered = [ev["msg"]["req"] for ev in sends(events, "ConsumerGroupHeartbeatResponse", to="c3")
                if ev["t"] == 5493]
    assert len(answered) == 2 and answered == asked[-2:]
    stale = next(ev for ev in sends(events, "ConsumerGroupHeartbeatResponse", to="c3") if ev["t"] == 5493)
    assert "t0p5" in stale["msg"]["assignment"]  # the older answer grants t0p5 ...
    assert not any(e[1] == "own" and e[2] == "t0p5" for e in sim.nodes["c3"].log)  # ... and c3 never takes it
