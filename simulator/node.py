"""The node a protocol subclasses: handlers for messages and timers, nothing else.

A node is event-driven rather than a long-lived SimPy generator: the engine calls
`on_start`, `on_message` and `on_timer`, and owns the process-like lifecycle
(crash, restart, pause). That keeps a crash exact (timers dropped, volatile state
re-initialised from `init_volatile`) and delivery cheap (a timeout callback per
message, not a process; see shared/notes/engineering.md).

View state: the fields listed in `VIEW` are what the page draws. A handler that
changes one calls `self.mark(field)`; the engine then emits one `state` event per
handler with every marked field's new value. Lists that only grow or get cut
(a Raft log) use `self.mark_splice(field, index)` to send just the changed tail.
"""


def uniform_int(rng, lo, hi):
    """A uniform integer in [lo, hi] from `rng`: random.randint's distribution for these ranges, at a
    fifth of its cost (one random() call). random() < 1, and (1 - 2**-53) * span never rounds up to span."""
    return lo + int(rng.random() * (hi - lo + 1))


class Node:
    VIEW = ()  # protocol view fields, in display order
    VISIBLE_TIMERS = None  # timer names shown in the view (arcs); None = all

    def __init__(self, sim, node_id, index, rng):
        self.sim = sim
        self.id = node_id
        self.index = index
        self.rng = rng  # this node's own stream, derived from the scenario seed
        self.status = "up"  # up | crashed | paused
        self.drift = 1.0
        self._timers = {}  # name -> token (the live Timeout); a stale token is ignored
        self._deadlines = {}  # name -> [set_at, fires_at]
        self._held = []  # while paused: ("msg", record) or ("timer", name, token)
        self._dirty = {}
        self._splices = {}
        self.init_persistent()
        self.init_volatile()

    # --- for protocols to override -------------------------------------------------------
    def init_persistent(self):
        """State that survives a crash (Raft: currentTerm, votedFor, log)."""

    def init_volatile(self):
        """State lost on a crash; called at creation and again on restart."""

    def on_start(self):
        """Called at t=0 and after each restart: start timers here."""

    def on_message(self, src, msg):
        """A message `msg` (a dict with `kind`) from node `src` arrived."""

    def on_timer(self, name):
        """Timer `name` fired."""

    # --- services ----------------------------------------------------------------------
    @property
    def now(self):
        return self.sim.env.now

    @property
    def peers(self):
        return self.sim.peers[self.id]

    def send(self, dst, msg):
        self.sim.network.send(self.id, dst, msg)

    def broadcast(self, msg, peers=None):
        send = self.sim.network.send
        for dst in self.peers if peers is None else peers:
            send(self.id, dst, msg)

    def set_timer(self, name, delay):
        """(Re)arm timer `name` to fire after `delay` ms of this node's clock (drift applies)."""
        return self.sim.set_timer(self, name, delay)

    def cancel_timer(self, name):
        if self._timers.pop(name, None) is not None:
            if self._deadlines.pop(name, None) is not None:
                self._dirty["timers"] = True

    def timer_deadline(self, name):
        d = self._deadlines.get(name)
        return d[1] if d else None

    def mark(self, *fields):
        for f in fields:
            self._dirty[f] = True

    def mark_splice(self, field, index):
        """The list `field` changed from `index` on (truncated and/or appended)."""
        old = self._splices.get(field)
        if old is None or index < old:
            self._splices[field] = index

    def mark_all(self):
        for f in self.view_fields():
            self._dirty[f] = True
        self._splices.clear()

    # --- view ------------------------------------------------------------------------------
    def view_fields(self):
        return ("status", "drift", "timers") + tuple(self.VIEW)

    def view_value(self, f):
        if f == "timers":  # (Simulation.flush builds this one itself, the same way: keep them alike)
            return dict(self._deadlines)  # its [set_at, fires] lists are replaced, never changed in place
        value = getattr(self, f)
        if isinstance(value, (list, tuple)):
            return [list(x) if isinstance(x, tuple) else x for x in value]
        return value

    def view(self):
        return {f: self.view_value(f) for f in self.view_fields()}
