"""Two-phase commit: the spec. Parameters, actions (begin, abort, arm_crash: each checked, then applied), the
coordinator selector, mutations.

The coordinator and participants are in nodes.py, the invariants and figures in checker.py, the client in
workload.py, the gallery in presets.py.
"""

import re

from ...errors import InterventionError, ScenarioError
from ...params import Action, Param
from ..base import Protocol
from .checker import TwoPhaseChecker
from .nodes import (
    COORD, COORD_POINTS, CRASH_POINTS, PARTICIPANT_POINTS, PRECOMMITTED, PREPARED, WORKING,
    CoordinatorNode, ParticipantNode,
)
from .presets import presets
from .workload import TwoPhaseWorkload

_PARTICIPANT_RE = re.compile(r"p[1-9][0-9]?")


class VotesParam(Param):
    """The `votes` field of `begin`: {"p2": "no"}; participants not named vote YES (or NO with
    probability `no_probability`). Whether each named participant exists is checked when it applies."""

    def check(self, value, where, error=ScenarioError):
        if not isinstance(value, dict) or len(value) > 99:
            raise error(f'{where}: must be an object mapping participants to "yes" or "no", e.g. {{"p2": "no"}}',
                        field=where)
        out = {}
        for key, vote in value.items():
            if not isinstance(key, str) or not _PARTICIPANT_RE.fullmatch(key):
                raise error(f"{where}.{key}: not a participant id (p1, p2, ...)", code="unknown_node",
                            field=f"{where}.{key}")
            if vote not in ("yes", "no"):
                raise error(f'{where}.{key}: must be "yes" or "no", got {vote!r}', field=f"{where}.{key}")
            out[key] = vote
        return {k: out[k] for k in sorted(out, key=lambda k: int(k[1:]))}

    def as_dict(self):
        return {"kind": "votes", "default": {}, "doc": self.doc, "choices": ["yes", "no"]}


class TwoPhase(TwoPhaseWorkload, TwoPhaseChecker, Protocol):
    name = "twophase"
    title = "Two-phase commit"
    version = "2"  # bump when a change alters traces: old share links then say their replay may differ
    summary = ("Atomic commit: a coordinator crash after the votes leaves participants blocked, holding locks; "
               "3PC does not block on crashes but splits under a partition.")
    nodes = Param(3, "number of participants (plus the coordinator)", 2, 12)
    params = {
        "mode": Param("2pc", "2pc: two-phase commit; 3pc: three-phase commit (pre-commit round, termination "
                      "protocol)", kind="choice", choices=("2pc", "3pc")),
        "cooperative": Param(False, "cooperative termination (2PC): a blocked participant also asks its peers",
                             kind="bool"),
        "work_ms": Param(100, "ms between begin and PREPARE: the transaction's work (participants hold the lock)",
                         0, 600_000),
        "vote_timeout": Param(300, "ms the coordinator (or a 3PC backup) waits for votes/acknowledgements", 1,
                              600_000),
        "decision_timeout": Param(600, "ms a participant that voted YES waits for the decision before asking "
                                  "(and between retries); 3PC: before running the termination protocol", 1, 600_000),
        "prepare_timeout": Param(1500, "ms a working participant waits for PREPARE before aborting on its own",
                                 1, 600_000),
        "disk_ms": Param(10, "ms a forced log write takes (0: instant)", 0, 10_000),
        "lazy_flush_ms": Param(1000, "ms before an unforced log record reaches disk (if no forced write "
                               "flushes it sooner)", 1, 600_000),
        "contention": Param(True, "every transaction updates the same row, so a participant still holding a "
                            "transaction's lock votes NO on a concurrent one", kind="bool"),
        "begin_interval": Param(2000, "a client begins a transaction every this many ms (0: only with the begin "
                                "action)", 0, 600_000),
        "no_probability": Param(0.0, "probability each participant votes NO when `begin` does not say",
                                0.0, 1.0, kind="float"),
    }
    actions = {
        "begin": Action(
            "the client starts a transaction (tx1, tx2, ...) at every participant; `votes` sets how some of them "
            'will vote, e.g. {"p2": "no"}',
            {"votes": VotesParam({}, "participant -> \"yes\" or \"no\"", kind="str")},
            node_fields=(),
        ),
        "abort": Action(
            "a participant aborts the transactions it has not voted on yet (it may not once it voted YES); on "
            "the coordinator: the client aborts its undecided transactions",
            {"node": Param(None, "participant or coordinator", kind="str")},
        ),
        "arm_crash": Action(
            "make `node` crash at a precise point of the protocol, once: coordinator after_votes (before logging "
            "the decision), after_decision_logged (before sending it), after_first_decision_sent (sent to p1 "
            "only); participant after_vote (right after voting YES); off disarms",
            {"node": Param("coordinator", "target node", kind="str"),
             "point": Param("after_votes", "where to crash", kind="choice", choices=CRASH_POINTS)},
        ),
    }
    selectors = {"coordinator": "the coordinator (coord)"}
    mutations = {
        "commit_on_timeout": "an uncertain participant decides COMMIT by itself after the decision timeout",
        "no_force_write": "the coordinator sends its decision before the decision record is on disk: a crash "
                          "forgets it, and on recovery it presumes abort although it told some to commit",
        "no_force_prepare": "a participant votes YES before its prepared record is on disk: a crash forgets it, "
                            "and it cannot commit when told to",
    }
    opening_speed = 250.0  # the first transaction begins at 0.5 s: 5 s of nothing at 1/10 of real time
    mutation_examples = {  # mutation -> the docs/examples file (no .json) that catches it
        "commit_on_timeout": "twophase-mutation-commit-on-timeout",
        "no_force_write": "twophase-mutation-no-force-write",
        "no_force_prepare": "twophase-mutation-no-force-prepare",
    }
    Node = None

    @classmethod
    def node_ids(cls, count):
        return [COORD] + [f"p{i}" for i in range(1, count + 1)]

    def make_node(self, node_id, index, rng):
        cls = CoordinatorNode if node_id == COORD else ParticipantNode
        return cls(self.ctx, node_id, index, rng)

    # --- interventions ----------------------------------------------------------------------------
    def resolve(self, selector):
        return COORD if selector == "coordinator" else None

    def check_begin(self, iv):
        sim = self.sim
        for p in iv.get("votes", {}):
            if p not in sim.nodes:
                raise InterventionError(f"votes.{p}: unknown participant (participants are p1.."
                                        f"p{len(sim.node_ids) - 1})", code="unknown_node", field=f"votes.{p}")
        coord = sim.nodes[COORD]
        if coord.status != "up":
            raise InterventionError(f"the coordinator is {coord.status}: nobody can begin a transaction",
                                    code="invalid_state", field="action")

    def apply_begin(self, iv):
        tx, votes = self.begin_transaction(self.sim.nodes[COORD], iv.get("votes", {}))
        return {"tx": tx, "votes": votes}

    def check_arm_crash(self, iv):
        node = self.sim.nodes[iv["node"]]
        point = iv["point"]
        allowed = COORD_POINTS if node.id == COORD else PARTICIPANT_POINTS
        if point != "off" and point not in allowed:
            raise InterventionError(f"point: {point} is not a crash point of {node.role} {node.id} (allowed: "
                                    f"{', '.join(('off',) + allowed)})", code="invalid_point", field="point")
        if node.status == "crashed":
            raise InterventionError(f"{node.id} is already crashed", code="invalid_state", field="node")

    def apply_arm_crash(self, iv):
        node = self.sim.nodes[iv["node"]]
        node.armed = iv["point"]
        node.mark("armed")
        self.sim.flush(node)
        return None

    def check_abort(self, iv):
        node = self.sim.nodes[iv["node"]]
        if node.status != "up":
            raise InterventionError(f"{node.id} is {node.status}", code="invalid_state", field="node")
        if node.id == COORD:
            if not node.undecided():
                raise InterventionError("the coordinator has no undecided transaction to abort (a decision being "
                                        "written to its log is already made)", code="invalid_state", field="node")
            return
        if not self._abortable(node):
            prepared = [tx for tx in node.sorted_open() if node.tx[tx]["state"] in (PREPARED, PRECOMMITTED)]
            if prepared:
                raise InterventionError(f"{node.id} voted YES on {prepared[0]}: it is uncertain and may not abort "
                                        "on its own (only the coordinator's decision, or a peer that knows it, "
                                        "can release it)", code="uncertain", field="node")
            raise InterventionError(f"{node.id} has no transaction it could abort", code="invalid_state",
                                    field="node")

    def apply_abort(self, iv):
        node = self.sim.nodes[iv["node"]]
        out = []
        if node.id == COORD:
            self.sim.dispatch(node, "client_abort", out)
        else:
            out = self._abortable(node)
            self.sim.dispatch(node, "abort_working", out)
        return {"aborted": out}

    @staticmethod
    def _abortable(node):
        return [tx for tx in node.sorted_open() if node.tx[tx]["state"] == WORKING and not node.tx[tx]["writing"]]

    @classmethod
    def presets(cls):
        return presets()
