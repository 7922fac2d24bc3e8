"""Each fault of the model does what it says, visibly in the trace: the network (latency, loss,
duplication, cuts, partitions, heals, per-link settings) and the nodes (crash, restart, pause, resume,
clock drift). Raft provides the traffic."""

import pytest

from simulator import Simulation
from simulator.view import replay

from simhelpers import of, quiet_raft, raft, run, same

TRAFFIC = {"client_interval": 20}


def by_id(events, type_):
    return {e["id"]: e for e in events if e["type"] == type_}


def fate(events):
    """message id -> (how it ended: deliver/drop reason/None, at what time)."""
    out = {e["id"]: (None, None) for e in of(events, "send")}
    for e in events:
        if e["type"] == "deliver":
            out[e["id"]] = ("deliver", e["t"])
        elif e["type"] == "drop":
            out[e["id"]] = (e["reason"], e["t"])
    return out


# --- network ------------------------------------------------------------------------------------
def test_latency_is_uniform_in_the_range_and_messages_reorder():
    events, _ = run(raft(duration=5000, params=TRAFFIC, network={"latency": [7, 93]}))
    sends = of(events, "send")
    delays = [e["deliver_at"] - e["t"] for e in sends]
    assert min(delays) == 7 and max(delays) == 93  # both ends reachable (thousands of draws)
    assert 45 <= sum(delays) / len(delays) <= 55  # uniform: mean about 50
    delivered = {e["id"]: e["t"] for e in of(events, "deliver")}
    for e in sends:
        if e["id"] in delivered:
            assert delivered[e["id"]] == e["deliver_at"]
    # reordering: on some link, a later message arrives before an earlier one
    pairs = {}
    for e in sends:
        pairs.setdefault((e["from"], e["to"]), []).append(e["deliver_at"])
    assert any(any(b < a for a, b in zip(v, v[1:])) for v in pairs.values())


def test_fixed_latency():
    events, _ = run(raft(network={"latency": 25}))
    assert {e["deliver_at"] - e["t"] for e in of(events, "send")} == {25}


def test_loss_drops_about_that_share_with_reason_loss():
    events, _ = run(raft(duration=6000, params=TRAFFIC, network={"loss": 0.2}))
    sends = of(events, "send")
    lost = [e for e in of(events, "drop") if e["reason"] == "loss"]
    assert 0.15 < len(lost) / len(sends) < 0.25
    # a lost message is dropped when it would have arrived (the page shows it fall there)
    by_send = by_id(events, "send")
    assert all(e["t"] == by_send[e["id"]]["deliver_at"] for e in lost)


def test_on_tcp_like_links_a_duplicate_is_discarded_on_arrival():
    """Kafka's links are TCP-like (`fifo_links`): the network's duplication fault still makes copies (the trace
    shows them), but the receiver discards each one (reason `duplicate`); the original is delivered."""
    events, _ = run({"protocol": "kafka", "seed": 2, "duration": 8000, "network": {"duplicate": 0.3}})
    dups = [e for e in of(events, "send") if "dup_of" in e]
    assert len(dups) > 20
    delivered, dropped = by_id(events, "deliver"), by_id(events, "drop")
    assert not [d for d in dups if d["id"] in delivered]
    assert {dropped[d["id"]]["reason"] for d in dups if d["id"] in dropped} <= {"duplicate", "loss", "cut", "crashed"}
    assert sum(1 for d in dups if dropped.get(d["id"], {}).get("reason") == "duplicate") > len(dups) * 0.9
    assert sum(1 for d in dups if d["dup_of"] in delivered) > len(dups) * 0.9


def test_duplication_sends_copies_that_are_delivered_too():
    events, _ = run(raft(duration=4000, params=TRAFFIC, network={"duplicate": 0.3}))
    sends = of(events, "send")
    dups = [e for e in sends if "dup_of" in e]
    originals = [e for e in sends if "dup_of" not in e]
    assert 0.25 < len(dups) / len(originals) < 0.35
    by_send = by_id(events, "send")
    delivered = by_id(events, "deliver")
    for d in dups:
        orig = by_send[d["dup_of"]]
        assert (d["from"], d["to"], d["msg"]) == (orig["from"], orig["to"], orig["msg"]) and d["t"] == orig["t"]
        assert "dup_of" not in orig  # copies are not copied again
    assert sum(1 for d in dups if d["id"] in delivered and d["dup_of"] in delivered) > len(dups) * 0.9


def test_one_way_cut_blocks_one_direction_only():
    sc = quiet_raft(duration=3000, params=TRAFFIC,
                    interventions=[{"at": 10, "action": "timeout", "node": "n1"},
                                   {"at": 1000, "action": "cut", "a": "n1", "b": "n2", "oneway": True}])
    events, sim = run(sc)
    f = fate(events)
    after = [e for e in of(events, "send") if e["t"] >= 1000]
    one = [e for e in after if (e["from"], e["to"]) == ("n1", "n2")]
    back = [e for e in after if (e["from"], e["to"]) == ("n2", "n1")]
    assert one and back
    assert all(f[e["id"]] == ("cut", e["t"]) for e in one)  # dropped at once, at send time
    assert all(f[e["id"]][0] in ("deliver", None) for e in back)
    assert sim.snapshot()["net"]["cuts"] == [["n1", "n2"]]


def test_cut_drops_messages_in_flight_with_reason_cut():
    sc = quiet_raft(duration=3000, params=TRAFFIC, network={"latency": [40, 60]},
                    interventions=[{"at": 10, "action": "timeout", "node": "n1"}])
    sim = Simulation(sc)
    sim.advance(1500)
    flying = [m for m in sim.snapshot()["messages"] if {m["from"], m["to"]} == {"n1", "n2"}]
    assert flying, "expected traffic between n1 and n2"
    sim.drain()
    sim.intervene({"action": "cut", "a": "n1", "b": "n2"})
    events = sim.drain()
    assert events[0]["type"] == "intervention"
    drops = of(events, "drop")
    assert sorted(d["id"] for d in drops) == sorted(m["id"] for m in flying)
    assert all(d["reason"] == "cut" and d["t"] == 1500 for d in drops)
    assert of(events, "net")[0]["cuts"] == [["n1", "n2"], ["n2", "n1"]]
    assert not [m for m in sim.snapshot()["messages"] if {m["from"], m["to"]} == {"n1", "n2"}]


def test_partition_cuts_between_groups_only_and_heal_all_restores():
    sc = raft(duration=6000, params=TRAFFIC,
              interventions=[{"at": 1000, "action": "partition", "groups": [["n1", "n2"]]},
                             {"at": 3000, "action": "heal_all"}])
    events, sim = run(sc)
    net = of(events, "net")
    side = {"n1": 0, "n2": 0, "n3": 1, "n4": 1, "n5": 1}  # unlisted nodes form one more group
    assert net[0]["partition"] == [["n1", "n2"], ["n3", "n4", "n5"]] and net[0]["cuts"] == []
    assert net[1]["partition"] == [] and net[1]["cuts"] == []
    f = fate(events)
    for e in of(events, "send"):
        crosses = side[e["from"]] != side[e["to"]]
        if 1000 <= e["t"] < 3000 and crosses:
            assert f[e["id"]][0] == "cut"
        if e["t"] >= 3000:
            assert f[e["id"]][0] != "cut"
    # the majority side elected a leader of its own meanwhile; after healing there is one leader
    assert sim.protocol.resolve("leader") is not None


def test_a_new_partition_replaces_the_old_one_and_hand_cuts_stay():
    sc = raft(duration=3000, params=TRAFFIC, interventions=[
        {"at": 100, "action": "cut", "a": "n3", "b": "n4"},
        {"at": 500, "action": "partition", "groups": [["n1"]]},
        {"at": 1500, "action": "partition", "groups": [["n1", "n2"], ["n3", "n4"]]},
    ])
    events, sim = run(sc)
    net = of(events, "net")[-1]
    assert net["partition"] == [["n1", "n2"], ["n3", "n4"], ["n5"]]
    assert net["cuts"] == [["n3", "n4"], ["n4", "n3"]]  # within an island, a hand cut still holds
    f = fate(events)
    late = [e for e in of(events, "send") if e["t"] >= 1500]
    n1_n2 = [e for e in late if {e["from"], e["to"]} == {"n1", "n2"}]
    n3_n4 = [e for e in late if {e["from"], e["to"]} == {"n3", "n4"}]
    n2_n5 = [e for e in late if {e["from"], e["to"]} == {"n2", "n5"}]
    assert n1_n2 and all(f[e["id"]][0] != "cut" for e in n1_n2)  # together again: the first partition is gone
    assert all(f[e["id"]][0] == "cut" for e in n3_n4 + n2_n5)


def test_heal_partition_joins_the_islands_and_keeps_hand_cuts():
    sc = raft(duration=3000, params=TRAFFIC, interventions=[
        {"at": 100, "action": "cut", "a": "n4", "b": "n5"},
        {"at": 200, "action": "partition", "groups": [["n1", "n2"]]},
        {"at": 1000, "action": "heal_partition"},
    ])
    events, sim = run(sc)
    nets = of(events, "net")
    assert nets[-1] == {"t": 1000, "type": "net", "cuts": [["n4", "n5"], ["n5", "n4"]], "partition": [],
                        "bridges": [], "links": []}
    f = fate(events)
    late = [e for e in of(events, "send") if e["t"] >= 1000]
    assert all(f[e["id"]][0] == "cut" for e in late if {e["from"], e["to"]} == {"n4", "n5"})
    assert all(f[e["id"]][0] != "cut" for e in late if {e["from"], e["to"]} != {"n4", "n5"})


def test_healing_a_link_across_a_partition_bridges_it_and_cutting_it_again_closes_it():
    sc = raft(duration=4000, params=TRAFFIC, interventions=[
        {"at": 100, "action": "partition", "groups": [["n1", "n2"]]},
        {"at": 1000, "action": "heal", "a": "n1", "b": "n3"},
        {"at": 2000, "action": "cut", "a": "n1", "b": "n3", "oneway": True},
    ])
    events, sim = run(sc)
    nets = of(events, "net")
    assert nets[1]["bridges"] == [["n1", "n3"], ["n3", "n1"]] and nets[1]["cuts"] == []
    assert nets[2]["bridges"] == [["n3", "n1"]] and nets[2]["cuts"] == [["n1", "n3"]]
    f = fate(events)
    sends = of(events, "send")
    bridged = [e for e in sends if 1000 <= e["t"] < 1900 and {e["from"], e["to"]} == {"n1", "n3"}]  # landed by 2000
    still = [e for e in sends if 1000 <= e["t"] < 2000 and {e["from"], e["to"]} == {"n1", "n4"}]
    back = [e for e in sends if e["t"] >= 2000 and (e["from"], e["to"]) == ("n3", "n1")]
    gone = [e for e in sends if e["t"] >= 2000 and (e["from"], e["to"]) == ("n1", "n3")]
    assert bridged and all(f[e["id"]][0] != "cut" for e in bridged)
    assert still and all(f[e["id"]][0] == "cut" for e in still)
    assert all(f[e["id"]][0] != "cut" for e in back) and all(f[e["id"]][0] == "cut" for e in gone)


def test_a_thousand_node_partition_is_small_in_the_trace_and_quick():
    """Islands, not N^2 cuts: splitting 1,000 gossip nodes in two is one group list in the `net` event."""
    import json

    ids = [f"n{i}" for i in range(1, 1001)]
    sim = Simulation({"protocol": "gossip", "nodes": 1000, "seed": 1, "duration": 2000})
    sim.advance(300)
    sim.drain()
    sim.intervene({"action": "partition", "groups": [ids[:500]]})
    sim.advance(600)
    events = sim.drain()
    net = of(events, "net")[0]
    assert net["partition"] == [ids[:500], ids[500:]] and net["cuts"] == []
    assert len(json.dumps(net)) < 20_000 and len(json.dumps(sim.snapshot()["net"])) < 20_000
    f = fate(events)
    island = {n: i // 500 for i, n in enumerate(ids)}
    crossing = [e for e in of(events, "send") if island[e["from"]] != island[e["to"]]]
    inside = [e for e in of(events, "send") if island[e["from"]] == island[e["to"]]]
    assert crossing and all(f[e["id"]][0] == "cut" for e in crossing)
    assert inside and all(f[e["id"]][0] != "cut" for e in inside)


def test_heal_one_link_and_one_direction():
    sc = raft(duration=2000, interventions=[
        {"at": 100, "action": "cut", "a": "n1", "b": "n2"},
        {"at": 100, "action": "cut", "a": "n1", "b": "n3"},
        {"at": 200, "action": "heal", "a": "n1", "b": "n2", "oneway": True},
        {"at": 300, "action": "heal", "a": "n3", "b": "n1"},
    ])
    events, _ = run(sc)
    cuts = [sorted(map(tuple, e["cuts"])) for e in of(events, "net")]
    assert cuts[1] == sorted([("n1", "n2"), ("n2", "n1"), ("n1", "n3"), ("n3", "n1")])
    assert cuts[2] == sorted([("n2", "n1"), ("n1", "n3"), ("n3", "n1")])
    assert cuts[3] == [("n2", "n1")]


def test_set_link_changes_latency_and_loss_of_one_link():
    sc = raft(duration=4000, params=TRAFFIC, network={"latency": [10, 20]}, interventions=[
        {"at": 1000, "action": "set_link", "a": "n1", "b": "n2", "latency": [300, 300]},
        {"at": 1000, "action": "set_link", "a": "n3", "b": "n4", "loss": 1.0, "oneway": True},
        {"at": 2000, "action": "set_link", "a": "n1", "b": "n2", "loss": 0.5},
    ])
    events, sim = run(sc)
    f = fate(events)
    for e in of(events, "send"):
        link = (e["from"], e["to"])
        if e["t"] >= 1000 and set(link) == {"n1", "n2"}:
            assert e["deliver_at"] - e["t"] == 300  # latency kept when only loss changed later
        elif e["t"] >= 1000 and link == ("n3", "n4"):
            assert f[e["id"]][0] == "loss"
        elif e["t"] >= 1000 and link == ("n4", "n3"):
            assert f[e["id"]][0] != "loss"
        else:
            assert 10 <= e["deliver_at"] - e["t"] <= 20
    links = {(l["from"], l["to"]): l for l in sim.snapshot()["net"]["links"]}
    assert links[("n1", "n2")] == {"from": "n1", "to": "n2", "latency": [300, 300], "loss": 0.5}
    assert links[("n3", "n4")]["loss"] == 1.0 and ("n4", "n3") not in links


def test_scenario_links_set_the_network_from_the_start():
    sc = raft(network={"latency": [10, 10], "links": [{"a": "n1", "b": "n2", "latency": 77},
                                                       {"a": "n3", "b": "n4", "loss": 1.0, "oneway": True}]})
    events, sim = run(sc)
    f = fate(events)
    for e in of(events, "send"):
        if {e["from"], e["to"]} == {"n1", "n2"}:
            assert e["deliver_at"] - e["t"] == 77
        if (e["from"], e["to"]) == ("n3", "n4"):
            assert f[e["id"]][0] in ("loss", None)


# --- nodes ----------------------------------------------------------------------------------------
def _leader_with_log():
    """n1 leads term 1 and has committed two writes on every node."""
    return quiet_raft(duration=3000, interventions=[
        {"at": 10, "action": "timeout", "node": "n1"},
        {"at": 100, "action": "client_request", "node": "n1", "value": "a"},
        {"at": 150, "action": "client_request", "node": "n1", "value": "b"},
    ])


def test_crash_keeps_persistent_state_and_loses_volatile_state_and_timers():
    sc = _leader_with_log()
    sim = Simulation(sc)
    sim.advance(400)
    before = sim.snapshot()["nodes"]["n2"]
    assert before["commit"] == 3 and before["leader"] == "n1" and before["timers"]
    sim.drain()
    sim.intervene({"action": "crash", "node": "n2"})
    sim.intervene({"action": "crash", "node": "n1"})
    after = sim.snapshot()["nodes"]
    for nid in ("n1", "n2"):
        view = after[nid]
        assert view["status"] == "crashed" and view["timers"] == {}
        assert view["term"] == 1 and view["log"] == before["log"]  # persistent: term, vote, log
        assert view["commit"] == 0 and view["role"] == "follower" and view["leader"] is None  # volatile
    assert after["n2"]["voted_for"] == "n1" and after["n1"]["voted_for"] == "n1"
    events = sim.drain() + sim.run()
    assert not [e for e in events if e.get("node") in ("n1", "n2") and e["type"] == "timer"]
    to_crashed = [e for e in of(events, "drop") if e["to"] in ("n1", "n2")]
    assert to_crashed and all(e["reason"] == "crashed" for e in to_crashed)
    assert not [e for e in of(events, "send") if e["from"] in ("n1", "n2")]
    assert not [e for e in of(events, "deliver") if e["to"] in ("n1", "n2")]


def test_restart_resumes_from_persistent_state():
    sc = _leader_with_log()
    sc["interventions"] += [{"at": 400, "action": "crash", "node": "n2"},
                            {"at": 600, "action": "restart", "node": "n2"}]
    events, sim = run(sc)
    state = [e for e in of(events, "state", node="n2") if e["t"] == 600][0]["changes"]
    assert state["status"] == "up" and state["log"] == [[1, None], [1, "a"], [1, "b"]]
    assert state["term"] == 1 and state["commit"] == 0 and "election" in state["timers"]
    n2 = sim.snapshot()["nodes"]["n2"]
    assert n2["commit"] == 3 and n2["leader"] == "n1"  # caught up from the leader's heartbeats


def test_pause_holds_messages_and_timers_then_resume_delivers_them():
    sc = quiet_raft(duration=3000, params={"election_timeout_min": 300, "election_timeout_max": 300}, interventions=[
        {"at": 10, "action": "timeout", "node": "n1"},
        {"at": 500, "action": "pause", "node": "n2"},
        {"at": 1500, "action": "resume", "node": "n2"},
    ])
    events, sim = run(sc)
    during = [e for e in events if 500 <= e["t"] < 1500]
    held = [e for e in during if e["type"] == "hold"]
    assert held and all(e["to"] == "n2" for e in held)
    assert not [e for e in during if e.get("node") == "n2" and e["type"] in ("timer",) or
                e["type"] == "deliver" and e["to"] == "n2" or e["type"] == "send" and e["from"] == "n2"]
    at_resume = [e for e in events if e["t"] == 1500]
    delivered = [e["id"] for e in at_resume if e["type"] == "deliver" and e["to"] == "n2"]
    assert delivered == [e["id"] for e in held]  # all of them, in arrival order, at resume time
    # its election timer (300 ms) came due while paused: it fires at resume, after the held messages
    # were handled... which re-armed it, so it does not fire at all
    assert not [e for e in at_resume if e["type"] == "timer" and e["node"] == "n2"]
    # a paused node keeps its state and its place; it does not time out or disturb the leader
    assert sim.snapshot()["nodes"]["n2"]["leader"] == "n1" and sim.snapshot()["nodes"]["n1"]["role"] == "leader"


def test_a_timer_due_while_paused_fires_on_resume():
    sc = quiet_raft(duration=2000, params={"election_timeout_min": 300, "election_timeout_max": 300},
                    interventions=[{"at": 50, "action": "pause", "node": "n3"},
                                   {"at": 800, "action": "resume", "node": "n3"}])
    events, _ = run(sc)
    timers = of(events, "timer", node="n3")
    assert timers[0]["t"] == 800 and timers[0]["timer"] == "election"  # was due at 300


def test_crash_while_paused_drops_what_was_held():
    sc = quiet_raft(duration=1500, interventions=[
        {"at": 10, "action": "timeout", "node": "n1"},
        {"at": 200, "action": "pause", "node": "n2"},
        {"at": 700, "action": "crash", "node": "n2"},
    ])
    events, sim = run(sc)
    held = [e["id"] for e in of(events, "hold")]
    drops = [e["id"] for e in of(events, "drop") if e["t"] == 700 and e["reason"] == "crashed"]
    assert held and drops == held
    assert not [m for m in sim.snapshot()["messages"] if m["held"]]


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_set_drift_makes_a_nodes_timers_slower_or_faster(factor):
    sc = raft(duration=3000, params={"election_timeout_min": 200, "election_timeout_max": 400},
              network={"latency": [10, 10]},
              interventions=[{"at": 0, "action": "set_drift", "node": "n2", "factor": factor},
                             {"at": 0, "action": "partition", "groups": [["n2"]]}])
    events, _ = run(sc)
    spans = []
    for e in of(events, "state", node="n2"):
        if e["t"] > 0 and "election" in e["changes"].get("timers", {}):
            set_at, fires = e["changes"]["timers"]["election"]
            spans.append(fires - set_at)
    assert spans
    lo, hi = round(200 / factor), round(400 / factor)
    assert all(lo <= s <= hi for s in spans), (spans, lo, hi)
    # the node it drifts from keeps the normal range
    other = [e["changes"]["timers"]["election"] for e in of(events, "state", node="n3")
             if "election" in e["changes"].get("timers", {})]
    assert all(200 <= f - s <= 400 for s, f in other)
    # an isolated node times out at its own pace: twice as often at 2.0, half as often at 0.5
    timeouts = len(of(events, "timer", node="n2"))
    assert (timeouts >= 13) if factor == 2.0 else (timeouts <= 8)


def test_drift_is_part_of_the_view():
    sim = Simulation(raft())
    sim.drain()
    sim.intervene({"action": "set_drift", "node": "n4", "factor": 1.5})
    ev = of(sim.drain(), "state", node="n4")[0]
    assert ev["changes"]["drift"] == 1.5
    assert sim.snapshot()["nodes"]["n4"]["drift"] == 1.5


@pytest.mark.parametrize("factor", [4.0, 0.25])
def test_set_drift_rescales_the_timers_already_armed(factor):
    """A clock that starts running fast fires its pending timeout early too: what is left of an armed timer is
    the same on the node's own clock, so in real time it is divided by the new rate."""
    sim = Simulation(raft(duration=5000, params={"election_timeout_min": 1000, "election_timeout_max": 1000},
                          interventions=[{"at": 0, "action": "partition", "groups": [["n2"]]}]))
    sim.advance(400)
    set_at, fires = sim.snapshot()["nodes"]["n2"]["timers"]["election"]
    assert fires - 400 > 100
    sim.drain()
    sim.intervene({"action": "set_drift", "node": "n2", "factor": factor})
    expect = 400 + round((fires - 400) / factor)
    change = of(sim.drain(), "state", node="n2")[0]["changes"]
    assert change["drift"] == factor and change["timers"]["election"] == [set_at, expect]
    sim.advance(expect)  # everything before `expect`
    assert not of(sim.drain(), "timer", node="n2")
    sim.advance(expect + 1)
    assert [e["t"] for e in of(sim.drain(), "timer", node="n2")] == [expect]


def test_every_fault_keeps_snapshot_and_events_consistent():
    """One run with every kind of fault, sliced at each intervention: snapshot + events = snapshot."""
    ivs = [
        {"at": 300, "action": "cut", "a": "n1", "b": "n2", "oneway": True},
        {"at": 500, "action": "pause", "node": "n3"},
        {"at": 700, "action": "set_link", "a": "n4", "b": "n5", "latency": [100, 200], "loss": 0.3},
        {"at": 900, "action": "crash", "node": "leader"},
        {"at": 1100, "action": "partition", "groups": [["n1", "n4"]]},
        {"at": 1300, "action": "resume", "node": "n3"},
        {"at": 1500, "action": "set_drift", "node": "n5", "factor": 3.0},
        {"at": 1700, "action": "heal", "a": "n1", "b": "n2"},
        {"at": 1900, "action": "heal_all"},
        {"at": 2100, "action": "client_request", "node": "leader", "value": "z"},
        {"at": 2300, "action": "timeout", "node": "n2"},
    ]
    sim = Simulation(raft(duration=3000, params=TRAFFIC, network={"duplicate": 0.2, "loss": 0.05},
                          interventions=ivs))
    snap = sim.snapshot()
    events = sim.drain()
    for t in list(range(50, 3001, 50)):
        sim.advance(t)
        events = sim.drain()
        later = sim.snapshot()
        assert same(replay(snap, events, until=t), later)
        snap = later


def test_a_timer_rearmed_by_a_held_message_still_fires():
    """n2 is paused while its election timer comes due; on resume the held heartbeats re-arm it. With the
    leader gone, the re-armed timer must fire on time (a re-armed timer once reused a spent wake-up)."""
    sc = quiet_raft(duration=2500, params={"election_timeout_min": 300, "election_timeout_max": 300},
                    interventions=[{"at": 0, "action": "set_drift", "node": "n3", "factor": 0.2},
                                   {"at": 0, "action": "set_drift", "node": "n4", "factor": 0.2},
                                   {"at": 0, "action": "set_drift", "node": "n5", "factor": 0.2},
                                   {"at": 10, "action": "timeout", "node": "n1"},
                                   {"at": 500, "action": "pause", "node": "n2"},
                                   {"at": 950, "action": "crash", "node": "n1"},
                                   {"at": 1000, "action": "resume", "node": "n2"}])
    events, _ = run(sc)
    fired = [e["t"] for e in of(events, "timer", node="n2")]
    assert fired and fired[0] == 1300
