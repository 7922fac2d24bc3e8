"""Lessons (docs/lessons.md): every lesson in docs/lessons/ plays true headless; malformed lessons are refused
naming the step and field; `matches_do` recognises the learner's action; a false `expect` fails the check."""

import copy
import json
import os
import subprocess
import sys

import pytest

from simulator import Simulation
from simulator.lessons import (LessonError, check_lesson, expect_failures, lesson_index, lesson_paths, load_lesson,
                               matches_do, parse_text, validate_lesson)

from simhelpers import ROOT

LESSONS = lesson_paths()
RAFT_ELECTION = os.path.join(ROOT, "docs", "lessons", "raft-leader-election.json")


def raw(slug):
    with open(os.path.join(ROOT, "docs", "lessons", f"{slug}.json")) as fh:
        return json.load(fh)


def reports(lesson):
    out = list(check_lesson(lesson))
    return out[:-1], out[-1]


# --- every lesson is true ---------------------------------------------------------------------
def test_there_are_lessons_for_every_protocol():
    assert len(LESSONS) >= 10
    protocols = {load_lesson(p)["protocol"] for p in LESSONS}
    assert protocols == {"raft", "paxos", "twophase", "gossip", "kafka"}


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_passes_its_check(path):
    lesson = load_lesson(path)
    steps, final = reports(lesson)
    failures = [f for s in steps for f in s.get("failures", ())]
    assert failures == [] and final["ok"], failures
    assert final["steps"] == len(lesson["steps"]) == len(steps)
    # what issue 13 asks of each lesson: predictions, something to break, and checks that pin the story
    assert any("ask" in s for s in lesson["steps"]), "no prediction"
    assert any("do" in s for s in lesson["steps"]), "nothing to do"
    assert sum(len(s.get("expect", ())) for s in lesson["steps"]) >= 5
    assert any("did" in s or "refused" in s for s in steps)


def test_check_is_deterministic():
    lesson = load_lesson(RAFT_ELECTION)
    assert list(check_lesson(lesson)) == list(check_lesson(lesson))


def test_index_lists_every_lesson_by_protocol():
    index = lesson_index()
    order = ["raft", "paxos", "twophase", "gossip", "kafka"]
    keys = [(order.index(e["protocol"]), e["slug"]) for e in index]
    assert keys == sorted(keys) and len(index) == len(LESSONS)
    entry = next(e for e in index if e["slug"] == "raft-leader-election")
    assert entry["protocol"] == "raft" and entry["steps"] == 7 and entry["asks"] >= 1 and entry["dos"] >= 1


# --- the CLI -----------------------------------------------------------------------------------
def cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "simulator", "lesson", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_check_prints_a_line_per_step_and_a_final_line():
    out = cli("check", RAFT_ELECTION)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["step"] * 7 + ["lesson"]
    assert all(line["lesson"] == "raft-leader-election" for line in lines)
    assert lines[3]["did"] == {"action": "crash", "node": "n3", "selector": {"node": "leader"}}
    assert lines[-1]["ok"] is True


def test_cli_exit_codes_for_a_false_expect_and_an_invalid_lesson(tmp_path):
    broken = raw("raft-leader-election")
    broken["steps"][2]["expect"][0]["is"] = "candidate"
    false_file = tmp_path / "false-expect.json"
    false_file.write_text(json.dumps(broken))
    bad = raw("raft-leader-election")
    bad["steps"][1]["ask"]["answer"] = 3
    bad_file = tmp_path / "bad-answer.json"
    bad_file.write_text(json.dumps(bad))

    out = cli("check", str(false_file))
    assert out.returncode == 1
    step = [json.loads(line) for line in out.stdout.splitlines()][2]
    assert step["ok"] is False
    assert step["failures"] == [{"field": "steps[2].expect[0]",
                                 "message": 'n3.role is "leader", expected is "candidate"'}]
    assert "steps[2].expect[0]" in out.stderr

    out = cli("check", str(bad_file), str(false_file))
    assert out.returncode == 2  # the worst of the two
    first = json.loads(out.stdout.splitlines()[0])
    assert first["type"] == "error" and first["code"] == "invalid_lesson" and first["field"] == "steps[1].ask.answer"

    assert cli("check").returncode == 2


# --- malformed lessons are refused, naming the step and the field -------------------------------
def refused(mutate, slug="raft-leader-election"):
    lesson = raw(slug)
    mutate(lesson)
    with pytest.raises(LessonError) as err:
        validate_lesson(lesson, slug)
    return err.value


@pytest.mark.parametrize("mutate, field, words", [
    (lambda l: l["steps"][1]["ask"].update(answer=3), "steps[1].ask.answer", "0..2"),
    (lambda l: l["steps"][1]["ask"].update(choices=["a", "b", "c", "d", "e"]), "steps[1].ask.choices", "2 to 4"),
    (lambda l: l["steps"][1]["ask"].update(choices=["a", "a"], answer=0), "steps[1].ask.choices", "same"),
    (lambda l: l["steps"][1]["ask"].pop("why"), "steps[1].ask.why", "required"),
    (lambda l: l["steps"][2].update(colour="red"), "steps[2].colour", "unknown field"),
    (lambda l: l["steps"][4].update(until=500), "steps[4].until", "back in time"),
    (lambda l: l["steps"][0]["highlight"].append("n9"), "steps[0].highlight[5]", "unknown node"),
    (lambda l: l["steps"][0]["highlight"].append({"link": ["n1", "n1"]}), "steps[0].highlight[5].link", "same"),
    (lambda l: l["steps"][3]["do"].update(action="explode"), "steps[3].do.action", "unknown action"),
    (lambda l: l["steps"][3]["do"].update(node="n42"), "steps[3].do.node", "unknown node"),
    (lambda l: l["steps"][3]["do"].pop("hint"), "steps[3].do.hint", "required"),
    (lambda l: l["steps"][3]["do"].update(match=["value"]), "steps[3].do.match[0]", "not a field"),
    (lambda l: l["steps"][3]["do"].update(at=5), "steps[3].do.at", "step's moment"),
    (lambda l: l["steps"][3]["do"].update(refused="Not A Code"), "steps[3].do.refused", "error code"),
    (lambda l: l["steps"][2]["expect"][0].update(equals=1), "steps[2].expect[0].equals", "unknown field"),
    (lambda l: l["steps"][2]["expect"][0].update(at_least=1), "steps[2].expect[0]", "exactly one operator"),
    (lambda l: l["steps"][2]["expect"].insert(0, {"violation": "liveness"}), "steps[2].expect[0].violation",
     "unknown invariant"),
    (lambda l: l["steps"][2]["expect"].insert(0, {"node": "n1", "field": "log..0", "is": 1}),
     "steps[2].expect[0].field", "dotted path"),
    (lambda l: l["steps"][2]["expect"].insert(0, {"count": {"field": "role", "is": "leader"}, "equals": -1}),
     "steps[2].expect[0].equals", ">= 0"),
    (lambda l: l["steps"][2]["expect"].insert(0, {"node": "n1", "field": "term", "at_least": "2"}),
     "steps[2].expect[0].at_least", "number"),
    (lambda l: l["steps"][2].update(text="a **strong start"), "steps[2].text", "never closed"),
    (lambda l: l["steps"][2].update(text="a <b>bold</b> claim"), "steps[2].text", "HTML"),
    (lambda l: l["steps"][2].update(text="**strong with *em* inside**"), "steps[2].text", "does not nest"),
    (lambda l: l["steps"][2].update(text=""), "steps[2].text", "non-empty"),
    (lambda l: l["scenario"]["params"].update(heartbeat_interval=0), "scenario.params.heartbeat_interval",
     "between"),
    (lambda l: l.update(protocol="paxos"), "scenario.protocol", "differs"),
    (lambda l: l.pop("summary"), "summary", "required"),
    (lambda l: l.update(steps=[]), "steps", "non-empty"),
])
def test_bad_lessons_are_refused_naming_the_step_and_field(mutate, field, words):
    err = refused(mutate)
    assert err.field == field
    assert err.message.startswith(field + ":")
    assert words in err.message
    assert err.code == "invalid_lesson"


def test_a_file_slug_must_be_a_slug(tmp_path):
    bad = tmp_path / "Raft Lesson.json"
    bad.write_text(json.dumps(raw("raft-leader-election")))
    with pytest.raises(LessonError) as err:
        load_lesson(bad)
    assert err.value.field == "slug"
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(LessonError, match="not valid JSON"):
        load_lesson(garbage)


# --- matching the learner's action --------------------------------------------------------------
def election_at_crash_step():
    lesson = load_lesson(RAFT_ELECTION)
    step = lesson["steps"][3]
    sim = Simulation(lesson["scenario"])
    sim.advance(step["until"])
    return step, sim


def test_matches_do_resolves_the_role_selector_at_this_moment():
    step, sim = election_at_crash_step()
    assert step["do"]["intervention"] == {"action": "crash", "node": "leader"}
    assert sim.protocol.resolve("leader") == "n3"
    assert matches_do(step, {"action": "crash", "node": "n3"}, sim).ok
    assert matches_do(step, {"action": "crash", "node": "leader"}, sim).ok
    other = matches_do(step, {"action": "crash", "node": "n2"}, sim)
    assert not other.ok
    assert other.message.startswith("That is not quite it")
    assert "crash leader (n3)" in other.message and "crash n2" in other.message
    assert not matches_do(step, {"action": "pause", "node": "n3"}, sim).ok
    assert not matches_do(step, {"action": "crash", "node": "n99"}, sim).ok  # invalid: refused, not an error
    # without a simulation, a selector only matches itself
    assert matches_do(step, {"action": "crash", "node": "leader"}).ok
    assert not matches_do(step, {"action": "crash", "node": "n3"}).ok


def test_matches_do_compares_partitions_and_links_as_sets():
    lesson = load_lesson(os.path.join(ROOT, "docs", "lessons", "raft-minority-leader.json"))
    step = lesson["steps"][1]
    sim = Simulation(lesson["scenario"])
    sim.advance(step["until"])
    # the page's "isolate" sends the other side of the cut; the leader is n4
    assert matches_do(step, {"action": "partition", "groups": [["n1", "n2", "n3", "n5"]]}, sim).ok
    assert matches_do(step, {"action": "partition", "groups": [["leader"]]}, sim).ok
    assert matches_do(step, {"action": "partition", "groups": [["n5", "n3", "n2", "n1"], ["n4"]]}, sim).ok
    assert not matches_do(step, {"action": "partition", "groups": [["n1"]]}, sim).ok

    cut_step = {"do": {"intervention": {"action": "cut", "a": "n1", "b": "leader", "oneway": False},
                       "match": ["a", "b"], "hint": "x"}}
    assert matches_do(cut_step, {"action": "cut", "a": "n4", "b": "n1"}, sim).ok
    assert not matches_do(cut_step, {"action": "cut", "a": "n4", "b": "n2"}, sim).ok


def test_matches_do_checks_only_the_listed_fields():
    lesson = load_lesson(os.path.join(ROOT, "docs", "lessons", "raft-log-replication.json"))
    step = lesson["steps"][1]
    assert step["do"]["match"] == ["node"]
    sim = Simulation(lesson["scenario"])
    sim.advance(step["until"])
    assert matches_do(step, {"action": "client_request", "node": "n3", "value": "anything"}, sim).ok
    strict = copy.deepcopy(step)
    strict["do"]["match"] = ["node", "value"]
    assert not matches_do(strict, {"action": "client_request", "node": "n3", "value": "anything"}, sim).ok
    assert matches_do(strict, {"action": "client_request", "node": "leader", "value": "x"}, sim).ok
    strict["do"]["intervention"]["value"] = "leader"  # a value is text, never a role to resolve
    assert not matches_do(strict, {"action": "client_request", "node": "n3", "value": "n3"}, sim).ok


# --- the checks are real ------------------------------------------------------------------------
def test_a_false_expect_fails_the_check():
    lesson = raw("raft-leader-election")
    lesson["steps"][4]["expect"].insert(0, {"node": "n4", "field": "term", "is": 3})
    lesson["steps"][6]["expect"][:0] = [{"count": {"field": "role", "is": "leader"}, "equals": 2},
                                        {"violation": "election_safety"}]
    steps, final = reports(validate_lesson(lesson, "raft-leader-election"))
    assert not final["ok"] and final["failed_steps"] == [4, 6]
    assert steps[4]["failures"] == [{"field": "steps[4].expect[0]", "message": "n4.term is 2, expected is 3"}]
    assert [f["field"] for f in steps[6]["failures"]] == ["steps[6].expect[0]", "steps[6].expect[1]"]
    assert "1 nodes meet role is \"leader\"" in steps[6]["failures"][0]["message"]
    assert "election_safety has not been violated" in steps[6]["failures"][1]["message"]


def test_invariants_ok_fails_once_a_mutation_breaks_one():
    lesson = raw("raft-vote-log-check")
    lesson["steps"][-1]["expect"].append({"invariants": "ok"})
    steps, final = reports(validate_lesson(lesson, "raft-vote-log-check"))
    assert not final["ok"]
    assert "leader_completeness was violated at t=330" in steps[-1]["failures"][0]["message"]


def test_metric_and_every_checks_fail_when_false():
    lesson = raw("twophase-coordinator-crash")
    lesson["steps"][5]["expect"] += [{"metric": "max_blocked_ms", "at_most": 1000},
                                     {"every": {"field": "role", "is": "participant"}, "field": "locks",
                                      "contains": "tx1"},
                                     {"every": {"field": "role", "is": "acceptor"}, "field": "x", "is": 1},
                                     {"metric": "no.such.metric", "is": 1}]
    steps, _ = reports(validate_lesson(lesson, "twophase-coordinator-crash"))
    messages = [f["message"] for f in steps[5]["failures"]]
    assert messages == ["metric max_blocked_ms is 1700, expected at_most 1000",
                        "p1.locks is [], expected contains \"tx1\"",
                        "no node meets role is \"acceptor\"",
                        "metric no.such.metric does not exist"]


def test_a_do_that_cannot_apply_fails_the_step_and_a_predicted_refusal_must_happen():
    lesson = raw("raft-leader-election")
    lesson["steps"][5]["do"]["node"] = "n1"  # restart a server that is up
    steps, final = reports(validate_lesson(lesson, "raft-leader-election"))
    assert not final["ok"]
    assert steps[5]["failures"][0]["field"] == "steps[5].do"
    assert "invalid_state" in steps[5]["failures"][0]["message"]

    lesson = raw("twophase-coordinator-crash")
    lesson["steps"][3]["do"]["refused"] = "no_target"  # refused, but with another code
    steps, _ = reports(validate_lesson(lesson, "twophase-coordinator-crash"))
    assert steps[3]["failures"][0]["field"] == "steps[3].do" and "(uncertain)" in steps[3]["failures"][0]["message"]

    lesson = raw("raft-leader-election")
    lesson["steps"][3]["do"]["refused"] = "uncertain"  # predicted refused, but the crash applies
    steps, _ = reports(validate_lesson(lesson, "raft-leader-election"))
    assert steps[3]["failures"][0]["field"] == "steps[3].do.refused"


def test_a_highlight_that_is_not_there_fails():
    lesson = raw("raft-leader-election")
    lesson["steps"][0]["highlight"].append({"message": "AppendEntries"})  # nothing sent at t = 0
    lesson["steps"][4]["highlight"].append("leader")  # there is a leader then: fine
    steps, final = reports(validate_lesson(lesson, "raft-leader-election"))
    assert final["failed_steps"] == [0]
    assert steps[0]["failures"][0]["field"] == "steps[0].highlight[5]"
    assert "no AppendEntries message was sent during this step or is in flight at t=0" \
        in steps[0]["failures"][0]["message"]


def test_a_message_highlight_needs_a_message_of_this_step():
    lesson = raw("raft-leader-election")
    lesson["steps"][4]["highlight"] = [{"message": "RequestVote"}]  # sent after the crash: this step
    lesson["steps"][5]["highlight"] = [{"message": "RequestVote"}]  # 1300..2000: none sent, none in flight
    steps, final = reports(validate_lesson(lesson, "raft-leader-election"))
    assert final["failed_steps"] == [5]
    assert steps[5]["failures"][0]["field"] == "steps[5].highlight[0]"


# --- the markup --------------------------------------------------------------------------------
def test_text_is_parsed_into_spans_for_the_player():
    spans = parse_text("A *small* **bold** `n1`, and 2 \\* 3.\n\nNext\nline.", "text", 3000)
    assert spans == [[["text", "A "], ["em", "small"], ["text", " "], ["strong", "bold"], ["text", " "],
                      ["code", "n1"], ["text", ", and 2 * 3."]],
                     [["text", "Next line."]]]
    assert parse_text("`a*b`", "t", 100) == [[["code", "a*b"]]]
    assert parse_text("a < b and b > c", "t", 100) == [[["text", "a < b and b > c"]]]
    with pytest.raises(LessonError, match="at most 10 characters"):
        parse_text("x" * 11, "t", 10)


def test_expect_failures_reads_a_live_run_and_steps_know_their_moment():
    lesson = load_lesson(RAFT_ELECTION)
    assert [s["moment"] for s in lesson["steps"]] == [0, 151, 250, 1000, 1300, 2000, 2600]
    step = lesson["steps"][2]
    sim = Simulation(lesson["scenario"])
    sim.advance(100)  # too early: nobody leads yet
    early = expect_failures(step, sim)
    assert [f["field"] for f in early][:1] == ["step.expect[0]"] and "n3.role is \"follower\"" in early[0]["message"]
    sim.advance(step["until"])
    assert expect_failures(step, sim) == []
