"""The KIP-848 group coordinator: the rules of group.protocol=consumer on the broker side (ConsumerGroupHeartbeat,
group and member epochs, the target assignment computed on the broker, per-member reconciliation)."""

import copy

from ...node import receives
from .assignors import range848_assign, uniform_assign
from .broker import Broker
from .topics import tp_sorted, without


class ConsumerCoordinator(Broker):
    """KIP-848's coordinator for `group.protocol=consumer`: ConsumerGroupHeartbeat, a group epoch bumped on every
    membership or metadata change, a target assignment computed on the broker, and per-member reconciliation
    (Kafka's CurrentAssignmentBuilder): a member first revokes what it must give up, then gets partitions only
    once their previous owner released them. No group-wide barrier."""

    def init_persistent(self):
        super().init_persistent()
        self.group = {}  # member id -> member record (all of it lives in __consumer_offsets)
        self.static = {}
        self.group_epoch = 0
        self.target_epoch = 0
        self.targets = {}  # member id -> target partitions
        self.owner = {}  # tp -> member id owning it (assigned, or pending revocation)

    def init_volatile(self):
        super().init_volatile()
        self.publish()

    def on_start(self):
        for mid, m in self.group.items():
            self.set_timer(f"s:{mid}", self.params.session_timeout)
            if m["state"] == "unrevoked":
                self.set_timer(f"r:{mid}", m["rebalance_timeout"])

    def publish(self):
        self.put("generation", self.group_epoch)
        states = [m["state"] for m in self.group.values() if m["epoch"] >= 0]
        if not self.group:
            state = "Empty"
        elif self.target_epoch < self.group_epoch:
            state = "Assigning"
        elif all(s == "stable" for s in states) and all(m["epoch"] == self.target_epoch
                                                        for m in self.group.values() if m["epoch"] >= 0):
            state = "Stable"
        else:
            state = "Reconciling"
        self.put("state", state)
        self.put("members", [[mid, m["node"], m["instance_id"], m["state"] if m["epoch"] >= 0 else "left",
                              m["epoch"]] for mid, m in self.group.items()])
        self.put("assignment", {t: self.group[mid]["node"] for t, mid in
                                ((t, self.owner[t]) for t in tp_sorted(self.owner)) if mid in self.group})
        target = {t: self.group[mid]["node"] for mid, ts in self.targets.items() if mid in self.group for t in ts}
        self.put("target", {t: target[t] for t in tp_sorted(target)})
        self.record_history()

    def bump(self, reason):
        self.group_epoch += 1
        self.put("reason", reason)
        self.protocol.generation_started(self.group_epoch)
        self.compute_target()

    def compute_target(self):
        members = [{"member_id": mid, "instance_id": m["instance_id"], "topics": m["topics"]}
                   for mid, m in self.group.items()]
        if self.assignor == "range":
            self.targets = range848_assign(self.counts(), members, self.targets)
        else:
            self.targets = uniform_assign(self.counts(), members, self.targets)
        self.target_epoch = self.group_epoch

    def metadata_changed(self):
        if self.group:
            self.bump("partitions were added")
            self.publish()

    def reply(self, src, m, error, mem=None, assignment=None):
        msg = {"kind": "ConsumerGroupHeartbeatResponse", "req": m.get("req"), "error": error,
               "member_id": m["member_id"], "sent_epoch": m["epoch"], "epoch": mem["epoch"] if mem else -1,
               "heartbeat_interval": self.params.consumer_heartbeat_interval}
        if assignment is not None:
            msg["assignment"] = assignment
        self.send(src, msg)

    def new_member(self, mid, src, m):
        return {"member_id": mid, "node": src, "instance_id": m["instance_id"], "epoch": 0, "prev_epoch": -1,
                "state": "stable", "assigned": [], "pending": [], "topics": list(m["topics"]), "sent": None,
                "rebalance_timeout": m["rebalance_timeout"]}

    @receives("ConsumerGroupHeartbeat")
    def on_heartbeat(self, src, m):
        mid, epoch, inst = m["member_id"], m["epoch"], m["instance_id"]
        mem = self.group.get(mid)
        if epoch == -1:  # leave
            if mem is not None:
                self.remove_member(mid, f"{src} left the group")
            self.reply(src, m, "NONE")
            return
        if epoch == -2:  # a static member leaves for now: it keeps its assignment until its session expires
            if mem is not None:
                mem["prev_epoch"], mem["epoch"] = mem["epoch"], -2  # its partitions wait for it
            self.reply(src, m, "NONE")
            return
        if epoch == 0:
            if mem is None:
                old_mid = self.static.get(inst) if inst else None
                if old_mid is not None:
                    old = self.group[old_mid]
                    if old["epoch"] != -2:
                        self.reply(src, m, "UNRELEASED_INSTANCE_ID")
                        return
                    mem = self.replace_static(old, mid, src)
                else:
                    mem = self.group[mid] = self.new_member(mid, src, m)
                    if inst:
                        self.static[inst] = mid
                    self.bump(f"{src} joined")
            else:  # a known member rejoining from scratch: it has let go of everything it had
                self.release(mid, mem["assigned"] + mem["pending"])
                mem.update(epoch=0, prev_epoch=-1, state="stable", assigned=[], pending=[], sent=None)
                self.cancel_timer(f"r:{mid}")
        else:
            if mem is None:
                self.reply(src, m, "UNKNOWN_MEMBER_ID")
                return
            if inst and self.static.get(inst) != mid:
                self.reply(src, m, "FENCED_INSTANCE_ID")
                return
            owned = m["owned"]
            if epoch > mem["epoch"] or (epoch < mem["epoch"] and not (
                    epoch == mem["prev_epoch"] and all(t in mem["assigned"] for t in owned))):
                self.reply(src, m, "FENCED_MEMBER_EPOCH", mem)
                return
        self.set_timer(f"s:{mid}", self.params.session_timeout)
        mem["rebalance_timeout"] = m["rebalance_timeout"]
        if m["topics"] != mem["topics"]:
            mem["topics"] = list(m["topics"])
            self.bump(f"{src} changed its subscription")
        self.reconcile(mem, m["owned"])
        assignment = None
        if mem["sent"] != mem["assigned"] or epoch == 0 or m.get("full"):
            assignment = list(mem["assigned"])
            mem["sent"] = list(mem["assigned"])
        self.reply(src, m, "NONE", mem, assignment)

    def replace_static(self, old, mid, src):
        mem = dict(old, member_id=mid, node=src, epoch=old["prev_epoch"], prev_epoch=-1, sent=None)
        old_mid = old["member_id"]
        self.group = {(mid if k == old_mid else k): (mem if k == old_mid else v) for k, v in self.group.items()}
        self.static[mem["instance_id"]] = mid
        self.targets = {(mid if k == old_mid else k): v for k, v in self.targets.items()}
        self.owner = {t: (mid if o == old_mid else o) for t, o in self.owner.items()}
        self.cancel_timer(f"s:{old_mid}")
        if self.cancel_revocation(old_mid):
            self.set_timer(f"r:{mid}", mem["rebalance_timeout"])
        return mem  # it gets its partitions back, no rebalance

    def cancel_revocation(self, mid):
        had = f"r:{mid}" in self._timers
        self.cancel_timer(f"r:{mid}")
        return had

    def release(self, mid, tps):
        for t in tps:
            if self.owner.get(t) == mid:
                del self.owner[t]

    def reconcile(self, mem, owned):
        state = mem["state"]
        if state == "unrevoked":
            if owned is None or any(t in owned for t in mem["pending"]):
                return
            self.next_assignment(mem, owned)
        elif state == "unreleased" or mem["epoch"] != self.target_epoch:
            self.next_assignment(mem, owned)

    def next_assignment(self, mem, owned):
        """CurrentAssignmentBuilder.computeNextAssignment."""
        mid = mem["member_id"]
        target = self.targets.get(mid, [])
        old_held = mem["assigned"] + mem["pending"]
        assigned = [t for t in mem["assigned"] if t in target]
        revoke = [t for t in mem["assigned"] if t not in target]
        to_assign = [t for t in target if t not in assigned]
        if self.mutations.no_wait_for_release:
            unreleased = []
        else:
            unreleased = [t for t in to_assign if self.owner.get(t) not in (None, mid)]
        to_assign = without(to_assign, unreleased)
        old_epoch = mem["epoch"]
        if revoke and (owned is None or any(t in owned for t in revoke)):
            mem.update(state="unrevoked", assigned=assigned, pending=revoke)
            if f"r:{mid}" not in self._timers:
                self.set_timer(f"r:{mid}", mem["rebalance_timeout"])
        else:
            mem.update(state="unreleased" if unreleased else "stable", assigned=tp_sorted(assigned + to_assign),
                       pending=[], epoch=self.target_epoch)
            self.cancel_timer(f"r:{mid}")
        if mem["epoch"] != old_epoch:
            mem["prev_epoch"] = old_epoch
        held = mem["assigned"] + mem["pending"]
        self.release(mid, without(old_held, held))
        for t in held:
            self.owner[t] = mid

    def remove_member(self, mid, reason):
        mem = self.group.pop(mid)
        if mem["instance_id"] and self.static.get(mem["instance_id"]) == mid:
            del self.static[mem["instance_id"]]
        self.release(mid, mem["assigned"] + mem["pending"])
        self.targets.pop(mid, None)
        self.cancel_timer(f"s:{mid}")
        self.cancel_timer(f"r:{mid}")
        self.bump(reason)

    def validate_commit(self, m):
        """ConsumerGroup.validateOffsetCommit, with Kafka 4.3's KIP-1251 rule for a lagging epoch: a commit with
        the member's epoch passes; an older epoch passes only for partitions the member still holds."""
        mem = self.group.get(m["member_id"])
        if mem is None:
            return "UNKNOWN_MEMBER_ID"
        if m["generation"] == mem["epoch"]:
            return None
        if m["generation"] > mem["epoch"]:
            return "STALE_MEMBER_EPOCH"
        held = mem["assigned"] + mem["pending"]
        return None if all(t in held for t in m["offsets"]) else "STALE_MEMBER_EPOCH"

    def on_timer(self, name):
        if name == "failover":
            self.protocol.failover(self)
            return
        mid = name[2:]
        mem = self.group.get(mid)
        if mem is not None:
            if name.startswith("s:"):
                self.remove_member(mid, f"{mem['node']}'s session timed out")
            elif name.startswith("r:") and mem["state"] == "unrevoked":
                self.remove_member(mid, f"{mem['node']} did not revoke its partitions within the rebalance timeout")
        self.publish()
        self.replicate()

    # --- brokers >= 2: all of the group lives in __consumer_offsets ------------------------------------------
    REPLICATED = ("group", "static", "group_epoch", "target_epoch", "targets", "owner", "committed", "history")

    def replica_state(self):
        return copy.deepcopy({f: getattr(self, f) for f in self.REPLICATED})

    def load_replica(self, r):
        for f, v in copy.deepcopy(r).items():
            setattr(self, f, v)

    def forget_group(self):
        self.group, self.static, self.targets, self.owner, self.committed, self.history = {}, {}, {}, {}, {}, []
        self.group_epoch = self.target_epoch = 0
