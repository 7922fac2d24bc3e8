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


# A *happening* is one node handling one delivery, timer, intervention or crash point firing (2PC's `fault`),
# with everything it caused (docs/trace.md). Scheduled client work has no event of its own, so a new millisecond
# starts a new happening too. This is the one definition: the session's "Happening ▶" step, the causal-order
# test and the page's "◀ Happening" (static/js/page/happening.js, held to this by tests/web/test_happening_js.py).
HAPPENING_STARTS = ("deliver", "timer", "intervention", "fault")


def starts_happening(event, previous):
    """Whether `event` begins a new happening, `previous` being the event just before it (None: none)."""
    return previous is None or event["type"] in HAPPENING_STARTS or event["t"] != previous["t"]


def split_happenings(events):
    """`events` cut into happenings (lists of events, in order)."""
    out = []
    previous = None
    for ev in events:
        if starts_happening(ev, previous):
            out.append([])
        out[-1].append(ev)
        previous = ev
    return out
