"""Gossip and SWIM: the spec. Parameters (and what is derived from them), the `rumor` action (checked, then
applied), mutations.

The nodes are in nodes.py, the invariants and figures in checker.py, the initial rumour in workload.py, the
gallery in presets.py.
"""

import math

from ...errors import InterventionError, ScenarioError
from ...params import Action, Param
from ..base import Protocol
from .checker import GossipChecker
from .nodes import (
    ANTI_ENTROPY, COIN, COUNTER, ID_CHARS, PULL, PUSH, PUSH_PULL, RUMOR, SWIM, GossipNode, SwimNode,
)
from .presets import presets
from .workload import GossipWorkload


def suspicion_timeout(n, probe_interval, mult):
    """memberlist's suspicionTimeout: mult x max(1, log10 n) x probe interval, in integer ms."""
    scale = max(1000, int(math.log10(max(1, n)) * 1000))
    return mult * scale * probe_interval // 1000


def retransmit_limit(n, mult):
    """memberlist's retransmitLimit: mult x ceil(log10(n + 1))."""
    return mult * math.ceil(math.log10(n + 1))


class Gossip(GossipWorkload, GossipChecker, Protocol):
    name = "gossip"
    title = "Gossip and SWIM"
    version = "1"  # bump when a change alters traces: old share links then say their replay may differ
    summary = ("Epidemic spread at scale: push, pull and push-pull, rumour mongering's residue versus "
               "anti-entropy, and SWIM failure detection with suspicion and refutation.")
    nodes = Param(16, "number of nodes (1,000 play in the browser, 10,000 headless)", 2, 10_000)
    params = {
        "mode": Param(RUMOR, "rumor: rumour mongering with a stop rule; anti_entropy: periodic full state "
                             "exchange; swim: the SWIM failure detector", kind="choice",
                      choices=(RUMOR, ANTI_ENTROPY, SWIM)),
        "style": Param(PUSH, "push: informed nodes send; pull: every node asks; push_pull: both in one exchange",
                       kind="choice", choices=(PUSH, PULL, PUSH_PULL)),
        "fanout": Param(1, "peers contacted per gossip interval (SWIM: members gossiped to, memberlist uses 3)",
                        1, 32),
        "interval": Param(200, "gossip interval in ms (one round)", 1, 60_000),
        "stop": Param(COIN, "rumour mongering stop rule: coin = lose interest with probability 1/k, counter = "
                            "after k contacts", kind="choice", choices=(COIN, COUNTER)),
        "stop_k": Param(2, "k of the stop rule (smaller: stops sooner, leaves more residue)", 1, 50),
        "feedback": Param(True, "only contacts that already knew the rumour count (else every contact: blind)",
                          kind="bool"),
        "lockstep": Param(False, "synchronous rounds: every node gossips at the same instants and answers with "
                                 "what it knew at the start of the round (the theory's model; keep latency "
                                 "below half the interval)", kind="bool"),
        "initial_rumor": Param(True, "n1 starts rumour r1 at t=0 (rumor and anti_entropy modes)", kind="bool"),
        "probe_interval": Param(1000, "SWIM: protocol period, one probe per member per period (ms)", 20, 60_000),
        "probe_timeout": Param(500, "SWIM: wait this long for a direct ack before asking others (ms)",
                               10, 60_000),
        "indirect_checks": Param(3, "SWIM: members asked to ping-req the target (0: no indirect probes)", 0, 10),
        "suspicion_mult": Param(4, "SWIM: suspicion timeout = this x probe interval x max(1, log10 N)", 1, 20),
        "retransmit_mult": Param(4, "SWIM: each membership update is piggybacked this x ceil(log10(N+1)) times",
                                 1, 20),
    }
    actions = {
        "rumor": Action(
            "start a rumour at `node` (the same `id` again: a newer version that replaces the old one)",
            {"node": Param("n1", "the node that starts it", kind="str"),
             "id": Param("", "rumour id (letters, digits, _ - .); empty: the next free r<k>", kind="str",
                         max_length=24),
             "value": Param("", "its value; empty: v<version>", kind="str", max_length=40)},
        ),
    }
    mutations = {
        "no_version_check": "a node takes whatever version of a rumour it is sent, even an older one "
                            "(last writer wins without comparing versions)",
        "forget_on_crash": "the rumour store lives in memory only: a crash forgets what the node had learned",
        "no_refutation": "SWIM: a node that hears it is suspected does not raise its incarnation to refute it",
    }
    mutation_examples = {  # mutation -> the docs/examples file (no .json) that catches it
        "no_version_check": "gossip-stale-overwrite",
        "forget_on_crash": "gossip-mutation-forget-on-crash",
        "no_refutation": "gossip-swim-no-refutation",
    }
    counters = {"sent": {}}  # message kind -> how many sent

    @classmethod
    def validate_params(cls, p):
        if p["probe_timeout"] >= p["probe_interval"]:
            raise ScenarioError(f"params.probe_timeout: must be below probe_interval ({p['probe_interval']} ms), "
                                "or indirect probes get no time", field="params.probe_timeout")

    @classmethod
    def derive_params(cls, p, nodes, mutations):
        return {
            "fanout_used": min(p["fanout"], nodes - 1),  # peers per round (never more than there are)
            "coin": 1.0 / p["stop_k"],  # the coin stop rule's probability
            "suspicion_timeout": suspicion_timeout(nodes, p["probe_interval"], p["suspicion_mult"]),
            "retransmits": retransmit_limit(nodes, p["retransmit_mult"]),
        }

    def make_node(self, node_id, index, rng):
        cls = SwimNode if self.ctx.params.mode == SWIM else GossipNode
        return cls(self.ctx, node_id, index, rng)

    # --- the `rumor` action ---------------------------------------------------------------
    def _rumor_version(self, iv):
        """(node, rumour id, version, value) that the `rumor` action starts; raises if it cannot (changing
        nothing)."""
        if self.ctx.params.mode == SWIM:
            raise InterventionError("rumor: SWIM mode spreads membership updates, not rumours "
                                    "(set params.mode to rumor or anti_entropy)", code="invalid_mode",
                                    field="action")
        node = self.sim.nodes[iv["node"]]
        if node.status != "up":
            raise InterventionError(f"node: {node.id} is {node.status}; only an up node can start a rumour",
                                    code="invalid_state", field="node")
        rid = iv.get("id") or ""
        if rid:
            if not all(ch in ID_CHARS for ch in rid):
                raise InterventionError(f"id: {rid!r} may use only letters, digits, _ - and .",
                                        code="invalid_value", field="id")
        else:
            k = len(self.by_rid) + 1
            while f"r{k}" in self.by_rid:
                k += 1
            rid = f"r{k}"
        cur = node.store.get(rid)
        counter = cur[0] + 1 if cur else 1
        value = iv.get("value") or f"v{counter}"
        if (rid, counter, node.id) in self.by_version:
            raise InterventionError(f"id: {node.id} already started version {counter} of {rid}",
                                    code="invalid_state", field="id")
        return node, rid, counter, value

    def check_rumor(self, iv):
        self._rumor_version(iv)

    def apply_rumor(self, iv):
        node, rid, counter, value = self._rumor_version(iv)
        self.register_rumor(rid, counter, node.id, value, node)
        self.sim.dispatch(node, "start_rumor", rid, counter, value)
        return {"id": rid, "version": counter, "value": value}

    @classmethod
    def presets(cls):
        return presets()
