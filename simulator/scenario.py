"""Scenario files: validation with messages that name the field, and defaults for the rest.

A scenario is a JSON-compatible dict; every field but `protocol` has a default.
`normalize_scenario` returns the full, resolved scenario (what `started` sends
and what a saved link stores), or raises ScenarioError.
"""

import json

from .errors import ScenarioError
from .interventions import validate_intervention
from .params import LOSS, Param, check_latency
from .protocols import get_protocol

MAX_INTERVENTIONS = 10_000
MAX_SCENARIO_BYTES = 256 * 1024

SEED = Param(1, "seed of every random choice in the run", 0, 2**53 - 1)
DURATION = Param(60_000, "simulated milliseconds to run", 1, 24 * 3600 * 1000)
DUPLICATE = Param(0.0, "probability a message is delivered twice", 0.0, 0.5, kind="float")
TITLE = Param("", "title", kind="str", max_length=200)
DESCRIPTION = Param("", "description", kind="str", max_length=4000)
# how fast the sharer was watching (simulated ms per wall second): the page opens a shared run at it; the
# simulation never reads it (like title and layout, it changes no trace)
SPEED = Param(100.0, "simulated ms per wall second a page plays this at", 1.0, 10_000.0, kind="float")

TOP_FIELDS = ("protocol", "seed", "nodes", "params", "network", "interventions", "duration", "mutations",
              "layout", "title", "description", "speed")
NETWORK_FIELDS = ("latency", "loss", "duplicate", "links")
LINK_FIELDS = ("a", "b", "latency", "loss", "oneway")
DEFAULT_LATENCY = [10, 30]


def _unknown(d, allowed, where):
    for key in d:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            raise ScenarioError(
                f"{prefix}{key}: unknown field (allowed: {', '.join(allowed)})", field=f"{prefix}{key}"
            )


def _obj(value, where):
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: must be an object", field=where)
    return value


def normalize_scenario(raw):
    if isinstance(raw, (str, bytes)):
        if len(raw) > MAX_SCENARIO_BYTES:
            raise ScenarioError(f"scenario: larger than {MAX_SCENARIO_BYTES} bytes", code="too_large")
        try:
            raw = json.loads(raw)
        except ValueError as err:
            raise ScenarioError(f"scenario: not valid JSON ({err})") from None
    _obj(raw, "scenario")
    if "protocol" not in raw:
        raise ScenarioError("protocol: required (one of the names `python -m simulator protocols` lists)",
                            field="protocol")
    _unknown(raw, TOP_FIELDS, "")
    proto = get_protocol(raw["protocol"])
    sc = {"protocol": proto.name}
    sc["seed"] = SEED.check(raw.get("seed", SEED.default), "seed")
    sc["nodes"] = proto.nodes.check(raw.get("nodes", proto.nodes.default), "nodes")
    sc["duration"] = DURATION.check(raw.get("duration", DURATION.default), "duration")

    params = _obj(raw.get("params", {}), "params")
    _unknown(params, tuple(proto.params), "params")
    sc["params"] = {k: p.check(params.get(k, p.default), f"params.{k}") for k, p in proto.params.items()}
    proto.validate_params(sc["params"])

    mutations = raw.get("mutations", [])
    if not isinstance(mutations, list):
        raise ScenarioError("mutations: must be a list of names", field="mutations")
    for i, m in enumerate(mutations):
        if not isinstance(m, str) or m not in proto.mutations:
            known = ", ".join(proto.mutations) or "none"
            raise ScenarioError(f"mutations[{i}]: unknown mutation {m!r} (known: {known})", field=f"mutations[{i}]")
    sc["mutations"] = sorted(dict.fromkeys(mutations))

    ids = proto.scenario_node_ids(sc["nodes"], sc["params"])
    sc["network"] = _network(_obj(raw.get("network", {}), "network"), ids)

    ivs = raw.get("interventions", [])
    if not isinstance(ivs, list):
        raise ScenarioError("interventions: must be a list", field="interventions")
    if len(ivs) > MAX_INTERVENTIONS:
        raise ScenarioError(f"interventions: at most {MAX_INTERVENTIONS}", field="interventions", code="too_large")
    out = []
    for i, iv in enumerate(ivs):
        where = f"interventions[{i}]"
        iv = _obj(iv, where)
        if "at" not in iv:
            raise ScenarioError(f"{where}.at: required (simulated ms)", field=f"{where}.at")
        at = Param(0, "", 0, DURATION.max).check(iv["at"], f"{where}.at")
        checked = validate_intervention(proto, ids, {k: v for k, v in iv.items() if k != "at"}, where,
                                        error=ScenarioError)
        out.append({"at": at, **checked})
    out.sort(key=lambda iv: iv["at"])  # stable: same-time interventions keep their order
    sc["interventions"] = out

    layout = raw.get("layout")
    if layout is not None:
        sc["layout"] = _layout(_obj(layout, "layout"), ids)
    for key, p in (("title", TITLE), ("description", DESCRIPTION), ("speed", SPEED)):
        if key in raw:
            sc[key] = p.check(raw[key], key)
    return sc


def _network(net, ids):
    _unknown(net, NETWORK_FIELDS, "network")
    out = {
        "latency": check_latency(net.get("latency", DEFAULT_LATENCY), "network.latency"),
        "loss": LOSS.check(net.get("loss", 0.0), "network.loss"),
        "duplicate": DUPLICATE.check(net.get("duplicate", 0.0), "network.duplicate"),
        "links": [],
    }
    links = net.get("links", [])
    if not isinstance(links, list):
        raise ScenarioError("network.links: must be a list", field="network.links")
    for i, link in enumerate(links):
        where = f"network.links[{i}]"
        _unknown(_obj(link, where), LINK_FIELDS, where)
        checked = {}
        for end in ("a", "b"):
            if link.get(end) not in ids:
                raise ScenarioError(f"{where}.{end}: unknown node {link.get(end)!r}", field=f"{where}.{end}")
            checked[end] = link[end]
        if checked["a"] == checked["b"]:
            raise ScenarioError(f"{where}.b: a and b are the same node ({checked['a']})", field=f"{where}.b")
        if "latency" in link:
            checked["latency"] = check_latency(link["latency"], f"{where}.latency")
        if "loss" in link:
            checked["loss"] = LOSS.check(link["loss"], f"{where}.loss")
        checked["oneway"] = Param(False, "", kind="bool").check(link.get("oneway", False), f"{where}.oneway")
        out["links"].append(checked)
    return out


def _layout(layout, ids):
    out = {}
    for nid, pos in layout.items():
        where = f"layout.{nid}"
        if nid not in ids:
            raise ScenarioError(f"{where}: unknown node", field=where)
        if (not isinstance(pos, list) or len(pos) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x <= 1 for x in pos)):
            raise ScenarioError(f"{where}: must be [x, y] with both between 0 and 1", field=where)
        out[nid] = [float(pos[0]), float(pos[1])]
    return {k: out[k] for k in ids if k in out}
