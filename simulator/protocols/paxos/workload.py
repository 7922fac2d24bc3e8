"""Paxos' automatic client load. Single-decree: each proposer proposes its own value (A, B, ...) in the first
30 ms (`auto_propose`). Multi-Paxos: a client sends a value to the leader every `client_interval` ms."""

from functools import partial

from ..base import Workload
from .nodes import IDLE, LETTERS


class PaxosWorkload(Workload):
    def start_workload(self):
        self.client_seq = 0  # automatic Multi-Paxos values x1, x2, ... (the propose action draws from it too)
        params = self.ctx.params
        if not params.multi and params.auto_propose:
            for i, pid in enumerate(self.proposers):
                delay = self.sim.protocol_rng.randint(0, 30)
                self.ctx.schedule(delay, partial(self._auto_propose, pid, LETTERS[i % 26]))
        if params.multi and params.client_interval:
            self.ctx.schedule(params.client_interval, self._client_tick)

    def _auto_propose(self, pid, value):
        node = self.sim.nodes[pid]
        if node.status == "up" and node.phase == IDLE:
            self.sim.dispatch(node, "client_propose", value)

    def _client_tick(self):
        leader = self.resolve("leader")
        if leader is not None:
            self.client_seq += 1
            self.sim.dispatch(self.sim.nodes[leader], "client_propose", f"x{self.client_seq}")
        self.ctx.schedule(self.ctx.params.client_interval, self._client_tick)
