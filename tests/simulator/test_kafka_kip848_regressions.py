"""Kafka KIP-848 (group.protocol=consumer): regression schedules found by bench/hunt.py, written out in full so
that they do not drift with the hunt's schedule generator.

- A member whose application thread is stalled has an assignment it has not taken yet. Its heartbeats report
  those partitions as owned (ModernConsumer.claimed): the coordinator frees whatever a member does not report, so
  reporting only what was consumed let it hand t0p1 to c2 while c1 was about to take it on waking (hunt
  reliability run, schedule 4,695: exclusive_ownership broken at 13,161 ms).
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
