"""The one intervention vocabulary: scenario files, the CLI, the live WebSocket and saved links.

An intervention is a dict with an `action` and its fields (plus `at`, in ms, in a
scenario). `validate_intervention` checks its shape against the node ids;
`apply_intervention` resolves role selectors (e.g. `leader`) and applies it, or
raises InterventionError before changing anything.
"""

from .errors import InterventionError
from .params import Param, check_latency

NODE = "node"
BOOL = Param(False, "one direction only", kind="bool")
LINK_LOSS = Param(None, "probability a message on the link is lost (unchanged if omitted)", 0.0, 1.0, kind="float")
FACTOR = Param(1.0, "clock rate: 2.0 runs timers twice as fast", 0.1, 10.0, kind="float")
MESSAGE_ID = Param(None, "a message in flight: the id of its send event", 1, 2**53, kind="int")
DELAY_MS = Param(None, "how much later it arrives (ms)", 1, 3_600_000, kind="int")
MESSAGE_ACTIONS = ("drop_message", "delay_message")  # act on one message in flight, not on nodes

# action -> (fields: name -> kind, required fields, doc)
COMMON = {
    "crash": ({"node": NODE}, ("node",), "crash a node: volatile state and timers lost, persistent state kept"),
    "restart": ({"node": NODE}, ("node",), "restart a crashed node from its persistent state"),
    "pause": ({"node": NODE}, ("node",), "freeze a node (like a long GC pause): its messages and timers wait"),
    "resume": ({"node": NODE}, ("node",), "unfreeze a paused node; what waited is handled at once"),
    "cut": ({"a": NODE, "b": NODE, "oneway": BOOL}, ("a", "b"),
            "cut the link a-b (only a->b if oneway); messages in flight on it are dropped"),
    "heal": ({"a": NODE, "b": NODE, "oneway": BOOL}, ("a", "b"), "heal the link a-b (only a->b if oneway)"),
    "partition": ({"groups": "groups"}, ("groups",),
                  "split the nodes into islands: every link between groups is cut (unlisted nodes form one more); "
                  "it replaces an earlier partition"),
    "heal_partition": ({}, (), "end the partition: the islands join again; links cut one by one stay cut"),
    "heal_all": ({}, (), "heal every cut link and end any partition"),
    "set_link": ({"a": NODE, "b": NODE, "latency": "latency", "loss": LINK_LOSS, "oneway": BOOL}, ("a", "b"),
                 "set latency [min, max] ms and/or loss probability of the link a-b"),
    "set_drift": ({"node": NODE, "factor": FACTOR}, ("node", "factor"),
                  "make a node's clock run faster or slower: its timers (armed ones too) run factor times as fast"),
    "drop_message": ({"id": MESSAGE_ID}, ("id",),
                     "lose one message in flight (or held by a paused node): a drop with reason intervention"),
    "delay_message": ({"id": MESSAGE_ID, "ms": DELAY_MS}, ("id", "ms"),
                      "make one message in flight arrive ms later (the event gives its new deliver_at)"),
}


def describe_common():
    out = {}
    for name, (fields, required, doc) in COMMON.items():
        out[name] = {
            "doc": doc,
            "fields": {k: (v.as_dict() if isinstance(v, Param) else {"kind": v}) for k, v in fields.items()},
            "required": list(required),
        }
    return out


def _node(value, proto, ids, where, error):
    if isinstance(value, str) and (value in ids or value in proto.selectors):
        return value
    sel = f" or a role ({', '.join(proto.selectors)})" if proto.selectors else ""
    raise error(f"{where}: unknown node {value!r} (nodes are {ids[0]}..{ids[-1]}{sel})",
                code="unknown_node", field=where)


def validate_intervention(proto, ids, iv, where="intervention", error=InterventionError):
    """Check an intervention's shape; return it normalised (defaults filled in)."""
    if not isinstance(iv, dict):
        raise error(f"{where}: must be an object with an `action`", field=where)
    action = iv.get("action")
    node_defaults = {}
    if not isinstance(action, str):  # also keeps unhashable values (lists, objects) from the lookups below
        known = ", ".join(list(COMMON) + list(proto.actions))
        raise error(f"{where}.action: required, a string (one of: {known}), got {action!r}",
                    code="unknown_action", field=f"{where}.action")
    if action in COMMON:
        fields, required, _ = COMMON[action]
    elif action in proto.actions:
        spec = proto.actions[action]
        fields = {k: (NODE if k in spec.node_fields else p) for k, p in spec.fields.items()}
        required = tuple(k for k, p in spec.fields.items() if p.default is None)
        node_defaults = {k: p.default for k, p in spec.fields.items() if k in spec.node_fields}
    else:
        known = ", ".join(list(COMMON) + list(proto.actions))
        raise error(f"{where}.action: unknown action {action!r} (known: {known})", code="unknown_action",
                    field=f"{where}.action")
    out = {"action": action}
    for key in iv:
        if key != "action" and key not in fields:
            raise error(f"{where}.{key}: unknown field for {action} (fields: {', '.join(fields) or 'none'})",
                        field=f"{where}.{key}")
    for key in required:
        if key not in iv:
            raise error(f"{where}.{key}: required for {action}", field=f"{where}.{key}")
    for key, kind in fields.items():
        w = f"{where}.{key}"
        if key not in iv:
            if isinstance(kind, Param) and kind.default is not None:
                out[key] = kind.default
            elif node_defaults.get(key) is not None:
                out[key] = node_defaults[key]
            continue
        value = iv[key]
        if kind == NODE:
            out[key] = _node(value, proto, ids, w, error)
        elif kind == "latency":
            out[key] = check_latency(value, w, error)
        elif kind == "groups":
            out[key] = _groups(value, proto, ids, w, error)
        else:
            out[key] = kind.check(value, w, error)
    if action in ("cut", "heal", "set_link") and out["a"] == out["b"]:
        raise error(f"{where}.b: a and b are the same node ({out['a']})", field=f"{where}.b")
    if action == "set_link" and "latency" not in out and "loss" not in out:
        raise error(f"{where}.latency: set_link needs latency ([min, max] ms) and/or loss (0..1)",
                    field=f"{where}.latency")
    return out


def _groups(value, proto, ids, where, error):
    if not isinstance(value, list) or not value or not all(isinstance(g, list) for g in value):
        raise error(f"{where}: must be a list of node lists, e.g. [[\"n1\",\"n2\"],[\"n3\"]]", field=where)
    seen = {}
    out = []
    for gi, group in enumerate(value):
        g = []
        for ni, n in enumerate(group):
            n = _node(n, proto, ids, f"{where}[{gi}][{ni}]", error)
            if n in seen:
                raise error(f"{where}: node {n} is in two groups", field=where)
            seen[n] = True
            g.append(n)
        out.append(g)
    return out


# --- applying ------------------------------------------------------------------------------
def _resolve(sim, value, where):
    if value in sim.nodes:
        return sim.nodes[value]
    nid = sim.protocol.resolve(value)
    if nid is None:
        raise InterventionError(f"{where}: there is no {value} right now", code="no_target", field=where)
    return sim.nodes[nid]


def _resolve_targets(sim, iv):
    """Resolve node fields (role selectors to node ids) as of now: (event fields, {field: node})."""
    action = iv["action"]
    resolved = {"action": action}
    selectors = {}
    nodes = {}
    for key, value in iv.items():
        if key in ("action", "at"):
            continue
        if key == "groups":
            groups = []
            seen = {}
            for group in value:
                g = []
                for n in group:
                    nid = _resolve(sim, n, key).id
                    if nid in seen:
                        raise InterventionError(f"groups: {n} is {nid}, which is in two groups", code="invalid_target",
                                                field="groups")
                    seen[nid] = True
                    g.append(nid)
                groups.append(g)
            resolved[key] = groups
        elif isinstance(value, str) and (value in sim.nodes or value in sim.protocol.selectors) \
                and _is_node_field(sim, action, key):
            node = _resolve(sim, value, key)
            nodes[key] = node
            resolved[key] = node.id
            if value != node.id:
                selectors[key] = value
        else:
            resolved[key] = value
    if selectors:
        resolved["selector"] = selectors
    if action in ("cut", "heal", "set_link") and resolved["a"] == resolved["b"]:
        raise InterventionError(f"b: {iv['b']} is {resolved['b']}, the same node as a", code="invalid_target",
                                field="b")
    return resolved, nodes


def check_intervention(sim, iv):
    """Raise InterventionError if a validated intervention cannot apply now; change nothing either way."""
    resolved, nodes = _resolve_targets(sim, iv)
    if iv["action"] in MESSAGE_ACTIONS:
        _check_message(sim, resolved, sim.env.now + 1 if sim.steps_at_now else sim.env.now)
    elif iv["action"] in COMMON:
        _check_common(iv["action"], nodes)
    else:
        sim.protocol.check_action(resolved)
    return resolved


def apply_intervention(sim, iv):
    """Apply a validated intervention now; return the fields of its `intervention` event.

    Raises InterventionError before changing anything if it cannot apply."""
    action = iv["action"]
    resolved, nodes = _resolve_targets(sim, iv)
    if action in MESSAGE_ACTIONS:
        rec = _check_message(sim, resolved, sim.env.now)
        if action == "drop_message":
            sim.network.drop_message(rec)
        else:
            resolved["deliver_at"] = sim.network.delay_message(rec, resolved["ms"])
    elif action in COMMON:
        _check_common(action, nodes)
        _apply_common(sim, action, nodes, resolved)
    else:
        extra = sim.protocol.act(resolved)
        if extra:
            resolved.update(extra)
    return resolved


def _is_node_field(sim, action, key):
    if action in COMMON:
        return COMMON[action][0].get(key) == NODE
    return key in sim.protocol.actions[action].node_fields


def _check_common(action, nodes):
    node = nodes.get("node")
    if action == "crash" and node.status == "crashed":
        raise InterventionError(f"node: {node.id} is already crashed", code="invalid_state", field="node")
    if action == "restart" and node.status != "crashed":
        raise InterventionError(f"node: {node.id} is {node.status}, not crashed", code="invalid_state", field="node")
    if action == "pause" and node.status != "up":
        raise InterventionError(f"node: {node.id} is {node.status}, not up", code="invalid_state", field="node")
    if action == "resume" and node.status != "paused":
        raise InterventionError(f"node: {node.id} is {node.status}, not paused", code="invalid_state", field="node")


def _check_message(sim, r, at):
    """The record of the message `r["id"]` if it is still in flight at time `at`; else InterventionError."""
    mid = r["id"]
    rec = sim.network.in_flight.get(mid)
    if rec is None:
        sent = mid < sim.network.next_id
        raise InterventionError(
            f"id: message {mid} is {'no longer in flight (delivered or dropped)' if sent else 'not sent yet'}",
            code="unknown_message", field="id")
    if r["action"] == "delay_message" and rec.held:
        raise InterventionError(f"id: message {mid} is waiting at paused {rec.ev['to']}: it arrives when that node "
                                "resumes", code="invalid_state", field="id")
    if not rec.held and rec.ev["deliver_at"] < at:
        raise InterventionError(f"id: message {mid} arrives before {at} ms", code="unknown_message", field="id")
    return rec


def _apply_common(sim, action, nodes, r):
    node = nodes.get("node")
    if action == "crash":
        sim.crash(node)
    elif action == "restart":
        sim.restart(node)
    elif action == "pause":
        sim.pause(node)
    elif action == "resume":
        sim.resume(node)
    elif action == "set_drift":
        sim.set_drift(node, r["factor"])
    elif action in ("cut", "heal"):
        a, b = r["a"], r["b"]
        pairs = [(a, b)] if r.get("oneway") else [(a, b), (b, a)]
        sim.network.cut(pairs) if action == "cut" else sim.network.heal(pairs)
        sim.emit_net()
    elif action == "partition":
        groups = [list(g) for g in r["groups"]]
        listed = {n for g in groups for n in g}
        rest = [n for n in sim.node_ids if n not in listed]
        if rest:
            groups.append(rest)
        sim.network.split(groups)
        sim.emit_net()
    elif action == "heal_partition":
        sim.network.split([])
        sim.emit_net()
    elif action == "heal_all":
        sim.network.heal_all()
        sim.emit_net()
    elif action == "set_link":
        sim.network.set_link(r["a"], r["b"], r.get("latency"), r.get("loss"), r.get("oneway", False))
        sim.emit_net()
