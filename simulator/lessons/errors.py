"""The typed error of a malformed lesson: its field names the step and the key, e.g. `steps[3].ask.answer`."""

from ..errors import PlaygroundError


class LessonError(PlaygroundError):
    code = "invalid_lesson"
