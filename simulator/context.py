"""The one door between a protocol's nodes and the engine: `NodeContext`.

A node never touches the Simulation, the network or SimPy. It gets a context
(`node.ctx`, one per simulation, shared by every node) with:

- `send(src, dst, msg)`: put a message on the wire (the network's own send, bound once);
- `set_timer(node, name, delay)`: (re)arm a node's timer (Node.set_timer wraps it);
- `now`: the simulated time in integer ms;
- `params`: the scenario's parameters as read-only attributes, already checked against their Param bounds
  (plus what the protocol derives from them, see Protocol.derive_params);
- `mutations`: one boolean attribute per teaching mutation the protocol declares;
- `metrics`: the protocol instance's counters (Protocol.counters), which nodes bump and `metrics()` reads;
- `protocol`: the protocol instance (topology, and the checker's hooks);
- `node_ids`: every node id, in order; `index_of[node id]`: its position; `peers[node id]`: the others;
- `schedule(delay, callback)`: run `callback()` `delay` ms from now (client load, scheduled work);
- `crash_at(node, point)`: a fault the node injects into itself at a named point of the protocol.

Its own random stream is the node's (`node.rng`); Node's helpers (send, broadcast, set_timer, cancel_timer,
timer_deadline, now) are thin wrappers over the context. Only simulator/engine.py and simulator/network.py
touch SimPy's private fields (`_queue`, `_eid`, `_now`), and this context reads `_now` for `now`.
"""


from operator import attrgetter


class Params:
    """Read-only attribute view of validated parameters: `params.election_timeout_min`."""

    def __init__(self, values):
        self.__dict__.update(values)

    def __setattr__(self, name, value):
        raise AttributeError(f"params are read-only ({name})")

    def __delattr__(self, name):
        raise AttributeError(f"params are read-only ({name})")

    def __repr__(self):
        return f"Params({self.__dict__!r})"

    # copy.deepcopy (a time-travel checkpoint) rebuilds it through these: __setattr__ is closed
    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)


class Flags(Params):
    """The teaching mutations a scenario switches on: one boolean attribute per declared mutation."""

    def __init__(self, declared, enabled):
        super().__init__({name: name in enabled for name in declared})

    def __repr__(self):
        return f"Flags({[k for k, v in self.__dict__.items() if v]!r})"


class Counters:
    """A protocol's counters (events counted as they happen), as plain mutable attributes."""

    def __init__(self, initial):
        for name, value in initial.items():
            # a fresh container per simulation (class-level declarations hold the empty template)
            setattr(self, name, type(value)() if isinstance(value, (dict, list)) else value)

    def __repr__(self):
        return f"Counters({self.__dict__!r})"


class NodeContext:
    """What a node may use of the engine (see the module docstring). Built by the Simulation."""

    def __init__(self, sim, protocol):
        self._sim = sim
        self._env = sim.env
        self.protocol = protocol
        self.params, self.mutations, self.metrics = protocol.context_parts()
        self.node_ids = sim.node_ids
        self.peers = sim.peers  # node id -> the other node ids (built on first use)
        self.index_of = sim.peers.index  # node id -> its position in node_ids (node.index)
        self.set_timer = sim.set_timer
        self.schedule = sim.schedule
        self.send = None  # bound to the network's send once it exists (no node sends before its on_start)

    # the simulated time, integer ms. A C-level getter of SimPy's `_now` (its `now` is a Python property: a
    # frame per read, and a Raft follower reads it on every AppendEntries)
    now = property(attrgetter("_env._now"))

    def crash_at(self, node, point):
        """`node` crashes itself at the named `point` (a fault armed by an intervention): a `fault` event, then
        the crash (messages it already sent stay in flight)."""
        self._sim.crash_at(node, point)
