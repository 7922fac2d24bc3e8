"""Raft is faithful to Figure 2 (shared/notes/protocols.md): elections, replication, the commit rule,
redirects, persistence, pre-vote and check-quorum; the invariant checkers catch what they should and
nothing else; the metrics add up."""

import pytest

from simulator import Simulation, run_scenario
from simulator.protocols.raft import Raft

from simhelpers import load, of, quiet_raft, raft, run
from simhelpers import ROOT


def views(sim):
    return sim.snapshot()["nodes"]


def leaders(sim):
    return [nid for nid, v in views(sim).items() if v["role"] == "leader" and v["status"] == "up"]


def replies(events, kind, src, dst):
    sends = {e["id"]: e for e in of(events, "send") if e["msg"]["kind"] == kind and e["from"] == src
             and e["to"] == dst}
    return [(e["t"], sends[e["id"]]["msg"]) for e in of(events, "deliver") if e["id"] in sends]


# --- elections -------------------------------------------------------------------------------------
@pytest.mark.parametrize("nodes", [3, 5, 7, 51])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_leader_is_elected_and_everyone_follows_it(nodes, seed):
    sim = Simulation(raft(seed=seed, nodes=nodes, duration=3000))
    sim.run()
    assert len(leaders(sim)) == 1
    leader = leaders(sim)[0]
    v = views(sim)
    term = v[leader]["term"]
    for nid, view in v.items():
        assert view["term"] == term and view["leader"] == leader
        assert view["commit"] == 1 and view["log"] == [[term, None]]  # the leader's no-op, committed
    assert sim.summary()["violations"] == []


def test_election_timeouts_are_randomised_in_the_range():
    events, _ = run(raft(duration=5000, params={"election_timeout_min": 200, "election_timeout_max": 260}))
    spans = [e["changes"]["timers"]["election"] for e in of(events, "state") if "election" in
             e["changes"].get("timers", {})]
    lengths = {f - s for s, f in spans}
    assert min(lengths) == 200 and max(lengths) == 260 and len(lengths) > 40


def test_votes_need_the_log_up_to_date_check():
    """A candidate whose log is behind gets no vote (n5 missed two committed writes)."""
    sc = load(f"{ROOT}/docs/examples/raft-mutation-vote-without-log-check.json")
    sc["mutations"] = []
    events, sim = run(sc)
    vote_replies = [(t, m) for t, m in replies(events, "RequestVoteReply", "n2", "n5")]
    assert vote_replies and not any(m["granted"] for _, m in vote_replies)
    assert leaders(sim) != ["n5"]


def test_split_vote_resolves_in_a_later_term():
    """Four servers; n1 and n3 stand at once and each gets one vote first (slow links): 2-2, nobody wins
    term 1; randomised timeouts elect someone in a later term."""
    events, sim = run(Raft.presets()[1]["scenario"])
    term, terms = {}, []
    for e in of(events, "state"):
        term[e["node"]] = e["changes"].get("term", term.get(e["node"]))
        if e["changes"].get("role") == "leader":
            terms.append(term[e["node"]])
    assert terms and terms[0] >= 2 and len(leaders(sim)) == 1
    votes = [e["changes"]["votes"] for e in of(events, "state") if e["t"] < 100 and "votes" in e["changes"]]
    assert ["n1", "n2"] in votes and ["n3", "n4"] in votes


def test_voted_for_survives_a_crash():
    """n2 votes for n1 in term 1, crashes and restarts: it must not vote for n3 in term 1 too."""
    sc = quiet_raft(duration=1000, interventions=[
        {"at": 5, "action": "set_link", "a": "n3", "b": "n2", "latency": [300, 300], "oneway": True},
        {"at": 10, "action": "timeout", "node": "n1"},
        {"at": 10, "action": "timeout", "node": "n3"},
        {"at": 100, "action": "crash", "node": "n2"},
        {"at": 150, "action": "restart", "node": "n2"},
    ])
    events, sim = run(sc)
    granted = [(t, m["granted"], m["term"]) for t, m in replies(events, "RequestVoteReply", "n2", "n3")]
    assert granted and granted[0][1] is False and granted[0][2] == 1
    assert views(sim)["n2"]["voted_for"] == "n1"


# --- replication and commit ------------------------------------------------------------------------
def _cluster_with_leader_n1(extra, duration=2000, **kw):
    return quiet_raft(duration=duration, interventions=[{"at": 10, "action": "timeout", "node": "n1"}] + extra, **kw)


def test_commit_needs_a_majority():
    """With two followers cut off (n1, n2, n3 = 3 of 5) an entry commits; with three (2 of 5) it never does."""
    majority = _cluster_with_leader_n1([
        {"at": 200, "action": "partition", "groups": [["n1", "n2", "n3"]]},
        {"at": 300, "action": "client_request", "node": "n1", "value": "x"}])
    _, sim = run(majority)
    assert views(sim)["n1"]["commit"] == 2 and views(sim)["n3"]["commit"] == 2
    minority = _cluster_with_leader_n1([
        {"at": 200, "action": "partition", "groups": [["n1", "n2"]]},
        {"at": 300, "action": "client_request", "node": "n1", "value": "x"}], duration=900)
    events, sim = run(minority)
    assert views(sim)["n1"]["log"][-1] == [1, "x"] and views(sim)["n2"]["log"][-1] == [1, "x"]
    assert views(sim)["n1"]["commit"] == 1


def test_commit_waits_for_the_acknowledgement_that_makes_the_majority():
    sc = _cluster_with_leader_n1([
        {"at": 200, "action": "set_link", "a": "n3", "b": "n1", "oneway": True, "latency": [100, 100]},
        {"at": 200, "action": "set_link", "a": "n4", "b": "n1", "oneway": True, "latency": [200, 200]},
        {"at": 200, "action": "set_link", "a": "n5", "b": "n1", "oneway": True, "latency": [300, 300]},
        {"at": 200, "action": "set_link", "a": "n2", "b": "n1", "oneway": True, "latency": [400, 400]},
        {"at": 300, "action": "client_request", "node": "n1", "value": "x"}], duration=1000)
    events, sim = run(sc)
    commits = [e["t"] for e in of(events, "state", node="n1") if e["changes"].get("commit") == 2]
    # acks come back from n3 at +110, n4 at +210: n1 + n3 + n4 is the majority
    assert commits == [300 + 10 + 200]


def test_figure_8_an_old_term_entry_is_not_committed_by_counting():
    """Raft's Figure 8, as in the example: n1 (term 3) has entry `a` (term 1) on a majority but must not
    commit it; n5 then legitimately replaces it."""
    sc = load(f"{ROOT}/docs/examples/raft-mutation-commit-old-terms.json")
    sc["mutations"] = []
    sim = Simulation(sc)
    sim.advance(600)
    v = views(sim)
    assert v["n1"]["role"] == "leader" and v["n1"]["term"] == 3
    assert [v[n]["log"] for n in ("n1", "n2", "n3")] == [[[1, "a"]]] * 3  # on a majority...
    assert v["n1"]["commit"] == 0  # ... and still not committed
    sim.run()
    assert views(sim)["n2"]["log"] == [[2, "b"]] and sim.summary()["violations"] == []


@pytest.mark.parametrize("noop", [True, False])
def test_an_old_term_entry_commits_only_with_an_entry_of_the_current_term(noop):
    """`a` (term 1) reaches only n1 and n2; n1 comes back as leader of term 2. With the no-op
    (leader_noop) `a` commits together with it; without, only when a new request of term 2 does."""
    sc = _cluster_with_leader_n1([
        {"at": 100, "action": "partition", "groups": [["n1", "n2"]]},
        {"at": 110, "action": "client_request", "node": "n1", "value": "a"},
        {"at": 200, "action": "crash", "node": "n1"},
        {"at": 200, "action": "heal_all"},
        {"at": 300, "action": "restart", "node": "n1"},
        {"at": 310, "action": "timeout", "node": "n1"},
        {"at": 700, "action": "client_request", "node": "n1", "value": "b"},
    ], duration=1000, params={"leader_noop": noop})
    events, sim = run(sc)
    commits = [(e["t"], e["changes"]["commit"]) for e in of(events, "state", node="n2") if "commit" in e["changes"]]
    if noop:
        assert views(sim)["n1"]["log"][:3] == [[1, None], [1, "a"], [2, None]]
        assert [c for t, c in commits if t > 300][0] == 3  # 1 -> 3: `a` never committed on its own
    else:
        assert views(sim)["n1"]["log"] == [[1, "a"], [2, "b"]]
        assert [(t > 700, c) for t, c in commits] == [(True, 2)]  # 0 -> 2, after b


def test_follower_deletes_conflicting_entries_and_takes_the_leaders():
    sc = load(f"{ROOT}/docs/examples/raft-mutation-no-truncate.json")
    sc["mutations"] = []
    events, sim = run(sc)
    v = views(sim)
    assert v["n3"]["role"] == "leader"
    for nid in v:
        assert v[nid]["log"] == v["n3"]["log"] and [1, "stale"] not in v[nid]["log"]
    # the repair was spliced: n2's log was cut back at the conflict, then extended
    cut = [e for e in of(events, "state", node="n2") if e["t"] > 500 and e.get("splice", {}).get("log", [9])[0] == 1]
    assert cut and cut[0]["splice"]["log"][1] == v["n3"]["log"][1:]


def test_a_lagging_follower_catches_up_in_batches():
    sc = _cluster_with_leader_n1([{"at": 100, "action": "crash", "node": "n5"}] +
                                 [{"at": 200 + 5 * i, "action": "client_request", "node": "n1", "value": f"v{i}"}
                                  for i in range(40)] +
                                 [{"at": 600, "action": "restart", "node": "n5"}],
                                 params={"max_entries_per_append": 8})
    events, sim = run(sc)
    assert views(sim)["n5"]["log"] == views(sim)["n1"]["log"] and len(views(sim)["n1"]["log"]) == 41
    sizes = [len(m["entries"]) for _, m in replies(events, "AppendEntries", "n1", "n5")]
    assert max(sizes) == 8


def test_heartbeats_keep_followers_from_timing_out():
    events, sim = run(_cluster_with_leader_n1([], duration=5000))
    assert sim.protocol.metrics()["elections"] == 1
    beats = [t for t, m in replies(events, "AppendEntries", "n1", "n2")]
    gaps = {b - a for a, b in zip(beats, beats[1:])}
    assert gaps == {100}  # heartbeat_interval, fixed latency


def test_a_follower_redirects_client_requests_to_the_leader_it_knows():
    sc = _cluster_with_leader_n1([{"at": 300, "action": "client_request", "node": "n4", "value": "x"},
                                  {"at": 300, "action": "crash", "node": "n1"},
                                  {"at": 400, "action": "client_request", "node": "n4", "value": "y"}])
    events, sim = run(sc)
    _, first, _, second = of(events, "intervention")
    assert first["result"] == "redirected" and first["leader_hint"] == "n1"
    assert second["result"] == "redirected" and second["leader_hint"] == "n1"  # n4 has not noticed yet
    assert all(e[1] is None for e in views(sim)["n4"]["log"])  # nothing appended anywhere


def test_automatic_client_load_goes_to_the_leader():
    events, sim = run(raft(duration=5000, params={"client_interval": 100}))
    m = sim.protocol.metrics()
    assert 40 <= m["entries_committed"] <= 50
    assert m["commit_latency_ms"]["count"] == m["entries_committed"]
    assert 20 <= m["commit_latency_ms"]["p50"] <= 80  # one round trip with 10..30 ms links


# --- pre-vote and check-quorum ---------------------------------------------------------------------
def _isolate_and_return(pre_vote, check_quorum):
    """Cut a follower off for 3 s, then heal: (term before, its term when it returns, leader, the leader's
    step-downs after, sim)."""
    sc = raft(seed=5, duration=8000, params={"pre_vote": pre_vote, "check_quorum": check_quorum,
                                             "client_interval": 200})
    sim = Simulation(sc)
    sim.advance(1000)
    leader, term = leaders(sim)[0], views(sim)[leaders(sim)[0]]["term"]
    follower = "n5" if leader != "n5" else "n4"
    sim.intervene({"action": "partition", "groups": [[follower]]})
    sim.advance(4000)
    isolated_term = views(sim)[follower]["term"]
    sim.drain()
    sim.intervene({"action": "heal_all"})
    events = sim.run()
    steps_down = [e for e in of(events, "state", node=leader) if e["changes"].get("role") == "follower"]
    return term, isolated_term, leader, follower, steps_down, sim


def test_without_pre_vote_a_returning_isolated_node_disrupts_the_leader():
    term, isolated_term, leader, follower, steps_down, sim = _isolate_and_return(False, False)
    assert isolated_term > term + 5  # it kept starting elections on its own
    assert steps_down  # its higher term deposed the leader when it came back
    assert views(sim)[leaders(sim)[0]]["term"] >= isolated_term


@pytest.mark.parametrize("check_quorum", [False, True])
def test_pre_vote_stops_an_isolated_node_from_disrupting_the_cluster(check_quorum):
    term, isolated_term, leader, follower, steps_down, sim = _isolate_and_return(True, check_quorum)
    assert isolated_term == term  # pre-votes failed: it never raised its term
    assert not steps_down and leaders(sim) == [leader] and views(sim)[leader]["term"] == term
    assert views(sim)[follower]["leader"] == leader
    assert views(sim)[follower]["log"][:-2] == views(sim)[leader]["log"][:-2]  # caught up (but for the last beat)


@pytest.mark.parametrize("check_quorum", [False, True])
def test_check_quorum_makes_a_leader_cut_off_from_the_majority_step_down(check_quorum):
    sc = raft(seed=2, duration=3000, params={"check_quorum": check_quorum},
              interventions=[{"at": 1000, "action": "partition", "groups": [["leader"]]}])
    sim = Simulation(sc)
    sim.advance(1000)
    old = leaders(sim)[0]
    sim.run()
    assert (views(sim)[old]["role"] == "leader") is (not check_quorum)
    assert sim.protocol.metrics()["leader_step_downs"] == (1 if check_quorum else 0)
    assert sim.summary()["violations"] == []


def test_leader_stickiness_ignores_vote_requests_while_the_leader_is_alive():
    """With check-quorum, a forced election on a follower gets no votes while the leader is heard."""
    sc = raft(seed=3, duration=3000, params={"check_quorum": True, "pre_vote": True})
    sim = Simulation(sc)
    sim.advance(1500)
    leader = leaders(sim)[0]
    follower = next(n for n in sim.node_ids if n != leader)
    sim.drain()
    sim.intervene({"action": "timeout", "node": follower})
    events = sim.run()
    assert [e["node"] for e in of(events, "timer") if e.get("forced")] == [follower]
    assert leaders(sim) == [leader]
    assert not [e for e in of(events, "state") if e["changes"].get("role") == "candidate"]


# --- invariants: each checker catches its violation -------------------------------------------------
def _started(n_entries=0):
    sc = _cluster_with_leader_n1([{"at": 100 + i, "action": "client_request", "node": "n1", "value": f"v{i}"}
                                  for i in range(n_entries)], duration=400)
    sim = Simulation(sc)
    sim.run()
    return sim


def _poke(sim, nid, **fields):
    node = sim.nodes[nid]
    for k, v in fields.items():
        setattr(node, k, v)
        node.mark(k)
    sim.flush(node)
    return [e for e in sim.drain() if e["type"] == "violation"]


def test_election_safety_checker():
    sim = _started()
    found = _poke(sim, "n2", role="leader")  # a second leader of term 1
    assert [v["invariant"] for v in found] == ["election_safety"]
    assert "n2 and n1 are both leaders of term 1" in found[0]["details"]


def test_leader_append_only_checker():
    sim = _started(2)
    node = sim.nodes["n1"]
    del node.log[1:]
    node.mark_splice("log", 1)
    sim.flush(node)
    found = [e for e in sim.drain() if e["type"] == "violation"]
    assert [v["invariant"] for v in found] == ["leader_append_only"]


def test_log_matching_checker():
    sim = _started(2)
    node = sim.nodes["n4"]
    node.log[1:] = [[1, "forged"], [1, "v1"]]  # same index and term as n1's entry 3, different history
    node.mark_splice("log", 1)
    sim.flush(node)
    found = [e for e in sim.drain() if e["type"] == "violation"]
    assert found and {v["invariant"] for v in found} == {"log_matching"}


def test_state_machine_safety_and_leader_completeness_checkers():
    sim = _started(2)
    _poke(sim, "n3", commit=1)
    node = sim.nodes["n3"]
    node.log[1:] = [[1, "other"], [1, "v1"]]
    node.mark_splice("log", 1)
    sim.flush(node)
    sim.drain()
    found = _poke(sim, "n3", commit=3)
    assert "state_machine_safety" in [v["invariant"] for v in found]
    n4 = sim.nodes["n4"]
    n4.log[:] = [[1, None]]
    n4.mark_splice("log", 1)
    sim.flush(n4)
    _poke(sim, "n1", role="follower")
    found = _poke(sim, "n4", role="leader", term=2)
    assert [v["invariant"] for v in found] == ["leader_completeness"]
    assert "without entry 2 [1, 'v0'], committed in term 1" in found[0]["details"]


def test_violations_are_events_and_reported_once():
    sim = _started()
    assert _poke(sim, "n2", role="leader")
    assert not _poke(sim, "n3", role="leader")  # the same broken term is not reported again
    assert len(sim.violations) == 1 and sim.summary()["violations"] == sim.violations


def test_a_stale_leader_is_not_a_completeness_violation():
    """A candidate paused while winning becomes leader of an old term on resume; it need not hold
    entries committed in later terms (the lead's first checker flagged this)."""
    sc = quiet_raft(duration=2000, interventions=[
        {"at": 10, "action": "timeout", "node": "n1"},
        {"at": 15, "action": "pause", "node": "n1"},  # its vote replies wait
        {"at": 20, "action": "timeout", "node": "n2"},
        {"at": 200, "action": "client_request", "node": "n2", "value": "x"},
        {"at": 600, "action": "resume", "node": "n1"},
    ])
    events, sim = run(sc)
    assert [e for e in of(events, "state", node="n1") if e["changes"].get("role") == "leader"]
    assert sim.summary()["violations"] == []


# --- metrics -----------------------------------------------------------------------------------------
def test_metrics_count_elections_leaderless_time_commits_and_latency():
    sc = _cluster_with_leader_n1([{"at": 500, "action": "crash", "node": "n1"},
                                  {"at": 900, "action": "timeout", "node": "n2"},
                                  {"at": 1200, "action": "client_request", "node": "n2", "value": "x"}])
    _, summary = run_scenario(sc)
    m = summary["metrics"]
    assert m["elections"] == 2
    assert m["leaderless_ms"] == 30 + 420  # 0..30 before n1 won, 500..920 after it crashed
    assert m["entries_committed"] == 3  # n1's no-op, n2's no-op, x
    assert m["commit_latency_ms"] == {"count": 3, "mean": 20.0, "p50": 20, "max": 20}
    assert m["leader_step_downs"] == 0


def test_invariant_checks_are_incremental(monkeypatch):
    """Each state event's checks look at the entries that changed, not the whole log: over a run that
    builds 2,000-entry logs, the log-matching work is about one step per entry per node (a rescan per
    event would be about a million)."""
    work = {"entries": 0, "calls": 0}
    real = Raft._log_matching

    def counting(self, node, start):
        work["entries"] += len(node.log) - start
        work["calls"] += 1
        return real(self, node, start)

    monkeypatch.setattr(Raft, "_log_matching", counting)
    sim = Simulation(raft(duration=20_000, params={"client_interval": 10}))
    sim.run()
    n = len(views(sim)["n1"]["log"])
    assert n > 1900 and sim.violations == []
    assert work["calls"] > 5 * 1000
    assert work["entries"] < 5 * n * 1.2
