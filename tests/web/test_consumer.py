"""The /ws/play/ consumer: streaming, pacing, control, interventions, errors and flow control."""

import asyncio
import json
import re

import pytest

from playground import session as session_mod
from simulator import Simulation, trace_hash

from .conftest import drain

pytestmark = pytest.mark.asyncio

FAST = 1000  # simulated ms per wall second: real time


async def frames_for(client, seconds):
    """Collect frames (acknowledging them) for `seconds` of wall time."""
    return [m for m in await drain(client, seconds) if m["type"] == "frame"]


async def test_started_carries_the_resolved_scenario_and_a_snapshot(client):
    """`started` holds the scenario with every default filled in, the snapshot at t=0 and the room id."""
    started = await client.start({"nodes": 3})
    assert started["seq"] == 1
    sc = started["scenario"]
    assert sc["protocol"] == "raft" and sc["nodes"] == 3 and sc["params"]["heartbeat_interval"] == 50
    snap = started["snapshot"]
    assert snap["t"] == 0 and snap["order"] == ["n1", "n2", "n3"]
    assert snap["nodes"]["n1"]["status"] == "up" and snap["nodes"]["n1"]["role"] == "follower"
    assert "election" in snap["nodes"]["n1"]["timers"]
    assert started["room"] and started["playing"] is True
    assert [ev["type"] for ev in started["events"]] == ["state"] * 3  # the t=0 timers, already applied


async def test_frames_have_rising_sequence_numbers_and_times(client):
    """While playing, frames come numbered 2, 3, 4... with non-decreasing simulated times, about 20 a second,
    and every event of a frame lies between the previous frame's time and its own."""
    await client.start(speed=FAST)
    frames = await frames_for(client, 1.0)
    assert 10 <= len(frames) <= 1 / session_mod.TICK + 3
    seqs = [f["seq"] for f in frames]
    assert seqs == list(range(2, 2 + len(frames)))
    prev = 0
    for f in frames:
        assert f["t"] >= prev
        assert all(prev <= ev["t"] <= f["t"] for ev in f["events"])
        prev = f["t"]
    assert frames[-1]["t"] > 500  # about a second of simulated time at real-time speed
    assert any(ev["type"] == "send" for f in frames for ev in f["events"])


async def test_pause_stops_frames_and_resume_restarts_them(client):
    await client.start(speed=FAST)
    await client.recv_type("frame")
    await client.send({"type": "pause"})
    status = await client.recv_type("status")
    assert status["playing"] is False
    # a frame may still carry what was computed before the pause; after that, silence
    while True:
        try:
            await client.recv(timeout=0.2)
        except asyncio.TimeoutError:
            break
    assert await client.nothing(0.5)
    await client.send({"type": "resume"})
    status = await client.recv_type("status")
    assert status["playing"] is True
    frame = await client.recv_type("frame")
    assert frame["t"] > status["t"] - 1


async def test_step_yields_exactly_one_event_in_trace_order(client):
    """Each `step` gives a frame with exactly one event; together they are the headless trace, in order."""
    started = await client.start({"seed": 5}, paused=True)
    received = list(started["events"])
    for _ in range(40):
        await client.send({"type": "step"})
        frame = await client.recv_type("frame")
        assert len(frame["events"]) == 1
        assert frame["t"] == frame["events"][0]["t"]
        received.append(frame["events"][0])
    sim = Simulation({"protocol": "raft", "seed": 5})
    sim.step_events(len(received))
    while len(sim.pending) < len(received):
        sim.step_events(len(received))
    assert sim.drain()[:len(received)] == received


async def test_step_while_playing_pauses(client):
    await client.start(speed=FAST)
    await client.recv_type("frame")
    await client.send({"type": "step"})
    status = await client.recv_type("status")
    assert status["playing"] is False


async def test_speed_changes_pacing(client):
    """Simulated time advances at the chosen rate: 50 ms per wall second, then real time."""
    await client.start(speed=50)
    frames = await frames_for(client, 0.8)
    slow = frames[-1]["t"] - frames[0]["t"]
    await client.send({"type": "speed", "speed": 1000})
    status = await client.recv_type("status")
    assert status["speed"] == 1000
    frames = await frames_for(client, 0.8)
    fast = frames[-1]["t"] - frames[0]["t"]
    assert 10 <= slow <= 80
    assert 400 <= fast <= 1000
    assert fast > 8 * slow


async def _intervene(client, iv):
    await client.send({"type": "intervene", "intervention": iv})
    while True:
        frame = await client.recv_type("frame")
        hits = [ev for ev in frame["events"] if ev["type"] == "intervention"]
        if hits:
            return hits[0], frame


async def test_crash_cut_heal_partition_show_in_the_trace(client):
    await client.start({"nodes": 5}, speed=FAST)
    await client.recv_type("frame")

    ev, frame = await _intervene(client, {"action": "crash", "node": "n2"})
    assert ev["action"] == "crash" and ev["node"] == "n2" and ev["t"] == frame["t"]
    crashed = [e for e in frame["events"] if e["type"] == "state" and e["node"] == "n2"]
    assert crashed and crashed[0]["changes"]["status"] == "crashed"

    ev, frame = await _intervene(client, {"action": "cut", "a": "n1", "b": "n3"})
    net = [e for e in frame["events"] if e["type"] == "net"][-1]
    assert sorted(net["cuts"]) == [["n1", "n3"], ["n3", "n1"]]

    ev, frame = await _intervene(client, {"action": "heal", "a": "n1", "b": "n3"})
    assert [e for e in frame["events"] if e["type"] == "net"][-1]["cuts"] == []

    ev, frame = await _intervene(client, {"action": "partition", "groups": [["n1", "n2"], ["n3", "n4", "n5"]]})
    assert ev["groups"] == [["n1", "n2"], ["n3", "n4", "n5"]]
    net = [e for e in frame["events"] if e["type"] == "net"][-1]
    assert net["partition"] == [["n1", "n2"], ["n3", "n4", "n5"]] and net["cuts"] == []

    ev, frame = await _intervene(client, {"action": "restart", "node": "n2"})
    assert ev["action"] == "restart"


async def test_role_selectors_resolve_on_the_server(client):
    await client.start({"seed": 3}, speed=FAST)
    # wait for a leader
    leader = None
    while leader is None:
        frame = await client.recv_type("frame")
        for ev in frame["events"]:
            if ev["type"] == "state" and ev["changes"].get("role") == "leader":
                leader = ev["node"]
    ev, _ = await _intervene(client, {"action": "crash", "node": "leader"})
    assert ev["node"] == leader and ev["selector"] == {"node": "leader"}


async def test_live_interventions_are_recorded_and_replay_exactly(client):
    """The client's trace (started.events + frames) equals a headless run of the scenario with each live
    intervention at the simulated time the server reported for it: live runs replay exactly."""
    started = await client.start({"seed": 9, "params": {"client_interval": 100}}, speed=FAST)
    trace = list(started["events"])
    sent = [{"action": "crash", "node": "leader"}, {"action": "cut", "a": "n1", "b": "n2"},
            {"action": "partition", "groups": [["n3"]]}, {"action": "heal_all"},
            {"action": "client_request", "node": None, "value": "v"}]
    frames = await frames_for(client, 0.6)  # a leader is elected by then (seed 9)
    trace += [ev for f in frames for ev in f["events"]]
    for iv in sent:
        if iv["action"] == "client_request":  # to a node that is up
            crashed = next(ev["node"] for ev in trace if ev["type"] == "intervention")
            iv["node"] = "n1" if crashed != "n1" else "n2"
        await client.send({"type": "intervene", "intervention": iv})
        frames = await frames_for(client, 0.15)
        trace += [ev for f in frames for ev in f["events"]]
    await client.send({"type": "pause"})
    t_end = None
    while True:
        try:
            msg = await client.recv(timeout=0.3)
        except asyncio.TimeoutError:
            break
        assert msg["type"] != "error", msg
        if msg["type"] == "frame":
            trace += msg["events"]
            t_end = msg["t"]
    t_end = t_end or frames[-1]["t"]
    applied = [ev for ev in trace if ev["type"] == "intervention"]
    assert [ev["action"] for ev in applied] == [iv["action"] for iv in sent]
    assert applied[0]["selector"] == {"node": "leader"}
    scenario = {"protocol": "raft", "seed": 9, "params": {"client_interval": 100},
                "interventions": [dict(iv, at=ev["t"]) for iv, ev in zip(sent, applied)]}
    replayed = Simulation(scenario).run(t_end)
    assert len(replayed) == len(trace)
    assert trace_hash(replayed) == trace_hash(trace)


async def test_bad_messages_get_errors_and_the_session_goes_on(client):
    await client.send("not json")
    assert (await client.recv())["code"] == "bad_json"
    await client.send({"type": "pause"})
    assert (await client.recv())["code"] == "not_started"
    await client.send({"type": "start", "scenario": {"protocol": "raft", "nodes": 1000}})
    err = await client.recv()
    assert err["code"] == "invalid_scenario" and err["field"] == "nodes"
    await client.send({"type": "start", "scenario": {"protocol": "nope"}})
    assert (await client.recv())["field"] == "protocol"

    await client.start(paused=True)
    bad = [
        ("[1, 2]", "bad_message", None),
        (json.dumps({"no": "type"}), "unknown_type", "type"),
        (json.dumps({"type": "dance"}), "unknown_type", "type"),
        (json.dumps({"type": 7}), "unknown_type", "type"),
        (json.dumps({"type": "speed", "speed": "fast"}), "bad_speed", "speed"),
        (json.dumps({"type": "speed", "speed": 0}), "bad_speed", "speed"),
        (json.dumps({"type": "speed", "speed": 1e12}), "bad_speed", "speed"),
        (json.dumps({"type": "speed"}), "bad_speed", "speed"),
        (json.dumps({"type": "ack", "seq": 99}), "bad_ack", "seq"),
        (json.dumps({"type": "ack", "seq": "1"}), "bad_ack", "seq"),
        (json.dumps({"type": "intervene"}), "invalid_intervention", "intervention"),
        (json.dumps({"type": "intervene", "intervention": {"action": "explode"}}), "unknown_action",
         "intervention.action"),
        (json.dumps({"type": "intervene", "intervention": {"action": "crash", "node": "n9"}}), "unknown_node",
         "intervention.node"),
        (json.dumps({"type": "intervene", "intervention": {"action": "crash"}}), "invalid_intervention",
         "intervention.node"),
        (json.dumps({"type": "intervene", "intervention": {"action": "restart", "node": "n1"}}), "invalid_state",
         "node"),
        (json.dumps({"type": "intervene", "intervention": {"action": "crash", "node": "leader"}}), "no_target",
         "node"),
        (json.dumps({"type": "start", "scenario": {"protocol": "raft", "params": {"heartbeat_interval": 500}}}),
         "invalid_scenario", "params.heartbeat_interval"),
        (json.dumps({"type": "start"}), "invalid_scenario", "scenario"),
        (json.dumps({"type": "watch", "room": "../../x"}), "bad_room", "room"),
        (json.dumps({"type": "watch", "room": "abcdefgh"}), "already_started", None),
    ]
    for text, code, field in bad:
        await client.send(text)
        err = await client.recv()
        assert err["type"] == "error", (text, err)
        assert err["code"] == code, (text, err)
        assert err.get("field") == field, (text, err)
        assert err["message"]
    await client.comm.send_to(bytes_data=b"\x00\x01")
    assert (await client.recv())["code"] == "bad_message"
    # the request id comes back with the error
    await client.send({"type": "intervene", "id": "req-7", "intervention": {"action": "crash", "node": "n42"}})
    err = await client.recv()
    assert err["id"] == "req-7"
    # still alive: a valid intervention and a step work
    await client.send({"type": "intervene", "intervention": {"action": "crash", "node": "n1"}})
    frame = await client.recv_type("frame")
    assert frame["events"][0]["type"] == "intervention"
    await client.send({"type": "step"})
    frame = await client.recv_type("frame")
    assert len(frame["events"]) == 1


async def test_restart_replaces_the_run(client):
    """A second `start` replaces the simulation: a new `started` at t=0, and sequence numbers keep rising."""
    await client.start(speed=FAST)
    frame = await client.recv_type("frame")
    started = await client.start({"seed": 4})
    assert started["snapshot"]["t"] == 0 and started["scenario"]["seed"] == 4
    assert started["seq"] > frame["seq"]


def _session_tasks():
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("session-") and not t.done()]


async def test_disconnect_cancels_the_run_loop(make_client):
    c = await make_client()
    await c.start(speed=FAST)
    await c.recv_type("frame")
    assert len(_session_tasks()) == 1
    await c.close()
    await asyncio.sleep(0)
    assert _session_tasks() == []


async def _drain_queue(client):
    """The messages queued for the client, a long one's `chunk`s joined back into it."""
    queue = client.comm.output_queue
    out, parts = [], []
    for _ in range(queue.qsize()):
        msg = json.loads(queue.get_nowait()["text"])
        if msg["type"] == "chunk":
            parts.append(msg["data"])
            if msg["n"] < msg["of"] - 1:
                continue
            msg, parts = json.loads("".join(parts)), []
        out.append(msg)
    return out


async def test_a_client_that_never_reads_leaves_memory_bounded(client, monkeypatch):
    """Without acknowledgements the server stops after WINDOW unacknowledged messages: the queue towards the
    client stops growing and the simulation stops advancing; an acknowledgement lets it go on."""
    monkeypatch.setattr(session_mod, "WINDOW", 8)
    await client.start(speed=session_mod.SPEED_MAX)
    await asyncio.sleep(8 * session_mod.TICK + 0.4)
    queue = client.comm.output_queue
    assert queue.qsize() == 8  # frames 2..9 (`started`, seq 1, was acknowledged by client.start)
    await asyncio.sleep(0.4)
    assert queue.qsize() == 8  # nothing more while nobody acknowledges
    messages = await _drain_queue(client)
    assert [m["seq"] for m in messages] == list(range(2, 10))
    t_blocked = messages[-1]["t"]
    await asyncio.sleep(0.2)
    assert queue.qsize() == 0  # reading is not enough: acknowledging is what counts
    await client.send({"type": "ack", "seq": 5})  # 6..9 still unacknowledged: room for 4 more
    await asyncio.sleep(8 * session_mod.TICK + 0.2)
    messages = await _drain_queue(client)
    assert [m["seq"] for m in messages] == [10, 11, 12, 13]
    assert messages[0]["t"] > t_blocked
    await client.send({"type": "ack", "seq": 13})
    frame = await client.recv_type("frame")
    assert frame["seq"] == 14


async def test_unacknowledged_bytes_are_bounded_too(client, monkeypatch):
    """Big frames (many nodes, heavy load, fast) hit the byte window before the frame window."""
    monkeypatch.setattr(session_mod, "WINDOW_BYTES", 40_000)
    await client.start({"nodes": 25, "params": {"client_interval": 5}}, speed=session_mod.SPEED_MAX)
    await asyncio.sleep(0.8)
    sizes = [len(json.dumps(m, separators=(",", ":"), ensure_ascii=False)) for m in await _drain_queue(client)]
    assert len(sizes) < session_mod.WINDOW
    assert sum(sizes[:-1]) < 40_000 <= sum(sizes)
    await asyncio.sleep(0.3)
    assert client.comm.output_queue.qsize() == 0


async def test_intervention_while_blocked_is_applied_and_sent_after_the_ack(client, monkeypatch):
    monkeypatch.setattr(session_mod, "WINDOW", 4)
    await client.start(speed=session_mod.SPEED_MAX)
    await asyncio.sleep(4 * session_mod.TICK + 0.3)
    queue = client.comm.output_queue
    size = queue.qsize()
    await client.send({"type": "intervene", "intervention": {"action": "crash", "node": "n1"}})
    await asyncio.sleep(0.2)
    assert queue.qsize() == size
    for _ in range(size):
        last = json.loads((await client.comm.receive_output(1))["text"])
    await client.send({"type": "ack", "seq": last["seq"]})
    frame = await client.recv_type("frame")
    assert any(ev["type"] == "intervention" and ev["node"] == "n1" for ev in frame["events"])


async def test_a_quiet_run_sends_clock_only_frames_a_few_times_a_second(client):
    """With nothing happening (every node crashed), frames only move the clock: at most 4 a second."""
    await client.start({"nodes": 3}, speed=FAST)
    for n in ("n1", "n2", "n3"):
        await _intervene(client, {"action": "crash", "node": n})
    await frames_for(client, 0.3)  # messages already in flight get dropped
    frames = await frames_for(client, 1.0)
    assert 2 <= len(frames) <= 5
    assert all(f["events"] == [] for f in frames)
    assert frames[-1]["t"] - frames[0]["t"] >= 400  # the clock still runs at the chosen speed


async def test_a_run_too_heavy_for_its_speed_is_reported_lagging_and_does_not_starve_others(make_client):
    """101 Raft servers with a client write every ms at 10x real time cannot keep up: the session says so
    (`status.lagging`) and runs as fast as its share of the CPU allows, while a light session next to it keeps
    its pace and frame rate."""
    heavy = await make_client()
    light = await make_client()
    await heavy.start({"nodes": 101, "params": {"client_interval": 1}}, speed=session_mod.SPEED_MAX)
    status = await heavy.recv_type("status", timeout=3)
    assert status["lagging"] is True
    await light.start({"nodes": 5}, speed=FAST)
    loop = asyncio.get_running_loop()
    end = loop.time() + 1.0
    frames = []
    while loop.time() < end:
        # keep the heavy client acknowledging too, or flow control would pause it (and prove nothing); its
        # frames are big, so read their sequence number without parsing them (this test shares the server's loop)
        top = 0
        while not heavy.comm.output_queue.empty():
            text = heavy.comm.output_queue.get_nowait()["text"]
            found = re.search(r'"seq":(\d+)}$', text)
            top = max(top, int(found.group(1))) if found else top
        if top:
            await heavy.send({"type": "ack", "seq": top})
        try:
            msg = await light.recv(timeout=0.05)
        except asyncio.TimeoutError:
            continue
        if msg["type"] == "frame":
            frames.append(msg)
    assert len(frames) >= 10  # (starved, it got 2 a second)
    assert frames[-1]["t"] - frames[0]["t"] >= 400
