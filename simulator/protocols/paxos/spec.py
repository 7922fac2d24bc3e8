"""Paxos: the spec. Parameters, the propose action (check, then apply), the leader selector, mutations.

Proposers, acceptors and learners are in nodes.py, the invariants and figures in checker.py, the client load
in workload.py, the gallery in presets.py.
"""

from ...errors import InterventionError, ScenarioError
from ...params import Action, Param
from ..base import Protocol
from .checker import PaxosChecker
from .nodes import (
    ACCEPT, ACCEPTOR, BACKOFF, LEADING, LETTERS, NOOP, PREPARE, PROPOSER, AcceptorNode, DurableAcceptorNode,
    LearnerNode, ProposerNode,
    fmt_ballot,
)
from .presets import presets
from .workload import PaxosWorkload


class Paxos(PaxosWorkload, PaxosChecker, Protocol):
    name = "paxos"
    title = "Paxos"
    version = "2"  # bump when a change alters traces: old share links then say their replay may differ
    summary = ("Proposers duel, acceptors promise: a value, once chosen, stays chosen, whoever crashes; "
               "without backoff or a leader, nothing may ever be chosen.")
    nodes = Param(5, "number of acceptors (proposers and learners: params.proposers, params.learners)", 1, 31)
    params = {
        "proposers": Param(2, "number of proposers (p1..)", 1, 9),
        "learners": Param(2, "number of learners (l1..)", 1, 9),
        "multi": Param(False, "Multi-Paxos: a distinguished leader runs phase 1 once, then phase 2 per log slot",
                       kind="bool"),
        "auto_propose": Param(True, "single-decree: each proposer proposes its own value (A, B, ...) in the "
                                    "first 30 ms", kind="bool"),
        "backoff": Param(True, "after a failed ballot, wait a random time before retrying (off: retry at once)",
                         kind="bool"),
        "backoff_base": Param(40, "first backoff window (ms); it doubles after each failed ballot", 1, 60_000),
        "backoff_max": Param(640, "largest backoff window (ms)", 1, 60_000),
        "phase_timeout": Param(200, "a ballot with no majority answer after this long fails; a leader re-sends "
                                    "unanswered accepts this often (ms)", 10, 60_000),
        "heartbeat_interval": Param(50, "Multi-Paxos: leader heartbeat to the other proposers (ms)", 1, 30_000),
        "leader_timeout_min": Param(150, "Multi-Paxos: shortest randomised wait for a silent leader (ms)", 10, 60_000),
        "leader_timeout_max": Param(300, "Multi-Paxos: longest randomised wait for a silent leader (ms)", 10, 60_000),
        "disk_ms": Param(0, "ms each write of an acceptor's promise or accepted value takes; it answers only "
                            "once the write is done (0: instant)", 0, 10_000),
        "catch_up": Param(True, "a learner that missed the decision (down, cut off, messages lost) asks the acceptors "
                                "and the other learners until it learns it (off: it stays behind)", kind="bool"),
        "catch_up_interval": Param(400, "catch-up: a learner that misses something asks again after a random "
                                        "0.5..1.5 times this (ms); a Multi-Paxos leader tells the learners its "
                                        "commit point this often", 10, 60_000),
        "client_interval": Param(500, "Multi-Paxos: a client sends a value to the leader every this many ms "
                                      "(0: none)", 0, 600_000),
    }
    actions = {
        "propose": Action(
            "a client asks proposer `node` to propose `value` (Multi-Paxos: a follower forwards it to the leader)",
            {"node": Param(None, "the proposer (or `leader`)", kind="str"),
             "value": Param("", "the value; empty for an automatic one", kind="str", max_length=40)},
        ),
    }
    selectors = {"leader": "Multi-Paxos: the proposer leading with the highest ballot"}
    counters = {"messages": {}, "preemptions": 0}  # messages: kind -> how many sent
    mutations = {
        "forget_promise_on_restart": "an acceptor keeps its promise and accepted proposal in memory only: "
                                     "a restart forgets them",
        "ignore_accepted_values": "a proposer proposes its own value even when the promises report an "
                                  "accepted one",
    }
    opening_speed = 20.0  # a whole round takes ~60 ms: at 1/10 of real time it was over before a newcomer looked
    mutation_examples = {  # mutation -> the docs/examples file (no .json) that catches it
        "forget_promise_on_restart": "paxos-mutation-forget-promise",
        "ignore_accepted_values": "paxos-mutation-ignore-accepted-values",
    }

    # --- construction -----------------------------------------------------------------------------
    @classmethod
    def roles(cls, acceptors, params):
        p = params.get("proposers", cls.params["proposers"].default)
        l_ = params.get("learners", cls.params["learners"].default)
        return ([f"p{i}" for i in range(1, p + 1)], [f"a{i}" for i in range(1, acceptors + 1)],
                [f"l{i}" for i in range(1, l_ + 1)])

    @classmethod
    def node_ids(cls, count):
        return cls.scenario_node_ids(count, {})

    @classmethod
    def scenario_node_ids(cls, count, params):
        ps, accs, ls = cls.roles(count, params)
        return ps + accs + ls

    @classmethod
    def validate_params(cls, p):
        if p["backoff_base"] > p["backoff_max"]:
            raise ScenarioError(f"params.backoff_max: must be at least backoff_base ({p['backoff_base']})",
                                field="params.backoff_max")
        if p["leader_timeout_min"] > p["leader_timeout_max"]:
            raise ScenarioError("params.leader_timeout_max: must be at least leader_timeout_min "
                                f"({p['leader_timeout_min']})", field="params.leader_timeout_max")
        if p["heartbeat_interval"] >= p["leader_timeout_min"]:
            raise ScenarioError("params.heartbeat_interval: must be below leader_timeout_min "
                                f"({p['leader_timeout_min']}) or followers time out", field="params.heartbeat_interval")

    def __init__(self, sim):
        super().__init__(sim)
        self.proposers, self.acceptors, self.learners = self.roles(sim.scenario["nodes"], sim.scenario["params"])
        self.majority = len(self.acceptors) // 2 + 1

    def make_node(self, node_id, index, rng):
        acceptor = DurableAcceptorNode if self.ctx.params.disk_ms else AcceptorNode
        cls = {"p": ProposerNode, "a": acceptor, "l": LearnerNode}[node_id[0]]
        return cls(self.ctx, node_id, index, rng)

    # --- interventions ----------------------------------------------------------------------------
    def resolve(self, selector):
        if selector == "leader":
            best = None
            for pid in self.proposers:
                node = self.sim.nodes[pid]
                if node.status == "up" and node.phase == LEADING and (best is None or node.ballot > best.ballot):
                    best = node
            return best.id if best else None
        return None

    def check_propose(self, iv):
        node = self.sim.nodes[iv["node"]]
        if node.ROLE != PROPOSER:
            raise InterventionError(f"{node.id} is {'an' if node.ROLE == ACCEPTOR else 'a'} {node.ROLE}: propose to "
                                    f"a proposer ({self.proposers[0]}..{self.proposers[-1]})",
                                    code="not_a_proposer", field="node")
        if node.status != "up":
            raise InterventionError(f"{node.id} is {node.status}", code="invalid_state", field="node")
        if (iv.get("value") or "") == NOOP:
            raise InterventionError(f"value: {NOOP!r} is reserved for the gaps a new leader fills",
                                    code="reserved_value", field="value")
        if not node.multi and node.phase in (PREPARE, ACCEPT, BACKOFF):
            raise InterventionError(f"{node.id} is busy with ballot {fmt_ballot(node.ballot)} ({node.phase}); "
                                    "propose again once it is idle or done", code="busy", field="node")

    def apply_propose(self, iv):
        node = self.sim.nodes[iv["node"]]
        value = iv.get("value") or ""
        if not value:
            if node.multi:
                self.client_seq += 1
                value = f"x{self.client_seq}"
            else:
                value = LETTERS[node.index % 26]
        self.sim.dispatch(node, "client_propose", value)
        return dict(node.result, value=value)

    @classmethod
    def presets(cls):
        return presets()
