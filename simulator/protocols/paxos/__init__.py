"""Paxos (Lamport, "Paxos Made Simple", 2001): single-decree, and Multi-Paxos with a distinguished leader.

- spec.py: the Protocol subclass (parameters, the propose action, the leader selector, mutations, version)
- nodes.py: proposers, acceptors, learners; checker.py: the invariants and figures; workload.py: client load;
  presets.py: the gallery (and the DUEL_NETWORK, FAILOVER and CATCH_UP scenarios tests and benchmarks reuse)
"""

from .nodes import NOOP, AcceptorNode, LearnerNode, ProposerNode
from .presets import CATCH_UP, DUEL_NETWORK, FAILOVER
from .spec import Paxos

PROTOCOL = Paxos

__all__ = ["PROTOCOL", "Paxos", "AcceptorNode", "LearnerNode", "ProposerNode", "NOOP", "CATCH_UP", "DUEL_NETWORK",
           "FAILOVER"]
