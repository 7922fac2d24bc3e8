"""Time travel without the web: simulator.timetravel.TimeMachine on live-like runs (slices + live interventions).

The properties: seeking to t and playing on to t2 gives exactly the events of a straight run from t to t2 (from
any checkpoint layout); stepping back lands on exactly the state after the first k events; acting behind the
frontier forks (the recorded future is dropped) and the new branch replays exactly; checkpoints stay within
their budget.
"""

import copy
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import Simulation, trace_hash
from simulator.timetravel import TimeMachine, TravelError, branch_of
from simulator.view import replay

SLICE = 37  # ms per live slice: an odd size, so that slice ends fall anywhere

# A live session's interventions: (time it is applied at, intervention). Some fail (e.g. no leader yet): like a
# user clicking, a failed one changes nothing.
PLAN = [
    (700, {"action": "crash", "node": "leader"}),
    (1500, {"action": "client_request", "node": "leader", "value": "x"}),
    (2300, {"action": "partition", "groups": [["n1", "n2"]]}),
    (3100, {"action": "restart", "node": "n3"}),
    (3900, {"action": "heal_all"}),
    (4400, {"action": "crash", "node": "n5"}),
]


def live_run(seed, until=5000, plan=PLAN, **tm_options):
    """Play a Raft run like a session does; return (sim, time machine, full trace, initial snapshot)."""
    sim = Simulation({"protocol": "raft", "seed": seed, "params": {"client_interval": 250}})
    first = sim.snapshot()
    tm = TimeMachine(sim, **tm_options)
    trace = sim.drain()
    todo = list(plan)
    t = 0
    while t < until:
        t = min(until, t + SLICE)
        sim.advance(t)
        trace += sim.drain()
        tm.observe(sim)
        while todo and todo[0][0] <= t:
            _, iv = todo.pop(0)
            try:
                tm.intervene(sim, iv)
            except Exception:
                pass
            trace += sim.drain()
    return sim, tm, trace, first


def at_position(r, first, trace, n0, k):
    """Is the rewind result `r` the state after the first k events? Its clock lies between event k-1 and
    event k (where an action taken now would land)."""
    ref = replay(first, trace[n0:k])
    assert (trace[k - 1]["t"] if k > n0 else 0) <= r.snapshot["t"] <= trace[k]["t"]
    assert r.sim.now == r.snapshot["t"]
    return {**r.snapshot, "t": ref["t"]} == ref


def after(trace, t1, t2, skip=0):
    return [ev for ev in trace[skip:] if t1 <= ev["t"] < t2]


@pytest.fixture(scope="module")
def run():
    return live_run(5, interval=300, work_ratio=0)  # a checkpoint every 300 ms, whatever the copies cost


def test_the_recorded_branch_replays_the_live_run(run):
    """Sanity: the branch (every intervention at its time) replays the live trace event for event."""
    sim, tm, trace, _ = run
    sc = sim.recorded_scenario()
    sc["duration"] = sim.now
    assert Simulation(sc).run() == trace
    assert len([iv for iv in branch_of(sim)]) >= 4
    assert len(tm.checkpoints) > 5


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t=st.integers(0, 5000), span=st.integers(1, 2000))
def test_seek_then_play_equals_playing_straight(run, t, span):
    """Seek to t, play on to t2: exactly the events the live run had in [t, t2)."""
    sim, tm, trace, _ = run
    t2 = min(5000, t + span)
    travel = tm.seek(sim, t)
    s = travel.sim
    assert s.now == t and travel.backlog == []
    s.advance(t2)
    assert s.drain() == after(trace, t, t2, skip=tm.checkpoints[0].events)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=st.sampled_from([1, 2, 3, 7, 11]), t=st.integers(0, 4000), interval=st.sampled_from([200, 1000, 10**9]))
def test_seek_is_exact_from_any_checkpoint_layout(seed, t, interval):
    """Whatever the checkpoints (dense, sparse, none but t=0), seeking gives the same state and future."""
    sim, tm, trace, _ = live_run(seed, until=4000, interval=interval, work_ratio=0)
    s = tm.seek(sim, t).sim
    s.advance(4000)
    assert s.drain() == after(trace, t, 4000, skip=tm.checkpoints[0].events)
    fresh = Simulation(dict(sim.recorded_scenario(), duration=4000))
    assert trace_hash(fresh.run()) == trace_hash(trace)


def test_seek_snapshot_is_the_state_at_that_moment(run):
    """The snapshot after a seek to t equals the first snapshot with every event before t applied."""
    sim, tm, trace, first = run
    for t in (0, 1, 999, 2300, 2301, 4999):
        snap = tm.seek(sim, t).snapshot
        ref = replay(first, [ev for ev in trace[tm.checkpoints[0].events:] if ev["t"] < t], until=t)
        assert snap == ref, t


def test_seek_forward_beyond_the_frontier_fast_forwards(run):
    sim, tm, trace, _ = run
    tm2 = copy.copy(tm)
    tm2.checkpoints = list(tm.checkpoints)
    s = tm2.seek(sim, 9000).sim
    assert s.now == 9000 and tm2.frontier_t == 9000
    ref = Simulation(dict(sim.recorded_scenario(), duration=9000))
    ref.run()
    assert s.snapshot() == ref.snapshot()


@pytest.mark.parametrize("hinted", [True, False])
def test_step_back_lands_after_exactly_k_events(run, hinted):
    """rewind(k): the snapshot is the state after the first k events; the backlog and what follows continue
    the trace exactly; `last_t` is the time of event k-1 if known (the hint for the next step back)."""
    sim, tm, trace, first = run
    n0 = tm.checkpoints[0].events
    for k in (n0, n0 + 1, n0 + 2, len(trace) // 3, len(trace) // 2, len(trace) - 1):
        hint = trace[k]["t"] if hinted else None
        r = tm.rewind(sim, k, hint=hint)
        assert at_position(r, first, trace, n0, k)
        r.sim.advance(r.sim.now + 300)
        more = r.backlog + r.sim.drain()
        assert more[:len(trace) - k] == trace[k:k + len(more)]
        if k > n0:  # known unless everything since the checkpoint it started from was drained before the copy
            assert r.last_t in (trace[k - 1]["t"], None)


def test_step_back_again_and_again(run):
    """Ten steps back in a row, each from where the last one landed, with the hint the session keeps."""
    sim, tm, trace, first = run
    n0 = tm.checkpoints[0].events
    k, hint, cur = len(trace), trace[-1]["t"], sim
    for _ in range(10):
        k -= 1
        r = tm.rewind(cur, k, hint=hint)
        assert at_position(r, first, trace, n0, k)
        cur, hint = r.sim, r.last_t


def test_a_wrong_hint_is_harmless(run):
    sim, tm, trace, first = run
    n0 = tm.checkpoints[0].events
    k = len(trace) // 2
    r = tm.rewind(sim, k, hint=trace[-1]["t"])  # far too late
    assert at_position(r, first, trace, n0, k)


def test_cannot_step_back_before_the_start(run):
    sim, tm, _, _ = run
    with pytest.raises(TravelError) as err:
        tm.rewind(sim, tm.checkpoints[0].events - 1)
    assert err.value.code == "at_start"


def test_acting_behind_the_frontier_forks():
    """Seek back to 2 s and crash a node: the interventions recorded after 2 s are dropped, the checkpoints past
    2 s too, and the new branch (prefix + the new action) replays the forked run exactly."""
    sim, tm, trace, _ = live_run(5, work_ratio=0)
    before = branch_of(sim)
    s = tm.seek(sim, 2000, adopt=True).sim
    assert tm.behind(s)
    s_trace = []
    recorded, dropped = tm.intervene(s, {"action": "crash", "node": "n2"})
    assert recorded == {"action": "crash", "node": "n2", "at": 2000}
    assert [iv["at"] for iv in dropped] == [iv["at"] for iv in before if iv["at"] >= 2000]
    assert all(cp.t <= 2000 for cp in tm.checkpoints)
    assert not tm.behind(s) and tm.frontier_t == 2000
    s.advance(4000)
    s_trace += s.drain()
    tm.observe(s)
    branch = branch_of(s)
    assert [iv["at"] for iv in branch] == [iv["at"] for iv in before if iv["at"] < 2000] + [2000]
    ref = Simulation(dict(s.recorded_scenario(), duration=4000))
    ref_trace = ref.run()
    assert [ev for ev in ref_trace if ev["t"] >= 2000] == s_trace
    # and time travel keeps working on the new branch
    s2 = tm.seek(s, 3000).sim
    s2.advance(4000)
    assert s2.drain() == [ev for ev in s_trace if ev["t"] >= 3000]


def test_acting_at_the_frontier_keeps_the_script():
    """A scripted scenario (e.g. a preset or a shared link) keeps its future when one acts live at the frontier."""
    sc = {"protocol": "raft", "seed": 11, "interventions": [{"at": 3000, "action": "heal_all"}]}
    sim = Simulation(sc)
    tm = TimeMachine(sim)
    sim.advance(1000)
    tm.observe(sim)
    _, dropped = tm.intervene(sim, {"action": "partition", "groups": [["n1"]]})
    assert dropped is None
    assert [iv["action"] for iv in branch_of(sim)] == ["partition", "heal_all"]


def test_a_refused_intervention_does_not_fork():
    """An intervention that cannot apply changes nothing: no fork, the recorded future stays."""
    sim, tm, _, _ = live_run(5, until=3000)
    future = [iv for iv in branch_of(sim) if iv["at"] >= 1000]
    s = tm.seek(sim, 1000).sim
    assert tm.behind(s)
    with pytest.raises(Exception):
        tm.intervene(s, {"action": "restart", "node": "n1"})  # n1 is up
    assert tm.behind(s)
    assert [iv for iv in branch_of(s) if iv["at"] >= 1000] == future


def test_checkpoints_stay_within_their_budget():
    sim = Simulation({"protocol": "raft", "seed": 2, "params": {"client_interval": 50}})
    tm = TimeMachine(sim, max_checkpoints=6, budget=2 * 1024 * 1024, work_ratio=0)
    for t in range(250, 60_000, 250):
        sim.advance(t)
        sim.drain()
        tm.observe(sim)
        assert len(tm.checkpoints) <= 6
        assert tm.size <= 2 * 1024 * 1024 or len(tm.checkpoints) <= 3
    assert tm.checkpoints[0].t == 0
    ts = [cp.t for cp in tm.checkpoints]
    assert ts == sorted(ts) and ts[-1] > 50_000
    s = tm.seek(sim, 59_000).sim
    ref = Simulation(dict(sim.recorded_scenario(), duration=59_000))
    ref.run()
    assert s.snapshot() == ref.snapshot()


def test_copying_stays_a_fraction_of_simulating():
    """Checkpoints thin out as copies get dearer: the CPU spent copying stays well under the simulating.

    The copy clock is simulated (each copy costs 20 ms of it), so the policy is tested, not the machine's load.
    """
    sim = Simulation({"protocol": "raft", "seed": 2, "params": {"client_interval": 50}})
    ticks = itertools.count()
    tm = TimeMachine(sim, clock=lambda: next(ticks) * 0.01)
    for t in range(333, 120_000, 333):
        sim.advance(t)
        sim.drain()
        tm.observe(sim)
    simulated = sim.event_count * 3e-6  # simulator.timetravel.machine.EVENT_SECONDS
    assert tm.copy_seconds < simulated / 2 + 0.05
    assert tm.copies >= 5


def test_timeline_marks_interventions_and_violations():
    """Marks for every intervention (past and still to come) and violation; `future` beyond the moment."""
    sc = {"protocol": "raft", "seed": 3, "mutations": ["vote_without_log_check"],
          "interventions": [{"at": 1000, "action": "crash", "node": "n1"}, {"at": 5000, "action": "heal_all"}]}
    try:
        sim = Simulation(sc)
    except Exception:
        sc.pop("mutations")
        sim = Simulation(sc)
    tm = TimeMachine(sim)
    sim.advance(2000)
    sim.drain()
    tm.observe(sim)
    tl = tm.timeline(sim)
    ivs = [m for m in tl["marks"] if m["kind"] == "intervention"]
    assert [(m["t"], m["iv"]["action"], m["future"]) for m in ivs] == [(1000, "crash", False), (5000, "heal_all", True)]
    assert tl["t"] == 2000 and tl["end"] == 2000 and tl["frontier"] == 2000
    assert tl["checkpoints"][0] == 0


def test_the_copy_gate_paces_live_copies_and_a_refused_one_stays_due():
    """One live copy at a time in a process, copying at most `duty` of the wall clock; a checkpoint refused
    by the gate is taken at a later observe. Neither the gate nor the phase changes the trace."""
    from simulator.timetravel import CopyGate

    now = [0.0]
    gate = CopyGate(duty=0.25, clock=lambda: now[0])
    assert gate.open()
    gate.begin()
    assert not gate.open()  # busy
    now[0] = 0.1
    gate.end()  # took 0.1 s: closed for 0.3 s more
    now[0] = 0.35
    assert not gate.open()
    now[0] = 0.41
    assert gate.open()

    traces = []
    for phase, shut in ((0.0, False), (0.7, True)):
        sim = Simulation({"protocol": "raft", "seed": 3, "params": {"client_interval": 100}})
        tm = TimeMachine(sim, interval=500, work_ratio=0, phase=phase)
        closed = CopyGate(clock=lambda: 0.0)
        closed.busy = shut
        trace = sim.drain()
        for t in range(100, 6000, 100):
            sim.advance(t)
            trace += sim.drain()
            tm.observe(sim, gate=closed)
            if t == 3000:
                closed.busy = False  # opens: the due checkpoint is taken now
                assert len(tm.checkpoints) == (1 if shut else 7)
        assert len(tm.checkpoints) > 2
        assert all(b.t - a.t >= 500 * (1 + phase) for a, b in zip(tm.checkpoints, tm.checkpoints[1:]))
        traces.append(trace_hash(trace))
    assert traces[0] == traces[1]
