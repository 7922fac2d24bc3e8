"""Gossip: epidemic dissemination (Demers et al. 1987) and the SWIM failure detector (Das et al. 2002).

- spec.py: the Protocol subclass (parameters and what is derived from them, the rumor action, mutations)
- nodes.py: rumour-mongering / anti-entropy nodes and SWIM members; checker.py: the invariants and figures;
  workload.py: the initial rumour; presets.py: the gallery
"""

from .nodes import GossipNode, SwimNode
from .spec import Gossip, retransmit_limit, suspicion_timeout

PROTOCOL = Gossip

__all__ = ["PROTOCOL", "Gossip", "GossipNode", "SwimNode", "retransmit_limit", "suspicion_timeout"]
