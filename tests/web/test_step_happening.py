"""`step` with `happening: true` (docs/websocket.md): each frame holds exactly one happening of the trace (a
delivery, timer or intervention and what came with it, docs/trace.md), and together they are the headless trace;
a plain `step` in between leaves the rest of its happening for the next one."""

import pytest

from simulator import Simulation

pytestmark = pytest.mark.asyncio

STARTS = ("deliver", "timer", "intervention", "fault")


def headless(scenario, n):
    sim = Simulation(dict(scenario))
    out = []
    while len(out) < n:
        sim.step_events(n)
        out += sim.drain()
    return out


async def test_step_by_happening_gives_the_trace_one_happening_a_frame(client):
    started = await client.start({"seed": 5}, paused=True)
    received = list(started["events"])
    sizes = []
    for _ in range(30):
        await client.send({"type": "step", "happening": True})
        frame = await client.recv_type("frame")
        events = frame["events"]
        assert events and frame["t"] == events[-1]["t"]
        assert all(ev["type"] not in STARTS and ev["t"] == events[0]["t"] for ev in events[1:])  # one happening
        sizes.append(len(events))
        received += events
    assert max(sizes) > 1  # (deliveries that caused a state change or sends: several events in one frame)
    trace = headless({"protocol": "raft", "seed": 5}, len(received) + 1)
    assert trace[:len(received)] == received
    assert trace[len(received)]["type"] in STARTS or trace[len(received)]["t"] != received[-1]["t"]  # nothing cut off


async def test_a_single_step_leaves_the_rest_of_its_happening(client):
    """After a plain `step` (one event) inside a happening, `happening: true` sends the rest of that happening."""
    started = await client.start({"seed": 5}, paused=True)
    received = list(started["events"])
    trace = headless({"protocol": "raft", "seed": 5}, 400)
    # the first moment after a few events where the next event belongs to the happening before it
    cut = next(i for i in range(len(received) + 3, len(trace))
               if trace[i]["type"] not in STARTS and trace[i]["t"] == trace[i - 1]["t"])
    for _ in range(cut - len(received)):
        await client.send({"type": "step"})
        received += (await client.recv_type("frame"))["events"]
    assert received == trace[:cut]
    end = cut
    while trace[end]["type"] not in STARTS and trace[end]["t"] == trace[cut - 1]["t"]:
        end += 1
    await client.send({"type": "step", "happening": True})
    frame = await client.recv_type("frame")
    assert frame["events"] == trace[cut:end]
