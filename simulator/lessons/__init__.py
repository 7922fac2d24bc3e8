"""Lessons (docs/lessons.md): guided, breakable stories on the real simulation.

Library API for the CLI and the web player:
- `load_lesson(path)` / `validate_lesson(raw, slug)`: a normalised lesson, or LessonError naming the field;
- `lesson_paths(directory=None)`: the lesson files (docs/lessons/*.json by default), sorted;
- `matches_do(step, intervention, sim)`: is the learner's action the step's `do`? DoMatch(ok, message);
- `check_lesson(lesson)`: play it headless, yielding a report per step and a final one;
- `expect_failures(step, sim)`: the step's checks that do not hold in `sim` now.
"""

from pathlib import Path

from .errors import LessonError
from .format import load_lesson, validate_lesson
from .play import DoMatch, check_lesson, describe, expect_failures, matches_do
from .text import parse_text

LESSONS_DIR = Path(__file__).resolve().parents[2] / "docs" / "lessons"


PROTOCOL_ORDER = ("raft", "paxos", "twophase", "gossip", "kafka")


def lesson_paths(directory=None):
    return sorted(Path(directory or LESSONS_DIR).glob("*.json"))


def lesson_index(directory=None):
    """What a lesson list shows, by protocol (in PROTOCOL_ORDER) then slug: slug, title, summary, protocol and
    how many steps, predictions and actions each has. Raises LessonError for an invalid lesson file."""
    entries = []
    for path in lesson_paths(directory):
        lesson = load_lesson(path)
        steps = lesson["steps"]
        entries.append({"slug": lesson["slug"], "title": lesson["title"], "summary": lesson["summary"],
                        "protocol": lesson["protocol"], "steps": len(steps),
                        "asks": sum(1 for s in steps if "ask" in s), "dos": sum(1 for s in steps if "do" in s)})
    order = {name: i for i, name in enumerate(PROTOCOL_ORDER)}
    return sorted(entries, key=lambda e: (order.get(e["protocol"], len(order)), e["slug"]))


__all__ = ["LESSONS_DIR", "DoMatch", "LessonError", "check_lesson", "describe", "expect_failures", "lesson_index",
           "lesson_paths", "load_lesson", "matches_do", "parse_text", "validate_lesson"]
