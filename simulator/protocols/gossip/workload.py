"""Gossip's load: in the rumour and anti-entropy modes, n1 starts rumour r1 at t=0 (`initial_rumor`); later
rumours come from the `rumor` action. SWIM has no client load."""

from ..base import Workload
from .nodes import SWIM


class GossipWorkload(Workload):
    def start_workload(self):
        if self.ctx.params.mode != SWIM and self.ctx.params.initial_rumor:
            first = self.sim.nodes[self.sim.node_ids[0]]
            self.register_rumor("r1", 1, first.id, "hello", first)
            first.start_rumor("r1", 1, "hello")  # flushed by its on_start
