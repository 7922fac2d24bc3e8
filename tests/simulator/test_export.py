"""`python -m simulator export`: Mermaid sequence diagrams and ShiViz logs of a trace."""

import json
import re
import subprocess
import sys

import pytest

from simulator import Simulation
from simulator.export import SHIVIZ_REGEX, shiviz_events, to_mermaid, to_shiviz

from simhelpers import ROOT, example_files, load

EXAMPLES = example_files()


def trace_of(path, until=3000):
    sc = load(path)
    sc["duration"] = min(sc.get("duration", until), until)
    sim = Simulation(sc)
    sim.advance(sim.duration)
    return sim, sim.drain()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.rsplit("/", 1)[-1])
def test_mermaid_has_one_arrow_per_delivered_message_and_a_cross_per_drop(path):
    sim, events = trace_of(path)
    lines = to_mermaid(events, list(sim.node_ids))
    assert lines[0] == "sequenceDiagram"
    assert [l.split()[1] for l in lines if l.strip().startswith("participant ")] == list(sim.node_ids)
    arrows = [l for l in lines if "->>" in l]
    crosses = [l for l in lines if re.match(r"^\s+\S+-x\S+:", l)]
    delivered = [ev for ev in events if ev["type"] == "deliver"]
    assert len(arrows) == len(delivered)
    assert len(crosses) == len([ev for ev in events if ev["type"] == "drop"])
    # each arrow names its sender and receiver, in delivery order
    assert [re.match(r"^\s+(\S+)->>(\S+):", l).groups() for l in arrows] == [(ev["from"], ev["to"]) for ev in delivered]


def test_mermaid_hides_a_message_kind():
    sim, events = trace_of(f"{ROOT}/docs/examples/raft-basic.json")
    lines = to_mermaid(events, list(sim.node_ids), hide={"AppendEntries", "AppendEntriesReply"})
    assert not [l for l in lines if "AppendEntries" in l]
    assert [l for l in lines if "RequestVote" in l]


def happens_before(events):
    """Lamport's relation over the ShiViz events, computed directly: program order on each host plus
    send -> receive edges, closed transitively. Returns (list of (host, index)), set of ordered pairs."""
    shown = []
    send_at = {}
    edges = set()
    last_on = {}
    for ev in events:
        t = ev["type"]
        if t == "send":
            host = ev["from"]
        elif t == "deliver":
            host = ev["to"]
        elif t == "timer" or (t == "intervention" and isinstance(ev.get("node"), str)):
            host = ev["node"]
        else:
            continue
        i = len(shown)
        shown.append(host)
        if host in last_on:
            edges.add((last_on[host], i))
        last_on[host] = i
        if t == "send":
            send_at[ev["id"]] = i
        elif t == "deliver" and ev["id"] in send_at:
            edges.add((send_at[ev["id"]], i))
    reach = [set() for _ in shown]
    succ = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    for a in reversed(range(len(shown))):  # edges go forward in trace order: one backward pass closes them
        for b in succ.get(a, ()):
            reach[a].add(b)
            reach[a] |= reach[b]
    return shown, reach


def vc_less(a, b):
    return all(v <= b.get(k, 0) for k, v in a.items()) and a != b


@pytest.mark.parametrize("name", ["raft-basic.json", "paxos-duel.json", "twophase-coordinator-crash.json",
                                  "gossip-swim-crash.json", "kafka-join-cooperative.json"])
def test_shiviz_vector_clocks_are_exactly_happens_before(name):
    _, events = trace_of(f"{ROOT}/docs/examples/{name}", until=800)
    shown = shiviz_events(events)
    hosts, reach = happens_before(events)
    assert [h for _, h, _ in shown] == hosts
    assert len(hosts) > 20
    for a in range(len(hosts)):
        for b in range(len(hosts)):
            if a != b:
                assert vc_less(shown[a][2], shown[b][2]) == (b in reach[a]), (a, b, shown[a], shown[b])


def test_shiviz_log_matches_its_parser_regex():
    _, events = trace_of(f"{ROOT}/docs/examples/raft-basic.json", until=500)
    text = "\n".join(to_shiviz(events))
    # ShiViz's regex uses named groups (?<name>...); Python spells them (?P<name>...)
    pattern = re.compile(SHIVIZ_REGEX.replace("(?<", "(?P<"))
    matches = list(pattern.finditer(text))
    assert len(matches) == len(shiviz_events(events))
    for m in matches:
        assert isinstance(json.loads(m.group("clock")), dict)
        assert re.fullmatch(r"n\d+", m.group("host"))


def test_cli_export_prints_the_diagram():
    out = subprocess.run([sys.executable, "-m", "simulator", "export", "docs/examples/raft-basic.json",
                          "--format", "mermaid", "--until", "400"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("sequenceDiagram\n")
    assert "RequestVote" in out.stdout


def test_cli_export_refuses_an_unknown_format():
    out = subprocess.run([sys.executable, "-m", "simulator", "export", "docs/examples/raft-basic.json",
                          "--format", "svg"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2
    assert "mermaid" in out.stderr
