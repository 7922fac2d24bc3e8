"""Runs a session is done with are freed at once, not left to the cyclic GC (issue 9: the event loop's stalls).

A run's parts reference one another, so a dropped run is cyclic garbage that only a full GC pass frees, and a
full pass walks the whole process holding the GIL (300-570 ms under bench/attack.py). playground/upkeep.py
paces those passes; every run a session drops (the one a seek or step back leaves, the copy a refused seek made,
the one a restart replaces, the one a closed connection held) goes to Simulation.dispose in a thread instead.
"""

import asyncio
import gc

import pytest

from playground import travel, upkeep
from simulator.engine import Simulation

pytestmark = pytest.mark.asyncio

DAY = 24 * 3600 * 1000


def garbage_runs():
    """Simulations that are unreachable but not freed (cyclic garbage) right now."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return sum(1 for obj in gc.garbage if isinstance(obj, Simulation))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def disposer_done():
    """Wait until the dispose thread has freed everything handed to it so far."""
    with travel._pool_lock:
        pool = travel._disposer
    if pool is not None:
        await asyncio.wrap_future(pool.submit(lambda: None))


async def test_every_run_a_session_drops_is_freed_without_a_full_gc_pass(make_client, settings):
    gc.collect()  # what earlier tests left
    c = await make_client()
    await c.start({"protocol": "raft", "seed": 3, "duration": DAY}, speed=10_000)
    for _ in range(10):  # play a while: checkpoints to travel between
        await c.recv_type("frame", timeout=5)
    await c.send({"type": "seek", "t": 200, "id": "back"})  # the run it leaves is dropped
    assert (await c.recv_type("seeked", timeout=10))["t"] == 200
    await c.send({"type": "step_back"})  # and again
    await c.recv_type("seeked", timeout=10)
    settings.PLAYGROUND_TRAVEL_MAX_EVENTS = 20_000
    await c.send({"type": "seek", "t": DAY, "id": "far"})  # a refused seek's copy
    while (msg := await c.recv(10))["type"] != "error":
        pass
    assert msg["code"] == "too_costly", msg
    await c.start({"protocol": "paxos", "seed": 1})  # a restart replaces the run
    await c.close()  # and the connection's last run
    await disposer_done()
    assert garbage_runs() == 0


async def test_without_dispose_a_dropped_run_would_wait_for_the_gc():
    """The premise: a run, once dropped, is cyclic garbage (were this to change, dispose could go)."""
    gc.collect()
    sim = Simulation({"protocol": "raft", "seed": 3})
    sim.advance(2000)
    del sim
    assert garbage_runs() == 1


async def test_upkeep_paces_full_passes_and_restores_the_process_when_its_loop_ends(settings, monkeypatch):
    """Pacing on: a 0.5 ms switch interval and no automatic full passes while its task runs; both as they were
    once the task ends (a loop closing). A full pass is due only when the heap grew, and then only when it is
    short (a small heap) or the growth is large."""
    settings.PLAYGROUND_GC_PACING = True
    monkeypatch.setattr(upkeep, "_task", None)
    before = gc.get_threshold(), __import__("sys").getswitchinterval()
    upkeep.start()
    task = upkeep._task
    await asyncio.sleep(0)
    assert gc.get_threshold()[2] == upkeep.NEVER
    assert __import__("sys").getswitchinterval() == upkeep.SWITCH_INTERVAL
    upkeep.start()
    assert upkeep._task is task  # once per process
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (gc.get_threshold(), __import__("sys").getswitchinterval()) == before

    pacing = upkeep.FullCollections()
    base = pacing.base
    assert not pacing.due(base + upkeep.MIN_GROWTH_BLOCKS // 2)  # nothing new: no pass
    assert pacing.due(base + upkeep.MIN_GROWTH_BLOCKS + 1)  # grew, and small: a short pass
    pacing.after_last = base + upkeep.CHEAP_BLOCKS * 2  # a big heap (heavy runs alive) ...
    assert not pacing.due(pacing.after_last + upkeep.MIN_GROWTH_BLOCKS * 2)  # ... waits while it grows a little
    assert pacing.due(pacing.after_last + upkeep.FORCE_BLOCKS + 1)  # ... not for ever
