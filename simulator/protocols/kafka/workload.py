"""The workload: records produced to every partition at `produce_rate` from its creation (the log end offsets), and
what the consumers do with them (records processed, processed twice, skipped by auto.offset.reset=latest).

A part of the Protocol object (spec.Kafka inherits it); the consumers call these as services. Nothing is scheduled:
a partition's log end offset is a function of time, so the load costs no events."""

from ..base import Workload


class KafkaWorkload(Workload):
    def start_workload(self):
        self.hw = {}  # tp -> offset after the last record anyone processed
        self.dups_by_tp = {}
        self.records = 0
        self.duplicates = 0
        self.skipped = 0

    def leo(self, t, now):
        """The log end offset of partition `t` at time `now`: records produced since it was created."""
        return max(0, (now - self.created[t]) * self.ctx.params.produce_rate // 1000)

    def reset_offset(self, consumer, t):
        """auto.offset.reset for a partition with no committed offset."""
        if self.ctx.params.auto_offset_reset == "earliest":
            return 0
        pos = self.leo(t, self.sim.now)
        hw = self.hw.get(t, 0)
        if pos > hw:
            self.skipped += pos - hw  # `latest` skips what was produced before: never processed
            self.hw[t] = pos
        return pos

    def processed(self, consumer, t, a, b):
        """`consumer` processed records [a, b) of `t`; return how many of them someone had processed before."""
        hw = self.hw.get(t, 0)
        dup = max(0, min(b, hw) - a)
        if b > hw:
            self.hw[t] = b
        self.records += b - a
        if dup:
            self.duplicates += dup
            self.dups_by_tp[t] = self.dups_by_tp.get(t, 0) + dup
            if self.episode is not None:
                self.episode["duplicates"] += dup
        return dup
