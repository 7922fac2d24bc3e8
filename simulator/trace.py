"""Canonical JSON lines and the trace hash that names a run."""

import hashlib
import json


def canonical(ev):
    return json.dumps(ev, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
