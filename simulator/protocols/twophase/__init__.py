"""Two-phase commit with presumed abort, cooperative termination, and three-phase commit as a mode.

- spec.py: the Protocol subclass (parameters, actions, the coordinator selector, mutations, version)
- nodes.py: the coordinator and the participants (the rules, the write-ahead log, crash points);
  checker.py: the invariants and figures; workload.py: the client; presets.py: the gallery
"""

from .nodes import COORD, CoordinatorNode, ParticipantNode
from .spec import TwoPhase

PROTOCOL = TwoPhase

__all__ = ["PROTOCOL", "TwoPhase", "CoordinatorNode", "ParticipantNode", "COORD"]
