"""Two-phase commit's client: the first transaction soon after the start, then one every `begin_interval` ms
(0: only with the `begin` action, which starts one through the same `begin_transaction`)."""

from functools import partial

from ..base import Workload
from .nodes import COORD, FIRST_AUTO_BEGIN_MS


class TwoPhaseWorkload(Workload):
    def start_workload(self):
        self.tx_seq = 0
        self.began = {}  # tx -> time
        interval = self.ctx.params.begin_interval
        if interval:
            self.ctx.schedule(min(interval, FIRST_AUTO_BEGIN_MS), partial(self._begin_tick, interval))

    def _begin_tick(self, interval):
        coord = self.sim.nodes[COORD]
        if coord.status == "up":
            self.begin_transaction(coord, {})
        self.ctx.schedule(interval, partial(self._begin_tick, interval))

    def begin_transaction(self, coord, votes):
        """Start the next transaction at the coordinator; participants not in `votes` vote YES (or NO with
        probability `no_probability`). Returns (tx, every participant's planned vote)."""
        self.tx_seq += 1
        tx = f"tx{self.tx_seq}"
        p_no = self.ctx.params.no_probability
        full = {}
        for p in self.sim.node_ids[1:]:
            if p in votes:
                full[p] = votes[p]
            else:
                full[p] = "no" if p_no and self.sim.protocol_rng.random() < p_no else "yes"
        self.began[tx] = self.sim.now
        self.sim.dispatch(coord, "begin", tx, full)
        return tx, full
