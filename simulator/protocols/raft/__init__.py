"""Raft (Ongaro & Ousterhout 2014), faithful to Figure 2, with pre-vote and check-quorum.

- spec.py: the Protocol subclass (parameters, actions, selectors, mutations, version)
- nodes.py: the servers; checker.py: the invariants and figures; workload.py: client load; presets.py: the gallery
"""

from .nodes import CANDIDATE, FOLLOWER, LEADER, PRECANDIDATE, DurableRaftNode, RaftNode
from .spec import Raft

PROTOCOL = Raft

__all__ = ["PROTOCOL", "Raft", "RaftNode", "DurableRaftNode", "FOLLOWER", "PRECANDIDATE", "CANDIDATE", "LEADER"]
