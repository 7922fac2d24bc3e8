"""What a re-simulation may cost (simulator.timetravel.cost), headless: budgets, cancellation, fair turns.

Budgeted work is sliced but lands exactly where unbudgeted work does; an estimate that cannot fit is refused
before anything changes; a re-simulation stopped over budget or cancelled leaves the TimeMachine as it was and
the caller's simulation untouched; finishing a millisecond in pieces gives the same trace; Turns lets a job that
arrives while others run simulate within about one quantum.
"""

import threading
import time

import pytest

from simulator import Simulation, trace_hash
from simulator.timetravel import Budget, Cancelled, TimeMachine, TooCostly, Turns
from simulator.timetravel.cost import finish_millisecond

RAFT = {"protocol": "raft", "seed": 7, "duration": 24 * 3600 * 1000, "params": {"client_interval": 50},
        "interventions": [{"at": 30_000, "action": "crash", "node": "n2"}]}


def played(until, chunk=500):
    sim = Simulation(RAFT)
    tm = TimeMachine(sim, interval=1000, work_ratio=0)
    sim.drain()
    while sim.now < until:
        sim.advance(min(until, sim.now + chunk))
        sim.drain()
        tm.observe(sim)
    return sim, tm


def machine_state(tm):
    return ([(cp.t, cp.events) for cp in tm.checkpoints], tm.frontier_events, tm.frontier_t)


def test_a_budgeted_seek_lands_exactly_where_an_unbudgeted_one_does():
    sim, tm = played(6000)
    plain = tm.seek(sim, 9_500)
    budget = Budget("seek", max_events=10**7, max_seconds=600)
    budget.begin()
    sliced = tm.seek(sim, 9_500, budget=budget)
    budget.end()
    assert sliced.snapshot == plain.snapshot and sliced.last_t == plain.last_t
    assert budget.events > 0
    a, b = plain.sim, sliced.sim
    a.advance(12_000)
    b.advance(12_000)
    assert trace_hash(a.drain()) == trace_hash(b.drain())


def test_a_seek_that_cannot_fit_is_refused_before_anything_changes():
    sim, tm = played(6000)
    before = machine_state(tm)
    events = sim.event_count
    budget = Budget("seek to 24 h", max_events=100_000, advice="Seek nearer.", field="t")
    with pytest.raises(TooCostly) as err:
        tm.seek(sim, 24 * 3600 * 1000, adopt=True, budget=budget)
    assert err.value.code == "too_costly" and err.value.field == "t"
    assert "100,000" in err.value.message and "PLAYGROUND_TRAVEL_MAX_EVENTS" in err.value.message
    assert budget.events == 0  # refused up front: nothing was simulated
    assert machine_state(tm) == before and sim.event_count == events


def test_a_seek_stopped_over_budget_puts_the_machine_back_and_leaves_the_simulation_alone():
    sim, tm = played(500)  # too short to estimate the run's rate: the seek starts, and is stopped
    before = machine_state(tm)
    snapshot = sim.snapshot()
    budget = Budget("seek", max_events=30_000)
    budget.begin()
    with pytest.raises(TooCostly) as err:
        tm.seek(sim, 600_000, adopt=True, budget=budget)
    budget.end()
    assert "engine events" in err.value.message  # stopped on its estimate once the scan showed a rate, or over
    assert budget.events < 40_000  # within a slice of the limit
    assert machine_state(tm) == before  # no checkpoint kept past the frontier, the frontier where it was
    assert sim.snapshot() == snapshot
    sim.advance(40_000)  # and the run goes on with its scripted crash
    assert any(ev["type"] == "intervention" and ev["t"] == 30_000 for ev in sim.drain())


def test_a_seek_cancelled_from_another_thread_stops_at_the_next_slice():
    sim, tm = played(2000)
    before = machine_state(tm)
    budget = Budget("seek")
    stopped = []

    def work():
        budget.begin()
        try:
            tm.seek(sim, 24 * 3600 * 1000, budget=budget)
        except Cancelled:
            stopped.append(time.perf_counter())
        finally:
            budget.end()

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(0.3)
    cancelled_at = time.perf_counter()
    budget.cancel()
    worker.join(5)
    assert stopped and stopped[0] - cancelled_at < 0.1
    assert machine_state(tm) == before


def test_finishing_a_millisecond_in_pieces_gives_the_same_trace():
    sc = {"protocol": "gossip", "seed": 3, "nodes": 200, "params": {"style": "push_pull", "fanout": 8,
                                                                      "interval": 1}}
    whole, pieces = Simulation(sc), Simulation(sc)
    for sim in (whole, pieces):
        sim.advance(5)
        sim.step_events(1)
    assert finish_millisecond(whole) is True
    rounds, sent = 0, []
    while not finish_millisecond(pieces, Budget("settle"), max_events=100):
        rounds += 1
        sent += pieces.drain()  # (what the session sends as a frame before asking for more)
    sent += pieces.drain()
    assert rounds > 3 and pieces.now == whole.now
    assert trace_hash(sent) == trace_hash(whole.drain())


def test_turns_let_a_newcomer_simulate_within_about_a_quantum():
    turns = Turns(slots=1, quantum=0.02)
    stop = threading.Event()

    def hog():
        budget = Budget("hog", turns=turns)
        budget.begin()
        try:
            while not stop.is_set():
                time.sleep(0.001)
                budget.charge(1)
        finally:
            budget.end()

    worker = threading.Thread(target=hog)
    worker.start()
    time.sleep(0.1)
    t0 = time.perf_counter()
    newcomer = Budget("newcomer", turns=turns)
    newcomer.begin()  # waits for the hog's quantum to end
    waited = time.perf_counter() - t0
    newcomer.end()
    stop.set()
    worker.join(5)
    assert waited < 0.5, waited


def test_waiting_for_a_turn_can_be_cancelled():
    turns = Turns(slots=1)
    holder = Budget("holder", turns=turns)
    holder.begin()
    waiter = Budget("waiter", turns=turns)
    threading.Timer(0.05, waiter.cancel).start()
    with pytest.raises(Cancelled):
        waiter.begin()
    holder.end()
    again = Budget("again", turns=turns)
    again.begin()  # the cancelled waiter left the queue
    again.end()


def test_a_seek_with_no_rate_up_front_stops_once_its_scan_shows_it_cannot_fit():
    """A fresh run has no rate to refuse a far seek up front; the seek's own first simulated second gives one,
    and a seek to 24 h of Raft (tens of millions of events) stops there, not after its 3,000,000 events."""
    sim, tm = played(500)
    budget = Budget("seek", max_events=3_000_000)
    budget.begin()
    with pytest.raises(TooCostly) as err:
        tm.seek(sim, 24 * 3600 * 1000, budget=budget)
    budget.end()
    assert "about" in err.value.message and "3,000,000" in err.value.message
    assert budget.events < 25_000
