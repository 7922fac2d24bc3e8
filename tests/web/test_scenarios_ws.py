"""Saving and time travel over the live WebSocket: `save`, `export`, `seek`, `step_back`, forks, `pause_at`.

The headline property (issue 6): a live session with interventions at several times, saved, replays headless
exactly as the client saw it: the same events up to the save time, the same trace hash.
"""


import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.db import connections

import simulator
from playground.models import Scenario
from simulator import Simulation, trace_hash
from simulator.view import replay

from .conftest import Client, drain

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

FAST = 2000  # simulated ms per wall second


@pytest_asyncio.fixture(autouse=True)
async def close_db_connections(transactional_db):
    """Close the database connections of asgiref's thread once the consumers are gone, while the database is
    still allowed: an open one would make Channels' next close_old_connections() fail in a later test that
    has no database."""
    yield
    await database_sync_to_async(connections.close_all)()


def events_of(msgs):
    return [ev for m in msgs if m["type"] == "frame" for ev in m["events"]]


async def paused(client):
    """Pause, and return every event sent until the session is quiet."""
    await client.send({"type": "pause"})
    msgs = await drain(client, 0.4)
    return events_of(msgs)


async def get_row(slug):
    return await database_sync_to_async(Scenario.objects.select_related("forked_from").get)(slug=slug)


async def test_a_saved_live_session_replays_exactly(client):
    """Record a live session with interventions at several times, save it, replay the saved scenario headless:
    the events up to the save time equal those the client received, and the trace hashes match."""
    started = await client.start({"seed": 9, "params": {"client_interval": 100}}, speed=FAST)
    trace = list(started["events"])
    crashed_at = 0
    for iv in ({"action": "crash", "node": "leader"}, {"action": "cut", "a": "n2", "b": "n3"},
               {"action": "client_request", "node": "leader", "value": "v"}, {"action": "heal_all"},
               {"action": "partition", "groups": [["n4"]]}):
        trace += events_of(await drain(client, 0.25))
        if iv["action"] == "client_request":
            # on a busy machine less simulated time passes per wall second: wait for the new leader
            for _ in range(40):
                if any(ev["type"] == "state" and ev["changes"].get("role") == "leader"
                       for ev in trace[crashed_at:]):
                    break
                trace += events_of(await drain(client, 0.25))
        await client.send({"type": "intervene", "intervention": iv})
        if iv["action"] == "crash":
            crashed_at = len(trace)
    trace += events_of(await drain(client, 0.25))
    await client.send({"type": "save", "id": "s1", "title": "Five interventions"})
    msgs = await drain(client, 2.0, until="saved")
    saved = msgs[-1]
    assert saved["type"] == "saved" and saved["id"] == "s1"
    trace += events_of(msgs)
    trace += await paused(client)  # the rest of what was sent
    t = saved["t"]
    assert saved["path"] == f"/s/{saved['slug']}" and len(saved["slug"]) == 12

    row = await get_row(saved["slug"])
    sc = row.scenario
    assert sc["duration"] == t and row.title == "Five interventions" and row.protocol == "raft"
    assert [iv["action"] for iv in sc["interventions"]] == ["crash", "cut", "client_request", "heal_all",
                                                            "partition"]
    assert all(0 < iv["at"] < t for iv in sc["interventions"])
    seen = [ev for ev in trace if ev["t"] < t]
    headless = Simulation(sc).run()
    assert headless == seen
    assert trace_hash(headless) == trace_hash(seen)
    assert len(seen) > 200


async def test_save_right_after_an_intervention_includes_it(client):
    """Saving in the same millisecond as an intervention: the millisecond is finished first, so the link
    replays the intervention too."""
    started = await client.start({"seed": 4}, speed=FAST, paused=True)
    trace = list(started["events"])
    await client.send({"type": "step"})
    trace += events_of(await drain(client, 0.3))
    await client.send({"type": "intervene", "intervention": {"action": "crash", "node": "n2"}})
    await client.send({"type": "save"})
    msgs = await drain(client, 2.0, until="saved")
    trace += events_of(msgs)
    saved = msgs[-1]
    row = await get_row(saved["slug"])
    assert row.scenario["interventions"][0]["action"] == "crash"
    assert Simulation(row.scenario).run() == [ev for ev in trace if ev["t"] < saved["t"]]
    assert any(ev["type"] == "intervention" for ev in trace if ev["t"] < saved["t"])


async def test_export_returns_the_scenario_without_saving(client):
    await client.start({"seed": 2}, speed=FAST)
    await drain(client, 0.3)
    await client.send({"type": "intervene", "intervention": {"action": "crash", "node": "n1"}})
    await client.send({"type": "export", "id": 7})
    msgs = await drain(client, 2.0, until="exported")
    out = msgs[-1]
    assert out["id"] == 7 and out["filename"].startswith("raft-seed2-")
    sc = out["scenario"]
    assert sc["interventions"][0]["action"] == "crash" and sc["duration"] > sc["interventions"][0]["at"]
    assert await database_sync_to_async(Scenario.objects.count)() == 0


async def test_seek_then_play_gives_the_same_events(client):
    """Seek back to t, then play on: the same events as the first time through, from t on."""
    started = await client.start({"seed": 6, "params": {"client_interval": 200}}, speed=FAST)
    trace = list(started["events"])
    trace += events_of(await drain(client, 0.5))
    await client.send({"type": "intervene", "intervention": {"action": "crash", "node": "leader"}})
    trace += events_of(await drain(client, 0.5))
    trace += await paused(client)
    end = trace[-1]["t"]
    t = end // 3
    await client.send({"type": "seek", "t": t})
    seeked = (await drain(client, 3.0, until="seeked"))[-1]
    assert seeked["type"] == "seeked" and seeked["reason"] == "seek" and seeked["t"] == t
    assert seeked["playing"] is False
    ref = replay(started["snapshot"], [ev for ev in trace[len(started["events"]):] if ev["t"] < t], until=t)
    assert seeked["snapshot"] == ref
    tl = seeked["timeline"]
    assert tl["frontier"] >= end and any(m["kind"] == "intervention" and m["future"] for m in tl["marks"])
    # play on past the old end: the recorded crash happens again, at the same time
    await client.send({"type": "resume"})
    again = []
    while not again or again[-1]["t"] < end:
        again += events_of(await drain(client, 0.3))
    again = [ev for ev in again if ev["t"] <= end]
    assert again == [ev for ev in trace if t <= ev["t"] <= end]


async def test_step_back_one_event_then_step_forward(client):
    """step_back shows the state before the last event; step then gives exactly that event again."""
    started = await client.start({"seed": 3}, speed=FAST)
    trace = list(started["events"])
    trace += events_of(await drain(client, 0.4))
    trace += await paused(client)
    base = len(started["events"])
    for back in (1, 2, 3):
        await client.send({"type": "step_back"})
        seeked = (await drain(client, 3.0, until="seeked"))[-1]
        assert seeked["reason"] == "step_back"
        k = len(trace) - back
        ref = replay(started["snapshot"], trace[base:k])
        assert {**seeked["snapshot"], "t": ref["t"]} == ref
    await client.send({"type": "step"})
    step = [m for m in await drain(client, 0.5) if m["type"] == "frame"]
    assert step[0]["events"] == [trace[len(trace) - 3]]


async def test_acting_after_a_seek_forks_and_saves_the_new_branch(client):
    """Seek back before two recorded interventions and act: they are dropped (a `timeline` message says so),
    and saving saves the new branch, forked from the scenario the session started from."""
    parent = await database_sync_to_async(Scenario.objects.create)(
        slug="parentslug12", protocol="raft", scenario=Simulation({"protocol": "raft"}).scenario, digest="x")
    await client.start({"seed": 8}, speed=FAST)
    await drain(client, 0.5)
    await client.send({"type": "intervene", "intervention": {"action": "crash", "node": "n1"}})
    await drain(client, 0.3)
    await client.send({"type": "intervene", "intervention": {"action": "restart", "node": "n1"}})
    await drain(client, 0.3)
    await paused(client)
    await client.send({"type": "seek", "t": 100})
    await drain(client, 3.0, until="seeked")
    await client.send({"type": "intervene", "intervention": {"action": "crash", "node": "n4"}})
    msgs = await drain(client, 1.0, until="timeline")
    tl = msgs[-1]
    assert tl["type"] == "timeline" and tl["forked"] == {"t": 100, "dropped": 2}
    assert [m["iv"]["action"] for m in tl["marks"] if m["kind"] == "intervention"] == ["crash"]
    await client.send({"type": "save", "forked_from": parent.slug})
    saved = (await drain(client, 2.0, until="saved"))[-1]
    row = await get_row(saved["slug"])
    assert row.forked_from.slug == parent.slug and saved["forked_from"] == parent.slug
    assert [(iv["at"], iv["action"], iv["node"]) for iv in row.scenario["interventions"]] == [(100, "crash", "n4")]


async def test_a_saved_run_pauses_where_it_was_saved(client):
    """`start` with `pause_at` (what /s/<slug> sends): the run stops exactly there; resume goes on past it."""
    await client.start({"seed": 5, "duration": 1500}, speed=FAST, pause_at=1500)
    msgs = await drain(client, 3.0, until="status")
    frames = [m for m in msgs if m["type"] == "frame"]
    assert msgs[-1]["playing"] is False and msgs[-1]["t"] == 1500
    assert frames[-1]["t"] == 1500 and all(ev["t"] < 1500 for f in frames for ev in f["events"])
    await client.send({"type": "resume"})
    later = await drain(client, 0.4)
    assert any(m["type"] == "frame" and m["t"] > 1500 for m in later)


@pytest.mark.parametrize("msg, code, field", [
    ({"type": "seek"}, "bad_t", "t"),
    ({"type": "seek", "t": -5}, "bad_t", "t"),
    ({"type": "seek", "t": 1.5}, "bad_t", "t"),
    ({"type": "seek", "t": 10**9}, "bad_t", "t"),
    ({"type": "save", "title": 5}, "invalid_scenario", "title"),
    ({"type": "save", "layout": {"n1": [2, 0]}}, "invalid_scenario", "layout.n1"),
    ({"type": "save", "layout": {"zz": [0.5, 0.5]}}, "invalid_scenario", "layout.zz"),
    ({"type": "start", "scenario": {"protocol": "raft"}, "pause_at": "soon"}, "bad_pause_at", "pause_at"),
])
async def test_bad_requests_get_errors_naming_the_field(client, msg, code, field):
    await client.start({"seed": 1}, paused=True)
    await client.send({**msg, "id": "x"})
    err = await client.recv_type("error")
    assert (err["code"], err.get("field"), err["id"]) == (code, field, "x")


async def test_step_back_at_the_start_is_an_error(client):
    await client.start({"seed": 1}, paused=True)
    await client.send({"type": "step_back"})
    err = await client.recv_type("error")
    assert err["code"] == "at_start"


async def test_save_before_start_is_an_error(client):
    await client.send({"type": "save"})
    err = await client.recv_type("error")
    assert err["code"] == "not_started"


async def test_viewers_follow_a_seek(make_client):
    """A room's viewers get the owner's `seeked` snapshot too."""
    owner = await make_client()
    started = await owner.start({"seed": 2}, speed=FAST)
    viewer = await make_client()
    await viewer.send({"type": "watch", "room": started["room"]})
    await viewer.recv_type("started")
    await drain(owner, 0.4)
    await owner.send({"type": "seek", "t": 50})
    await owner.recv_type("seeked", timeout=3)
    seen = await viewer.recv_type("seeked", timeout=3)
    assert seen["t"] == 50


# --- titles, the save rate limit ------------------------------------------------------------------------------
async def test_save_keeps_the_title_and_description(client):
    await client.start({"seed": 3}, speed=FAST, paused=True)
    await client.send({"type": "save", "id": "s1", "title": "Raft · seed 3 · 0 interventions",
                       "description": "A quiet election.\nNothing else."})
    saved = (await drain(client, 2.0, until="saved"))[-1]
    assert saved["id"] == "s1" and saved["title"] == "Raft · seed 3 · 0 interventions"
    row = await get_row(saved["slug"])
    assert (row.title, row.description) == ("Raft · seed 3 · 0 interventions", "A quiet election.\nNothing else.")
    assert row.versions == simulator.versions("raft")


@pytest.mark.parametrize("field, length", [("title", 201), ("description", 4001)])
async def test_save_with_too_long_texts_is_an_error_naming_the_field(client, field, length):
    await client.start({"seed": 3}, paused=True)
    await client.send({"type": "save", "id": 4, field: "x" * length})
    err = await client.recv_type("error")
    assert (err["code"], err["field"], err["id"]) == ("invalid_scenario", field, 4)
    assert await database_sync_to_async(Scenario.objects.count)() == 0


async def test_saving_too_often_is_an_error_and_the_session_goes_on(make_client, settings):
    """Over the per-client limit, `save` answers an `error` (code rate_limited, retry_after, the id) and saves
    nothing; the run goes on (frames keep coming, interventions apply, export works); another address may
    still save."""
    settings.PLAYGROUND_SAVE_RATE = (2, 60)
    c = Client()
    c.comm.scope["client"] = ("192.0.2.10", 50000)
    await c.connect()
    try:
        await c.start({"seed": 5}, speed=FAST)
        for n in range(2):
            await c.send({"type": "save", "id": f"ok{n}"})
            assert (await drain(c, 2.0, until="saved"))[-1]["id"] == f"ok{n}"
        await c.send({"type": "save", "id": "third", "title": "one too many"})
        err = await c.recv_type("error")
        assert err["code"] == "rate_limited" and err["id"] == "third"
        assert 1 <= err["retry_after"] <= 60 and "2 per minute" in err["message"]
        assert await database_sync_to_async(Scenario.objects.count)() == 2
        # the session is alive: frames go on, an intervention applies, export answers
        frame = await c.recv_type("frame")
        await c.send({"type": "intervene", "intervention": {"action": "crash", "node": "n1"}})
        for _ in range(50):
            frame = await c.recv_type("frame")
            if any(ev["type"] == "intervention" for ev in frame["events"]):
                break
        else:
            raise AssertionError("the intervention never showed up")
        await c.send({"type": "export", "id": "e"})
        exported = (await drain(c, 2.0, until="exported"))[-1]
        assert exported["id"] == "e" and exported["scenario"]["interventions"][0]["action"] == "crash"
        # another client address is not limited
        other = Client()
        other.comm.scope["client"] = ("192.0.2.11", 50001)
        await other.connect()
        try:
            await other.start({"seed": 5}, paused=True)
            await other.send({"type": "save"})
            assert (await drain(other, 2.0, until="saved"))[-1]["type"] == "saved"
        finally:
            await other.close()
    finally:
        await c.close()
