"""A trace in the formats other tools read: Mermaid sequence diagrams and ShiViz logs.

`python -m simulator export SCENARIO.json --format mermaid|shiviz [--until MS] [--hide KIND ...]`

- Mermaid (`sequenceDiagram`): a participant per node in the scenario's order; one solid arrow per delivered
  message, at its delivery, labelled with the message kind and its send and delivery times; a dropped message is
  a crossed arrow (`-x`) with the reason; interventions, timers that fired and violations are notes.
- ShiViz: one event per line pair (a description, then `<host> <vector clock as JSON>`), the format of ShiViz's
  default parser. Vector clocks come from sends and deliveries only: a send ticks the sender, a delivery merges
  the message's clock into the receiver's and ticks it; timers and interventions tick their node. So the clocks
  order events exactly by Lamport's happens-before relation over this trace.
"""

import json

from .trace import canonical

# The regular expression to paste into ShiViz's "log parsing regular expression" box (its default).
SHIVIZ_REGEX = r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})"
FORMATS = ("mermaid", "shiviz")


def _kind(msg):
    return str((msg or {}).get("kind", "message"))


def _fields(msg, limit=3):
    """A short 'term=3, index=7' summary of a payload's first scalar fields (after the kind)."""
    parts = []
    for key, value in msg.items():
        if key == "kind" or isinstance(value, (dict, list)):
            continue
        parts.append(f"{key}={json.dumps(value)}")
        if len(parts) == limit:
            break
    return ", ".join(parts)


def _mermaid_text(text):
    # Mermaid ends a message at a newline and reads ';' and '#' specially: keep labels on one plain line.
    return str(text).replace("\n", " ").replace(";", ",").replace("#", "no. ")


def _intervention_text(ev):
    extra = {k: v for k, v in ev.items() if k not in ("t", "type", "action", "selector")}
    return f"{ev['action']} " + ", ".join(f"{k}={v}" for k, v in sorted(extra.items()) if not isinstance(v, dict))


def to_mermaid(events, order, hide=()):
    """Lines of a Mermaid sequenceDiagram for `events` (a trace) over the nodes `order`."""
    hide = set(hide)
    lines = ["sequenceDiagram"] + [f"    participant {n}" for n in order]
    sent = {}
    for ev in events:
        kind = ev["type"]
        if kind == "send":
            sent[ev["id"]] = ev
        elif kind == "deliver":
            send = sent.pop(ev["id"], None)
            if send is None or _kind(send["msg"]) in hide:
                continue
            detail = _fields(send["msg"])
            label = f"{_kind(send['msg'])}{' (' + detail + ')' if detail else ''} {send['t']}→{ev['t']} ms"
            lines.append(f"    {ev['from']}->>{ev['to']}: {_mermaid_text(label)}")
        elif kind == "drop":
            send = sent.pop(ev["id"], None)
            if send is None or _kind(send["msg"]) in hide:
                continue
            label = f"{_kind(send['msg'])} dropped ({ev['reason']}) {send['t']}→{ev['t']} ms"
            lines.append(f"    {ev['from']}-x{ev['to']}: {_mermaid_text(label)}")
        elif kind == "intervention" and ev.get("node") in order:
            lines.append(f"    Note over {ev['node']}: {_mermaid_text(_intervention_text(ev))} t={ev['t']}")
        elif kind == "intervention":
            lines.append(f"    Note over {order[0]},{order[-1]}: {_mermaid_text(_intervention_text(ev))} "
                         f"t={ev['t']}")
        elif kind == "violation":
            where = ev.get("node") or order[0]
            lines.append(f"    Note over {where}: VIOLATION {_mermaid_text(ev.get('invariant', ''))} t={ev['t']}")
    return lines


class VectorClocks:
    """Vector clocks over one trace: `tick(node)` for a local event or a send, `receive(node, clock)` for a
    delivery. Clocks are dicts holding only non-zero entries, as ShiViz expects."""

    def __init__(self):
        self.clocks = {}

    def tick(self, node):
        clock = self.clocks.setdefault(node, {})
        clock[node] = clock.get(node, 0) + 1
        return dict(clock)

    def receive(self, node, other):
        clock = self.clocks.setdefault(node, {})
        for host, value in other.items():
            if value > clock.get(host, 0):
                clock[host] = value
        return self.tick(node)


def shiviz_events(events, hide=()):
    """(description, host, clock) for each event ShiViz shows: sends, deliveries, fired timers and node
    interventions. Deliveries of messages whose send was hidden are hidden too (the clock still merges)."""
    hide = set(hide)
    clocks = VectorClocks()
    in_flight = {}  # message id -> (sender's clock at the send, kind)
    out = []
    for ev in events:
        kind = ev["type"]
        if kind == "send":
            clock = clocks.tick(ev["from"])
            msg_kind = _kind(ev["msg"])
            in_flight[ev["id"]] = (clock, msg_kind)
            if msg_kind not in hide:
                out.append((f"t={ev['t']} send {msg_kind} #{ev['id']} to {ev['to']} {canonical(ev['msg'])}",
                            ev["from"], clock))
        elif kind == "deliver":
            sent_clock, msg_kind = in_flight.pop(ev["id"], ({}, "message"))
            clock = clocks.receive(ev["to"], sent_clock)
            if msg_kind not in hide:
                out.append((f"t={ev['t']} receive {msg_kind} #{ev['id']} from {ev['from']}", ev["to"], clock))
        elif kind == "drop":
            in_flight.pop(ev["id"], None)
        elif kind == "timer":
            out.append((f"t={ev['t']} timer {ev['timer']} fired", ev["node"], clocks.tick(ev["node"])))
        elif kind == "intervention" and isinstance(ev.get("node"), str):
            out.append((f"t={ev['t']} {_intervention_text(ev)}", ev["node"], clocks.tick(ev["node"])))
    return out


def to_shiviz(events, hide=()):
    """Lines of a ShiViz log (parse it with SHIVIZ_REGEX)."""
    lines = []
    for description, host, clock in shiviz_events(events, hide):
        lines.append(description.replace("\n", " "))
        lines.append(f"{host} {json.dumps(clock, sort_keys=True, separators=(',', ':'))}")
    return lines


def export_lines(sim, fmt, hide=()):
    """Run `sim` (a fresh Simulation) to its duration and return the export's lines."""
    if fmt not in FORMATS:
        raise ValueError(f"format: one of {', '.join(FORMATS)}")
    sim.advance(sim.duration)
    events = sim.drain()
    if fmt == "mermaid":
        return to_mermaid(events, list(sim.node_ids), hide)
    return to_shiviz(events, hide)
