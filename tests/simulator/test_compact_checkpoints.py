"""Compact time-travel checkpoints (simulator.timetravel: compact, machine): a packed simulation continues
exactly like the original; seeking under heavy client load replays exactly; checkpoints stay within their memory
budget, counted in compressed bytes, and stay spread over the run after thinning.
"""

import copy
import pickle

import pytest

from simulator import Simulation, trace_hash
from simulator.timetravel import TimeMachine, compact

HEAVY = {"protocol": "raft", "seed": 4, "params": {"client_interval": 20}}  # a client write every 20 ms

# one long-ish run of every protocol, and the same run continued: (scenario, moment to pack at)
RUNS = [
    (HEAVY, 20_000),
    ({"protocol": "raft", "seed": 9, "nodes": 7, "interventions": [
        {"at": 3000, "action": "crash", "node": "n2"}, {"at": 9000, "action": "restart", "node": "n2"}]}, 5000),
    ({"protocol": "paxos", "seed": 2}, 6000),
    ({"protocol": "twophase", "seed": 2}, 6000),
    ({"protocol": "gossip", "seed": 2, "nodes": 60}, 6000),
    ({"protocol": "kafka", "seed": 2}, 6000),
]


def play(sim, until, chunk=1000):
    events = []
    while sim.now < until:
        sim.advance(min(until, sim.now + chunk))
        events += sim.drain()
    return events


@pytest.mark.parametrize("scenario,at", RUNS, ids=lambda v: v["protocol"] if isinstance(v, dict) else str(v))
def test_a_packed_simulation_continues_exactly_like_the_original(scenario, at):
    """pack -> unpack gives an independent simulation whose future trace (hash) equals the original's and that
    of a straight run of the scenario; playing the restored one does not touch the original."""
    end = at + 8000
    straight = Simulation(dict(scenario, duration=end)).run()
    sim = Simulation(scenario)
    before = sim.drain() + play(sim, at)
    blob = compact.pack(sim)
    assert isinstance(blob, bytes) and len(blob) < len(pickle.dumps(sim.scenario)) + 4 * 1024 * 1024
    restored = compact.unpack(blob)
    assert restored is not sim and restored.now == sim.now == at and restored.event_count == sim.event_count
    assert restored.snapshot() == sim.snapshot()
    later = play(restored, end)
    assert sim.now == at and sim.pending == []  # the original did not move
    assert trace_hash(before + later) == trace_hash(straight)
    again = compact.unpack(blob)  # a checkpoint can be restored any number of times
    assert trace_hash(play(again, end)) == trace_hash(later)
    assert trace_hash(play(sim, end)) == trace_hash(later)  # and the original goes on the same way


def test_bound_methods_of_simpy_bound_classes_survive_packing():
    """SimPy binds `env.process`, `env.timeout`... as MethodType(Process, env): plain pickle fails on them
    (getattr(env, 'Process')); packed they come back bound to the restored environment."""
    sim = Simulation({"protocol": "raft", "seed": 1})
    with pytest.raises((AttributeError, pickle.PicklingError)):
        pickle.loads(pickle.dumps(sim, protocol=5))
    restored = compact.unpack(compact.pack(sim))
    assert restored.env.timeout.__self__ is restored.env
    assert restored.env.process.__func__ is sim.env.process.__func__


def live_run(until, budget, plan=(), interval=500, work_ratio=0, **options):
    """A heavy Raft run played like a session: slices of 333 ms, observing after each, interventions live."""
    sim = Simulation(HEAVY)
    tm = TimeMachine(sim, interval=interval, work_ratio=work_ratio, budget=budget, **options)
    trace = sim.drain()
    todo = list(plan)
    gaps = []
    t = 0
    while t < until:
        t = min(until, t + 333)
        sim.advance(t)
        trace += sim.drain()
        tm.observe(sim)
        gaps.append(check_budget_and_spread(tm, budget))
        while todo and todo[0][0] <= t:
            try:
                tm.intervene(sim, todo.pop(0)[1])
            except Exception:
                pass
            trace += sim.drain()
    return sim, tm, trace, gaps


def check_budget_and_spread(tm, budget):
    """The checkpoints' compressed bytes stay within the budget; the widest gap between two (in events) is at
    most twice the average gap (plus one recording step: the newest may be one interval old)."""
    cps = tm.checkpoints
    assert all(cp.blob is not None and cp.size == len(cp.blob) for cp in cps[1:])  # packed, sized exactly
    assert tm.size == sum(cp.size for cp in cps)
    assert tm.size <= budget or len(cps) <= 3
    events = [cp.events for cp in cps]
    assert events == sorted(events) and cps[0].t == 0
    gaps = [b - a for a, b in zip(events, events[1:])]
    if len(cps) >= 6:
        span = events[-1] - events[0]
        assert max(gaps[:-1]) <= 2 * span / (len(cps) - 3), gaps
    return max(gaps, default=0)


def test_checkpoints_stay_within_their_budget_and_spread_over_the_run():
    """90 s of a client write every 20 ms with a 1.5 MiB budget: dozens of checkpoints are taken, the budget
    (compressed bytes) forces thinning, and what remains still covers the whole run evenly."""
    budget = 3 * 512 * 1024
    sim, tm, trace, _ = live_run(90_000, budget)
    assert tm.copies > 60 and 6 <= len(tm.checkpoints) < tm.copies  # thinned
    assert tm.size > budget * 0.6  # (the budget was what bound them, not the count)
    ts = [cp.t for cp in tm.checkpoints]
    assert ts[-1] > 85_000
    assert max(b - a for a, b in zip(ts, ts[1:])) <= 2 * 90_000 / (len(ts) - 3)


PLAN = [(5000, {"action": "crash", "node": "leader"}), (9000, {"action": "client_request", "node": "leader",
        "value": "v"}), (14000, {"action": "partition", "groups": [["n1", "n2"]]}),
        (19000, {"action": "heal_all"}), (24000, {"action": "restart", "node": "n1"})]


@pytest.fixture(scope="module")
def heavy():
    return live_run(30_000, 384 * 1024, PLAN)  # a budget small enough to thin


@pytest.mark.parametrize("t,t2", [(0, 1500), (4999, 6000), (5000, 9100), (12_345, 14_500), (19_999, 21_000),
                                  (27_777, 30_000), (30_000, 30_500)])
def test_seek_then_play_equals_straight_play_under_heavy_load(heavy, t, t2):
    """Seeking to t (restoring a packed checkpoint, re-simulating the rest) and playing on to t2 gives exactly
    the events the live run had in [t, t2); beyond the frontier, those of a straight run of the branch."""
    sim, tm, trace, _ = heavy
    travel = tm.seek(sim, t)
    s = travel.sim
    assert s.now == t and s is not sim
    s.advance(t2)
    got = s.drain()
    if t2 <= 30_000:
        assert got == [ev for ev in trace[tm.checkpoints[0].events:] if t <= ev["t"] < t2]
    ref = Simulation(dict(sim.recorded_scenario(), duration=t2)).run()
    assert trace_hash(got) == trace_hash([ev for ev in ref[tm.checkpoints[0].events:] if ev["t"] >= t])
    check_budget_and_spread(tm, 384 * 1024)


def test_seeking_back_and_forth_keeps_the_budget_and_the_trace(heavy):
    """The simulations seeks leave behind are packed too (adopted): the budget holds, and going back to where
    one was gives the same state."""
    sim, tm, trace, _ = heavy
    tm = copy.copy(tm)
    tm.checkpoints = list(tm.checkpoints)
    cur = tm.seek(sim, 29_000).sim
    for t in (3000, 25_000, 11_111, 29_000, 17_000):
        cur = tm.seek(cur, t, adopt=True).sim
        assert cur.now == t
        check_budget_and_spread(tm, 384 * 1024)
    end = tm.seek(cur, 30_000, adopt=True).sim
    assert end.snapshot() == sim.snapshot()


def test_a_simulation_that_does_not_pickle_falls_back_to_deep_copies(caplog):
    """Should a protocol ever keep something unpicklable (a lambda, a generator), checkpoints become deep copies
    (with a warning) instead of breaking time travel."""
    sim = Simulation({"protocol": "raft", "seed": 3})
    sim.protocol.unpicklable = lambda: None  # copy.deepcopy keeps functions as they are; pickle refuses them
    tm = TimeMachine(sim, interval=500, work_ratio=0)
    trace = sim.drain()
    for t in range(250, 4000, 250):
        sim.advance(t)
        trace += sim.drain()
        tm.observe(sim)
    assert "does not pickle" in caplog.text
    cps = tm.checkpoints[1:]
    assert cps and all(cp.blob is None and cp.copied is not None and cp.size > 0 for cp in cps)
    assert caplog.text.count("does not pickle") == 1  # once per run, not per checkpoint
    s = tm.seek(sim, 2100).sim
    s.advance(3750)
    assert s.drain() == [ev for ev in trace[tm.checkpoints[0].events:] if ev["t"] >= 2100]
