"""The node a protocol subclasses: handlers for messages and timers, nothing else.

A node is event-driven rather than a long-lived SimPy generator: the engine calls
`on_start`, `on_message` and `on_timer`, and owns the process-like lifecycle
(crash, restart, pause). That keeps a crash exact (timers dropped, volatile state
re-initialised from `init_volatile`) and delivery cheap (a timeout callback per
message, not a process; see shared/notes/engineering.md).

A node reaches the engine only through its context, `self.ctx`
(simulator/context.py): send, timers, now, params, mutation flags, metrics, the
protocol instance. The names a node uses are bound once at construction:
`self.params`, `self.mutations`, `self.metrics`, `self.protocol` (the one name
for the protocol instance), and `self.rng` (its own random stream).

Messages are dispatched by kind through a table built once per class from the
methods marked `@receives("Kind", ...)` (inherited ones included): the default
`on_message` is one dict lookup. A protocol that does something for every message
first (Raft adopts a higher term) overrides `on_message` and then calls
`self.HANDLERS[kind](self, src, msg)`. A kind with no handler is ignored.

View state: the fields listed in `VIEW` are what the page draws. A handler that
changes one calls `self.mark(field)`; the engine then emits one `state` event per
handler with every marked field's new value. Lists that only grow or get cut
(a Raft log) use `self.mark_splice(field, index)` to send just the changed tail.
"""

from operator import attrgetter


def receives(*kinds):
    """Mark a node method as the handler of messages of these kinds: `handler(self, src, msg)`."""
    def mark(fn):
        fn.message_kinds = kinds
        return fn
    return mark


class Node:
    VIEW = ()  # protocol view fields, in display order
    VISIBLE_TIMERS = None  # timer names shown in the view (arcs); None = all
    HANDLERS = {}  # message kind -> function(self, src, msg), built per class from @receives

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        table = {}
        for klass in reversed(cls.__mro__):
            for fn in vars(klass).values():
                for kind in getattr(fn, "message_kinds", ()):
                    table[kind] = fn
        cls.HANDLERS = table

    def __init__(self, ctx, node_id, index, rng):
        self.ctx = ctx
        self.protocol = ctx.protocol
        self.params = ctx.params
        self.mutations = ctx.mutations
        self.metrics = ctx.metrics
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
        """A message `msg` (a dict with `kind`) from node `src` arrived: its handler runs (see HANDLERS)."""
        handler = self.HANDLERS.get(msg["kind"])
        if handler is not None:
            handler(self, src, msg)

    def on_timer(self, name):
        """Timer `name` fired."""

    # --- services (all through the context) -------------------------------------------------
    now = property(attrgetter("ctx.now"))  # simulated time, integer ms (C-level getter: no frame of its own)

    @property
    def peers(self):
        return self.ctx.peers[self.id]

    def send(self, dst, msg):
        self.ctx.send(self.id, dst, msg)

    def broadcast(self, msg, peers=None):
        send = self.ctx.send
        for dst in self.peers if peers is None else peers:
            send(self.id, dst, msg)

    def set_timer(self, name, delay):
        """(Re)arm timer `name` to fire after `delay` ms of this node's clock (drift applies)."""
        return self.ctx.set_timer(self, name, delay)

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
