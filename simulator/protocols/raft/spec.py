"""Raft (Ongaro & Ousterhout 2014): the spec. Parameters, actions (check, then apply), selectors, mutations.

The servers are in nodes.py, the invariants and figures in checker.py, the client load in workload.py, the
gallery in presets.py.
"""

from ...errors import InterventionError, ScenarioError
from ...params import Action, Param
from ..base import Protocol
from . import presets
from .checker import RaftChecker
from .nodes import LEADER, DurableRaftNode, RaftNode
from .workload import RaftWorkload


class Raft(RaftWorkload, RaftChecker, Protocol):
    name = "raft"
    title = "Raft"
    version = "1"  # bump when a change alters traces: old share links then say their replay may differ
    summary = "Leader election and log replication: watch a leader emerge, crash it, split the cluster."
    nodes = Param(5, "number of servers", 3, 101)
    params = {
        "election_timeout_min": Param(150, "shortest randomised election timeout (ms)", 10, 60_000),
        "election_timeout_max": Param(300, "longest randomised election timeout (ms)", 10, 60_000),
        "heartbeat_interval": Param(50, "leader heartbeat interval (ms); well below the election timeout", 1, 30_000),
        "max_entries_per_append": Param(16, "most log entries in one AppendEntries", 1, 1000),
        "client_interval": Param(0, "a client request to the leader every this many ms (0: none)", 0, 600_000),
        "pre_vote": Param(False, "pre-vote (thesis 9.6): no term bump unless a majority would vote", kind="bool"),
        "check_quorum": Param(False, "check-quorum (thesis 6.2): a leader that loses a majority steps down",
                              kind="bool"),
        "disk_ms": Param(0, "ms each write of the persistent state (term, vote, new entries) takes; a server answers "
                         "an RPC only once what it reports is on disk (0: instant)", 0, 10_000),
        "leader_noop": Param(True, "a new leader appends a no-op entry so earlier entries can commit (section 8)",
                             kind="bool"),
    }
    actions = {
        "client_request": Action(
            "a client asks `node` to append `value` (a follower answers with the leader it knows)",
            {"node": Param("leader", "target node", kind="str"),
             "value": Param("", "the command; empty for an automatic name", kind="str", max_length=40)},
        ),
        "timeout": Action("fire the node's election timer now", {"node": Param(None, "target node", kind="str")}),
    }
    selectors = {"leader": "the current leader (highest term)"}
    counters = {"elections": 0, "leader_step_downs": 0}
    mutations = {
        "vote_without_log_check": "voters grant votes without checking the candidate's log is up to date",
        "commit_old_terms": "a leader commits entries of earlier terms by counting replicas (the Figure 8 bug)",
        "no_truncate": "a follower keeps its conflicting entries instead of deleting them",
    }
    mutation_examples = {  # mutation -> the docs/examples file (no .json) that catches it
        "vote_without_log_check": "raft-mutation-vote-without-log-check",
        "commit_old_terms": "raft-mutation-commit-old-terms",
        "no_truncate": "raft-mutation-no-truncate",
    }
    Node = RaftNode

    @classmethod
    def validate_params(cls, p):
        if p["election_timeout_min"] > p["election_timeout_max"]:
            raise ScenarioError("params.election_timeout_max: must be at least election_timeout_min "
                                f"({p['election_timeout_min']})", field="params.election_timeout_max")
        if p["heartbeat_interval"] >= p["election_timeout_min"]:
            raise ScenarioError("params.heartbeat_interval: must be below election_timeout_min "
                                f"({p['election_timeout_min']}) or followers time out", field="params.heartbeat_interval")

    def make_node(self, node_id, index, rng):
        cls = DurableRaftNode if self.ctx.params.disk_ms else RaftNode  # the disk's bookkeeping only when used
        return cls(self.ctx, node_id, index, rng)

    # --- interventions ------------------------------------------------------------------
    def resolve(self, selector):
        if selector == "leader":
            # The up leader with the highest term (on a tie, which only a violation allows: the first node).
            best = None
            nodes = self.sim.nodes
            for nid in self.leaders:  # up leaders, kept by on_state
                node = nodes[nid]
                if best is None or (node.term, -node.index) > (best.term, -best.index):
                    best = node
            return best.id if best else None
        return None

    def _up_target(self, iv):
        node = self.sim.nodes[iv["node"]]
        if node.status != "up":
            raise InterventionError(f"node: {node.id} is {node.status}", code="invalid_state", field="node")
        return node

    def check_client_request(self, iv):
        self._up_target(iv)

    def apply_client_request(self, iv):
        node = self.sim.nodes[iv["node"]]
        if node.role != LEADER:
            return {"result": "redirected", "leader_hint": node.leader}
        value = iv.get("value") or ""
        if not value:
            self.client_seq += 1
            value = f"x{self.client_seq}"
        self.sim.dispatch(node, "client_request", value)
        return {"result": "appended", "index": len(node.log), "value": value}

    def check_timeout(self, iv):
        node = self._up_target(iv)
        if node.role == LEADER:
            raise InterventionError(f"node: {node.id} is the leader: it has no election timer", code="invalid_state",
                                    field="node")

    def apply_timeout(self, iv):
        node = self.sim.nodes[iv["node"]]
        node.cancel_timer("election")
        self.sim.emit({"t": self.sim.now, "type": "timer", "node": node.id, "timer": "election", "forced": True})
        self.sim.dispatch(node, "on_timer", "election")
        return None

    @classmethod
    def presets(cls):
        return presets.presets()
