"""Lessons (docs/lessons.md): guided, breakable stories on the real simulation.

Library API for the CLI and the web player:
- `load_lesson(path)` / `validate_lesson(raw, slug)`: a normalised lesson, or LessonError naming the field;
- `lesson_paths(directory=None)`: the lesson files (docs/lessons/*.json by default), sorted;
- `matches_do(step, intervention, sim)`: is the learner's action the step's `do`? DoMatch(ok, message);
- `check_lesson(lesson)`: play it headless, yielding a report per step and a final one.
"""

from pathlib import Path

from .errors import LessonError
from .format import load_lesson, validate_lesson
from .play import DoMatch, check_lesson, describe, matches_do
from .text import parse_text

LESSONS_DIR = Path(__file__).resolve().parents[2] / "docs" / "lessons"


def lesson_paths(directory=None):
    return sorted(Path(directory or LESSONS_DIR).glob("*.json"))


__all__ = ["LESSONS_DIR", "DoMatch", "LessonError", "check_lesson", "describe", "lesson_paths", "load_lesson",
           "matches_do", "parse_text", "validate_lesson"]
