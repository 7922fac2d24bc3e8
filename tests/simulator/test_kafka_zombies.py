"""Kafka: members the group has moved on from (classic protocol). Regression schedules found by bench/kafka.py
--fuzz, written out here in full so that they do not drift with the bench's schedule generator.

- A static cooperative member that missed a rebalance learns it from its next commit (ILLEGAL_GENERATION, checked
  before REBALANCE_IN_PROGRESS as Kafka's ClassicGroup.validateOffsetCommit does) and gives up everything as lost
  before rejoining (onJoinPrepare with the generation reset).
- One that never gets an error rejoins with claims of an older generation than the newest: the assignor ignores
  them (AbstractStickyAssignor), hands them to others, and the member revokes them when its assignment comes. Until
  then what it still holds is a zombie's, not a current member's (exclusive_ownership).
- An assignment stashed for a stalled application thread is dropped when the member is reset (every broker count).
"""

from simulator import Simulation

# Cooperative-sticky, static members, 10% loss, c4 joining and leaving every 700 ms (7 of 400 seeds violated).
LOSSY_STATIC_COOPERATIVE = {
    "protocol": "kafka", "nodes": 5, "duration": 20000,
    "params": {"assignor": "cooperative-sticky", "partitions": 8, "topics": 2, "consumers": 3,
               "static_membership": True, "max_poll_interval_ms": 20000, "session_timeout_ms": 10000,
               "metadata_max_age_ms": 5000},
    "network": {"latency": [1, 100], "loss": 0.1, "duplicate": 0.05},
    "interventions": [{"at": 3000 + 700 * k, "action": "add_consumer" if k % 2 == 0 else "remove_consumer",
                       "node": "c4"} for k in range(10)],
}


def lossy(seed):
    return dict(LOSSY_STATIC_COOPERATIVE, seed=seed)


def sends(events, kind, frm=None, to=None):
    return [ev for ev in events if ev["type"] == "send" and ev["msg"].get("kind") == kind
            and (frm is None or ev["from"] == frm) and (to is None or ev["to"] == to)]


def test_a_stale_members_commit_gets_illegal_generation_and_it_rejoins_with_nothing():
    """Seed 54: c1's SyncGroup answer is lost, generation 3 forms without it (static: kept, stale). Its commit reaches
    the coordinator while generation 3 completes: ILLEGAL_GENERATION (it was REBALANCE_IN_PROGRESS, so c1 never
    learned, rejoined with its old partitions and, once in generation 4, shared t1p7 with c2)."""
    sim = Simulation(lossy(54))
    events = sim.run()
    assert sim.violations == []
    answer = next(ev for ev in sends(events, "OffsetCommitResponse", to="c1") if ev["msg"]["generation"] == 2
                  and ev["t"] > 6000)
    assert answer["msg"]["error"] == "ILLEGAL_GENERATION"
    state = [ev["changes"]["state"] for ev in events if ev["type"] == "state" and ev["node"] == "broker"
             and "state" in ev["changes"] and ev["t"] <= answer["t"]][-1]
    assert state == "CompletingRebalance"  # generation 3 was completing: the generation is checked first
    c1 = sim.nodes["c1"]
    t = next(ev["t"] for ev in sends(events, "JoinGroup", frm="c1") if ev["t"] > answer["t"])
    lost = sorted(e[2] for e in c1.log if e[1] == "lost" and answer["t"] <= e[0] <= t)
    assert lost == ["t0p0", "t0p3", "t0p6", "t1p1", "t1p4", "t1p7"]  # onPartitionsLost: all of them
    join = next(ev for ev in sends(events, "JoinGroup", frm="c1") if ev["t"] == t)
    assert join["msg"]["owned"] == [] and join["msg"]["generation"] == -1  # nothing claimed, generation reset
    assert join["msg"]["member_id"]  # ILLEGAL_GENERATION keeps the member id


def test_a_member_that_missed_a_generation_revokes_its_stale_claims_and_is_no_current_owner_meanwhile():
    """Seed 142: c3's pre-rejoin commit is lost; it waits for it while generation 3 forms without it. It rejoins
    with generation 2's partitions; c1 claims generation 3, so the leader ignores c3's claims and gives t0p3 and t0p7
    to c4. c3 holds them until its SyncGroup answer (a zombie, shown on the board), then revokes them."""
    sim = Simulation(lossy(142))
    sim.advance(9100)
    c3, b = sim.nodes["c3"], sim.protocol.broker
    assert (b.generation, c3.generation, c3.claim_gen) == (4, 4, 2)
    assert b.group[c3.member_id]["stale_claims"]
    assert "t0p3" in c3.owned and not sim.protocol.counted(c3)
    sim.run()
    assert sim.violations == []
    assert [e[2] for e in c3.log if e[0] == 9155 and e[1] == "drop"] == ["t0p1", "t0p3", "t0p5", "t0p7"]
    c4_owns = [e for e in sim.nodes["c4"].log if e[1] == "own" and e[2] == "t0p3" and 9000 < e[0] < 9155]
    assert c4_owns  # c4 had it before c3 let go: the zombie's records are processed twice, as in Kafka


def test_the_lossy_static_cooperative_schedules_that_violated_run_clean():
    for seed in (54, 83, 109, 142, 302, 319, 346):
        sim = Simulation(lossy(seed))
        sim.run()
        assert sim.violations == [], (seed, sim.violations[:1])


def test_three_brokers_no_broker_fault_the_fuzz_schedule_runs_clean():
    """bench/kafka.py --fuzz --brokers 3, seed 1464 (schedule written out)."""
    sc = {"protocol": "kafka", "seed": 1464, "nodes": 5, "duration": 40000,
          "params": {"assignor": "cooperative-sticky", "partitions": 8, "consumers": 3, "topics": 2,
                     "static_membership": True, "max_poll_interval_ms": 20000, "session_timeout_ms": 10000,
                     "metadata_max_age_ms": 5000, "commit_on_revoke": False, "auto_commit": True, "brokers": 3},
          "network": {"latency": [1, 100], "loss": 0.1, "duplicate": 0.05},
          "interventions": [{"action": "restart", "node": "c2", "at": 4972},
                            {"action": "cut", "a": "c4", "b": "c5", "oneway": False, "at": 5237},
                            {"action": "set_link", "a": "b1", "b": "b3", "loss": 0.5, "at": 7230},
                            {"action": "heal", "a": "c3", "b": "c2", "oneway": True, "at": 10742}]}
    sim = Simulation(sc)
    sim.run()
    assert sim.violations == []


def stalled_then_paused(brokers=1):
    """c3 has sent its SyncGroup when its application thread stalls; the answer is stashed for it. Then the process
    is paused past max.poll.interval.ms: on resume the heartbeat thread resets the member (poll timeout)."""
    params = {"assignor": "range", "partitions": 6, "consumers": 3, "max_poll_interval_ms": 20000,
              "session_timeout_ms": 10000}
    if brokers > 1:
        params["brokers"] = brokers
    return {"protocol": "kafka", "seed": 1, "nodes": 4, "duration": 12000, "params": params,
            "interventions": [{"at": 3000, "action": "add_consumer", "node": "c4"},
                              {"at": 3500, "action": "stall", "node": "c3", "duration": 1000},
                              {"at": 3600, "action": "pause", "node": "c3"},
                              {"at": 6100, "action": "resume", "node": "c3"}]}


def test_a_stashed_assignment_does_not_survive_a_reset_with_one_broker():
    sim = Simulation(stalled_then_paused())
    events = sim.run()
    assert sim.violations == []
    c3 = sim.nodes["c3"]
    seen = {"member_id": None, "owned": []}
    first_mid = None
    for ev in events:
        if ev["type"] == "state" and ev["node"] == "c3":
            for k in seen:
                if k in ev["changes"]:
                    seen[k] = ev["changes"][k]
            if seen["member_id"] and first_mid is None:
                first_mid = seen["member_id"]
            assert not (seen["owned"] and not seen["member_id"]), ev["t"]  # never partitions without a member id
    assert [e for e in c3.log if e[1] == "reject" and "max.poll.interval.ms" in str(e[3])]
    assert c3.member_id and c3.member_id != first_mid  # it rejoined as a new member and got partitions properly
    assert c3.owned and sim.protocol.settled()
