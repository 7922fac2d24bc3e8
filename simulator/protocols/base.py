"""What every protocol module provides, in one place.

A protocol module defines a `Node` subclass (simulator.node.Node) and a
`Protocol` subclass, and ends with `PROTOCOL = TheProtocol`. The Protocol class
declares parameters (with bounds), node count bounds, actions, mutations and
presets; an instance lives beside one Simulation and holds the incremental
invariant checks and the metrics.
"""

from ..errors import InterventionError
from ..params import Param


class Protocol:
    name = ""
    title = ""
    version = "1"  # behaviour version: bump when a change alters this protocol's traces (stored with share links)
    summary = ""  # one line: what it teaches
    nodes = Param(5, "number of nodes", 3, 101)
    params = {}  # name -> Param
    actions = {}  # name -> params.Action
    mutations = {}  # name -> what the deliberately broken variant does
    invariants = {}  # name -> what it asserts
    selectors = {}  # role selector -> doc, e.g. {"leader": "the current leader"}
    Node = None

    def __init__(self, sim):
        self.sim = sim
        self._reported = {}

    # --- construction -------------------------------------------------------------------
    @classmethod
    def node_ids(cls, count):
        return [f"n{i}" for i in range(1, count + 1)]

    @classmethod
    def scenario_node_ids(cls, count, params):
        """The node ids of a scenario. Override when they depend on parameters (Paxos: how many proposers,
        acceptors and learners); the default is `node_ids(count)`."""
        return cls.node_ids(count)

    @classmethod
    def validate_params(cls, params):
        """Cross-field checks beyond each Param's bounds; raise ScenarioError naming the field."""

    def make_node(self, node_id, index, rng):
        return self.Node(self.sim, node_id, index, rng)

    def setup(self):
        """Called once all nodes exist, before they start."""

    # --- interventions ------------------------------------------------------------------
    def resolve(self, selector):
        """Return the node id a role selector names now, or None if none does."""
        return None

    def check_action(self, iv):
        """Raise InterventionError if one of this protocol's actions (targets resolved) cannot apply now.

        Must not change anything. The engine calls it before a live intervention moves the clock to
        the next millisecond, so a refused one leaves the run exactly as it was; `act` must refuse the
        same cases (it may simply call this first)."""

    def act(self, iv):
        """Apply one of this protocol's own actions; return extra fields for the event."""
        raise InterventionError(f"unknown action {iv['action']!r}", code="unknown_action")

    def after_intervention(self, iv, resolved):
        """Hook for metrics (e.g. count crashes)."""

    # --- checks and figures ---------------------------------------------------------------
    def on_state(self, node, ev):
        """Called after every `state` event: check invariants incrementally, update metrics."""

    def report_violation(self, name, details, node, key):
        """Emit a violation once per `key` (e.g. per invariant and term), not on every later event."""
        if key in self._reported:
            return
        self._reported[key] = True
        self.sim.violation(name, details, node)

    def metrics(self):
        return {}

    # --- description ----------------------------------------------------------------------
    @classmethod
    def presets(cls):
        """Ready-made scenarios: list of {"slug", "title", "narrative", "scenario"}."""
        return []

    @classmethod
    def describe(cls):
        return {
            "name": cls.name,
            "title": cls.title,
            "summary": cls.summary,
            "nodes": cls.nodes.as_dict(),
            "params": {k: v.as_dict() for k, v in cls.params.items()},
            "actions": {k: v.as_dict() for k, v in cls.actions.items()},
            "selectors": dict(cls.selectors),
            "mutations": dict(cls.mutations),
            "invariants": dict(cls.invariants),
        }
