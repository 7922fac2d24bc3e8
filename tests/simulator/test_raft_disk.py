"""Raft with a disk (`params.disk_ms`): persistent state reaches stable storage before a server answers
(Figure 2), writes on a server queue behind each other, a candidate counts its own vote and a leader its own
entries once they are on disk (thesis 10.2.1), and a crash loses the writes not yet done."""

from hypothesis import given, settings

from simulator import Simulation
from simulator.protocols.raft import DurableRaftNode, RaftNode

from simhelpers import of, quiet_raft, run
from test_raft_fuzz import FUZZ, check_recovered, run_bounded, scenarios

DISK = 20


def disk_raft(**kw):
    """Quiet Raft (elections by `timeout` interventions), fixed 10 ms links, a 20 ms disk."""
    params = dict({"disk_ms": DISK}, **kw.pop("params", {}))
    return quiet_raft(params=params, **kw)


def sends(events, kind):
    return [e for e in of(events, "send") if e["msg"]["kind"] == kind]


def delivered_at(events):
    return {e["id"]: e["t"] for e in of(events, "deliver")}


def test_default_has_no_disk():
    sim = Simulation(quiet_raft())
    assert all(type(n) is RaftNode for n in sim.nodes.values())
    assert "writing" not in sim.snapshot()["nodes"]["n1"]
    sim = Simulation(disk_raft())
    assert all(type(n) is DurableRaftNode for n in sim.nodes.values())
    assert sim.snapshot()["nodes"]["n1"]["writing"] is None


def test_a_vote_is_answered_only_once_the_term_and_vote_are_on_disk():
    events, sim = run(disk_raft(duration=300, interventions=[{"at": 10, "action": "timeout", "node": "n1"}]))
    requests = sends(events, "RequestVote")
    assert [e["t"] for e in requests] == [10] * 4  # sent at once, before the candidate's own write is done
    arrived = delivered_at(events)
    replies = sends(events, "RequestVoteReply")
    assert len(replies) == 4
    for req in requests:
        reply = next(e for e in replies if e["from"] == req["to"])
        assert reply["t"] == arrived[req["id"]] + DISK  # 20 ms after the request arrived, not at once
        # the voter shows its write while it is busy
        busy = [e for e in of(events, "state", node=req["to"]) if e["changes"].get("writing")]
        assert busy[0]["t"] == arrived[req["id"]]
        assert busy[0]["changes"]["writing"] == {"since": 20, "until": 40, "queued": 0}
    assert sim.nodes["n1"].role == "leader"


def test_a_candidate_counts_its_own_vote_when_its_write_is_done():
    # A slow disk on the candidate: the peers' votes (10 + 20 + 10 ms) come back before its own write (100 ms)
    # is done. Three peers of four are a majority of five only with the candidate's own vote.
    sc = disk_raft(duration=300, params={"disk_ms": 100},
                   interventions=[{"at": 10, "action": "timeout", "node": "n1"},
                                  {"at": 11, "action": "crash", "node": "n5"},
                                  {"at": 11, "action": "crash", "node": "n4"}])
    events, sim = run(sc)
    n1 = [e for e in of(events, "state", node="n1") if "votes" in e["changes"] or "role" in e["changes"]]
    votes = [(e["t"], e["changes"].get("votes"), e["changes"].get("role")) for e in n1]
    assert votes[0] == (10, [], "candidate")  # its own vote is not counted yet
    # n2 and n3 reply at 10 + 10 + 100 + 10 = 130 (their disks are slow too); n1's write ends at 110
    assert (110, ["n1"], None) in votes
    leader_at = next(t for t, _, role in votes if role == "leader")
    assert leader_at == 130


def test_a_candidate_crashing_before_its_write_is_done_forgets_the_term_and_vote():
    sc = disk_raft(duration=45, interventions=[{"at": 10, "action": "timeout", "node": "n1"},
                                               {"at": 25, "action": "crash", "node": "n1"},
                                               {"at": 26, "action": "restart", "node": "n1"}])
    _, sim = run(sc)
    n1 = sim.nodes["n1"]
    assert (n1.term, n1.voted_for) == (0, None)  # term 1 and its self-vote were not on disk yet
    # the voters' writes are done (they answer at 40, n1 hears of term 1 again at 50): they keep their vote
    assert all((sim.nodes[p].term, sim.nodes[p].voted_for) == (1, "n1") for p in ("n2", "n3", "n4", "n5"))


def test_a_crash_after_the_write_keeps_it():
    # done at 30 (an intervention at 30 would run before it: interventions come first in their millisecond)
    sc = disk_raft(duration=45, interventions=[{"at": 10, "action": "timeout", "node": "n1"},
                                               {"at": 31, "action": "crash", "node": "n1"},
                                               {"at": 32, "action": "restart", "node": "n1"}])
    _, sim = run(sc)
    assert (sim.nodes["n1"].term, sim.nodes["n1"].voted_for) == (1, "n1")


def test_writes_queue_behind_each_other_and_a_crash_loses_the_unwritten_entries():
    # n1 leads from t=50 (its own write 10-30, the votes at 50); three client requests 1 ms apart: n1 writes
    # the first entry (200-220) while it replicates it; the next two wait, and go to disk together (220-240).
    ivs = [{"at": 10, "action": "timeout", "node": "n1"}]
    ivs += [{"at": 200 + i, "action": "client_request", "node": "n1", "value": f"v{i}"} for i in range(3)]
    events, sim = run(disk_raft(duration=400, interventions=ivs))
    n1_writes = [(e["t"], e["changes"]["writing"]) for e in of(events, "state", node="n1")
                 if "writing" in e["changes"] and e["t"] >= 200]
    assert n1_writes == [(200, {"since": 200, "until": 220, "queued": 0}),
                         (201, {"since": 200, "until": 220, "queued": 1}),
                         (220, {"since": 220, "until": 240, "queued": 0}), (240, None)]
    # n2 gets [v0] at 210, [v0, v1] at 211, [v0, v1, v2] at 212: two writes, answers at 230, then 250
    first_reply = {}
    for e in sends(events, "AppendEntriesReply"):
        if e["from"] == "n2" and e["t"] >= 200:
            first_reply.setdefault(e["msg"]["match"], e["t"])
    assert first_reply == {2: 230, 3: 250, 4: 250}
    commits = {e["changes"]["commit"]: e["t"] for e in of(events, "state", node="n1") if "commit" in e["changes"]}
    assert commits[4] == 260  # the followers' answers (250 + 10): n1's own write was done at 240
    assert sim.violations == []

    # A crash of n2 in its second write (230-250): it restarts with what its first write stored.
    ivs += [{"at": 235, "action": "crash", "node": "n2"}, {"at": 236, "action": "restart", "node": "n2"}]
    _, sim = run(disk_raft(duration=237, interventions=ivs))
    assert [v for _, v in sim.nodes["n2"].log] == [None, "v0"]


def test_a_leader_commits_with_its_own_disk_counted_only_when_the_write_is_done():
    # A 3-node cluster, n3 down: a majority is n1 and n2, so the commit waits for both disks.
    sc = disk_raft(nodes=3, duration=800, params={"disk_ms": 100},
                   interventions=[{"at": 0, "action": "crash", "node": "n3"},
                                  {"at": 10, "action": "timeout", "node": "n1"},
                                  {"at": 500, "action": "client_request", "node": "n1", "value": "x"}])
    events, sim = run(sc)
    commits = [e["t"] for e in of(events, "state", node="n1") if e["changes"].get("commit") == 2]
    assert commits == [620]  # n2's answer: 500 + 10 + 100 + 10; n1's own write was done at 600
    assert sim.violations == []


def test_the_same_scenario_gives_the_same_trace():
    sc = disk_raft(duration=1500, params={"client_interval": 40, "election_timeout_min": 150,
                                          "election_timeout_max": 300, "heartbeat_interval": 50},
                   network={"latency": [1, 5]}, interventions=[{"at": 700, "action": "crash", "node": "leader"}])
    a, _ = run(sc)
    b, _ = run(sc)
    assert a == b and len(a) > 100


@settings(FUZZ, max_examples=80)
@given(scenarios())
def test_raft_with_a_disk_keeps_every_invariant_under_random_faults_and_recovers(sc):
    sc["params"]["client_interval"] = 0
    sc["params"]["disk_ms"] = sc["seed"] % 3 * 7 + 1  # 1, 8 or 15 ms
    sim = run_bounded(sc)
    assert sim.violations == [], sim.violations[:3]
    check_recovered(sim)


@settings(FUZZ, max_examples=40)
@given(scenarios())
def test_raft_with_a_disk_keeps_every_invariant_under_client_load(sc):
    sc["params"]["client_interval"] = 23
    sc["params"]["disk_ms"] = sc["seed"] % 4 * 10 + 3
    sc["interventions"] = [iv for iv in sc["interventions"] if iv["at"] < 3000]
    sim = run_bounded(sc)
    assert sim.violations == [], sim.violations[:3]
