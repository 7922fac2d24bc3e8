"""Errors of time travel: each becomes an `error` message with its code; the session goes on unchanged."""

from simulator.errors import PlaygroundError


class TravelError(PlaygroundError):
    """A seek or step back that cannot be done (bad_t, at_start...)."""

    code = "bad_travel"

    def __init__(self, code, message, field=None):
        super().__init__(message, code=code, field=field)


class TooCostly(TravelError):
    """The request would cost (or did cost) more than its budget: refused, or stopped with nothing changed."""

    def __init__(self, message, field=None):
        super().__init__("too_costly", message, field)


class Cancelled(TravelError):
    """The request was cancelled (a newer request from the same client, or the client left)."""

    def __init__(self, message="cancelled: a newer request from this client replaced it", field=None):
        super().__init__("cancelled", message, field)
