"""Canonical JSON lines and the trace hash that names a run."""

import hashlib
import json
import sys


def canonical(ev):
    return json.dumps(ev, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def print_error(message, code, field=None):
    """The command line's typed error: the message for people on stderr, an `error` line on stdout; exit code 2."""
    err = {"type": "error", "code": code, "message": message}
    if field:
        err["field"] = field
    sys.stderr.write(message + "\n")
    sys.stdout.write(canonical(err) + "\n")
    return 2


class TraceHash:
    """sha256 over the canonical JSON lines of a trace, fed as events arrive."""

    def __init__(self):
        self._h = hashlib.sha256()

    def update(self, events):
        h = self._h
        for ev in events:
            h.update(canonical(ev).encode())
            h.update(b"\n")

    def hexdigest(self):
        return self._h.hexdigest()


def trace_hash(events):
    h = TraceHash()
    h.update(events)
    return h.hexdigest()
