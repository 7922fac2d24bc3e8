"""The counterexample hunt (simulator/hunt, docs/hunt.md): it finds every teaching mutation from the mutation's
plain scenario (no hand-made interventions), shrinks it to a handful of interventions that still break the same
invariant, finds nothing in correct protocols, is deterministic in-process and on Dask workers, and its result
replays through `python -m simulator run`."""

import copy
import json
import os
import time

import pytest

from simulator import run_scenario
from simulator.__main__ import main
from simulator.compute import open_client
from simulator.hunt import CHUNK, DEFAULT_BUDGET, hunt, iter_hunt
from simulator.hunt.cases import CORRECT_STARTS, MUTATION_STARTS

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "examples")
HANDFUL = 5

# mutation -> (hunt seed, invariants that may catch it); the starting scenarios are MUTATION_STARTS
MUTATIONS = {
    "raft/vote_without_log_check": (1, {"leader_completeness", "state_machine_safety"}),
    "raft/no_truncate": (1, {"log_matching", "state_machine_safety"}),
    "raft/commit_old_terms": (1, {"leader_completeness", "state_machine_safety"}),
    "paxos/forget_promise_on_restart": (1, {"one_value_per_slot", "promise_respected", "learners_agree"}),
    "paxos/ignore_accepted_values": (1, {"one_value_per_slot", "learners_agree"}),
    "twophase/commit_on_timeout": (1, {"atomicity", "commit_needs_all_yes"}),
    "twophase/no_force_write": (1, {"atomicity"}),
    "twophase/no_force_prepare": (1, {"atomicity"}),
    "gossip/no_version_check": (1, {"versions_monotonic"}),
    "gossip/forget_on_crash": (1, {"informed_never_reverts"}),
    "gossip/no_refutation": (1, {"refute_before_death"}),
    "kafka/no_revoke_before_rejoin": (1, {"exclusive_ownership"}),
    "kafka/accept_stale_commits": (2, {"fenced_commits"}),
    "kafka/no_wait_for_release": (1, {"exclusive_ownership"}),
}


def violations_of(scenario):
    return {v["invariant"] for v in run_scenario(copy.deepcopy(scenario))[1]["violations"]}


def test_every_teaching_mutation_of_every_protocol_is_listed():
    """Every mutation has a starting scenario and a pinned hunt seed in the test below."""
    from simulator.protocols import all_protocols

    every = {f"{p.name}/{m}" for p in all_protocols() for m in p.mutations}
    assert set(MUTATION_STARTS) == every == set(MUTATIONS)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_hunt_finds_the_mutation_and_shrinks_it(name):
    """Found within the default budget, shrunk to at most a handful of interventions; the shrunk scenario
    breaks the same invariant when run, and the same schedule without the mutation breaks nothing."""
    seed, expected = MUTATIONS[name]
    start = MUTATION_STARTS[name]
    assert not start.get("interventions")
    result = hunt(start, budget=DEFAULT_BUDGET, seed=seed, workers=1)
    assert result["found"], name
    assert result["invariant"] in expected
    assert result["tried"] <= DEFAULT_BUDGET
    found = result["scenario"]
    assert len(found["interventions"]) <= HANDFUL, found["interventions"]
    assert result["invariant"] in violations_of(found)
    assert violations_of(dict(found, mutations=[])) == set()


def test_figure_8_is_found_with_the_leader_noop_on_and_shrunk_to_three_cuts():
    """raft/commit_old_terms from its plain scenario (the defaults, leader_noop on, one entry per append), seed
    1: each of three leaders is cut off alone, the first two before their no-op reaches anyone, the third as
    soon as it has committed the first leader's no-op by counting replicas; a server holding the second
    leader's no-op (a later term) then wins. The same three cuts are harmless with 16 entries per append (the
    old entry and the new no-op travel together) and without the mutation."""
    start = MUTATION_STARTS["raft/commit_old_terms"]
    assert "leader_noop" not in start["params"]
    result = hunt(start, seed=1, workers=1)
    found = result["scenario"]
    assert (result["found"], result["invariant"], found["nodes"]) == (True, "leader_completeness", 3)
    assert [iv["action"] for iv in found["interventions"]] == ["partition"] * 3
    assert all(len(iv["groups"]) == 1 and len(iv["groups"][0]) == 1 for iv in found["interventions"])
    assert violations_of(found) == {"leader_completeness"}
    batched = dict(found, params=dict(found["params"], max_entries_per_append=16))
    assert violations_of(batched) == set()


def test_a_reactive_trial_replays_as_the_ordinary_schedule_it_reports():
    """A reactive trial picks its faults from the run's state as it goes; its chosen interventions added to the
    scenario, run as an ordinary scenario, break the same invariant at the same moment, for every failing
    trial among the first 64 (27 are reactive, 2 of those fail on this start)."""
    from simulator.hunt import apply_changes, first_violation, make_plan, trial_changes, vocabulary_for
    from simulator.hunt.reactive import run_reactive
    from simulator.protocols import get_protocol

    plan = make_plan(MUTATION_STARTS["raft/commit_old_terms"], seed=1)
    vocab = vocabulary_for(get_protocol("raft"), plan["ids"], plan["normal"]["params"])
    failing = 0
    for index in range(64):
        changes = trial_changes(plan, index)
        if "react" not in changes:
            continue
        found, chosen, _ = run_reactive(apply_changes(plan["base"], changes, plan["duration"]), changes["react"],
                                        vocab)
        static = dict(changes, interventions=sorted(changes["interventions"] + chosen, key=lambda iv: iv["at"]))
        replayed = first_violation(apply_changes(plan["base"], static, plan["duration"]))
        assert replayed == found, index
        failing += found is not None
    assert failing >= 1


@pytest.mark.parametrize("name", sorted(CORRECT_STARTS))
def test_hunt_on_a_correct_protocol_finds_nothing_and_says_how_much_it_tried(name):
    result = hunt(CORRECT_STARTS[name], budget=24, seed=7, workers=1)
    assert result == {"type": "hunt", "found": False, "invariant": None, "tried": 24, "budget": 24, "seed": 7,
                      "scenario": None}


def test_same_seed_same_result_and_a_different_seed_another_search():
    start = MUTATION_STARTS["paxos/forget_promise_on_restart"]
    first = hunt(start, budget=200, seed=1, workers=1)
    assert first["found"]
    assert hunt(start, budget=200, seed=1, workers=1) == first
    other = hunt(start, budget=200, seed=2, workers=1)
    assert (other["tried"], other["scenario"]) != (first["tried"], first["scenario"])


def test_the_hunt_on_dask_worker_processes_gives_the_in_process_result_and_can_be_cancelled():
    """A LocalCluster of 2 worker processes (a real scheduler), started on demand as `--workers 2` does: the
    same progress, first failure and shrunk scenario as in-process, although the chunks after the failing one
    ran, or were cancelled, in any order. Closing a hunt early leaves no task behind on the cluster."""
    start = MUTATION_STARTS["twophase/no_force_write"]
    local = list(iter_hunt(start, budget=400, seed=2, workers=1))
    assert local[-1]["found"] and local[-1]["tried"] > 2 * CHUNK  # the failure is a few chunks in
    with open_client(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        assert list(iter_hunt(start, budget=400, seed=2, client=client)) == local
        running = iter_hunt(CORRECT_STARTS["twophase"], budget=DEFAULT_BUDGET, seed=1, client=client)
        assert next(running)["tried"] == CHUNK
        running.close()
        deadline = time.monotonic() + 30
        while client.run_on_scheduler(_task_count) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.run_on_scheduler(_task_count) == 0


def _task_count(dask_scheduler):
    return len(dask_scheduler.tasks)


def test_a_starting_scenario_that_already_breaks_an_invariant_is_reported_before_any_trial():
    """The designed example's own interventions are kept as they are; only the run is cut short."""
    with open(os.path.join(EXAMPLES, "raft-mutation-no-truncate.json")) as fh:
        designed = json.load(fh)
    result = hunt(designed, budget=16, workers=1)
    assert (result["found"], result["tried"], result["trial"]) == (True, 0, None)
    assert result["scenario"]["interventions"] == designed["interventions"]
    assert result["scenario"]["duration"] == result["violation"]["t"] + 1 < designed["duration"]
    assert result["invariant"] in violations_of(result["scenario"])


def test_cli_hunt_prints_progress_then_a_scenario_that_run_replays_to_the_violation(tmp_path, capsys):
    start = tmp_path / "start.json"
    start.write_text(json.dumps(MUTATION_STARTS["gossip/forget_on_crash"]))
    assert main(["hunt", str(start), "--budget", "100", "--seed", "1", "--workers", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["type"] == "progress" and {"tried", "found"} <= set(lines[0])
    assert any(line["type"] == "shrink" for line in lines)
    final = lines[-1]
    assert final["type"] == "hunt" and final["found"] and final["invariant"] == "informed_never_reverts"
    found = tmp_path / "found.json"
    found.write_text(json.dumps(final["scenario"]))
    assert main(["run", str(found), "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert final["invariant"] in {v["invariant"] for v in summary["violations"]}
    assert summary["violations"][0]["t"] == final["violation"]["t"]


@pytest.mark.parametrize("args, code, field", [
    (["--budget", "0"], "invalid_hunt", "budget"),
    (["--workers", "0"], "invalid_hunt", "workers"),
    (["--duration", "0"], "invalid_scenario", "duration"),
])
def test_cli_hunt_refuses_bad_settings_with_a_typed_error(tmp_path, capsys, args, code, field):
    start = tmp_path / "start.json"
    start.write_text(json.dumps({"protocol": "raft"}))
    assert main(["hunt", str(start), *args]) == 2
    err = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (err["type"], err["code"], err["field"]) == ("error", code, field)


def test_cli_hunt_refuses_a_bad_scenario(tmp_path, capsys):
    start = tmp_path / "start.json"
    start.write_text(json.dumps({"protocol": "raft", "nodes": 1}))
    assert main(["hunt", str(start), "--workers", "1"]) == 2
    err = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (err["code"], err["field"]) == ("invalid_scenario", "nodes")
