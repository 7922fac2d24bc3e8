"""Raft's automatic client load: a client request to the leader every `client_interval` ms (0: none)."""

from ..base import Workload


class RaftWorkload(Workload):
    def start_workload(self):
        self.client_seq = 0  # automatic values x1, x2, ... (the client_request action draws from it too)
        if self.ctx.params.client_interval:
            self.ctx.schedule(self.ctx.params.client_interval, self._client_tick)

    def _client_tick(self):
        leader = self.resolve("leader")
        if leader is not None:
            self.client_seq += 1
            self.sim.dispatch(self.sim.nodes[leader], "client_request", f"x{self.client_seq}")
        self.ctx.schedule(self.ctx.params.client_interval, self._client_tick)
