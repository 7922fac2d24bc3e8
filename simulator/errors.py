"""Typed errors: every bad input gets a machine-readable code and a human message.

The server turns these into WebSocket/HTTP errors; the CLI prints them. Nothing
here is raised for a protocol's own misbehaviour: that is a `violation` event.
"""


class PlaygroundError(Exception):
    """Base of every error a user can cause. `code` is stable, `message` is for people."""

    code = "error"

    def __init__(self, message, *, code=None, field=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    def as_dict(self):
        out = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out


class ScenarioError(PlaygroundError):
    """A scenario (file, share link, WebSocket `start`) is malformed or out of range."""

    code = "invalid_scenario"


class InterventionError(PlaygroundError):
    """An intervention cannot apply now (unknown node, crashed already, no leader...).

    Raised before anything changes, so the simulation is left exactly as it was.
    """

    code = "invalid_intervention"
