"""`expect`: small declarative checks of a run's state, one vocabulary for every protocol.

A check reads node views (the fields `snapshot()["nodes"]` shows, e.g. Raft's `role`, `term`, `commit`,
2PC's `txs.0.state`, Kafka's `owned`), the protocol's metrics (the summary's `metrics`) or the invariants:

    {"node": "n1", "field": "role", "is": "leader"}          one node (an id or a role selector, resolved now)
    {"every": [{"field": "role", "is": "participant"}], "field": "txs.0.state", "is": "blocked"}
                                                             every node meeting the conditions ([]: every node)
    {"count": [{"field": "role", "is": "leader"}], "equals": 1}   how many nodes meet the conditions
    {"metric": "chosen_slots", "at_least": 3}                 a metric of the run so far
    {"invariants": "ok"}                                      no invariant violated so far
    {"violation": "election_safety"}                          this invariant has been violated

A field is a dotted path: keys of objects, indexes of lists (`log.-1.1`: the last entry's value).
Operators (exactly one per check): is, is_not, in (a list of values), at_least, at_most, contains, lacks,
length. `count` takes equals, at_least or at_most.
"""

import json
import re

from .errors import LessonError

OPS = ("is", "is_not", "in", "at_least", "at_most", "contains", "lacks", "length")
COUNT_OPS = ("equals", "at_least", "at_most")
_PATH = re.compile(r"^[A-Za-z_?][A-Za-z0-9_?-]*$|^-?[0-9]+$")
_MISSING = object()


# --- validation -------------------------------------------------------------------------------
def validate_expect(raw, proto, ids, where):
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise LessonError(f"{where}: must be a check object or a non-empty list of them", field=where)
    if len(raw) > 50:
        raise LessonError(f"{where}: at most 50 checks, got {len(raw)}", field=where)
    return [_check(item, proto, ids, f"{where}[{i}]") for i, item in enumerate(raw)]


def _check(item, proto, ids, where):
    if not isinstance(item, dict):
        raise LessonError(f"{where}: must be an object such as {{\"node\": \"n1\", \"field\": \"role\", "
                          f"\"is\": \"leader\"}}", field=where)
    subjects = [k for k in ("node", "every", "count", "metric", "invariants", "violation") if k in item]
    if len(subjects) != 1:
        raise LessonError(f"{where}: needs exactly one of node, every, count, metric, invariants, violation; got "
                          f"{', '.join(subjects) or 'none'}", field=where)
    subject = subjects[0]
    if subject == "invariants":
        _only(item, ("invariants",), where)
        if item["invariants"] != "ok":
            raise LessonError(f"{where}.invariants: must be \"ok\" (use {{\"violation\": name}} for a violation)",
                              field=f"{where}.invariants")
        return dict(item)
    if subject == "violation":
        _only(item, ("violation",), where)
        if item["violation"] not in proto.invariants:
            raise LessonError(f"{where}.violation: unknown invariant {item['violation']!r} (known: "
                              f"{', '.join(proto.invariants)})", field=f"{where}.violation")
        return dict(item)
    if subject == "count":
        _only(item, ("count",) + COUNT_OPS, where)
        out = {"count": _conditions(item["count"], where + ".count")}
        op = _one_op(item, COUNT_OPS, where)
        n = item[op]
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise LessonError(f"{where}.{op}: must be a whole number >= 0, got {n!r}", field=f"{where}.{op}")
        out[op] = n
        return out
    if subject == "metric":
        _only(item, ("metric",) + OPS, where)
        out = {"metric": _path(item["metric"], where + ".metric")}
    elif subject == "node":
        _only(item, ("node", "field") + OPS, where)
        node = item["node"]
        if not isinstance(node, str) or (node not in ids and node not in proto.selectors):
            sel = f" or a role ({', '.join(proto.selectors)})" if proto.selectors else ""
            raise LessonError(f"{where}.node: unknown node {node!r} (nodes are {ids[0]}..{ids[-1]}{sel})",
                              field=f"{where}.node")
        out = {"node": node, "field": _path(item.get("field"), where + ".field")}
    else:
        _only(item, ("every", "field") + OPS, where)
        out = {"every": _conditions(item["every"], where + ".every", allow_empty=True),
               "field": _path(item.get("field"), where + ".field")}
    op = _one_op(item, OPS, where)
    out[op] = _operand(op, item[op], f"{where}.{op}")
    return out


def _conditions(raw, where, allow_empty=False):
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or (not raw and not allow_empty):
        raise LessonError(f"{where}: must be a condition {{\"field\": ..., \"is\": ...}} or a list of them",
                          field=where)
    out = []
    for i, cond in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(cond, dict):
            raise LessonError(f"{w}: must be an object {{\"field\": ..., <operator>: ...}}", field=w)
        _only(cond, ("field",) + OPS, w)
        op = _one_op(cond, OPS, w)
        out.append({"field": _path(cond.get("field"), w + ".field"), op: _operand(op, cond[op], f"{w}.{op}")})
    return out


def _only(item, allowed, where):
    for key in item:
        if key not in allowed:
            raise LessonError(f"{where}.{key}: unknown field (allowed here: {', '.join(allowed)})",
                              field=f"{where}.{key}")


def _one_op(item, ops, where):
    found = [k for k in ops if k in item]
    if len(found) != 1:
        raise LessonError(f"{where}: needs exactly one operator ({', '.join(ops)}), got {', '.join(found) or 'none'}",
                          field=where)
    return found[0]


def _path(raw, where):
    if not isinstance(raw, str) or not raw or len(raw) > 200 or not all(_PATH.match(p) for p in raw.split(".")):
        raise LessonError(f"{where}: must be a dotted path of field names and list indexes (e.g. \"role\", "
                          f"\"txs.0.state\"), got {raw!r}", field=where)
    return raw


def _operand(op, value, where):
    if op in ("at_least", "at_most") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise LessonError(f"{where}: must be a number, got {value!r}", field=where)
    if op == "length" and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise LessonError(f"{where}: must be a whole number >= 0, got {value!r}", field=where)
    if op == "in" and not isinstance(value, list):
        raise LessonError(f"{where}: must be a list of values, got {value!r}", field=where)
    return value


# --- evaluation ----------------------------------------------------------------------------------
def evaluate(check, sim, views, metrics):
    """Return None if `check` holds in the simulation's current state, else a sentence saying what was found.

    `views` is node id -> view (JSON-shaped), `metrics` a callable giving the protocol's metrics (JSON-shaped)."""
    if "invariants" in check:
        if not sim.violations:
            return None
        first = sim.violations[0]
        return f"invariant {first['invariant']} was violated at t={first['t']}"
    if "violation" in check:
        name = check["violation"]
        if any(v["invariant"] == name for v in sim.violations):
            return None
        seen = sorted({v["invariant"] for v in sim.violations})
        return f"{name} has not been violated (violations so far: {', '.join(seen) or 'none'})"
    if "count" in check:
        n = sum(1 for nid in sim.node_ids if _meets(views[nid], check["count"]))
        op = next(k for k in COUNT_OPS if k in check)
        want = check[op]
        ok = n == want if op == "equals" else n >= want if op == "at_least" else n <= want
        return None if ok else f"{n} nodes meet {_describe_conditions(check['count'])}, expected {op} {want}"
    op = next(k for k in OPS if k in check)
    if "metric" in check:
        actual = lookup(metrics(), check["metric"])
        if actual is _MISSING:
            return f"metric {check['metric']} does not exist"
        return None if apply_op(op, actual, check[op]) else \
            f"metric {check['metric']} is {_show(actual)}, expected {op} {_show(check[op])}"
    if "node" in check:
        nid = check["node"]
        if nid not in sim.nodes:
            resolved = sim.protocol.resolve(nid)
            if resolved is None:
                return f"there is no {nid} right now"
            nid = resolved
        actual = lookup(views[nid], check["field"])
        if actual is _MISSING:
            return f"{nid} has no field {check['field']}"
        return None if apply_op(op, actual, check[op]) else \
            f"{nid}.{check['field']} is {_show(actual)}, expected {op} {_show(check[op])}"
    chosen = [nid for nid in sim.node_ids if _meets(views[nid], check["every"])]
    if not chosen:
        return f"no node meets {_describe_conditions(check['every'])}"
    for nid in chosen:
        actual = lookup(views[nid], check["field"])
        if actual is _MISSING or not apply_op(op, actual, check[op]):
            shown = "missing" if actual is _MISSING else _show(actual)
            return f"{nid}.{check['field']} is {shown}, expected {op} {_show(check[op])}"
    return None


def _meets(view, conditions):
    for cond in conditions:
        op = next(k for k in OPS if k in cond)
        actual = lookup(view, cond["field"])
        if actual is _MISSING or not apply_op(op, actual, cond[op]):
            return False
    return True


def lookup(value, path):
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and re.match(r"^-?[0-9]+$", part):
            i = int(part)
            value = value[i] if -len(value) <= i < len(value) else _MISSING
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def apply_op(op, actual, want):
    if op == "is":
        return actual == want
    if op == "is_not":
        return actual != want
    if op == "in":
        return actual in want
    if op in ("at_least", "at_most"):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return False
        return actual >= want if op == "at_least" else actual <= want
    if op in ("contains", "lacks"):
        try:
            has = isinstance(actual, (list, dict, str)) and want in actual
        except TypeError:  # e.g. a list looked up among an object's keys, a number in a string
            has = False
        return has if op == "contains" else not has
    return isinstance(actual, (list, dict, str)) and len(actual) == want  # length


def jsonish(value):
    """The value as JSON would carry it (tuples become lists), so `is` compares what an author wrote."""
    return json.loads(json.dumps(value))


def _describe_conditions(conditions):
    if not conditions:
        return "(every node)"
    return " and ".join(f"{c['field']} {next(k for k in OPS if k in c)} {_show(c[next(k for k in OPS if k in c)])}"
                        for c in conditions)


def _show(value):
    text = json.dumps(value)
    return text if len(text) <= 120 else text[:117] + "..."
