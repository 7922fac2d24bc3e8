"""What every protocol package provides, in one place (docs/architecture.md tells the whole story).

A protocol is one package, simulator/protocols/<name>/, whose `PROTOCOL` is a Protocol subclass assembled
from its parts, one object per Simulation:

    class Raft(RaftWorkload, RaftChecker, Protocol):   # spec.py
        ...

- `Protocol` (spec.py): parameters with bounds, node count bounds, actions (each a `check_<action>` and an
  `apply_<action>` method), role selectors, mutations, counters, version, node construction.
- `Checker` (checker.py): invariants, each declared with `@invariant(name, doc)` on the method that checks it
  (so `describe()["invariants"]` is derived from the declarations), `on_state`, `metrics()`.
- `Workload` (workload.py): the automatic client load, started once all nodes exist.

Check-then-apply: `act(iv)` runs the action's check, then its apply. The check must change nothing; the engine
also runs it before a live intervention moves the clock (engine.Simulation.intervene), so an action refused
for any reason leaves the run exactly as it was, clock and snapshot included.
"""

from ..context import Counters, Flags, Params
from ..errors import InterventionError
from ..params import Param


def invariant(name, doc):
    """Declare the invariant `name` (what it asserts: `doc`) on the checker method that checks it. Stack it
    when one method checks several."""
    def mark(fn):
        fn.declared_invariants = ((name, doc),) + getattr(fn, "declared_invariants", ())
        return fn
    return mark


class Checker:
    """The invariant checker: incremental checks on every `state` event, and the figures (metrics)."""

    invariants = {}  # name -> doc, derived from the @invariant declarations (never written by hand)
    invariant_checks = {}  # name -> the method that checks it

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declared = {}
        where = {}
        for klass in reversed(cls.__mro__):
            for fn in vars(klass).values():
                for name, doc in getattr(fn, "declared_invariants", ()):
                    if name in declared and where[name] is not fn:
                        raise TypeError(f"{cls.__name__}: invariant {name!r} declared twice")
                    declared[name] = doc
                    where[name] = fn
        if "invariants" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: invariants are declared with @invariant on their checks, not listed")
        cls.invariants = declared
        cls.invariant_checks = where  # name -> the function that checks it

    def setup_checker(self):
        """Called once all nodes exist, before they start: the checker's initial state."""

    def on_state(self, node, ev):
        """Called after every `state` event: check invariants incrementally, update figures."""

    def report_violation(self, name, details, node, key):
        """Emit a violation once per `key` (e.g. per invariant and term), not on every later event."""
        if key in self._reported:
            return
        if name not in self.invariants:
            raise AssertionError(f"violation of undeclared invariant {name!r}")
        self._reported[key] = True
        self.sim.violation(name, details, node)

    def metrics(self):
        return {}


class Workload:
    """The automatic client load (a part of the Protocol object)."""

    def start_workload(self):
        """Called once the checker is set up, before the nodes start: schedule the first client requests with
        `self.ctx.schedule(delay, callback)`."""


class Protocol(Checker, Workload):
    name = ""
    title = ""
    version = "1"  # behaviour version: bump when a change alters this protocol's traces (stored with share links)
    summary = ""  # one line: what it teaches
    nodes = Param(5, "number of nodes", 3, 101)
    params = {}  # name -> Param
    actions = {}  # name -> params.Action; each has check_<name>(iv) and apply_<name>(iv) methods
    mutations = {}  # name -> what the deliberately broken variant does
    mutation_examples = {}  # mutation -> the designed docs/examples file (no .json) that catches it
    # the speed the page opens at (simulated ms per wall second): the first narrated thing within a few seconds,
    # a round still slow enough to follow (tests/web/test_pacing_browser.py)
    opening_speed = 100.0
    selectors = {}  # role selector -> doc, e.g. {"leader": "the current leader"}
    counters = {}  # name -> initial value (0, {} ...): the metrics nodes count (ctx.metrics)
    Node = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        checks, applies = {}, {}
        for action in cls.actions:
            check = getattr(cls, f"check_{action}", None)
            apply = getattr(cls, f"apply_{action}", None)
            if check is None or apply is None:
                raise TypeError(f"{cls.__name__}: action {action!r} needs check_{action} and apply_{action}")
            checks[action], applies[action] = check, apply
        cls._action_checks, cls._action_applies = checks, applies

    def __init__(self, sim):
        self.sim = sim
        self._reported = {}
        self.ctx = None  # the NodeContext (params, mutations, metrics...), set by the Simulation before any node

    def context_parts(self):
        """(params, mutation flags, counters) of this run, for the NodeContext."""
        sc = self.sim.scenario
        derived = self.derive_params(sc["params"], sc["nodes"], sc["mutations"])
        shadowed = [k for k in derived if k in sc["params"]]
        if shadowed:  # one name, one meaning: a derived value never hides the parameter the user set
            raise TypeError(f"{type(self).__name__}.derive_params: {', '.join(shadowed)} would hide a parameter")
        return Params(dict(sc["params"], **derived)), Flags(self.mutations, sc["mutations"]), Counters(self.counters)

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

    @classmethod
    def derive_params(cls, params, nodes, mutations):
        """Values computed once from the validated parameters, added to `ctx.params` under names of their own
        (e.g. gossip's suspicion_timeout); `nodes` is the scenario's node count."""
        return {}

    def make_node(self, node_id, index, rng):
        return self.Node(self.ctx, node_id, index, rng)

    def setup(self):
        """Called once all nodes exist, before they start: the checker, then the workload."""
        self.setup_checker()
        self.start_workload()

    # --- interventions ------------------------------------------------------------------
    def resolve(self, selector):
        """Return the node id a role selector names now, or None if none does."""
        return None

    def check_action(self, iv):
        """Raise InterventionError if one of this protocol's actions (targets resolved) cannot apply now.
        Changes nothing: the engine calls it before a live intervention moves the clock."""
        check = self._action_checks.get(iv["action"])
        if check is None:
            raise InterventionError(f"unknown action {iv['action']!r}", code="unknown_action")
        check(self, iv)

    def act(self, iv):
        """Apply one of this protocol's own actions (its check first); return extra fields for the event."""
        self.check_action(iv)
        return self._action_applies[iv["action"]](self, iv)

    def after_intervention(self, iv, resolved):
        """Hook for metrics (e.g. count crashes)."""

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
            "mutation_examples": dict(cls.mutation_examples),
            "invariants": dict(cls.invariants),
        }
