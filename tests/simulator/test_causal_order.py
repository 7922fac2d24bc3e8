"""Causal order in the trace: a happening (one node handling one delivery, timer or intervention) shows its
`state` event before the messages it sends (docs/trace.md, "Order of events")."""

import pytest

from simulator import Simulation
from simulator.trace import split_happenings

from simhelpers import example_files, load

EXAMPLES = example_files()


def handler_node(first):
    if first["type"] == "deliver":
        return first["to"]
    return first.get("node")


def check_trace(events):
    """Assert causal order in one trace; return how many happenings both changed state and sent."""
    checked = 0
    for group in split_happenings(events):  # (simulator/trace.py: what starts a happening)
        node = handler_node(group[0])
        if node is None:
            continue
        own = [ev for ev in group[1:] if (ev["type"] == "state" and ev["node"] == node)
               or (ev["type"] == "send" and ev["from"] == node)]
        if not any(ev["type"] == "state" for ev in own) or not any(ev["type"] == "send" for ev in own):
            continue
        checked += 1
        assert own[0]["type"] == "state", f"t={group[0]['t']}: {node} sent before its state event: {group}"
    return checked


PROTOCOLS = sorted({p.rsplit("/", 1)[-1].split("-", 1)[0] for p in EXAMPLES})


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_happenings_state_precedes_its_sends(protocol):
    checked = 0
    for path in EXAMPLES:
        if path.rsplit("/", 1)[-1].split("-", 1)[0] != protocol:
            continue
        sc = load(path)
        sc["duration"] = min(sc.get("duration", 15000), 15000)  # SWIM's suspicions come late
        sim = Simulation(sc)
        sim.advance(sim.duration)
        checked += check_trace(sim.drain())
    # (a gossip round is a timer that sends without changing the view: SWIM's suspicions are what check it)
    assert checked > 0, f"no {protocol} happening both changed state and sent: the test checked nothing"
