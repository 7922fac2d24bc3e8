"""The broker: what both group coordinators share (partition metadata, committed offsets, the group's history) and,
with brokers >= 2, its part in the replicated __consumer_offsets partition (leadership, take-over, catch-up).
The controller that moves the leadership is in controller.py; the group rules are in classic_coordinator.py and
kip848_coordinator.py."""

from ...node import Node, receives
from .topics import TOPICS, tp, tp_key

BROKER = "broker"
GROUP_KINDS = ("OffsetCommit", "OffsetFetch", "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup",
               "ConsumerGroupHeartbeat")  # requests only the coordinator answers
LOG_MAX = 1200  # a consumer's ownership log keeps its last entries (trimmed by LOG_TRIM at a time)
LOG_TRIM = 400
STALE_ERRORS = ("ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID", "STALE_MEMBER_EPOCH")


class Broker(Node):
    """The group coordinator, and the cluster: partition metadata, the log end offsets, committed offsets."""

    VIEW = ("mode", "assignor", "state", "generation", "leader", "members", "assignment", "target", "committed",
            "partitions", "rate", "scale", "config", "reason", "history")
    VISIBLE_TIMERS = ("rebalance",)

    def init_persistent(self):
        p = self.params
        self.mode = p.mode
        self.assignor = p.assignor
        self.rate = p.produce_rate
        self.scale = p.time_scale
        self.partitions = [[tp(t, i), 0] for t in TOPICS[:p.topics] for i in range(p.partitions)]
        self.committed = {}  # __consumer_offsets: tp -> offset
        self.id_seq = 0
        self.history = []  # [t, state, generation] at each change: the page draws rebalances from it
        self.config = {"session_ms": p.session_timeout, "max_poll_ms": p.max_poll_interval,
                       "heartbeat_ms": p.consumer_heartbeat_interval if p.mode == "consumer" else p.heartbeat_interval,
                       "initial_delay_ms": p.initial_rebalance_delay,
                       "auto_commit_ms": p.auto_commit_interval if p.auto_commit else None,
                       "static": p.static_membership}
        if p.multi_broker:
            self.init_role()

    def init_role(self):
        """brokers >= 2: the broker's part in the __consumer_offsets partition (see the module docstring)."""
        self.VIEW = Broker.VIEW + ("role", "in_sync", "leader_epoch")
        self.VISIBLE_TIMERS = ("rebalance", "failover")
        self.config = dict(self.config, failover_ms=self.params.broker_session_timeout)
        first = self.index == 0
        self.role = "coordinator" if first else "follower"  # b1 leads at the start
        self.in_sync = True
        self.leader_epoch = 0
        self.replica = None  # this broker's copy of what the coordinator wrote to __consumer_offsets

    def init_volatile(self):
        self.state = "Empty"
        self.generation = 0
        self.leader = None
        self.members = []
        self.assignment = {}
        self.target = {}
        self.reason = None

    def counts(self):
        out = {}
        for name, _ in self.partitions:
            topic = tp_key(name)[0]
            out[topic] = out.get(topic, 0) + 1
        return out

    def put(self, field, value):
        if getattr(self, field) != value:
            setattr(self, field, value)
            self.mark(field)

    def record_history(self):
        last = self.history[-1] if self.history else None
        if last is None or last[1] != self.state or last[2] != self.generation:
            self.history.append([self.now, self.state, self.generation])
            if len(self.history) > LOG_MAX:
                del self.history[:LOG_TRIM]
                self.mark("history")
            else:
                self.mark_splice("history", len(self.history) - 1)

    def new_member_id(self, node):
        """Kafka: client.id + '-' + a UUID; here the node id and a few hex digits from the broker's stream."""
        self.id_seq += 1
        return f"{node}-{self.rng.getrandbits(16):04x}"

    def add_partitions(self, topic, count):
        n = self.counts().get(topic, 0)
        self.partitions = self.partitions + [[tp(topic, n + i), self.now] for i in range(count)]
        self.mark("partitions")
        if self.acting:
            self.metadata_changed()
            self.publish()
            self.replicate()

    def metadata_changed(self):
        """The partition metadata changed (the KIP-848 coordinator reacts at once; classic waits for the leader)."""

    def view_value(self, f):
        if f in ("assignment", "target", "committed", "config"):
            return dict(getattr(self, f))
        return super().view_value(f)

    # --- brokers >= 2: leadership of __consumer_offsets ------------------------------------------------------
    @property
    def acting(self):
        """Whether this broker acts as the group coordinator (always, with one broker)."""
        return not self.params.multi_broker or self.role == "coordinator"

    def multi_message(self, src, m):
        """brokers >= 2: any broker answers FindCoordinator and Metadata; only the coordinator the group requests."""
        kind = m["kind"]
        if kind == "FindCoordinator":
            leader = self.protocol.available_coordinator()
            self.send(src, {"kind": "FindCoordinatorResponse", "req": m["req"],
                            "error": "NONE" if leader else "COORDINATOR_NOT_AVAILABLE", "coordinator": leader})
            return True
        if kind in GROUP_KINDS and not self.acting:
            msg = {"kind": kind + "Response", "error": "NOT_COORDINATOR", "req": m.get("req")}
            if kind == "ConsumerGroupHeartbeat":
                msg.update(member_id=m["member_id"], sent_epoch=m["epoch"], epoch=-1)
            self.send(src, msg)
            return True
        return False

    def replica_state(self):
        """What this coordinator has written to __consumer_offsets (shared, never changed in place)."""
        return {"saved": self.saved, "committed": self.committed, "history": list(self.history)}

    def load_replica(self, r):
        self.saved = r["saved"]
        self.committed = dict(r["committed"])
        self.history = list(r["history"])

    def replicate(self):
        """acks=all: the write is in every in-sync replica before the coordinator answers."""
        if self.params.multi_broker and self.role == "coordinator":
            self.protocol.replicate(self, self.replica_state())

    def take_over(self, epoch):
        """The controller made this broker the leader of __consumer_offsets: load the group from the replica."""
        for name in list(self._timers):
            self.cancel_timer(name)
        self.load_replica(self.replica)
        self.role = "coordinator"
        self.leader_epoch = epoch
        self.in_sync = True
        self.init_volatile()
        self.mark_all()
        self.on_start()
        self.replicate()

    def resign(self, epoch):
        """No longer the leader (the controller moved it while this broker was down): drop the group."""
        for name in list(self._timers):
            self.cancel_timer(name)
        self.forget_group()
        self.role = "follower"
        self.leader_epoch = epoch
        self.in_sync = False
        self.init_volatile()
        self.mark_all()

    def forget_group(self):
        self.saved = None
        self.committed = {}
        self.history = []

    def catch_up(self, replica, epoch):
        """A follower fetched the leader's log: it is in sync again."""
        self.replica = replica
        self.put("in_sync", True)
        self.put("leader_epoch", epoch)

    def drop_out(self):
        self.put("in_sync", False)

    def on_message(self, src, m):
        """Every request: with brokers >= 2 routed first (multi_message), then its handler (HANDLERS, by kind);
        then what changed is published, and replicated by the coordinator."""
        if self.params.multi_broker and self.multi_message(src, m):
            return
        handler = self.HANDLERS.get(m["kind"])
        if handler is not None:
            handler(self, src, m)
        self.publish()
        self.replicate()

    @receives("OffsetFetch")
    def on_offset_fetch(self, src, m):
        offsets = {t: self.committed.get(t, -1) for t in m["partitions"]}
        self.send(src, {"kind": "OffsetFetchResponse", "req": m["req"], "offsets": offsets})

    @receives("Metadata")
    def on_metadata_request(self, src, m):
        self.send(src, {"kind": "MetadataResponse", "req": m["req"], "partitions": self.counts()})

    @receives("OffsetCommit")
    def on_commit(self, src, m):
        err = self.validate_commit(m)
        stale = err if err in STALE_ERRORS else None
        accept = err is None or (stale is not None and self.mutations.accept_stale_commits)
        if accept:
            old = {t: self.committed.get(t) for t in m["offsets"]}
            committed = dict(self.committed)
            committed.update(m["offsets"])
            self.committed = committed
            self.mark("committed")
            self.protocol.commit_accepted(self, src, m, stale, old)
            self.commit_refreshes_session(m)
        else:
            self.protocol.commit_rejected(src, err)
        self.send(src, {"kind": "OffsetCommitResponse", "req": m["req"], "error": "NONE" if accept else err,
                        "generation": m["generation"], "group_generation": self.generation,
                        "offsets": dict(m["offsets"])})

    def commit_refreshes_session(self, m):
        """Classic: an accepted commit counts as a heartbeat."""
