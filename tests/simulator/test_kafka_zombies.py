"""Kafka: members the group has moved on from (classic protocol). Regression schedules found by bench/kafka.py
--fuzz, written out here in full so that they do not drift with the bench's schedule generator.

- A static cooperative member that missed a rebalance learns it from its next commit (ILLEGAL_GENERATION, checked
  before REBALANCE_IN_PROGRESS as Kafka's ClassicGroup.validateOffsetCommit does) and gives up everything as lost
  before rejoining (onJoinPrepare with the generation reset).
- One that never gets an error rejoins with claims of an older generation than the newest: the assignor ignores
  them (AbstractStickyAssignor), hands them to others, and the member revokes them when its assignment comes. Until
  then what it still holds is a zombie's, not a current member's (exclusive_ownership).
- One whose SyncGroup answer is lost rejoins claiming what it still holds (an older assignment) with the
  generation of its last JoinGroup answer (ConsumerCoordinator.metadata: generation().generationId): a zombie for
  those partitions too. A partition two members claim in the same generation goes to nobody that round
  (AbstractStickyAssignor's partitionsWithMultiplePreviousOwners are transferring ownership): both revoke it first.
- An assignment stashed for a stalled application thread is dropped when the member is reset (every broker count).

Kafka links are TCP-like (`fifo_links`): a duplicated message is discarded on arrival, so the schedules below are
those of that network (seeds 3 and 80 show what seeds 54 and 142 showed before duplicates were discarded).
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


def owned_at(events, node, t):
    """What `node` owned just before time `t`, from its state events."""
    owned = []
    for ev in events:
        if ev["t"] >= t:
            break
        if ev["type"] == "state" and ev["node"] == node and "owned" in ev["changes"]:
            owned = ev["changes"]["owned"]
    return owned


def broker_state_at(events, t):
    return [ev["changes"]["state"] for ev in events if ev["type"] == "state" and ev["node"] == "broker"
            and "state" in ev["changes"] and ev["t"] <= t][-1]


def dropped(events):
    return {ev["id"]: ev["reason"] for ev in events if ev["type"] == "drop"}


def test_a_stale_members_commit_gets_illegal_generation_and_it_rejoins_with_nothing():
    """Seed 3: c1 missed a generation (static: kept, stale). Its commit reaches the coordinator while the next
    generation completes: ILLEGAL_GENERATION, not REBALANCE_IN_PROGRESS (the generation is checked first), so c1
    learns it, gives up everything it holds as lost and rejoins with no claims."""
    sim = Simulation(lossy(3))
    events = sim.run()
    assert sim.violations == []
    answer = next(ev for ev in sends(events, "OffsetCommitResponse", to="c1")
                  if ev["msg"]["error"] == "ILLEGAL_GENERATION")
    assert answer["msg"]["generation"] < answer["msg"]["group_generation"]  # it is a generation behind
    assert broker_state_at(events, answer["t"]) == "CompletingRebalance"  # the generation is checked first
    held = owned_at(events, "c1", answer["t"])
    assert held
    c1 = sim.nodes["c1"]
    join = next(ev for ev in sends(events, "JoinGroup", frm="c1") if ev["t"] > answer["t"])
    lost = sorted(e[2] for e in c1.log if e[1] == "lost" and answer["t"] <= e[0] <= join["t"])
    assert lost == sorted(held)  # onPartitionsLost: all of them
    assert join["msg"]["owned"] == [] and join["msg"]["generation"] == -1  # nothing claimed, generation reset
    assert join["msg"]["member_id"]  # ILLEGAL_GENERATION keeps the member id


def leader_answer(events, generation):
    """The leader's JoinGroupResponse of `generation` (the one with every member's claims)."""
    return next(ev for ev in sends(events, "JoinGroupResponse") if ev["msg"]["generation"] == generation
                and ev["msg"]["members"])


def claims_of(answer):
    return {x["member_id"].split("-")[0]: x for x in answer["msg"]["members"]}


def assignment_of(events, generation):
    return next(ev for ev in sends(events, "SyncGroup") if ev["msg"]["generation"] == generation
                and ev["msg"]["assignments"])["msg"]["assignments"]


def test_a_member_that_missed_a_generation_revokes_its_stale_claims_and_is_no_current_owner_meanwhile():
    """Seed 80: c2 rejoins with claims of an older generation than the newest claimed (it missed one without hearing
    of it). The leader ignores them and gives some of what c2 still holds to c1; c2 is a zombie for them (counted as
    no current owner) until it lets them go."""
    events = Simulation(lossy(80)).run()
    lead = next(ev for ev in sends(events, "JoinGroupResponse") if ev["msg"]["members"]
                and 0 <= claims_of(ev)["c2"]["generation"] < max(x["generation"] for x in ev["msg"]["members"])
                and claims_of(ev)["c2"]["owned"])
    gen, c2_claim = lead["msg"]["generation"], claims_of(lead)["c2"]
    sync = next(ev for ev in sends(events, "SyncGroup", frm="c2") if ev["msg"]["generation"] == gen)
    sim = Simulation(lossy(80))
    sim.advance(sync["t"] + 1)
    c2, b = sim.nodes["c2"], sim.protocol.broker
    assert (b.generation, c2.generation, c2.claim_gen) == (gen, gen, c2_claim["generation"])
    assert b.group[c2.member_id]["stale_claims"] and c2.owned and not sim.protocol.counted(c2)
    sim.run()
    assert sim.violations == []
    given = assignment_of(events, gen)
    c1_mid = next(mid for mid in given if mid.startswith("c1-"))
    moved = [t for t in c2_claim["owned"] if t in given[c1_mid]]
    assert moved  # the leader gave c1 partitions c2 still held
    c1_owns = {e[2]: e[0] for e in sim.nodes["c1"].log if e[1] == "own" and e[0] > sync["t"] and e[2] in moved}
    c2_drops = {e[2]: e[0] for e in c2.log if e[1] == "drop" and e[0] > sync["t"] and e[2] in moved}
    assert sorted(c1_owns) == sorted(moved) and sorted(c2_drops) == sorted(moved)
    assert all(c1_owns[t] < c2_drops[t] for t in moved)  # c1 had them before the zombie let go, as in Kafka


def test_claims_labelled_with_a_generation_whose_assignment_never_came_are_a_zombies():
    """Seed 80 (was a violation once duplicates were discarded). c2 is in generation 5 with generation 3's
    partitions (stale claims, above); generation 5's SyncGroup answer to it is lost, so c2 never takes that
    assignment while c1 takes t0p4 and t0p7 from it. c2's SyncGroup times out and it rejoins generation 6 claiming
    what it still holds with generation 5: the generation of its JoinGroup answer, as Kafka's ConsumerCoordinator
    sends (generation().generationId), not of the assignment it holds. c1 claims t0p4 and t0p7 with generation 5
    too. c2 is still a zombie for them (it never had generation 5's assignment), not a current owner; the leader's
    assignor drops a partition two members claim in the same generation from both and gives it to nobody this round
    (partitionsWithMultiplePreviousOwners: transferring ownership), so both revoke it first."""
    sim = Simulation(lossy(80))
    events = sim.run()
    assert sim.violations == []
    drops = dropped(events)
    lost_answer = next(ev for ev in sends(events, "SyncGroupResponse", to="c2")
                       if ev["t"] > leader_answer(events, 5)["t"])
    assert lost_answer["msg"]["error"] == "NONE"
    assert drops.get(lost_answer["id"]) == "loss"
    assert not [ev for ev in sends(events, "SyncGroupResponse", to="c2")
                if lost_answer["t"] < ev["t"] < 15000 and ev["id"] not in drops]
    rejoin = next(ev for ev in sends(events, "JoinGroup", frm="c2") if ev["t"] > lost_answer["t"])
    assert rejoin["msg"]["generation"] == 5 and {"t0p4", "t0p7"} <= set(rejoin["msg"]["owned"])
    lead = leader_answer(events, 6)
    claims = claims_of(lead)
    assert claims["c1"]["generation"] == claims["c2"]["generation"] == 5
    assert {"t0p4", "t0p7"} <= set(claims["c1"]["owned"]) & set(claims["c2"]["owned"])
    given = assignment_of(events, 6)
    assert not [t for ts in given.values() for t in ts if t in ("t0p4", "t0p7")]  # nobody gets them this round
    c1, c2 = sim.nodes["c1"], sim.nodes["c2"]
    assert [e[2] for e in c2.log if e[1] == "drop" and e[0] > lead["t"]][:2] == ["t0p4", "t0p7"]
    assert [e[2] for e in c1.log if e[1] == "drop" and e[0] > lead["t"]][:2] == ["t0p4", "t0p7"]


def test_a_partition_two_members_claim_in_the_same_generation_goes_to_nobody_until_both_revoke_it():
    """Seed 164 (was a violation once duplicates were discarded). c2 rejoins generation 6 with generation 4's
    partitions (stale claims); generation 6 gives t0p7 to c3, and its SyncGroup answer to c2 is lost. c2 rejoins
    generation 7 claiming t0p7 with generation 6, as c3 (which has it) does. The leader's assignor must not hand t0p7
    to a third member (c1) while both still hold it: it leaves it out of every assignment (Kafka's
    partitionsWithMultiplePreviousOwners are transferring ownership). And c2 is a zombie for it meanwhile."""
    sim = Simulation(lossy(164))
    events = sim.run()
    assert sim.violations == []
    drops = dropped(events)
    g6 = next(ev for ev in sends(events, "SyncGroupResponse", to="c2") if ev["t"] > leader_answer(events, 6)["t"])
    assert g6["msg"]["error"] == "NONE" and "t0p7" in assignment_of(events, 6)[[
        mid for mid in assignment_of(events, 6) if mid.startswith("c3-")][0]]
    assert drops.get(g6["id"]) == "loss"
    lead = leader_answer(events, 7)
    claims = claims_of(lead)
    assert claims["c2"]["generation"] == claims["c3"]["generation"] == 6
    assert "t0p7" in claims["c2"]["owned"] and "t0p7" in claims["c3"]["owned"]
    sync = next(ev for ev in sends(events, "SyncGroup", frm="c2") if ev["msg"]["generation"] == 7)
    probe = Simulation(lossy(164))
    probe.advance(sync["t"] + 1)
    c2 = probe.nodes["c2"]
    b_member = probe.protocol.broker.group[c2.member_id]
    assert b_member["stale_claims"] and c2.claim_gen < c2.generation == 7 and not probe.protocol.counted(c2)
    given = assignment_of(events, 7)
    assert not [mid for mid, ts in given.items() if "t0p7" in ts]
    assert len([mid for mid, ts in assignment_of(events, 8).items() if "t0p7" in ts]) == 1  # the next round does


def test_the_lossy_static_cooperative_schedules_that_violated_run_clean():
    for seed in (54, 80, 83, 109, 142, 164, 302, 319, 346):
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
