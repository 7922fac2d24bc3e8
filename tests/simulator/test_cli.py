"""The headless CLI: `python -m simulator run SCENARIO.json` and `python -m simulator protocols`."""

import json
import os
import subprocess
import sys

import pytest

from simulator import run_scenario
from simulator.trace import canonical

from simhelpers import ROOT

EXAMPLE = os.path.join(ROOT, "docs", "examples", "raft-basic.json")


def cli(*args, stdin=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "simulator", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def lines(out):
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_run_prints_the_trace_then_a_summary():
    out = cli("run", EXAMPLE)
    assert out.returncode == 0, out.stderr
    events = lines(out)
    summary = events.pop()
    assert summary["type"] == "summary"
    assert {"trace_hash", "violations", "final", "metrics", "events", "t", "scenario"} <= set(summary)
    assert summary["violations"] == [] and summary["events"] == len(events)
    assert set(summary["final"]) == {"n1", "n2", "n3", "n4", "n5"}
    assert {"role", "term", "log", "commit", "status"} <= set(summary["final"]["n1"])
    m = summary["metrics"]
    assert {"elections", "leaderless_ms", "entries_committed", "commit_latency_ms"} <= set(m)
    assert m["elections"] >= 2 and m["entries_committed"] >= 2  # the leader crashes: a second election
    # the lines are canonical JSON, and the hash is the library's hash of them
    for raw, ev in zip(out.stdout.splitlines(), events):
        assert raw == canonical(ev)
    with open(EXAMPLE) as fh:
        _, lib = run_scenario(json.load(fh))
    assert lib["trace_hash"] == summary["trace_hash"]
    # the recorded scenario replays to the same trace
    replay = cli("run", "-", "--quiet", stdin=json.dumps(summary["scenario"]))
    assert lines(replay)[-1]["trace_hash"] == summary["trace_hash"]


def test_seed_and_until_override_the_file():
    base = lines(cli("run", EXAMPLE, "--quiet"))[-1]
    other = lines(cli("run", EXAMPLE, "--quiet", "--seed", "99"))[-1]
    short = lines(cli("run", EXAMPLE, "--quiet", "--until", "1200"))[-1]
    assert other["trace_hash"] != base["trace_hash"] and other["scenario"]["seed"] == 99
    assert short["t"] == 1200 and short["scenario"]["duration"] == 1200
    quiet = cli("run", EXAMPLE, "--quiet")
    assert len(quiet.stdout.splitlines()) == 1


def test_violations_are_listed_in_the_summary():
    path = os.path.join(ROOT, "docs", "examples", "raft-mutation-no-truncate.json")
    summary = lines(cli("run", path, "--quiet"))[-1]
    kinds = {v["invariant"] for v in summary["violations"]}
    assert "log_matching" in kinds and all(v["type"] == "violation" for v in summary["violations"])


@pytest.mark.parametrize("content,code,field", [
    (None, "io_error", None),
    ("{not json", "invalid_scenario", None),
    ('{"protocol": "raft", "nodes": 1}', "invalid_scenario", "nodes"),
    ('{"protocol": "raft", "interventions": [{"at": 5, "action": "crash", "node": "n42"}]}', "unknown_node",
     "interventions[0].node"),
    ('["raft"]', "invalid_scenario", "scenario"),
], ids=["missing file", "bad json", "bad field", "bad intervention", "not an object"])
def test_bad_input_is_an_error_line_and_exit_code_2(tmp_path, content, code, field):
    path = tmp_path / "sc.json"
    if content is not None:
        path.write_text(content)
    out = cli("run", str(path))
    assert out.returncode == 2
    err = lines(out)
    assert len(err) == 1 and err[0]["type"] == "error" and err[0]["code"] == code
    assert err[0].get("field") == field
    assert err[0]["message"] in out.stderr


def test_bad_until_is_refused():
    out = cli("run", EXAMPLE, "--until", "0")
    assert out.returncode == 2 and lines(out)[0]["message"].startswith("--until: must be an integer between 1 and")


def test_protocols_lists_parameters_bounds_actions_and_the_vocabulary():
    out = cli("protocols")
    assert out.returncode == 0
    data = json.loads(out.stdout)
    raft = next(p for p in data["protocols"] if p["name"] == "raft")
    assert raft["nodes"] == {"kind": "int", "default": 5, "doc": "number of servers", "min": 3, "max": 101}
    assert raft["params"]["election_timeout_min"]["default"] == 150
    assert {"client_request", "timeout"} <= set(raft["actions"])
    assert set(raft["mutations"]) == {"vote_without_log_check", "commit_old_terms", "no_truncate"}
    assert set(raft["invariants"]) == {"election_safety", "leader_append_only", "log_matching",
                                       "leader_completeness", "state_machine_safety"}
    assert raft["selectors"] == {"leader": "the current leader (highest term)"}
    assert set(data["interventions"]) == {"crash", "restart", "pause", "resume", "cut", "heal", "partition",
                                          "heal_partition", "heal_all", "set_link", "set_drift", "drop_message",
                                          "delay_message"}
    assert data["interventions"]["set_drift"]["fields"]["factor"]["min"] == 0.1
