"""`hunt` and `hunt_cancel` over the WebSocket (playground/hunting.py): streamed progress, the counterexample as a
scenario that replays the violation, cancellation, and the per-client limits."""

import asyncio

import pytest

from playground import hunting
from simulator import Simulation

pytestmark = pytest.mark.asyncio

MUTATED_RAFT = {"protocol": "raft", "seed": 1, "mutations": ["vote_without_log_check"]}


async def _no_hunts_left(seconds=5):
    """True once no hunt thread runs in this process (a thread ends just after its last message)."""
    for _ in range(int(seconds * 20)):
        if hunting.running_hunts() == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def _hunt_messages(client, timeout=60):
    """Messages up to the hunt's last one (`hunt_result`, `hunt_cancelled` or an error)."""
    out = []
    while not out or out[-1]["type"] not in ("hunt_result", "hunt_cancelled", "error"):
        out.append(await client.recv(timeout=timeout))
    return [m for m in out if m["type"].startswith("hunt") or m["type"] == "error"]


@pytest.mark.parametrize("workers", [1, 0])  # in the hunt's thread; on the Dask cluster (one worker per core)
async def test_hunt_streams_progress_and_finds_the_mutation(client, settings, workers):
    """On Raft with vote_without_log_check, starting from the run so far: progress, shrinking steps, then a
    counterexample; that scenario, run headless, violates the invariant the result names."""
    settings.PLAYGROUND_HUNT_WORKERS = workers
    await client.start(MUTATED_RAFT, paused=True)
    await client.send({"type": "hunt", "budget": 64, "id": "h"})
    msgs = await _hunt_messages(client)
    kinds = [m["type"] for m in msgs]
    assert kinds[0] == "hunt_progress" and "hunt_shrink" in kinds and kinds[-1] == "hunt_result", kinds
    result = msgs[-1]
    assert result["found"] is True and result["id"] == "h"
    assert result["invariant"] == "leader_completeness"
    assert 1 <= len(result["scenario"]["interventions"]) <= 5
    sim = Simulation(result["scenario"])
    sim.advance(result["scenario"]["duration"])
    violated = [ev["invariant"] for ev in sim.drain() if ev["type"] == "violation"]
    assert result["invariant"] in violated
    assert await _no_hunts_left()


async def test_a_hunt_that_finds_nothing_says_how_much_it_tried(client, settings):
    settings.PLAYGROUND_HUNT_WORKERS = 1
    await client.start({"protocol": "raft", "seed": 2}, paused=True)
    await client.send({"type": "hunt", "budget": 16})
    result = (await _hunt_messages(client))[-1]
    assert result["type"] == "hunt_result" and result["found"] is False and result["tried"] == 16


async def test_the_hunt_starts_from_the_interventions_so_far(client, settings):
    """An intervention made live is part of the hunted scenario (kept as it is, never shrunk away)."""
    settings.PLAYGROUND_HUNT_WORKERS = 1
    await client.start(MUTATED_RAFT, paused=True)
    await client.send({"type": "intervene", "intervention": {"action": "crash", "node": "n1"}})
    await client.recv_type("frame")
    await client.send({"type": "hunt", "budget": 32})
    result = (await _hunt_messages(client))[-1]
    assert result["found"] is True
    assert {"action": "crash", "node": "n1", "at": 0} in result["scenario"]["interventions"]


async def test_limits_and_bad_input_get_typed_errors(client, settings):
    settings.PLAYGROUND_HUNT_WORKERS = 1
    settings.PLAYGROUND_HUNT_MAX_BUDGET = 100
    await client.start(MUTATED_RAFT, paused=True)
    for bad in (0, 101, "lots", True):
        await client.send({"type": "hunt", "budget": bad, "id": 1})
        err = await client.recv_type("error")
        assert err["code"] == "bad_budget" and err["field"] == "budget" and err["id"] == 1
    await client.send({"type": "hunt", "seed": -1})
    assert (await client.recv_type("error"))["code"] == "bad_seed"
    settings.PLAYGROUND_HUNT_CONCURRENT = 0
    await client.send({"type": "hunt"})
    assert (await client.recv_type("error"))["code"] == "too_busy"
    assert await _no_hunts_left()


async def test_one_hunt_at_a_time_and_cancel(client, settings):
    """A second hunt while one runs is `hunt_busy`; `hunt_cancel` stops it (`hunt_cancelled`) and frees its slot."""
    settings.PLAYGROUND_HUNT_WORKERS = 1
    await client.start({"protocol": "raft", "seed": 2}, paused=True)  # correct: it would try all 2,000
    await client.send({"type": "hunt", "budget": 2000})
    first = await client.recv_type("hunt_progress", timeout=10)
    assert first["tried"] < 2000
    await client.send({"type": "hunt"})
    assert (await client.recv_type("error"))["code"] == "hunt_busy"
    await client.send({"type": "hunt_cancel"})
    await client.recv_type("hunt_cancelled", timeout=10)
    assert await _no_hunts_left()


async def test_leaving_cancels_the_hunt(make_client, settings):
    settings.PLAYGROUND_HUNT_WORKERS = 1
    c = await make_client()
    await c.start({"protocol": "raft", "seed": 2}, paused=True)
    await c.send({"type": "hunt", "budget": 2000})
    await c.recv_type("hunt_progress", timeout=10)
    assert hunting.running_hunts() == 1
    await c.close()
    assert await _no_hunts_left()


async def test_the_time_limit_stops_a_hunt(client, settings):
    settings.PLAYGROUND_HUNT_WORKERS = 1
    settings.PLAYGROUND_HUNT_MAX_SECONDS = 0.5
    await client.start({"protocol": "raft", "seed": 2}, paused=True)
    await client.send({"type": "hunt", "budget": 2000})
    msgs = await _hunt_messages(client, timeout=20)
    assert msgs[-1]["type"] == "error" and msgs[-1]["code"] == "too_costly"
    assert await _no_hunts_left()
