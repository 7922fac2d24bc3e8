"""The simulated network: latency, loss, duplication, cuts and partitions.

Link state is checked when a message is sent and again when it would be
delivered, and cutting a link drops what is in flight on it at once, so the
trace shows each loss where it happens. Reordering follows from latency, except
for a protocol that declares `fifo_links = True` (its nodes talk over TCP-like
connections, as Kafka clients do): each directed link then delivers in send
order (a message never arrives before one sent earlier on the same link), and a
duplicated copy is discarded on arrival (drop reason `duplicate`), as TCP does.
"""

from heapq import heappush

import simpy
from simpy.events import NORMAL

_new = object.__new__  # (InFlight instances are made without calling __init__: see send)


class InFlight(simpy.Event):
    """A message on the wire: the SimPy event that fires when it arrives, and its record.

    `ev` is its `send` event (id, from, to, t = sent at, deliver_at, msg, dup_of), never changed; `id`, `src`,
    `dst` and `msg` are copies of its fields (slots: read on every arrival without a dict lookup each);
    `lost` is decided at send time and shown at arrival; `held` is set while it waits at a paused node.
    """

    __slots__ = ("env", "callbacks", "_value", "_ok", "ev", "id", "src", "dst", "msg", "lost", "held")

    def __init__(self, env, at, callbacks, ev, lost):
        # What simpy.Timeout does, minus the checks: a triggered event, due at `at` (env.schedule, inlined).
        # `callbacks` is a tuple shared by every message (SimPy only iterates it, then sets None).
        self.env = env
        self.callbacks = callbacks
        self._value = None
        self._ok = True  # (a slot, not a class attribute: the engine's loop reads it fast so)
        self.ev = ev
        self.id = ev["id"]
        self.src = ev["from"]
        self.dst = ev["to"]
        self.msg = ev["msg"]
        self.lost = lost
        self.held = False
        heappush(env._queue, (at, NORMAL, next(env._eid), self))


class Network:
    def __init__(self, sim, latency, loss, duplicate, links, rng):
        self.sim = sim
        self.rng = rng
        self.default = {"latency": list(latency), "loss": loss}
        self.duplicate = duplicate
        self.overrides = {}  # (src, dst) -> {"latency": [lo, hi], "loss": p}
        # What send draws from, per link: (lo, hi - lo + 1, loss); the default link's, and the overridden ones'
        self.draws = {}  # (src, dst) -> (lo, span, loss), kept alike with `overrides` by set_link
        self.default_draw = (latency[0], latency[1] - latency[0] + 1, loss)
        self.cuts = {}  # (src, dst) -> True; a dict, never a set, so order is insertion order
        # A partition is islands, not N^2 cuts (1,000 gossip nodes split in two would be 500,000 of them):
        # node id -> island number, and the directed pairs across islands a `heal` reopened since.
        self.partition = []  # the groups, every node in one; [] when there is no partition
        self.island = {}
        self.bridges = {}  # (src, dst) -> True
        self.severing = False  # any cut or partition at all: the hot path's one test when there is none
        self.in_flight = {}  # message id -> record, in send order
        self.next_id = 1
        self.fifo = bool(getattr(sim.protocol, "fifo_links", False))
        self.fifo_last = {}  # (src, dst) -> deliver_at of the last message sent on it (fifo links only)
        self._arrive_callbacks = (self._arrive,)
        for link in links:
            self.set_link(link["a"], link["b"], link.get("latency"), link.get("loss"), link.get("oneway", False))

    # --- link state ---------------------------------------------------------------------
    def link(self, src, dst):
        return self.overrides.get((src, dst), self.default)

    def set_link(self, a, b, latency=None, loss=None, oneway=False):
        for pair in ((a, b),) if oneway else ((a, b), (b, a)):
            cur = dict(self.link(*pair))
            if latency is not None:
                cur["latency"] = list(latency)
            if loss is not None:
                cur["loss"] = loss
            self.overrides[pair] = cur
            lo, hi = cur["latency"]
            self.draws[pair] = (lo, hi - lo + 1, cur["loss"])

    def reset_links(self, loss=0.0, duplicate=0.0):
        """Every link back to the default latency with this loss and duplication (benchmarks let a run settle;
        `send` draws from `draws`/`default_draw`, so those change with it)."""
        self.overrides.clear()
        self.draws.clear()
        self.default["loss"] = loss
        lo, hi = self.default["latency"]
        self.default_draw = (lo, hi - lo + 1, loss)
        self.duplicate = duplicate

    def is_cut(self, src, dst):
        """Whether a message from src to dst is dropped: a cut, or islands apart with no bridge since."""
        if (src, dst) in self.cuts:
            return True
        island = self.island
        return bool(island) and island.get(src) != island.get(dst) and (src, dst) not in self.bridges

    def cut(self, pairs):
        """Cut each directed (src, dst) pair and drop what is in flight on it."""
        for pair in pairs:
            self.cuts[pair] = True
            self.bridges.pop(pair, None)
        self._sever()

    def heal(self, pairs):
        """Reopen each directed pair: its cut goes, and across a partition it becomes a bridge."""
        island = self.island
        for src, dst in pairs:
            self.cuts.pop((src, dst), None)
            if island and island.get(src) != island.get(dst):
                self.bridges[(src, dst)] = True
        self.severing = bool(self.cuts or self.island)

    def split(self, groups):
        """Partition the nodes into `groups` (each node in exactly one): every link between two groups is cut,
        what flies across is dropped. It replaces any earlier partition (and its bridges); cuts stay. One group
        (or none) is no partition at all."""
        self.partition = [list(g) for g in groups] if len(groups) > 1 else []
        self.island = {n: i for i, g in enumerate(self.partition) for n in g}
        self.bridges = {}
        self._sever()

    def heal_all(self):
        self.cuts.clear()
        self.split([])  # no partition, no bridges

    def _sever(self):
        self.severing = bool(self.cuts or self.island)
        is_cut = self.is_cut
        doomed = [r for r in self.in_flight.values() if not r.held and is_cut(r.ev["from"], r.ev["to"])]
        for rec in doomed:
            self._drop(rec, "cut")

    def state(self):
        """The `net` part of a snapshot (and of a `net` event)."""
        return {
            "cuts": [list(p) for p in self.cuts],
            "partition": [list(g) for g in self.partition],
            "bridges": [list(p) for p in self.bridges],
            "links": [
                {"from": a, "to": b, "latency": list(v["latency"]), "loss": v["loss"]}
                for (a, b), v in self.overrides.items()
            ],
        }

    # --- messages -----------------------------------------------------------------------
    # The hot path of every run: send, _arrive and deliver run once per message (keep them lean).
    def send(self, src, dst, msg, dup_of=None):
        sim = self.sim
        env = sim.env
        now = env._now
        mid = self.next_id
        self.next_id = mid + 1
        draws = self.draws
        lo, span, loss = draws.get((src, dst), self.default_draw) if draws else self.default_draw
        # uniform in [lo, hi] (span = hi - lo + 1) from one random() call (random.randint's distribution here, a
        # fifth of its cost)
        at = now + lo if span == 1 else now + lo + int(self.rng.random() * span)
        if self.fifo:  # in order per link: wait for the previous message on it (same draws, no reordering)
            last = self.fifo_last.get((src, dst), 0)
            if at < last:
                at = last
            self.fifo_last[(src, dst)] = at
        ev = {"t": now, "type": "send", "id": mid, "from": src, "to": dst, "deliver_at": at, "msg": msg}
        if dup_of is not None:
            ev["dup_of"] = dup_of
        sim.pending.append(ev)  # = sim.emit(ev) (see Simulation.emit)
        if self.severing and self.is_cut(src, dst):
            sim.emit({"t": now, "type": "drop", "id": mid, "from": src, "to": dst, "reason": "cut"})
            return
        # The message in flight is itself the SimPy event that delivers it (no Timeout, no closure):
        # InFlight(env, at, self._arrive_callbacks, ev, lost), inlined (no __init__ frame): keep the two alike.
        rec = _new(InFlight)
        rec.env = env
        rec.callbacks = self._arrive_callbacks
        rec._value = None
        rec._ok = True
        rec.ev = ev
        rec.id = mid
        rec.src = src
        rec.dst = dst
        rec.msg = msg
        rec.lost = loss > 0 and self.rng.random() < loss
        if dup_of is not None and self.fifo and not rec.lost:
            rec.lost = "duplicate"  # a TCP-like link: the receiver discards a copy it already has
        rec.held = False
        heappush(env._queue, (at, NORMAL, next(env._eid), rec))
        self.in_flight[mid] = rec
        if self.duplicate and dup_of is None and self.rng.random() < self.duplicate:
            self.send(src, dst, msg, dup_of=mid)

    def _arrive(self, rec):
        mid = rec.id
        in_flight = self.in_flight
        if mid not in in_flight:
            return  # already dropped (its link was cut while it flew)
        dst = rec.dst
        sim = self.sim
        node = sim.nodes[dst]
        if node.status == "up" and not rec.lost and not (self.severing and self.is_cut(rec.src, dst)):
            # The common case, `self.deliver(rec)` inlined (one call less per message): keep the two alike.
            del in_flight[mid]
            src = rec.src
            pending = sim.pending
            pending.append({"t": sim.env._now, "type": "deliver", "id": mid, "from": src, "to": dst})  # emit
            mark = len(pending)
            node.on_message(src, rec.msg)
            if node._dirty or node._splices:
                sim.flush(node, mark)  # its state before its sends (causal order)
            return
        if rec.lost:
            self._drop(rec, "loss" if rec.lost is True else rec.lost)
        elif self.severing and self.is_cut(rec.src, dst):
            self._drop(rec, "cut")
        elif node.status == "crashed":
            self._drop(rec, "crashed")
        else:  # paused: it waits at the node until resume (or a crash drops it)
            rec.held = True
            node._held.append(("msg", rec))
            self.sim.emit({"t": self.sim.env._now, "type": "hold", "id": mid, "to": dst})

    def deliver(self, rec):
        """Hand a message to its (up) node: also inlined in _arrive."""
        mid, src, dst = rec.id, rec.src, rec.dst
        del self.in_flight[mid]
        sim = self.sim
        sim.emit({"t": sim.env._now, "type": "deliver", "id": mid, "from": src, "to": dst})
        node = sim.nodes[dst]
        mark = len(sim.pending)
        node.on_message(src, rec.msg)  # = sim.dispatch(node, "on_message", src, msg), inlined
        if node._dirty or node._splices:
            sim.flush(node, mark)

    def _drop(self, rec, reason):
        ev = rec.ev
        del self.in_flight[ev["id"]]
        self.sim.emit({"t": self.sim.env._now, "type": "drop", "id": ev["id"], "from": ev["from"], "to": ev["to"],
                       "reason": reason})

    def drop_message(self, rec):
        """An intervention loses one message in flight (or held by a paused node)."""
        if rec.held:
            node = self.sim.nodes[rec.ev["to"]]
            node._held = [item for item in node._held if not (item[0] == "msg" and item[1] is rec)]
        self._drop(rec, "intervention")

    def delay_message(self, rec, ms):
        """An intervention makes one message in flight arrive `ms` later: a new record (its send event with the
        new deliver_at) takes its place; the old wake-up runs nothing (no callbacks left: _arrive need not check
        which record it is). Return the new arrival time. (On a FIFO link, later messages may then overtake it.)
        A held message is never delayed (refused by the intervention's check): its wake-up has run already."""
        ev = dict(rec.ev)
        ev["deliver_at"] = at = ev["deliver_at"] + ms
        rec.callbacks = ()
        moved = InFlight(self.sim.env, at, self._arrive_callbacks, ev, rec.lost)
        self.in_flight[ev["id"]] = moved  # (same key: its place in send order is kept)
        return at

    def drop_held(self, node):
        """A paused node crashed: what it was holding is lost."""
        for item in node._held:
            if item[0] == "msg":
                self._drop(item[1], "crashed")
        node._held = []

    def messages(self):
        """The `messages` part of a snapshot: every message in flight (or held), in send order."""
        out = []
        for rec in self.in_flight.values():
            ev = rec.ev
            m = {"id": ev["id"], "from": ev["from"], "to": ev["to"], "sent_at": ev["t"], "deliver_at": ev["deliver_at"],
                 "msg": ev["msg"], "held": rec.held}
            if "dup_of" in ev:
                m["dup_of"] = ev["dup_of"]
            out.append(m)
        return out

