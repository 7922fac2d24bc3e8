"""Rebuild a snapshot from events: what a viewer does with the frames it receives.

`apply_event(snapshot, ev)` is the reference for static/js/replay.js: a snapshot
at t0 plus every event from t0 to t1 must equal the snapshot at t1 (tested).
"""

import copy


def apply_event(snap, ev):
    kind = ev["type"]
    snap["t"] = ev["t"]
    if kind == "send":
        msg = {"id": ev["id"], "from": ev["from"], "to": ev["to"], "sent_at": ev["t"],
               "deliver_at": ev["deliver_at"], "msg": ev["msg"], "held": False}
        if "dup_of" in ev:
            msg["dup_of"] = ev["dup_of"]
        snap["messages"].append(msg)
    elif kind in ("deliver", "drop"):
        snap["messages"] = [m for m in snap["messages"] if m["id"] != ev["id"]]
    elif kind == "hold":
        for m in snap["messages"]:
            if m["id"] == ev["id"]:
                m["held"] = True
    elif kind == "state":
        node = snap["nodes"][ev["node"]]
        node.update(copy.deepcopy(ev["changes"]))
        for field, (index, tail) in ev.get("splice", {}).items():
            node[field] = node[field][:index] + copy.deepcopy(tail)
    elif kind == "intervention" and ev["action"] == "delay_message":
        for m in snap["messages"]:
            if m["id"] == ev["id"]:
                m["deliver_at"] = ev["deliver_at"]
    elif kind == "net":
        snap["net"] = {k: copy.deepcopy(v) for k, v in ev.items() if k not in ("t", "type")}  # the whole network state
    return snap


def replay(snapshot, events, until=None):
    snap = copy.deepcopy(snapshot)
    for ev in events:
        apply_event(snap, ev)
    if until is not None:
        snap["t"] = until
    return snap
