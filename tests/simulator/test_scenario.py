"""Scenario files: defaults, normalisation, and a clear error naming the field for every bad input.
Also: every example in docs/examples/ runs (whatever protocol it is for)."""

import copy
import json

import pytest

from simulator import ScenarioError, Simulation, normalize_scenario, run_scenario
from simulator.protocols import all_protocols
from simulator.scenario import MAX_INTERVENTIONS, MAX_SCENARIO_BYTES

from simhelpers import example_files, fuzz_scenario, load


def test_every_field_but_protocol_has_a_default():
    sc = normalize_scenario({"protocol": "raft"})
    assert sc == {
        "protocol": "raft", "seed": 1, "nodes": 5, "duration": 60_000,
        "params": {"election_timeout_min": 150, "election_timeout_max": 300, "heartbeat_interval": 50,
                   "max_entries_per_append": 16, "client_interval": 0, "pre_vote": False,
                   "check_quorum": False, "disk_ms": 0, "leader_noop": True},
        "mutations": [],
        "network": {"latency": [10, 30], "loss": 0.0, "duplicate": 0.0, "links": []},
        "interventions": [],
    }


def test_normalising_is_idempotent_and_fills_intervention_defaults():
    raw = {"protocol": "raft", "seed": 9, "nodes": 3, "mutations": ["no_truncate", "no_truncate"],
           "network": {"latency": 20, "links": [{"a": "n1", "b": "n2", "loss": 0.5}]},
           "layout": {"n2": [0, 1], "n1": [0.5, 0.25]}, "title": "t", "description": "d",
           "interventions": [{"at": 30, "action": "cut", "a": "n1", "b": "n3"},
                             {"at": 10, "action": "client_request"},
                             {"at": 30, "action": "heal_all"}]}
    sc = normalize_scenario(copy.deepcopy(raw))
    assert sc["network"]["latency"] == [20, 20]
    assert sc["network"]["links"] == [{"a": "n1", "b": "n2", "loss": 0.5, "oneway": False}]
    assert sc["mutations"] == ["no_truncate"]
    assert sc["layout"] == {"n1": [0.5, 0.25], "n2": [0.0, 1.0]}  # in node order
    assert sc["interventions"] == [  # sorted by time, stable for ties, defaults filled in
        {"at": 10, "action": "client_request", "node": "leader", "value": ""},
        {"at": 30, "action": "cut", "a": "n1", "b": "n3", "oneway": False},
        {"at": 30, "action": "heal_all"},
    ]
    assert normalize_scenario(copy.deepcopy(sc)) == sc
    assert normalize_scenario(json.dumps(raw)) == sc  # a JSON string is accepted too
    # the simulation keeps the normalised scenario, and what it records normalises to itself
    sim = Simulation(raw)
    assert sim.scenario == sc
    assert normalize_scenario(sim.recorded_scenario()) == sim.recorded_scenario()


RAFT = {"protocol": "raft"}
IV = {"at": 100, "action": "crash", "node": "n1"}

# (what is wrong, scenario, field named, words the message must contain)
BAD = [
    ("not an object", [1, 2], "scenario", "must be an object"),
    ("not JSON", "{nope", None, "not valid JSON"),
    ("too large", " " * (MAX_SCENARIO_BYTES + 1), None, "larger than"),
    ("no protocol", {"seed": 1}, "protocol", "required"),
    ("unknown protocol", {"protocol": "zab"}, "protocol", "known: raft"),
    ("protocol not a string", {"protocol": ["raft"]}, "protocol", "unknown protocol"),
    ("unknown top-level key", dict(RAFT, tempo=3), "tempo", "unknown field (allowed: protocol, seed"),
    ("seed negative", dict(RAFT, seed=-1), "seed", "between 0 and 9007199254740991"),
    ("seed a float", dict(RAFT, seed=1.5), "seed", "an integer"),
    ("seed a bool", dict(RAFT, seed=True), "seed", "an integer"),
    ("too few nodes", dict(RAFT, nodes=2), "nodes", "between 3 and 101"),
    ("too many nodes", dict(RAFT, nodes=102), "nodes", "between 3 and 101"),
    ("duration zero", dict(RAFT, duration=0), "duration", "between 1 and 86400000"),
    ("duration a string", dict(RAFT, duration="10s"), "duration", "an integer"),
    ("params not an object", dict(RAFT, params=[]), "params", "must be an object"),
    ("unknown param", dict(RAFT, params={"timeout": 5}), "params.timeout", "unknown field (allowed: election_timeout_min"),
    ("param out of range", dict(RAFT, params={"heartbeat_interval": 0}), "params.heartbeat_interval",
     "between 1 and 30000"),
    ("param above range", dict(RAFT, params={"election_timeout_max": 60_001}), "params.election_timeout_max",
     "between 10 and 60000"),
    ("param bad bool", dict(RAFT, params={"pre_vote": "yes"}), "params.pre_vote", "true or false"),
    ("timeouts inverted", dict(RAFT, params={"election_timeout_min": 400, "election_timeout_max": 300}),
     "params.election_timeout_max", "at least election_timeout_min"),
    ("heartbeat too slow", dict(RAFT, params={"heartbeat_interval": 150}), "params.heartbeat_interval",
     "below election_timeout_min"),
    ("mutations not a list", dict(RAFT, mutations="no_truncate"), "mutations", "a list"),
    ("unknown mutation", dict(RAFT, mutations=["no_votes"]), "mutations[0]",
     "known: vote_without_log_check, commit_old_terms, no_truncate"),
    ("mutation not a string", dict(RAFT, mutations=[["no_truncate"]]), "mutations[0]", "unknown mutation"),
    ("network not an object", dict(RAFT, network=5), "network", "must be an object"),
    ("unknown network key", dict(RAFT, network={"jitter": 3}), "network.jitter", "unknown field"),
    ("latency inverted", dict(RAFT, network={"latency": [30, 10]}), "network.latency", "min 30 is above max 10"),
    ("latency too long", dict(RAFT, network={"latency": [10, 70_000]}), "network.latency[1]",
     "between 0 and 60000"),
    ("latency negative", dict(RAFT, network={"latency": -1}), "network.latency[0]", "between 0 and 60000"),
    ("latency three numbers", dict(RAFT, network={"latency": [1, 2, 3]}), "network.latency", "[min, max]"),
    ("latency text", dict(RAFT, network={"latency": "fast"}), "network.latency", "[min, max]"),
    ("loss above 1", dict(RAFT, network={"loss": 1.5}), "network.loss", "between 0.0 and 1.0"),
    ("duplicate above 0.5", dict(RAFT, network={"duplicate": 0.9}), "network.duplicate", "between 0.0 and 0.5"),
    ("links not a list", dict(RAFT, network={"links": {}}), "network.links", "a list"),
    ("link unknown node", dict(RAFT, network={"links": [{"a": "n1", "b": "n6"}]}), "network.links[0].b",
     "unknown node"),
    ("link to itself", dict(RAFT, network={"links": [{"a": "n1", "b": "n1"}]}), "network.links[0].b",
     "same node"),
    ("link unknown key", dict(RAFT, network={"links": [{"a": "n1", "b": "n2", "delay": 3}]}),
     "network.links[0].delay", "unknown field"),
    ("link bad loss", dict(RAFT, network={"links": [{"a": "n1", "b": "n2", "loss": -0.1}]}),
     "network.links[0].loss", "between 0.0 and 1.0"),
    ("interventions not a list", dict(RAFT, interventions={}), "interventions", "a list"),
    ("too many interventions", dict(RAFT, interventions=[IV] * (MAX_INTERVENTIONS + 1)), "interventions",
     f"at most {MAX_INTERVENTIONS}"),
    ("intervention not an object", dict(RAFT, interventions=["crash"]), "interventions[0]", "an object"),
    ("intervention without at", dict(RAFT, interventions=[{"action": "crash", "node": "n1"}]),
     "interventions[0].at", "required"),
    ("intervention at negative", dict(RAFT, interventions=[dict(IV, at=-5)]), "interventions[0].at",
     "between 0 and"),
    ("unknown action", dict(RAFT, interventions=[IV, {"at": 5, "action": "nuke"}]), "interventions[1].action",
     "known: crash, restart"),
    ("action missing", dict(RAFT, interventions=[{"at": 5}]), "interventions[0].action", "required"),
    ("intervention unknown node", dict(RAFT, interventions=[dict(IV, node="n7")]), "interventions[0].node",
     "nodes are n1..n5 or a role (leader)"),
    ("intervention missing node", dict(RAFT, interventions=[{"at": 1, "action": "crash"}]),
     "interventions[0].node", "required for crash"),
    ("intervention unknown field", dict(RAFT, interventions=[dict(IV, force=True)]), "interventions[0].force",
     "unknown field for crash"),
    ("cut to itself", dict(RAFT, interventions=[{"at": 1, "action": "cut", "a": "n2", "b": "n2"}]),
     "interventions[0].b", "same node"),
    ("oneway not a bool", dict(RAFT, interventions=[{"at": 1, "action": "cut", "a": "n1", "b": "n2", "oneway": 1}]),
     "interventions[0].oneway", "true or false"),
    ("partition not lists", dict(RAFT, interventions=[{"at": 1, "action": "partition", "groups": ["n1"]}]),
     "interventions[0].groups", "list of node lists"),
    ("partition node twice", dict(RAFT, interventions=[{"at": 1, "action": "partition",
                                                        "groups": [["n1"], ["n1", "n2"]]}]),
     "interventions[0].groups", "in two groups"),
    ("partition unknown node", dict(RAFT, interventions=[{"at": 1, "action": "partition", "groups": [["n0"]]}]),
     "interventions[0].groups[0][0]", "unknown node"),
    ("set_link bad loss", dict(RAFT, interventions=[{"at": 1, "action": "set_link", "a": "n1", "b": "n2",
                                                     "loss": 2}]), "interventions[0].loss", "between 0.0 and 1.0"),
    ("set_link nothing to set", dict(RAFT, interventions=[{"at": 1, "action": "set_link", "a": "n1", "b": "n2"}]),
     "interventions[0].latency", "latency"),
    ("drift out of range", dict(RAFT, interventions=[{"at": 1, "action": "set_drift", "node": "n1",
                                                      "factor": 11}]), "interventions[0].factor",
     "between 0.1 and 10.0"),
    ("timeout without node", dict(RAFT, interventions=[{"at": 1, "action": "timeout"}]), "interventions[0].node",
     "required"),
    ("client value too long", dict(RAFT, interventions=[{"at": 1, "action": "client_request", "value": "v" * 41}]),
     "interventions[0].value", "at most 40 characters"),
    ("layout unknown node", dict(RAFT, layout={"n9": [0, 0]}), "layout.n9", "unknown node"),
    ("layout off the page", dict(RAFT, layout={"n1": [0, 2]}), "layout.n1", "between 0 and 1"),
    ("title too long", dict(RAFT, title="t" * 201), "title", "at most 200 characters"),
    ("description not text", dict(RAFT, description=5), "description", "a string"),
]


@pytest.mark.parametrize("what,raw,field,words", BAD, ids=[b[0] for b in BAD])
def test_every_bad_field_gets_a_message_naming_it(what, raw, field, words):
    with pytest.raises(ScenarioError) as err:
        Simulation(raw)
    e = err.value
    assert e.field == field
    assert words in e.message
    if field:
        assert e.message.startswith(field + ":")  # the message names the field first
    assert e.code in ("invalid_scenario", "too_large", "unknown_node", "unknown_action")
    assert e.as_dict()["message"] == e.message


def test_scenario_errors_change_nothing_in_the_input():
    raw = {"protocol": "raft", "interventions": [{"at": 1, "action": "crash", "node": "n1"}, {"at": 2}]}
    before = copy.deepcopy(raw)
    with pytest.raises(ScenarioError):
        Simulation(raw)
    assert raw == before


def test_protocol_descriptions_declare_bounds_defaults_and_actions():
    for proto in all_protocols():
        d = proto.describe()
        json.dumps(d)
        assert d["name"] and d["nodes"]["min"] <= d["nodes"]["default"] <= d["nodes"]["max"]
        for name, p in d["params"].items():
            if p["kind"] in ("int", "float"):
                assert p["min"] <= p["default"] <= p["max"], name
        normalize_scenario({"protocol": d["name"]})  # every default is valid


# --- examples -------------------------------------------------------------------------------------
EXAMPLES = example_files()


def test_there_are_raft_examples():
    names = [f.rsplit("/", 1)[1] for f in EXAMPLES]
    assert "raft-basic.json" in names
    assert {f"raft-mutation-{m}.json" for m in ("commit-old-terms", "vote-without-log-check", "no-truncate")} \
        <= set(names)


@pytest.mark.parametrize("path", EXAMPLES, ids=[f.rsplit("/", 1)[1] for f in EXAMPLES])
def test_every_example_runs(path):
    """Every docs/examples/*.json (any protocol) is a valid scenario and runs to its end."""
    sc = load(path)
    events, summary = run_scenario(sc)
    assert summary["t"] == normalize_scenario(sc)["duration"]
    assert events and len(summary["trace_hash"]) == 64
    json.dumps(summary)


RAFT_EXAMPLES = [f for f in EXAMPLES if f.rsplit("/", 1)[1].startswith("raft-")]


@pytest.mark.parametrize("path", RAFT_EXAMPLES, ids=[f.rsplit("/", 1)[1] for f in RAFT_EXAMPLES])
def test_raft_examples_do_what_they_say(path):
    """Every scripted intervention of a Raft example applies; an example that selects a teaching
    mutation shows a violation, and runs clean without it."""
    sc = load(path)
    events, summary = run_scenario(sc)
    assert not [e for e in events if e["type"] == "rejected"], "an example intervention was rejected"
    if sc.get("mutations"):
        assert summary["violations"], "a mutation example should show its violation"
        sc["mutations"] = []
        assert run_scenario(sc)[1]["violations"] == []
    else:
        assert summary["violations"] == []


def test_recorded_scenarios_replay_for_random_fault_schedules():
    for seed in range(5):
        sc = fuzz_scenario(seed, params={"client_interval": 50})
        sim = Simulation(sc)
        events = sim.run()
        assert normalize_scenario(sim.recorded_scenario()) == normalize_scenario(sc)
        assert run_scenario(sim.recorded_scenario())[1]["trace_hash"] == run_scenario(sc)[1]["trace_hash"]
        assert events


PRESETS = [(proto.name, p) for proto in all_protocols() for p in proto.presets()]


@pytest.mark.parametrize("name,preset", PRESETS, ids=[f"{n}:{p['slug']}" for n, p in PRESETS])
def test_every_protocol_preset_is_a_valid_scenario_that_runs(name, preset):
    """The gallery's ready-made scenarios (Protocol.presets) are valid and start (Raft's run clean to the end;
    other protocols test their own presets)."""
    assert {"slug", "title", "narrative", "scenario"} <= set(preset)
    sc = normalize_scenario(preset["scenario"])
    assert sc["protocol"] == name
    sim = Simulation(sc)
    events = sim.run(sc["duration"] if name == "raft" else min(sc["duration"], 300))
    if name == "raft":
        assert sim.violations == [] and not [e for e in events if e["type"] == "rejected"]
