"""Kafka consumer-group rebalancing: the classic group protocol (eager and cooperative incremental, KIP-429),
static membership (KIP-345) and the KIP-848 consumer protocol, with Kafka's assignors.

Nodes: `broker` is the group coordinator (and stands for the cluster: it holds the partition metadata and the
committed offsets of `__consumer_offsets`); `c1`..`cN` are consumer slots. A slot is either running a consumer
(`active`) or idle; `add_consumer` starts one, `remove_consumer` shuts one down cleanly, so node ids never change.

What travels on the simulated network is the group protocol and the offset traffic: JoinGroup, SyncGroup,
Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, Metadata (classic) and ConsumerGroupHeartbeat (KIP-848).
The data path (Fetch) is not drawn: partition leaders are brokers we do not model, and a consumer reads
records straight from the partition logs, whose end offsets grow with time at `produce_rate`.

Links are FIFO (Kafka requests share one TCP connection per client and broker): `fifo_links = True`.

Coordinator failover (`brokers` >= 2): the nodes are then `b1`..`bN` and `c1`..`cN`. The group coordinator is the
leader of the group's __consumer_offsets partition, which every broker replicates. The coordinator's writes (the
group metadata and committed offsets) are replicated synchronously to the in-sync replicas (acks=all, with Kafka's
default min.insync.replicas=1). The controller (KRaft's quorum, not drawn: modelled by the Protocol object) fences
a crashed or paused broker after `broker_session_timeout_ms` and moves the leadership to the next in-sync broker
(in order, after the failed one); the new coordinator loads the group from its replica. Consumers find the
coordinator with FindCoordinator; a crash resets their connections at once (a pause does not: they notice through
request timeouts); a broker that is not the coordinator answers group requests with NOT_COORDINATOR. With
`brokers` = 1 nothing of this exists: one node `broker`, exactly as before.

Kafka's timings (`*_ms` params) are in Kafka milliseconds with Kafka's defaults, divided by `time_scale`
to give simulated milliseconds, so a class need not wait 45 s for a session timeout.

The observer (the Protocol instance) tracks who owns each partition, checks the invariants after every state
event and measures partition-time unowned per rebalance, partitions moved, duplicates and lag.
"""

import copy

from ..errors import InterventionError, ScenarioError
from ..node import Node
from ..params import Action, Param
from .base import Protocol

BROKER = "broker"
GROUP_KINDS = ("OffsetCommit", "OffsetFetch", "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup",
               "ConsumerGroupHeartbeat")  # requests only the coordinator answers
TOPICS = ("t0", "t1", "t2", "t3")
MAX_PARTITIONS = 32  # per topic
LOG_MAX = 1200  # a consumer's ownership log keeps its last entries (trimmed by LOG_TRIM at a time)
LOG_TRIM = 400
QUIET = ("positions", "processed", "dups", "log", "timers", "error", "committed")  # cannot settle a group
STALE_ERRORS = ("ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID", "STALE_MEMBER_EPOCH")


# --- topic-partitions: "t0p3" is partition 3 of topic t0 -------------------------------------------
def tp(topic, n):
    return f"{topic}p{n}"


def tp_key(name):
    topic, _, n = name.rpartition("p")
    return (topic, int(n))


def tp_sorted(names):
    return sorted(names, key=tp_key)


def all_partitions(counts):
    """Every partition of `counts` ({topic: partition count}), sorted by (topic, partition)."""
    return [tp(t, i) for t in sorted(counts) for i in range(counts[t])]


def without(items, gone):
    return [x for x in items if x not in gone]


# --- assignors ----------------------------------------------------------------------------------
# A member is a dict: member_id, instance_id (or None), topics (subscription), owned (claimed partitions:
# cooperative ownedPartitions, or the sticky assignors' remembered assignment), generation (of the claim).
# Each returns {member_id: [partitions sorted]}.

def member_key(m):
    """Kafka's MemberInfo order: static members first, by group.instance.id; then the others by member id."""
    inst = m.get("instance_id")
    return (0, inst) if inst else (1, m["member_id"])


def range_assign(counts, members):
    """RangeAssignor: per topic, members sorted; each gets floor(P/C), the first P mod C one more, contiguous."""
    out = {m["member_id"]: [] for m in members}
    for topic in sorted(counts):
        subs = sorted((m for m in members if topic in m["topics"]), key=member_key)
        if not subs:
            continue
        per, extra = divmod(counts[topic], len(subs))
        for i, m in enumerate(subs):
            start = per * i + min(i, extra)
            length = per + (1 if i < extra else 0)
            out[m["member_id"]] += [tp(topic, p) for p in range(start, start + length)]
    return out


def roundrobin_assign(counts, members):
    """RoundRobinAssignor: all partitions sorted by (topic, partition) dealt in turn over the sorted members,
    skipping a member not subscribed to the partition's topic."""
    out = {m["member_id"]: [] for m in members}
    ms = sorted(members, key=member_key)
    if not ms:
        return out
    topics = sorted(dict.fromkeys(t for m in ms for t in m["topics"] if t in counts))
    i = 0
    for topic in topics:
        for p in range(counts[topic]):
            while topic not in ms[i % len(ms)]["topics"]:
                i += 1
            out[ms[i % len(ms)]["member_id"]].append(tp(topic, p))
            i += 1
    return out


def valid_claims(counts, members, contested=None):
    """The previously owned partitions each member may keep (AbstractStickyAssignor.allSubscriptionsEqual): only
    members of the newest generation among the claims keep theirs (older claims are stale), only partitions that
    still exist and are subscribed, and a partition two of them claim is dropped from both (and recorded in
    `contested`, if given: Kafka's partitionsWithMultiplePreviousOwners)."""
    exists = dict.fromkeys(all_partitions(counts))
    order = sorted(members, key=member_key)
    newest = max((m.get("generation", -1) for m in order), default=-1)
    claims = {}  # tp -> member id
    dropped = {}
    for m in order:
        if m.get("generation", -1) != newest:
            continue
        for t in m.get("owned", ()):
            if t not in exists or tp_key(t)[0] not in m["topics"] or t in dropped:
                continue
            if t in claims and claims[t] != m["member_id"]:
                del claims[t]
                dropped[t] = True
            else:
                claims[t] = m["member_id"]
    if contested is not None:
        contested.update(dropped)
    owned = {m["member_id"]: [] for m in order}
    for t in tp_sorted(claims):
        owned[claims[t]].append(t)
    return owned


def sticky_assign(counts, members):
    """StickyAssignor / CooperativeStickyAssignor: as balanced as possible (sizes differ by at most one), then
    keeping as many previously owned partitions as possible (Kafka's constrainedAssign when every member has
    the same subscription; a greedy balance otherwise)."""
    out = {m["member_id"]: [] for m in members}
    if not members:
        return out
    owned = valid_claims(counts, members)
    order = [m["member_id"] for m in sorted(members, key=member_key)]
    subs = {m["member_id"]: m["topics"] for m in members}
    first = subs[order[0]]
    if all(sorted(subs[mid]) == sorted(first) for mid in order):
        parts = all_partitions({t: n for t, n in counts.items() if t in first})
        return _constrained(parts, order, owned)
    return _general(counts, order, subs, owned)


def _constrained(parts, order, owned):
    n, c = len(parts), len(order)
    min_q, extra = divmod(n, c)
    max_q = min_q + (1 if extra else 0)
    expected_over, over = extra, 0
    assignment = {mid: [] for mid in order}
    taken = {}
    under, exact_min = [], []
    for mid in order:
        own = owned[mid]
        if len(own) < min_q:
            keep = own
            under.append(mid)
        elif len(own) >= max_q and over < expected_over:
            keep = own[:max_q]
            over += 1
            if over == expected_over:
                exact_min = []
        else:
            keep = own[:min_q]
            if over < expected_over:
                exact_min.append(mid)
        assignment[mid] = list(keep)
        for t in keep:
            taken[t] = True
    free = [t for t in parts if t not in taken]
    under.sort()
    i = 0
    while under and free:
        mid = under[i % len(under)]
        assignment[mid].append(free.pop(0))
        if len(assignment[mid]) >= min_q:
            under.remove(mid)
            if over < expected_over:
                exact_min.append(mid)
        else:
            i += 1
    for t in free:  # one more each for members at the minimum, while members may still go over it
        if exact_min:
            mid = exact_min.pop(0)
        else:  # cannot happen with the quotas above; stay balanced if it ever does
            mid = min(order, key=lambda m: (len(assignment[m]), order.index(m)))
        assignment[mid].append(t)
        over += 1
    return {mid: tp_sorted(v) for mid, v in assignment.items()}


def _general(counts, order, subs, owned):
    """Different subscriptions: keep valid claims, give each free partition to the least loaded eligible
    member, then move partitions from the most to the least loaded eligible member until balanced."""
    assignment = {mid: list(owned[mid]) for mid in order}
    taken = {t: True for v in assignment.values() for t in v}
    for t in all_partitions(counts):
        if t in taken:
            continue
        eligible = [m for m in order if tp_key(t)[0] in subs[m]]
        if eligible:
            best = min(eligible, key=lambda m: (len(assignment[m]), order.index(m)))
            assignment[best].append(t)
    moved = True
    while moved:
        moved = False
        for t in all_partitions(counts):
            holder = next((m for m in order if t in assignment[m]), None)
            if holder is None:
                continue
            eligible = [m for m in order if tp_key(t)[0] in subs[m]]
            best = min(eligible, key=lambda m: (len(assignment[m]), order.index(m)))
            if len(assignment[holder]) > len(assignment[best]) + 1:
                assignment[holder].remove(t)
                assignment[best].append(t)
                moved = True
    return {mid: tp_sorted(v) for mid, v in assignment.items()}


def cooperative_adjust(assignment, counts, members):
    """CooperativeStickyAssignor.adjustAssignment: a partition still claimed by another member is left out of
    its new owner's assignment; the old owner revokes it, rejoins, and the follow-up rebalance hands it over. A
    partition two members claim in the same generation (one of them missed that generation's assignment: its claims
    carry the generation of its JoinGroup answer, not of the assignment it holds) is dropped from both claims and is
    in partitionsTransferringOwnership whoever gets it (AbstractStickyAssignor.assignNewPartition): it is left out of
    every assignment this round, so both claimants revoke it before anyone is given it."""
    contested = {}
    owned = valid_claims(counts, members, contested)
    holder = {t: mid for mid, ts in owned.items() for t in ts}
    return {mid: [t for t in ts if holder.get(t, mid) == mid and t not in contested]
            for mid, ts in assignment.items()}


def uniform_assign(counts, members, previous):
    """KIP-848 server-side `uniform` assignor (UniformHomogeneousAssignmentBuilder): members in order get
    floor(P/C), the first P mod C one more; each keeps its previous target up to its quota (lowest partitions
    first); the rest is dealt to members below quota in order."""
    if not members:
        return {}
    order = sorted(m["member_id"] for m in members)
    topics = sorted(dict.fromkeys(t for m in members for t in m["topics"] if t in counts))
    parts = all_partitions({t: counts[t] for t in topics})
    min_q, extra = divmod(len(parts), len(order))
    assigned = {t: True for mid in order for t in previous.get(mid, ()) if t in parts}
    unassigned = [t for t in parts if t not in assigned]
    target, unfilled = {}, []
    seen = {}
    for mid in order:
        quota = min_q + (1 if extra > 0 else 0)
        extra -= 1 if extra > 0 else 0
        keep = []
        for t in tp_sorted(previous.get(mid, ())):
            if t not in assigned or t in seen:
                continue
            seen[t] = True
            if quota > 0:
                keep.append(t)
                quota -= 1
            else:
                unassigned.append(t)
        target[mid] = keep
        if quota > 0:
            unfilled.append((mid, quota))
    i = 0
    for mid, quota in unfilled:
        take = unassigned[i:i + quota]
        i += len(take)
        target[mid] = tp_sorted(target[mid] + take)
    return target


def range848_assign(counts, members, previous):
    """KIP-848 server-side `range` assignor: per topic, range-style quotas (floor, first P mod C get one more),
    sticky: a member keeps its lowest previously assigned partitions up to its quota, the rest is dealt in
    contiguous ranges to members below quota, in member order."""
    target = {m["member_id"]: [] for m in members}
    order = sorted(m["member_id"] for m in members)
    subs = {m["member_id"]: m["topics"] for m in members}
    for topic in sorted(counts):
        ms = [mid for mid in order if topic in subs[mid]]
        if not ms:
            continue
        n = counts[topic]
        min_q, extra = divmod(n, len(ms))
        sticky = {}
        unfilled = []
        for mid in ms:
            cur = sorted(tp_key(t)[1] for t in previous.get(mid, ()) if tp_key(t)[0] == topic and tp_key(t)[1] < n)
            for p in cur[:min(len(cur), min_q)]:
                sticky[p] = mid
            remaining = min_q - len(cur)
            if remaining < 0 and extra > 0:
                extra -= 1
                sticky[cur[min_q]] = mid
            else:
                unfilled.append([mid, remaining])
        free = [p for p in range(n) if p not in sticky]
        for p, mid in sticky.items():
            target[mid].append(tp(topic, p))
        i = 0
        for mid, remaining in unfilled:
            if extra > 0:
                remaining += 1
                extra -= 1
            if remaining > 0:
                target[mid] += [tp(topic, p) for p in free[i:i + remaining]]
                i += remaining
    return {mid: tp_sorted(v) for mid, v in target.items()}


def client_assign(assignor, counts, members):
    """What the classic group leader computes with partition.assignment.strategy = `assignor`."""
    if assignor == "range":
        return range_assign(counts, members)
    if assignor == "roundrobin":
        return roundrobin_assign(counts, members)
    out = sticky_assign(counts, members)
    if assignor == "cooperative-sticky":
        out = cooperative_adjust(out, counts, members)
    return out


def mode_of(params):
    if params["group_protocol"] == "consumer":
        return "consumer"
    return "cooperative" if params["assignor"] == "cooperative-sticky" else "eager"


# --- the group coordinator ---------------------------------------------------------------------------
class Broker(Node):
    """The group coordinator, and the cluster: partition metadata, the log end offsets, committed offsets."""

    VIEW = ("mode", "assignor", "state", "generation", "leader", "members", "assignment", "target", "committed",
            "partitions", "rate", "scale", "config", "reason", "history")
    VISIBLE_TIMERS = ("rebalance",)

    def init_persistent(self):
        p = self.sim.scenario["params"]
        self.mode = mode_of(p)
        self.assignor = p["assignor"]
        self.rate = p["produce_rate"]
        self.scale = p["time_scale"]
        self.partitions = [[tp(t, i), 0] for t in TOPICS[:p["topics"]] for i in range(p["partitions"])]
        self.committed = {}  # __consumer_offsets: tp -> offset
        self.id_seq = 0
        self.history = []  # [t, state, generation] at each change: the page draws rebalances from it
        k = self.k
        self.config = {"session_ms": k.session, "max_poll_ms": k.max_poll, "heartbeat_ms": k.cg_hb if
                       self.mode == "consumer" else k.hb, "initial_delay_ms": k.initial_delay,
                       "auto_commit_ms": k.auto_commit if k.auto_commit_on else None, "static": p["static_membership"]}
        if k.multi_broker:
            self.init_role()

    def init_role(self):
        """brokers >= 2: the broker's part in the __consumer_offsets partition (see the module docstring)."""
        self.VIEW = Broker.VIEW + ("role", "in_sync", "leader_epoch")
        self.VISIBLE_TIMERS = ("rebalance", "failover")
        self.config = dict(self.config, failover_ms=self.k.failover_delay)
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

    @property
    def k(self):
        return self.sim.protocol

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
        return not self.k.multi_broker or self.role == "coordinator"

    def multi_message(self, src, m):
        """brokers >= 2: any broker answers FindCoordinator and Metadata; only the coordinator the group requests."""
        kind = m["kind"]
        if kind == "FindCoordinator":
            leader = self.k.available_coordinator()
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
        if self.k.multi_broker and self.role == "coordinator":
            self.k.replicate(self, self.replica_state())

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
        if self.k.multi_broker and self.multi_message(src, m):
            return
        kind = m["kind"]
        if kind == "OffsetCommit":
            self.on_commit(src, m)
        elif kind == "OffsetFetch":
            offsets = {t: self.committed.get(t, -1) for t in m["partitions"]}
            self.send(src, {"kind": "OffsetFetchResponse", "req": m["req"], "offsets": offsets})
        elif kind == "Metadata":
            self.send(src, {"kind": "MetadataResponse", "req": m["req"], "partitions": self.counts()})
        else:
            self.on_group_message(src, kind, m)
        self.publish()
        self.replicate()

    def on_commit(self, src, m):
        err = self.validate_commit(m)
        stale = err if err in STALE_ERRORS else None
        accept = err is None or (stale is not None and "accept_stale_commits" in self.sim.mutations)
        if accept:
            old = {t: self.committed.get(t) for t in m["offsets"]}
            committed = dict(self.committed)
            committed.update(m["offsets"])
            self.committed = committed
            self.mark("committed")
            self.k.commit_accepted(self, src, m, stale, old)
            self.commit_refreshes_session(m)
        else:
            self.k.commit_rejected(src, err)
        self.send(src, {"kind": "OffsetCommitResponse", "req": m["req"], "error": "NONE" if accept else err,
                        "generation": m["generation"], "group_generation": self.generation,
                        "offsets": dict(m["offsets"])})

    def commit_refreshes_session(self, m):
        """Classic: an accepted commit counts as a heartbeat."""


class ClassicCoordinator(Broker):
    """Kafka's classic group coordinator (GroupMetadataManager, classic groups): group states, generations,
    JoinGroup/SyncGroup barriers, the initial rebalance delay, session and rebalance timeouts, static members."""

    def init_persistent(self):
        super().init_persistent()
        self.saved = None  # the group metadata last written to __consumer_offsets (at each Stable / Empty)

    def init_volatile(self):
        super().init_volatile()
        self.group = {}  # member id -> member dict, in join order
        self.static = {}  # group.instance.id -> member id
        self.pending = {}  # member ids handed out with MEMBER_ID_REQUIRED -> node
        self.pending_sync = {}  # members that have not sent SyncGroup since the join completed
        self.leader_mid = None
        self.initial = False  # the initial delayed join of an empty group
        self.initial_delay_now = 0
        self.new_member_added = False
        self.initial_remaining = 0
        self.rebalance_timeout = 0
        s = self.saved
        if s:  # a coordinator loads the group from __consumer_offsets
            self.generation = s["generation"]
            self.leader_mid = s["leader"]
            for m in s["members"]:
                m = dict(m, owned=list(m["owned"]), assignment=list(m["assignment"]), awaiting_join=None,
                         awaiting_sync=None, is_new=False)
                self.group[m["member_id"]] = m
                if m["instance_id"]:
                    self.static[m["instance_id"]] = m["member_id"]
            self.state = "Stable" if self.group else "Empty"
        self.publish()

    def on_start(self):
        for mid in self.group:
            self.set_timer(f"s:{mid}", self.group[mid]["session_timeout"])

    # --- view ---------------------------------------------------------------------------------------
    def member_status(self, m):
        if m["awaiting_join"] is not None:
            return "joining"
        if self.state == "PreparingRebalance":
            return "awaited"  # the coordinator waits for it to rejoin
        if m.get("gen") != self.generation:
            return "stale"  # a static member that did not rejoin
        if m["member_id"] in self.pending_sync:
            return "syncing"
        return "stable"

    def publish(self):
        self.put("members", [[mid, m["node"], m["instance_id"], self.member_status(m)]
                             for mid, m in self.group.items()] +
                 [[mid, node, None, "pending"] for mid, node in self.pending.items()])
        leader = self.group.get(self.leader_mid)
        self.put("leader", leader["node"] if leader else None)
        assignment = {}
        if self.state == "Stable":
            for m in self.group.values():
                for t in m["assignment"]:
                    assignment[t] = m["node"]
        self.put("assignment", {t: assignment[t] for t in tp_sorted(assignment)})
        self.record_history()

    def save(self):
        keys = ("member_id", "node", "instance_id", "topics", "owned", "generation", "gen", "assignment",
                "session_timeout", "rebalance_timeout", "stale_claims")
        self.saved = {"generation": self.generation, "leader": self.leader_mid,
                      "members": [{k: (list(m[k]) if isinstance(m[k], list) else m[k]) for k in keys}
                                  for m in self.group.values()]}

    def set_state(self, state):
        if state != self.state:
            self.state = state
            self.mark("state")

    # --- requests -------------------------------------------------------------------------------------
    def on_group_message(self, src, kind, m):
        if kind == "JoinGroup":
            self.on_join(src, m)
        elif kind == "SyncGroup":
            self.on_sync(src, m)
        elif kind == "Heartbeat":
            self.on_heartbeat(src, m)
        elif kind == "LeaveGroup":
            self.on_leave(src, m)

    def reply_join(self, node, req, error, member_id="", **extra):
        msg = {"kind": "JoinGroupResponse", "req": req, "error": error, "member_id": member_id,
               "generation": -1, "leader": None, "protocol": None, "members": [], "skip_assignment": False}
        msg.update(extra)
        self.send(node, msg)

    def join_result(self, m, skip=False):
        """The JoinGroup response of the current generation for member `m` (the leader gets every member)."""
        leader = self.leader_mid
        members = []
        if m["member_id"] == leader:
            members = [{"member_id": x["member_id"], "instance_id": x["instance_id"], "topics": list(x["topics"]),
                        "owned": list(x["owned"]), "generation": x["generation"]} for x in self.group.values()]
        self.reply_join(m["node"], m["awaiting_join"], "NONE", m["member_id"], generation=self.generation,
                        leader=leader, protocol=self.assignor, members=members, skip_assignment=skip)
        m["awaiting_join"] = None

    def fence_check(self, mid, inst):
        """ClassicGroup.validateMember: None if `mid` (with `inst`) is a member, else the error."""
        if inst:
            known = self.static.get(inst)
            if known is None:
                return "UNKNOWN_MEMBER_ID"
            if known != mid:
                return "FENCED_INSTANCE_ID"
            return None
        return None if mid in self.group else "UNKNOWN_MEMBER_ID"

    def on_join(self, src, m):
        mid, inst = m["member_id"], m["instance_id"]
        if inst:
            known = self.static.get(inst)
            if known is None:
                if mid:
                    self.reply_join(src, m["req"], "UNKNOWN_MEMBER_ID", mid)
                    return
                self.add_member(self.new_member_id(src), src, m, f"{src} joined (static, instance {inst})")
            elif not mid:
                self.replace_static(inst, known, src, m)
            elif mid != known:
                self.reply_join(src, m["req"], "FENCED_INSTANCE_ID", mid)
            else:
                self.existing_join(self.group[mid], m)
            return
        if not mid:  # KIP-394: a new dynamic member first gets its id, then joins with it
            new = self.new_member_id(src)
            self.pending[new] = src
            self.set_timer(f"p:{new}", m["session_timeout"])
            self.reply_join(src, m["req"], "MEMBER_ID_REQUIRED", new)
            return
        if mid in self.pending:
            del self.pending[mid]
            self.cancel_timer(f"p:{mid}")
            self.add_member(mid, src, m, f"{src} joined")
        elif mid not in self.group:
            self.reply_join(src, m["req"], "UNKNOWN_MEMBER_ID", mid)
        else:
            self.existing_join(self.group[mid], m)

    def update_member(self, mem, m):
        mem.update(topics=list(m["topics"]), owned=list(m["owned"]), generation=m["generation"],
                   rebalance_timeout=m["rebalance_timeout"], session_timeout=m["session_timeout"],
                   awaiting_join=m["req"], held_gen=self.k.held_generation(mem["node"], m))

    @staticmethod
    def matches(mem, m):
        return mem["topics"] == m["topics"] and mem["owned"] == m["owned"] and mem["generation"] == m["generation"]

    def add_member(self, mid, node, m, reason):
        mem = {"member_id": mid, "node": node, "instance_id": m["instance_id"], "assignment": [], "gen": -1,
               "awaiting_sync": None, "is_new": True, "stale_claims": False}
        self.update_member(mem, m)
        self.group[mid] = mem
        if m["instance_id"]:
            self.static[m["instance_id"]] = mid
        if self.leader_mid is None:
            self.leader_mid = mid
        if self.state == "PreparingRebalance" and self.initial:
            self.new_member_added = True
        self.set_timer(f"s:{mid}", self.k.new_member_join_timeout)
        self.rebalance_or_complete(reason)

    def existing_join(self, mem, m):
        mid = mem["member_id"]
        if self.state == "PreparingRebalance":
            self.update_member(mem, m)
            self.rebalance_or_complete(f"{mem['node']} rejoined")
        elif self.state == "CompletingRebalance":
            if self.matches(mem, m):
                mem["awaiting_join"] = m["req"]
                self.join_result(mem)
            else:
                self.update_member(mem, m)
                self.rebalance_or_complete(f"{mem['node']} rejoined with new metadata")
        elif self.state == "Stable":
            if mid == self.leader_mid or not self.matches(mem, m):
                self.update_member(mem, m)
                why = "(the leader) rejoined" if mid == self.leader_mid else "rejoined with new metadata"
                self.rebalance_or_complete(f"{mem['node']} {why}")
            else:
                mem["awaiting_join"] = m["req"]
                self.join_result(mem)
        else:
            self.reply_join(mem["node"], m["req"], "UNKNOWN_MEMBER_ID", mid)

    def replace_static(self, inst, old_mid, src, m):
        """KIP-345: a static member restarted (same instance id, no member id): it takes a new member id in place
        of the old one, which is fenced. In a Stable group nothing is rebalanced: it gets its assignment back."""
        new_mid = self.new_member_id(src)
        old = self.group[old_mid]
        if old["awaiting_join"] is not None:
            self.reply_join(old["node"], old["awaiting_join"], "FENCED_INSTANCE_ID", old_mid)
        if old["awaiting_sync"] is not None:
            self.send(old["node"], {"kind": "SyncGroupResponse", "req": old["awaiting_sync"],
                                    "error": "FENCED_INSTANCE_ID", "assignment": []})
        mem = dict(old, member_id=new_mid, node=src, awaiting_join=None, awaiting_sync=None, stale_claims=False)
        self.group = {(new_mid if k == old_mid else k): (mem if k == old_mid else v) for k, v in self.group.items()}
        self.static[inst] = new_mid
        if self.leader_mid == old_mid:
            self.leader_mid = new_mid
        if old_mid in self.pending_sync:
            self.pending_sync = {(new_mid if k == old_mid else k): True for k in self.pending_sync}
        self.cancel_timer(f"s:{old_mid}")
        self.set_timer(f"s:{new_mid}", m["session_timeout"])
        self.update_member(mem, m)
        if self.state == "Stable":
            mem["gen"] = self.generation
            self.save()
            self.join_result(mem, skip=(new_mid == self.leader_mid))
            self.k.static_rejoined(src)
        elif self.state == "CompletingRebalance":
            self.prepare_rebalance(f"static member {src} restarted during the sync phase")
        else:
            self.rebalance_or_complete(f"{src} rejoined (static, instance {inst})")

    def rebalance_or_complete(self, reason):
        if self.state in ("Stable", "CompletingRebalance", "Empty"):
            self.prepare_rebalance(reason)
        else:
            self.maybe_complete_join()

    def prepare_rebalance(self, reason):
        if self.state == "CompletingRebalance":
            for m in self.group.values():
                m["assignment"] = []
                if m["awaiting_sync"] is not None:
                    self.send(m["node"], {"kind": "SyncGroupResponse", "req": m["awaiting_sync"],
                                          "error": "REBALANCE_IN_PROGRESS", "assignment": []})
                    m["awaiting_sync"] = None
        self.pending_sync = {}
        self.cancel_timer("sync")
        self.put("reason", reason)
        self.rebalance_timeout = max((m["rebalance_timeout"] for m in self.group.values()), default=0)
        was_empty = self.state == "Empty"
        self.set_state("PreparingRebalance")
        if was_empty:
            delay = self.k.initial_delay
            self.initial = True
            self.new_member_added = False
            self.initial_remaining = max(self.rebalance_timeout - delay, 0)
            self.initial_delay_now = delay
            self.set_timer("rebalance", delay)
        else:
            self.initial = False
            self.maybe_complete_join(schedule=True)

    def all_joined(self):
        return not self.pending and all(m["awaiting_join"] is not None for m in self.group.values())

    def maybe_complete_join(self, schedule=False):
        if self.state != "PreparingRebalance" or self.initial:
            return
        if self.all_joined():
            self.complete_join()
        elif schedule:
            self.set_timer("rebalance", self.rebalance_timeout)

    def complete_join(self):
        self.cancel_timer("rebalance")
        self.initial = False
        for mid, m in list(self.group.items()):
            if m["awaiting_join"] is None and not m["instance_id"]:
                self.remove(mid)  # dynamic members that did not rejoin in time
                self.k.note(f"{m['node']} did not rejoin within the rebalance timeout: removed")
        joined = [mid for mid, m in self.group.items() if m["awaiting_join"] is not None]
        if self.group and not joined:  # only static members that have not rejoined: wait for them longer
            self.set_timer("rebalance", self.rebalance_timeout)
            return
        if self.leader_mid not in joined and joined:
            self.leader_mid = joined[0]
        self.generation += 1
        self.mark("generation")
        self.k.generation_started(self.generation)
        if not self.group:
            self.leader_mid = None
            self.set_state("Empty")
            self.save()
            return
        self.set_state("CompletingRebalance")
        # The claims the leader's assignor will honour: those of the newest generation among the members' claims
        # (AbstractStickyAssignor). A member that claims an older one missed a generation: what it still holds is no
        # longer its own in the group's eyes (recorded for the exclusive_ownership invariant, not sent anywhere).
        # The claim's generation is the member's generation (ConsumerCoordinator.metadata: generation().generationId),
        # set by its last JoinGroup answer even if that generation's SyncGroup answer never came: its claims may then
        # be older than they say. What it holds is a zombie's too if the assignment it holds (`held_gen`, model-only:
        # the generation of the last assignment it took) is older than the newest one a joined member holds.
        joined = [m for m in self.group.values() if m["awaiting_join"] is not None]
        newest = max((m["generation"] for m in joined), default=-1)
        newest_held = max((m.get("held_gen", m["generation"]) for m in joined), default=-1)
        for m in joined:
            m["stale_claims"] = self.k.mode == "cooperative" and bool(m["owned"]) and (
                m["generation"] < newest or m.get("held_gen", m["generation"]) < newest_held)
            m["gen"] = self.generation
            m["is_new"] = False
            self.join_result(m)
            self.set_timer(f"s:{m['member_id']}", m["session_timeout"])
        self.pending_sync = {mid: True for mid in self.group}
        self.set_timer("sync", self.rebalance_timeout)

    def remove(self, mid):
        m = self.group.pop(mid)
        if m["instance_id"] and self.static.get(m["instance_id"]) == mid:
            del self.static[m["instance_id"]]
        self.pending_sync.pop(mid, None)
        self.cancel_timer(f"s:{mid}")
        if self.leader_mid == mid:
            self.leader_mid = next(iter(self.group), None)
        return m

    def remove_and_update(self, mid, reason):
        m = self.group[mid]
        if m["awaiting_join"] is not None:
            self.reply_join(m["node"], m["awaiting_join"], "UNKNOWN_MEMBER_ID", mid)
            m["awaiting_join"] = None
        self.remove(mid)
        if self.state in ("Stable", "CompletingRebalance"):
            self.prepare_rebalance(reason)
        elif self.state == "PreparingRebalance":
            self.maybe_complete_join()

    def on_sync(self, src, m):
        mid = m["member_id"]
        err = self.fence_check(mid, m["instance_id"])
        if err is None and m["generation"] != self.generation:
            err = "ILLEGAL_GENERATION"
        if err is None and self.state == "Empty":
            err = "UNKNOWN_MEMBER_ID"
        if err is None and self.state == "PreparingRebalance":
            err = "REBALANCE_IN_PROGRESS"
        if err is not None:
            self.send(src, {"kind": "SyncGroupResponse", "req": m["req"], "error": err, "assignment": []})
            return
        mem = self.group[mid]
        self.pending_sync.pop(mid, None)
        self.set_timer(f"s:{mid}", mem["session_timeout"])
        if self.state == "CompletingRebalance":
            mem["awaiting_sync"] = m["req"]
            if mid == self.leader_mid:
                given = m["assignments"] or {}
                for x in self.group.values():
                    x["assignment"] = tp_sorted(given.get(x["member_id"], []))
                self.set_state("Stable")
                self.put("reason", None)
                self.save()
                for x in self.group.values():
                    if x["awaiting_sync"] is not None:
                        self.send(x["node"], {"kind": "SyncGroupResponse", "req": x["awaiting_sync"],
                                              "error": "NONE", "assignment": list(x["assignment"])})
                        x["awaiting_sync"] = None
                        self.set_timer(f"s:{x['member_id']}", x["session_timeout"])
        else:  # Stable
            self.send(src, {"kind": "SyncGroupResponse", "req": m["req"], "error": "NONE",
                            "assignment": list(mem["assignment"])})

    def on_heartbeat(self, src, m):
        mid = m["member_id"]
        err = self.fence_check(mid, m["instance_id"])
        if err is None and m["generation"] != self.generation:
            err = "ILLEGAL_GENERATION"
        if err is None:
            if self.state == "Empty":
                err = "UNKNOWN_MEMBER_ID"
            else:
                self.set_timer(f"s:{mid}", self.group[mid]["session_timeout"])
                err = "REBALANCE_IN_PROGRESS" if self.state == "PreparingRebalance" else "NONE"
        self.send(src, {"kind": "HeartbeatResponse", "error": err, "member_id": mid, "generation": m["generation"]})

    def on_leave(self, src, m):
        mid = m["member_id"]
        if mid in self.pending:
            del self.pending[mid]
            self.cancel_timer(f"p:{mid}")
            self.maybe_complete_join()
            err = "NONE"
        elif mid in self.group:
            self.remove_and_update(mid, f"{src} left the group (LeaveGroup)")
            err = "NONE"
        else:
            err = "UNKNOWN_MEMBER_ID"
        self.send(src, {"kind": "LeaveGroupResponse", "error": err})

    def validate_commit(self, m):
        """ClassicGroup.validateOffsetCommit: the member and its generation first, then (only for a member of the
        current generation, which has had its JoinGroup answer) REBALANCE_IN_PROGRESS while the group completes."""
        err = self.fence_check(m["member_id"], m["instance_id"])
        if err is None and m["generation"] != self.generation:
            err = "ILLEGAL_GENERATION"
        if err is None and self.state == "CompletingRebalance":
            err = "REBALANCE_IN_PROGRESS"
        return err

    def commit_refreshes_session(self, m):
        mid = m["member_id"]
        if mid in self.group and self.fence_check(mid, m["instance_id"]) is None \
                and m["generation"] == self.generation:
            self.set_timer(f"s:{mid}", self.group[mid]["session_timeout"])

    # --- timers ---------------------------------------------------------------------------------------
    def on_timer(self, name):
        if name == "failover":
            self.k.failover(self)
            return
        if name == "rebalance":
            if self.state == "PreparingRebalance":
                if self.initial and self.new_member_added and self.initial_remaining > 0:
                    self.new_member_added = False
                    delay = min(self.k.initial_delay, self.initial_remaining)
                    self.initial_remaining = max(self.initial_remaining - self.initial_delay_now, 0)
                    self.initial_delay_now = delay
                    self.set_timer("rebalance", delay)
                else:
                    self.complete_join()
        elif name == "sync":
            if self.state in ("CompletingRebalance", "Stable") and self.pending_sync:
                late = list(self.pending_sync)
                for mid in late:
                    self.remove(mid)
                self.prepare_rebalance(f"{', '.join(self.k.nodes_of(late))} did not send SyncGroup in time")
        elif name.startswith("s:"):
            mid = name[2:]
            m = self.group.get(mid)
            if m is not None:
                if not m["is_new"] and (m["awaiting_join"] is not None or m["awaiting_sync"] is not None):
                    self.set_timer(name, m["session_timeout"])  # members parked in a rebalance stay alive
                else:
                    self.remove_and_update(mid, f"{m['node']}'s session timed out")
        elif name.startswith("p:"):
            if self.pending.pop(name[2:], None) is not None:
                self.maybe_complete_join()
        self.publish()
        self.replicate()


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
            self.set_timer(f"s:{mid}", self.k.session)
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
        self.k.generation_started(self.group_epoch)
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

    def on_group_message(self, src, kind, m):
        if kind == "ConsumerGroupHeartbeat":
            self.on_heartbeat(src, m)

    def reply(self, src, m, error, mem=None, assignment=None):
        msg = {"kind": "ConsumerGroupHeartbeatResponse", "error": error, "member_id": m["member_id"],
               "sent_epoch": m["epoch"], "epoch": mem["epoch"] if mem else -1,
               "heartbeat_interval": self.k.cg_hb}
        if assignment is not None:
            msg["assignment"] = assignment
        self.send(src, msg)

    def new_member(self, mid, src, m):
        return {"member_id": mid, "node": src, "instance_id": m["instance_id"], "epoch": 0, "prev_epoch": -1,
                "state": "stable", "assigned": [], "pending": [], "topics": list(m["topics"]), "sent": None,
                "rebalance_timeout": m["rebalance_timeout"]}

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
                mem["prev_epoch"], mem["epoch"] = mem["epoch"], -2
                self.k.note(f"{src} (static) left for now; its partitions wait for it")
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
        self.set_timer(f"s:{mid}", self.k.session)
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
        self.k.static_rejoined(src)
        return mem

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
        if "no_wait_for_release" in self.sim.mutations:
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
            self.k.failover(self)
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


# --- consumers ----------------------------------------------------------------------------------------
class Consumer(Node):
    """What every consumer does: the application's poll loop (fetch, process, auto-commit), offsets, stalls,
    and the ownership log the page draws the partition board from."""

    VIEW = ("slot", "active", "phase", "member_id", "instance_id", "generation", "leader", "owned", "revoking",
            "positions", "stalled_until", "processed", "dups", "error", "log")
    VISIBLE_TIMERS = ("stall",)

    def init_persistent(self):
        self.slot = self.id  # constant: lets the page colour a consumer from its view alone
        self.active = False  # a consumer process runs in this slot (kept across a crash: it restarts)
        self.instance_id = None  # group.instance.id (static membership)
        self.processed = 0
        self.dups = 0
        self.log = []  # [t, kind, partition, n]: own, drop (revoked), lost, dup (n records again), reject (n: why),
        # stall (n: for how long)
        if self.k.multi_broker:
            self.VIEW = Consumer.VIEW + ("coordinator",)

    def init_volatile(self):
        if getattr(self, "owned", None):  # a crash: what it owned is lost
            for t in self.owned:
                self._log("lost", t, 0)
        self.phase = "idle"
        self.member_id = None
        self.generation = -1
        self.leader = False
        self.owned = []
        self.revoking = []
        self.positions = {}
        self.stalled_until = None
        self.error = None
        self.batch = []
        self.seq = 0
        self.waiting = None
        self.then = None
        self.need_rejoin = False
        self.closing = False
        self.last_poll = 0
        self.next_commit = 0
        self.known = {}
        self.fetching = {}
        self.coordinator = None if self.k.multi_broker else BROKER  # where group and offset requests go
        self.finding = None  # the FindCoordinator request in flight
        self.find_tries = 0  # for the exponential retry backoff
        self.find_at = 0  # which broker to ask next
        self.avoid = None  # the broker that just failed us (the client's connection backoff)
        self.hb_wait = None  # classic, brokers >= 2: when the oldest unanswered Heartbeat was sent

    @property
    def k(self):
        return self.sim.protocol

    # --- brokers >= 2: finding the coordinator ---------------------------------------------------------------
    def find_coordinator(self):
        """FindCoordinator(key = the group id) to a broker other than the one that just failed."""
        if self.finding is not None or not self.active:
            return
        brokers = self.k.broker_ids
        ask = [b for b in brokers if b != self.avoid] or brokers
        self.seq += 1
        self.finding = self.seq
        self.send(ask[self.find_at % len(ask)], {"kind": "FindCoordinator", "req": self.seq, "key": "group"})
        self.set_timer("find", self.k.request_timeout)

    def on_find_response(self, src, m):
        if m["req"] != self.finding:
            return
        self.finding = None
        self.cancel_timer("find")
        if m["error"] != "NONE":  # the controller has not moved the leadership yet: retry with backoff
            self.find_tries += 1
            self.set_timer("find", self.k.find_backoff(self.find_tries))
            return
        self.find_tries = 0
        self.avoid = None
        self.put("coordinator", m["coordinator"])
        self.put("error", None)
        self.coordinator_found()

    def coordinator_found(self):
        self.request_offsets([t for t in self.missing_offsets() if t not in self.fetching])

    def on_find_timer(self):
        if self.finding is not None:  # no answer: that broker is down; ask the next one
            self.finding = None
            self.find_at += 1
        self.find_coordinator()

    def coordinator_lost(self, why):
        """markCoordinatorUnknown: the connection failed, a request timed out, or NOT_COORDINATOR."""
        if self.coordinator is None:
            return
        self.avoid = self.coordinator
        self.put("error", f"{why}: looking for the coordinator (FindCoordinator)")
        self.put("coordinator", None)
        self.hb_wait = None
        self.fetching = {}
        self.cancel_timer("offsets")
        w, self.waiting = self.waiting, None
        if w is not None:
            self.cancel_timer("request")
            self.request_failed(w)
        self.find_coordinator()

    def request_failed(self, w):
        """A request to the lost coordinator will get no answer."""
        if w[0] == "commit":
            self.go_on(self.then)

    def put(self, field, value):
        if getattr(self, field) != value:
            setattr(self, field, value)
            self.mark(field)

    def view_value(self, f):
        if f == "positions":
            return dict(self.positions)
        return super().view_value(f)

    def _log(self, kind, t, n):
        self.log.append([self.now, kind, t, n])
        if len(self.log) > LOG_MAX:
            del self.log[:LOG_TRIM]
            self.mark("log")
        else:
            self.mark_splice("log", len(self.log) - 1)

    def topics(self):
        return sorted(self.known)

    def on_start(self):
        if self.active:
            self.start()

    # --- ownership --------------------------------------------------------------------------------------
    def own(self, tps):
        new = [t for t in tps if t not in self.owned]
        for t in new:
            self._log("own", t, 0)
        if new:
            self.owned = tp_sorted(self.owned + new)
            self.mark("owned")
        return new

    def release(self, tps, kind):
        gone = [t for t in self.owned if t in tps]
        if not gone:
            return
        for t in gone:
            self._log(kind, t, 0)
        self.owned = without(self.owned, gone)
        self.mark("owned")
        if any(t in self.positions for t in gone):
            self.positions = {t: p for t, p in self.positions.items() if t not in gone}
            self.mark("positions")
        self.put("revoking", without(self.revoking, gone))

    def set_error(self, text, partition=None):
        self.put("error", text)
        self._log("reject", partition, text)

    # --- offsets ----------------------------------------------------------------------------------------
    def request_offsets(self, tps):
        if not tps:
            return
        if self.coordinator is None:
            self.find_coordinator()  # coordinator_found() asks again
            return
        self.seq += 1
        for t in tps:
            self.fetching[t] = self.seq
        self.send(self.coordinator, {"kind": "OffsetFetch", "req": self.seq, "partitions": list(tps)})
        self.set_timer("offsets", self.k.request_timeout)

    def on_offsets(self, m):
        positions = None
        for t, off in m["offsets"].items():
            if t in self.owned and t not in self.positions and self.fetching.get(t) == m["req"]:
                if positions is None:
                    positions = dict(self.positions)
                positions[t] = off if off >= 0 else self.k.reset_offset(self, t)
                del self.fetching[t]
        if positions is not None:
            self.positions = positions
            self.mark("positions")

    def missing_offsets(self):
        return [t for t in self.owned if t not in self.positions]

    def commit_offsets(self, tps):
        return {t: self.positions[t] for t in tps if t in self.positions}

    def commit_sync(self, tps, then):
        """Commit the positions of `tps` and wait for the answer (or the request timeout), then go on with `then`."""
        offsets = self.commit_offsets(tps)
        if not offsets or not self.member_id or self.generation < 0 or self.coordinator is None:
            self.go_on(then)  # (no coordinator known: the commit fails at once; simplified)
            return
        self.seq += 1
        self.waiting = ("commit", self.seq)
        self.then = then
        self.put("phase", "committing")
        self.send(self.coordinator, self.commit_msg(offsets))
        self.set_timer("request", self.k.request_timeout)

    def commit_msg(self, offsets):
        return {"kind": "OffsetCommit", "req": self.seq, "member_id": self.member_id,
                "instance_id": self.instance_id, "generation": self.generation, "offsets": offsets}

    def maybe_auto_commit(self):
        if not self.k.auto_commit_on or self.now < self.next_commit:
            return
        self.next_commit = self.now + self.k.auto_commit
        offsets = self.commit_offsets([t for t in self.owned if t not in self.revoking])
        if offsets and self.member_id and self.generation >= 0 and self.phase in self.COMMIT_PHASES \
                and self.coordinator is not None:
            self.seq += 1
            self.send(self.coordinator, self.commit_msg(offsets))

    def on_commit_response(self, m):
        if m["error"] != "NONE":
            self.set_error(f"OffsetCommit rejected: {m['error']}")
            self.commit_failed(m)
        if self.waiting == ("commit", m["req"]):
            self.waiting = None
            self.cancel_timer("request")
            self.go_on(self.then)

    def commit_failed(self, m):
        """A commit came back with an error (the group moved on without us, or we were fenced)."""

    # --- the application thread ---------------------------------------------------------------------------
    def fetch(self):
        budget = self.k.max_poll_records
        batch = []
        positions = None
        for t in self.owned:
            pos = self.positions.get(t)
            if pos is None or t in self.revoking:
                continue
            n = min(self.k.leo(t, self.now) - pos, budget)
            if n > 0:
                if positions is None:
                    positions = dict(self.positions)
                positions[t] = pos + n
                batch.append((t, pos, pos + n))
                budget -= n
                if budget <= 0:
                    break
        if positions is not None:
            self.positions = positions
            self.mark("positions")
        return batch

    def process(self, batch):
        if not batch:
            return
        for t, a, b in batch:
            dup = self.k.processed(self, t, a, b)
            if dup:
                self.dups += dup
                self._log("dup", t, dup)
        self.processed += sum(b - a for _, a, b in batch)
        self.mark("processed", "dups")

    def poll(self):
        """One iteration of the application's loop: protocol work due on this thread, fetch, process, commit."""
        if not self.active or self.closing or self.stalled_until is not None:
            return
        self.last_poll = self.now
        self.app_work()
        if not self.active:
            return
        self.process(self.fetch())
        self.maybe_auto_commit()
        self.set_timer("poll", self.k.poll_interval)

    def stall(self, duration):
        """The application takes `duration` ms over the batch it just got: no polls meanwhile."""
        self.batch = self.fetch()
        self._log("stall", None, duration)
        self.put("stalled_until", self.now + duration)
        self.cancel_timer("poll")
        self.set_timer("stall", duration)

    def end_stall(self):
        self.put("stalled_until", None)
        self._log("unstall", None, 0)
        lost = [t for t, _, _ in self.batch if t not in self.owned]
        self.process(self.batch)
        self.batch = []
        if lost and self.k.auto_commit_on:
            self.set_error("CommitFailedException: the group rebalanced and gave the partitions to another member "
                           "(the batch took longer than max.poll.interval.ms)", lost[0])
        self.poll()

    def on_timer(self, name):
        if name == "poll":
            self.poll()
        elif name == "stall":
            self.end_stall()
        elif name == "heartbeat":
            self.on_heartbeat_timer()
        elif name == "request":
            if self.k.multi_broker and self.waiting is not None:
                self.coordinator_lost(f"{self.waiting[0].capitalize()} request timed out")
            else:
                self.on_request_timeout()
        elif name == "offsets":
            self.request_offsets(self.missing_offsets())
        elif name == "metadata":
            if self.coordinator is not None:
                self.seq += 1
                self.send(self.coordinator, {"kind": "Metadata", "req": self.seq})
            self.set_timer("metadata", self.k.metadata_age)
        elif name == "retry":
            self.on_retry()
        elif name == "find":
            self.on_find_timer()

    def on_retry(self):
        pass

    def on_message(self, src, m):
        if not self.active:
            return  # a late answer to a consumer that has shut down
        kind = m["kind"]
        if self.k.multi_broker:
            if kind == "FindCoordinatorResponse":
                self.on_find_response(src, m)
                return
            if src != self.coordinator:
                return  # an answer from a broker we no longer take for the coordinator
            if m.get("error") == "NOT_COORDINATOR":
                self.coordinator_lost(f"{src} answered NOT_COORDINATOR")
                return
            if kind == "HeartbeatResponse":
                self.hb_wait = None
        if kind == "OffsetFetchResponse":
            self.on_offsets(m)
        elif kind == "OffsetCommitResponse":
            self.on_commit_response(m)
        elif kind == "MetadataResponse":
            self.on_metadata(m["partitions"])
        else:
            self.on_group_message(kind, m)

    def on_metadata(self, counts):
        self.known = dict(counts)

    # --- lifecycle ---------------------------------------------------------------------------------------
    def launch(self, instance_id):
        self.init_volatile()  # a fresh process in this slot
        self.active = True
        self.instance_id = instance_id
        self.mark_all()
        self.start()

    def start(self):
        self.known = self.k.counts()
        self.last_poll = self.now
        self.next_commit = self.now + self.k.auto_commit
        self.set_timer("poll", 0)
        self.set_timer("metadata", self.k.metadata_age)

    def close(self):
        """A clean shutdown (KafkaConsumer.close()): commit what was consumed, revoke, leave the group."""
        self.closing = True
        self.cancel_timer("poll")
        self.put("phase", "leaving")
        if self.k.auto_commit_on and self.owned:
            self.commit_sync(self.owned, then="close")
        else:
            self.go_on("close")

    def shut_down(self):
        for name in list(self._timers):
            self.cancel_timer(name)
        self.active = False
        self.mark("active")
        self.closing = False
        self.waiting = None
        self.put("member_id", None)
        self.put("generation", -1)
        self.put("leader", False)
        self.put("revoking", [])

    def fatal(self, error):
        self.release(self.owned, "lost")
        self.set_error(f"{error}: another consumer now uses group.instance.id {self.instance_id}; shutting down")
        self.shut_down()
        self.put("phase", "fenced")


class ClassicConsumer(Consumer):
    """KafkaConsumer with group.protocol=classic (ConsumerCoordinator + AbstractCoordinator)."""

    COMMIT_PHASES = ("stable",)  # generationIfStable(): mid-rebalance, an async commit fails without being sent

    def init_volatile(self):
        super().init_volatile()
        self.claim = []  # the assignment the sticky assignors remember (userData), with its generation
        self.claim_gen = -1
        self.kept = []  # mutation no_revoke_before_rejoin: partitions kept after being moved away
        self.snapshot = None  # the leader's partition counts used for its last assignment
        self.stashed = None  # a SyncGroup assignment waiting for a stalled application thread

    @property
    def eager(self):
        return self.k.mode == "eager"

    def start(self):
        super().start()
        self.put("phase", "unjoined")
        self.set_timer("heartbeat", self.k.hb)

    def app_work(self):
        if self.stashed is not None:
            a, self.stashed = self.stashed, None
            self.on_assignment(a)
        if self.phase == "unjoined" or (self.need_rejoin and self.phase == "stable"):
            if self.coordinator is None:  # ensureCoordinatorReady
                self.find_coordinator()
                return
            self.prepare_join()

    def request_failed(self, w):
        if w[0] == "commit":
            self.go_on(self.then)
        else:  # the join starts over once the coordinator is found
            self.put("phase", "unjoined")

    # --- joining -------------------------------------------------------------------------------------------
    def prepare_join(self):
        """onJoinPrepare: commit (auto-commit) and, when eager, revoke everything before rejoining."""
        self.need_rejoin = False
        if self.generation < 0 or not self.member_id:
            self.release(self.owned, "lost")
        elif self.k.auto_commit_on and self.owned:
            if self.eager:
                self.put("revoking", list(self.owned))  # pending revocation: no more records from them
            self.commit_sync(self.owned, then="join")
            return
        self.do_join()

    def go_on(self, then):
        self.then = None
        if then == "join":
            self.do_join()
        elif then == "revoke":
            self.finish_revoke(list(self.revoking))
        elif then == "close":
            self.finish_close()

    def do_join(self):
        if self.eager and self.owned:
            self.release(self.owned, "drop")
        self.send_join()

    def send_join(self):
        if self.coordinator is None:
            self.put("phase", "unjoined")  # app_work joins once the coordinator is found
            return
        self.seq += 1
        self.waiting = ("join", self.seq)
        if self.k.mode == "cooperative":
            owned, gen = without(self.owned, self.kept), self.generation
        elif self.k.assignor == "sticky":
            owned, gen = list(self.claim), self.claim_gen
        else:
            owned, gen = [], -1
        self.send(self.coordinator, {"kind": "JoinGroup", "req": self.seq, "member_id": self.member_id or "",
                           "instance_id": self.instance_id, "topics": self.topics(), "protocol": self.k.assignor,
                           "owned": owned, "generation": gen, "rebalance_timeout": self.k.max_poll,
                           "session_timeout": self.k.session})
        self.put("phase", "joining")
        self.set_timer("request", self.k.join_timeout)

    def reset(self, error):
        """resetStateAndGeneration: the generation is gone (and the member id too, unless ILLEGAL_GENERATION)."""
        if error != "ILLEGAL_GENERATION":
            self.put("member_id", None)
        self.put("generation", -1)
        self.put("leader", False)
        if self.owned:
            self.release(self.owned, "lost")  # onPartitionsLost
        self.kept = []
        # An assignment stashed for a stalled application thread belongs to the generation just lost: the join
        # is over as failed, onJoinComplete never runs for it (AbstractCoordinator.joinGroupIfNeeded: "generation
        # data was cleared by heartbeat thread ... marking this rebalance as failed and retry").
        self.stashed = None

    def on_group_message(self, kind, m):
        if kind == "JoinGroupResponse":
            self.on_join_response(m)
        elif kind == "SyncGroupResponse":
            self.on_sync_response(m)
        elif kind == "HeartbeatResponse":
            self.on_heartbeat_response(m)

    def on_join_response(self, m):
        if self.waiting != ("join", m["req"]):
            return
        err = m["error"]
        if err == "MEMBER_ID_REQUIRED":
            self.put("member_id", m["member_id"])
            self.send_join()
            return
        self.waiting = None
        self.cancel_timer("request")
        if err == "NONE":
            self.put("member_id", m["member_id"])
            self.put("generation", m["generation"])
            self.put("leader", m["leader"] == m["member_id"])
            assignments = None
            if self.leader and not m["skip_assignment"]:
                assignments = self.compute_assignment(m["members"])
            self.seq += 1
            self.waiting = ("sync", self.seq)
            self.send(self.coordinator, {"kind": "SyncGroup", "req": self.seq, "member_id": self.member_id,
                               "instance_id": self.instance_id, "generation": self.generation,
                               "assignments": assignments})
            self.put("phase", "syncing")
            self.set_timer("request", self.k.request_timeout)
        elif err == "FENCED_INSTANCE_ID":
            self.fatal(err)
        else:
            self.set_error(f"JoinGroup failed: {err}")
            self.reset(err)
            self.put("phase", "unjoined")

    def compute_assignment(self, members):
        counts = dict(self.known)
        out = client_assign(self.k.assignor, counts, members)
        self.snapshot = dict(counts)
        self.k.assignment_computed(self.generation, counts, out)
        return out

    def on_sync_response(self, m):
        if self.waiting != ("sync", m["req"]):
            return
        self.waiting = None
        self.cancel_timer("request")
        err = m["error"]
        if err == "NONE":
            self.need_rejoin = False  # a rebalance announced while we were joining is the one that just ended
            if self.stalled_until is not None:
                self.stashed = m["assignment"]  # onJoinComplete runs on the application thread
            else:
                self.on_assignment(m["assignment"])
        elif err == "FENCED_INSTANCE_ID":
            self.fatal(err)
        elif err == "REBALANCE_IN_PROGRESS":
            self.put("phase", "unjoined")
        else:
            self.set_error(f"SyncGroup failed: {err}")
            self.reset(err)
            self.put("phase", "unjoined")

    def on_assignment(self, a):
        """onJoinComplete: take the new assignment; cooperative members revoke what moved, then rejoin."""
        self.claim, self.claim_gen = list(a), self.generation
        self.kept = [t for t in self.kept if t not in a]
        self.put("phase", "stable")
        if self.eager:
            self.put("revoking", [])
            self.request_offsets(self.own(a))
            return
        revoked = [t for t in self.owned if t not in a and t not in self.kept]
        self.request_offsets(self.own([t for t in a if t not in self.owned]))
        if revoked and "no_revoke_before_rejoin" in self.sim.mutations:
            self.kept = self.kept + revoked  # keeps consuming them, and rejoins as if it had let them go
            self.prepare_join()
            return
        if revoked:
            if self.k.commit_on_revoke:
                self.put("revoking", revoked)
                self.commit_sync(revoked, then="revoke")
            else:
                self.finish_revoke(revoked)

    def finish_revoke(self, revoked):
        self.release(revoked, "drop")
        self.put("phase", "stable")
        self.prepare_join()  # requestRejoin: the join loop goes straight on

    # --- heartbeats --------------------------------------------------------------------------------------
    def on_heartbeat_timer(self):
        self.set_timer("heartbeat", self.k.hb)
        if self.phase not in ("syncing", "stable", "committing") or self.generation < 0 or not self.member_id:
            return
        if self.now - self.last_poll > self.k.max_poll and not self.closing:  # (closing is not a stall)
            self.poll_timeout()
            return
        if self.k.multi_broker:
            if self.coordinator is None:
                self.find_coordinator()
                return
            if self.hb_wait is not None and self.now - self.hb_wait >= self.k.request_timeout:
                self.coordinator_lost("Heartbeat timed out")
                return
            if self.hb_wait is None:
                self.hb_wait = self.now
        self.send(self.coordinator, {"kind": "Heartbeat", "member_id": self.member_id,
                                     "instance_id": self.instance_id, "generation": self.generation})

    def poll_timeout(self):
        """The heartbeat thread sees no poll for max.poll.interval.ms: it leaves (a static member just stops)."""
        if not self.instance_id and self.coordinator is not None:
            self.send(self.coordinator, {"kind": "LeaveGroup", "member_id": self.member_id})
        self.set_error("max.poll.interval.ms exceeded: the consumer left the group")
        self.reset("UNKNOWN_MEMBER_ID")
        self.waiting = None
        self.put("phase", "unjoined")

    def on_heartbeat_response(self, m):
        err = m["error"]
        if err == "NONE":
            return
        if err == "REBALANCE_IN_PROGRESS":
            if self.phase in ("stable", "committing"):
                self.need_rejoin = True
            return
        if m["member_id"] != self.member_id or m["generation"] != self.generation:
            return  # about a generation we have already left
        if err == "FENCED_INSTANCE_ID":
            self.fatal(err)
        elif err in ("ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID"):
            self.set_error(f"Heartbeat: {err}")
            self.reset(err)
            if not self.closing:  # (a close goes on: its commit's answer or timeout finishes it)
                self.waiting = None
                self.put("phase", "unjoined")

    def commit_failed(self, m):
        if m["error"] == "FENCED_INSTANCE_ID":
            self.fatal("FENCED_INSTANCE_ID")
        elif m["error"] in ("ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID") and m["generation"] == self.generation:
            self.reset(m["error"])
            if self.waiting is None and not self.closing:
                self.put("phase", "unjoined")

    def on_request_timeout(self):
        w, self.waiting = self.waiting, None
        if w is None:
            return
        if w[0] == "commit":
            self.go_on(self.then)
        else:
            self.set_error(f"{'JoinGroup' if w[0] == 'join' else 'SyncGroup'} timed out")
            self.put("phase", "unjoined")

    def on_metadata(self, counts):
        super().on_metadata(counts)
        if self.leader and self.snapshot is not None and self.snapshot != self.known:
            self.need_rejoin = True  # the leader noticed new partitions: it rejoins to trigger a rebalance

    def finish_close(self):
        self.release(self.owned, "drop")
        if self.member_id and not self.instance_id and self.coordinator is not None:
            self.send(self.coordinator, {"kind": "LeaveGroup", "member_id": self.member_id})
        self.shut_down()
        self.put("phase", "idle")


class ModernConsumer(Consumer):
    """KafkaConsumer with group.protocol=consumer (KIP-848): one ConsumerGroupHeartbeat RPC; the broker computes
    the assignment; the member reconciles on its own (commit and revoke, acknowledge, then take what it gets)."""

    COMMIT_PHASES = ("stable", "reconciling")

    def init_volatile(self):
        super().init_volatile()
        self.target = None  # the latest assignment from the coordinator
        self.reconciling = False
        self.hb_sent = None  # when the heartbeat in flight was sent (one at a time), or None
        self.hb_again = False  # send another as soon as the one in flight is answered (an acknowledgement)
        self.full_hb = False  # brokers >= 2: the next heartbeat is a full one (after the coordinator was lost)

    def start(self):
        super().start()
        if not self.member_id:  # KIP-1082: the client makes its member id once per process
            self.put("member_id", f"{self.id}-{self.rng.getrandbits(16):04x}")
        self.put("generation", 0)
        self.put("phase", "joining")
        self.send_heartbeat()

    def send_heartbeat(self, epoch=None):
        if self.coordinator is None:
            if epoch is None:
                self.find_coordinator()  # coordinator_found() sends it
            return
        if epoch is None:
            if self.hb_sent is not None and self.now - self.hb_sent < self.k.request_timeout:
                self.hb_again = True  # one heartbeat in flight at a time
                return
            self.hb_sent = self.now
            self.hb_again = False
        msg = {"kind": "ConsumerGroupHeartbeat", "member_id": self.member_id, "instance_id": self.instance_id,
               "epoch": self.generation if epoch is None else epoch, "topics": self.topics(),
               "owned": list(self.owned), "rebalance_timeout": self.k.max_poll}
        if self.k.multi_broker:  # after a failure the client sends a full request: the answer has the assignment
            msg["full"], self.full_hb = self.full_hb, False
        self.send(self.coordinator, msg)
        if epoch is None:
            self.set_timer("heartbeat", self.k.cg_hb)

    def on_heartbeat_timer(self):
        if self.phase in ("unjoined", "idle", "leaving", "fenced"):
            return
        self.set_timer("heartbeat", self.k.cg_hb)
        if self.generation > 0 and self.now - self.last_poll > self.k.max_poll and not self.closing:
            self.poll_timeout()
            return
        if self.k.multi_broker and self.hb_sent is not None and self.now - self.hb_sent >= self.k.request_timeout:
            self.coordinator_lost("ConsumerGroupHeartbeat timed out")
            return
        self.send_heartbeat()

    def coordinator_lost(self, why):
        if self.coordinator is not None:
            self.hb_sent = None
            self.hb_again = False
            self.full_hb = True
        super().coordinator_lost(why)

    def coordinator_found(self):
        super().coordinator_found()
        if self.phase not in ("unjoined", "idle", "leaving", "fenced"):
            self.send_heartbeat()  # to the new coordinator, with the member epoch

    def poll_timeout(self):
        self.send_heartbeat(-2 if self.instance_id else -1)
        self.set_error("max.poll.interval.ms exceeded: the consumer left the group")
        self.release(self.owned, "lost")
        self.target = None
        self.reconciling = False
        self.waiting = None
        self.put("phase", "unjoined")
        self.put("generation", 0)
        self.hb_sent = None
        self.cancel_timer("heartbeat")

    def app_work(self):
        if self.phase == "unjoined":
            self.put("phase", "joining")
            self.send_heartbeat()
        elif self.target is not None:
            self.reconcile()

    def on_group_message(self, kind, m):
        if kind != "ConsumerGroupHeartbeatResponse" or m["sent_epoch"] < 0:
            return
        self.hb_sent = None
        if self.phase in ("unjoined", "leaving", "fenced") or m["member_id"] != self.member_id:
            return
        self.answer(m)
        if self.hb_again and self.phase not in ("unjoined", "leaving", "fenced", "idle"):
            self.send_heartbeat()

    def answer(self, m):
        err = m["error"]
        if err == "NONE":
            self.put("generation", m["epoch"])
            if "assignment" in m:
                self.target = m["assignment"]
            if self.target is not None:
                self.reconcile()
        elif err in ("FENCED_MEMBER_EPOCH", "UNKNOWN_MEMBER_ID"):
            if m["sent_epoch"] != self.generation:
                return  # about an epoch we have already left
            self.release(self.owned, "lost")
            self.target = None
            self.reconciling = False
            if self.waiting is not None and self.waiting[0] == "commit":
                self.waiting = None
                self.cancel_timer("request")
            if self.closing:  # fenced while shutting down: nothing left to commit or leave
                self.set_error(f"ConsumerGroupHeartbeat: {err} while closing")
                self.then = None
                self.finish_close()
                return
            self.set_error(f"ConsumerGroupHeartbeat: {err}; rejoining")
            self.put("generation", 0)
            self.put("phase", "joining")
            self.hb_again = True
        elif err == "UNRELEASED_INSTANCE_ID":
            self.set_timer("heartbeat", self.k.retry_backoff)
        elif err == "FENCED_INSTANCE_ID":
            self.fatal(err)

    def reconcile(self):
        if self.reconciling or self.stalled_until is not None or self.closing:
            return  # the revocation callbacks run on the application thread
        a = self.target
        revoke = [t for t in self.owned if t not in a]
        add = [t for t in a if t not in self.owned]
        if not revoke and not add:
            if self.phase in ("joining", "reconciling"):
                self.put("phase", "stable")
            return
        self.put("phase", "reconciling")
        if revoke and self.k.auto_commit_on:  # auto-commit before revocation
            self.reconciling = True
            self.put("revoking", revoke)
            self.commit_sync(revoke, then="reconcile")
            return
        self.put("revoking", revoke)
        self.finish_reconcile()

    def go_on(self, then):
        self.then = None
        if then == "reconcile":
            self.finish_reconcile()
        elif then == "close":
            self.finish_close()

    def finish_reconcile(self):
        self.reconciling = False
        if self.target is None:
            return
        self.release(list(self.revoking), "drop")
        self.put("revoking", [])
        self.request_offsets(self.own([t for t in self.target if t not in self.owned]))
        self.put("phase", "stable")
        self.send_heartbeat()  # acknowledge
        if any(t not in self.target for t in self.owned):
            self.reconcile()

    def on_request_timeout(self):
        w, self.waiting = self.waiting, None
        if w is not None and w[0] == "commit":
            self.go_on(self.then)

    def commit_failed(self, m):
        if m["error"] == "FENCED_INSTANCE_ID":
            self.fatal("FENCED_INSTANCE_ID")

    def finish_close(self):
        self.release(self.owned, "drop")
        self.send_heartbeat(-2 if self.instance_id else -1)
        self.shut_down()
        self.put("phase", "idle")


# --- the protocol -------------------------------------------------------------------------------------
def _ms(doc, default, lo, hi):
    return Param(default, doc + " (Kafka ms; divided by time_scale)", lo, hi)


class Kafka(Protocol):
    name = "kafka"
    title = "Kafka consumer-group rebalancing"
    version = "2"  # bump when a change alters traces: old share links then say their replay may differ
    summary = ("Who consumes which partition: JoinGroup/SyncGroup barriers, eager vs cooperative rebalancing, "
               "static membership, KIP-848, and the duplicates a rebalance leaves behind.")
    nodes = Param(4, "consumer slots c1..cN (the group coordinator `broker`, or b1..bN with params.brokers, "
                     "comes on top)", 1, 16)
    fifo_links = True
    params = {
        "group_protocol": Param("classic", "group.protocol: classic (JoinGroup/SyncGroup, client-side assignment) "
                                "or consumer (KIP-848, broker-side assignment)", kind="choice",
                                choices=("classic", "consumer")),
        "assignor": Param("range", "classic: partition.assignment.strategy (cooperative-sticky = cooperative "
                          "rebalancing, the others eager); consumer: group.remote.assignor (uniform or range)",
                          kind="choice", choices=("range", "roundrobin", "sticky", "cooperative-sticky", "uniform")),
        "topics": Param(1, "topics the group subscribes to (t0, t1, ...)", 1, len(TOPICS)),
        "partitions": Param(6, "partitions per topic at the start", 1, MAX_PARTITIONS),
        "consumers": Param(3, "consumers running at the start (c1..); the other slots are idle", 0, 16),
        "static_membership": Param(False, "group.instance.id set (= the slot id): a restart within the session "
                                   "timeout gets its partitions back with no rebalance", kind="bool"),
        "produce_rate": Param(20, "records produced per simulated second to each partition", 0, 10_000),
        "max_poll_records": Param(500, "max.poll.records: records one poll returns", 1, 100_000),
        "poll_interval_ms": _ms("time the application spends on each batch before it polls again", 1000, 10, 600_000),
        "heartbeat_interval_ms": _ms("heartbeat.interval.ms (classic)", 3000, 100, 600_000),
        "session_timeout_ms": _ms("session.timeout.ms (classic) / group.consumer.session.timeout.ms (KIP-848)",
                                  45000, 6000, 1_800_000),
        "max_poll_interval_ms": _ms("max.poll.interval.ms; also the rebalance timeout", 300000, 1000, 3_600_000),
        "initial_rebalance_delay_ms": _ms("group.initial.rebalance.delay.ms (broker): how long an empty group "
                                          "waits for more members before its first rebalance", 3000, 0, 300_000),
        "consumer_heartbeat_interval_ms": _ms("group.consumer.heartbeat.interval.ms (KIP-848 broker config)",
                                              5000, 100, 600_000),
        "auto_commit": Param(True, "enable.auto.commit: commit positions every auto.commit.interval.ms, before "
                             "rejoining (classic) and before revoking (KIP-848)", kind="bool"),
        "auto_commit_interval_ms": _ms("auto.commit.interval.ms", 5000, 100, 600_000),
        "commit_on_revoke": Param(False, "the application's ConsumerRebalanceListener commits in "
                                  "onPartitionsRevoked (matters for cooperative: moved partitions are committed)",
                                  kind="bool"),
        "auto_offset_reset": Param("latest", "auto.offset.reset when a partition has no committed offset",
                                   kind="choice", choices=("latest", "earliest")),
        "metadata_max_age_ms": _ms("metadata.max.age.ms: how often consumers refresh partition metadata",
                                   300000, 1000, 3_600_000),
        "request_timeout_ms": _ms("request.timeout.ms", 30000, 1000, 600_000),
        "time_scale": Param(10, "every Kafka timing above is divided by this (1 = real time)", 1, 1000),
        "brokers": Param(1, "brokers: 1 = one node `broker`, the coordinator (no failover); 2..5 = b1..bN, the "
                         "coordinator is the leader of the group's __consumer_offsets partition, replicated on "
                         "every broker, and fails over when its broker dies", 1, 5),
        "broker_session_timeout_ms": _ms("broker.session.timeout.ms (brokers >= 2): how long the controller waits "
                                         "for a silent broker before fencing it and moving the coordinator",
                                         9000, 100, 600_000),
    }
    actions = {
        "add_consumer": Action(
            "start a consumer in an idle slot (default: the first one); it joins the group",
            {"node": Param("next", "consumer slot", kind="str"),
             "instance_id": Param("", "group.instance.id (static membership only; default: the slot id). Reusing "
                                  "another slot's id starts a duplicate: the stale one gets fenced", kind="str",
                                  max_length=40)}),
        "remove_consumer": Action(
            "shut a consumer down cleanly: commit, revoke, LeaveGroup (a static member sends none: its session "
            "must expire)", {"node": Param("last", "consumer", kind="str")}),
        "stall": Action(
            "the consumer's application takes `duration` simulated ms over its current batch: it stops polling, "
            "while its heartbeat thread goes on",
            {"node": Param(None, "consumer", kind="str"),
             "duration": Param(5000, "simulated ms", 1, 3_600_000)}),
        "add_partitions": Action(
            "add partitions to a topic (classic: the group notices at the leader's next metadata refresh; KIP-848: "
            "the coordinator at once)",
            {"topic": Param("t0", "topic", kind="str", max_length=8), "count": Param(1, "partitions to add", 1, 16)},
            node_fields=()),
    }
    selectors = {
        "leader": "the classic group's leader (the consumer that computes the assignment)",
        "next": "the first idle consumer slot",
        "last": "the highest-numbered running consumer",
        "coordinator": "the group coordinator (broker; with brokers >= 2 the current leader of __consumer_offsets)",
    }
    mutations = {
        "no_revoke_before_rejoin": "cooperative: a member skips revoking the partitions moved away from it and "
                                   "rejoins at once, still consuming them, so their new owner and it both do",
        "accept_stale_commits": "the coordinator accepts offset commits from zombies (old generation or unknown "
                                "member) instead of rejecting them",
        "no_wait_for_release": "KIP-848: the coordinator hands a partition to its new owner before the previous "
                               "owner has acknowledged revoking it",
    }
    invariants = {
        "exclusive_ownership": "no partition is owned by two current members of the group at once (a consumer "
                               "the coordinator no longer counts, by member id and generation, is a zombie: its "
                               "work is duplicated and its commits are fenced)",
        "all_partitions_owned": "once the group is stable and every member has synced (classic) or reconciled "
                                "(KIP-848), every partition of the assignment has an owner",
        "fenced_commits": "the coordinator accepts an offset commit only from a current member of the current "
                          "generation (member epoch)",
        "single_coordinator": "brokers >= 2: at most one broker acts as the group coordinator at any moment, and it "
                              "is the leader of __consumer_offsets the controller elected",
    }

    # --- construction -------------------------------------------------------------------------------------
    @classmethod
    def node_ids(cls, count):
        return [BROKER] + [f"c{i}" for i in range(1, count + 1)]

    @classmethod
    def scenario_node_ids(cls, count, params):
        if params.get("consumers", 0) > count:
            raise ScenarioError(f"params.consumers: at most the number of consumer slots (nodes = {count}), got "
                                f"{params['consumers']}", field="params.consumers")
        brokers = params.get("brokers", 1)
        if brokers >= 2:
            return [f"b{i}" for i in range(1, brokers + 1)] + [f"c{i}" for i in range(1, count + 1)]
        return cls.node_ids(count)

    @classmethod
    def validate_params(cls, p):
        if p["group_protocol"] == "classic" and p["assignor"] == "uniform":
            raise ScenarioError("params.assignor: uniform is a KIP-848 (group_protocol consumer) assignor; classic "
                                "takes range, roundrobin, sticky or cooperative-sticky", field="params.assignor")
        if p["group_protocol"] == "consumer" and p["assignor"] not in ("uniform", "range"):
            raise ScenarioError("params.assignor: the consumer protocol (KIP-848) assigns on the broker with uniform "
                                f"or range, got {p['assignor']}", field="params.assignor")
        if p["heartbeat_interval_ms"] >= p["session_timeout_ms"]:
            raise ScenarioError("params.heartbeat_interval_ms: must be below session_timeout_ms "
                                f"({p['session_timeout_ms']})", field="params.heartbeat_interval_ms")
        if p["consumer_heartbeat_interval_ms"] >= p["session_timeout_ms"]:
            raise ScenarioError("params.consumer_heartbeat_interval_ms: must be below session_timeout_ms "
                                f"({p['session_timeout_ms']})", field="params.consumer_heartbeat_interval_ms")

    def __init__(self, sim):
        super().__init__(sim)
        p = sim.scenario["params"]
        s = p["time_scale"]

        def scaled(key):
            v = p[key]
            return 0 if v == 0 else max(1, (v + s // 2) // s)

        self.mode = mode_of(p)
        self.assignor = p["assignor"]
        self.nb = p["brokers"]
        self.multi_broker = self.nb >= 2
        self.broker_ids = [f"b{i}" for i in range(1, self.nb + 1)] if self.multi_broker else [BROKER]
        self.failover_delay = scaled("broker_session_timeout_ms")
        self.hb = scaled("heartbeat_interval_ms")
        self.cg_hb = scaled("consumer_heartbeat_interval_ms")
        self.session = scaled("session_timeout_ms")
        self.max_poll = scaled("max_poll_interval_ms")
        self.initial_delay = scaled("initial_rebalance_delay_ms")
        self.auto_commit = scaled("auto_commit_interval_ms")
        self.metadata_age = scaled("metadata_max_age_ms")
        self.request_timeout = scaled("request_timeout_ms")
        self.poll_interval = scaled("poll_interval_ms")
        self.join_timeout = max(1, (p["max_poll_interval_ms"] + 5000 + s // 2) // s)
        self.new_member_join_timeout = max(1, (300_000 + s // 2) // s)
        self.retry_backoff = max(1, (100 + s // 2) // s)
        self.auto_commit_on = p["auto_commit"]
        self.commit_on_revoke = p["commit_on_revoke"]
        self.max_poll_records = p["max_poll_records"]
        self.rate = p["produce_rate"]
        self.reset_earliest = p["auto_offset_reset"] == "earliest"

    def find_backoff(self, tries):
        """retry.backoff.ms 100 doubling up to retry.backoff.max.ms 1000 (Kafka ms), scaled."""
        s = self.sim.params["time_scale"]
        return max(1, (min(100 * 2 ** min(tries - 1, 4), 1000) + s // 2) // s)

    def make_node(self, node_id, index, rng):
        if index < self.nb:
            cls = ConsumerCoordinator if self.mode == "consumer" else ClassicCoordinator
        else:
            cls = ModernConsumer if self.mode == "consumer" else ClassicConsumer
        return cls(self.sim, node_id, index, rng)

    def setup(self):
        sim = self.sim
        self.broker = sim.nodes[self.broker_ids[0]]  # the group coordinator (the last one while none is up)
        self.consumer_ids = sim.node_ids[self.nb:]
        if self.multi_broker:
            self.leader = self.broker_ids[0]  # leader of the group's __consumer_offsets partition
            self.leader_epoch = 0
            self.isr = list(self.broker_ids)  # in-sync replicas, in broker order
            self.down_since = None  # when the leader's broker went silent (the controller's clock)
            self.candidate = None  # the broker the controller will move the leadership to
            self.failovers = []  # [t, from, to]
            self.replicate(self.broker, self.broker.replica_state())
        for nid in self.consumer_ids[:sim.params["consumers"]]:
            node = sim.nodes[nid]
            node.active = True
            node.instance_id = nid if sim.params["static_membership"] else None
        self.created = {}
        self.owners = {}  # tp -> {consumer: True}
        self.unowned_since = {}
        self.unowned_ms = 0  # partition-ms with no owner since the group first settled
        for name, t in self.broker.partitions:
            self.new_partition(name, t)
        self.held = {nid: [] for nid in self.consumer_ids}
        self.multi = {}  # partitions with two owners or more
        self.last_owner = {}
        self.moved = 0
        self.hw = {}  # tp -> offset after the last record anyone processed
        self.dups_by_tp = {}
        self.records = 0
        self.duplicates = 0
        self.skipped = 0
        self.first_settled = None
        self.episode = None
        self.episodes = []
        self.generations = 0
        self.assigned_for = {}  # generation -> partitions the leader assigned
        self.rejected = {}
        self.accepted_commits = 0
        self.max_lag = 0
        self.lag_sampled = -1
        self.notes = []

    # --- brokers >= 2: the controller (KRaft's quorum, not drawn) ---------------------------------------------
    def available_coordinator(self):
        """What FindCoordinator answers: the leader, if its broker is up (else COORDINATOR_NOT_AVAILABLE)."""
        return self.leader if self.sim.nodes[self.leader].status == "up" else None

    def replicate(self, leader, state):
        nodes = self.sim.nodes
        for b in self.isr:
            if b != leader.id:
                nodes[b].replica = state

    def after_intervention(self, iv, resolved):
        nid = resolved.get("node")
        if self.multi_broker and nid in self.broker_ids and iv["action"] in ("crash", "restart", "pause", "resume"):
            self.broker_changed(nid, iv["action"])

    def broker_changed(self, nid, action):
        sim = self.sim
        node = sim.nodes[nid]
        down = action in ("crash", "pause")
        if nid == self.leader:
            if down:
                if self.down_since is None:  # (a paused coordinator that then crashes went silent at the pause)
                    self.down_since = sim.now
                self.note(f"{nid}, the group coordinator, {'crashed' if action == 'crash' else 'is paused'}: the "
                          f"controller fences it after broker.session.timeout.ms and moves the coordinator")
            else:
                self.down_since = None
                self.note(f"{nid} is back before the controller fenced it: it is still the coordinator")
            if action == "crash":  # its TCP connections are reset: the clients notice at once
                for c in self.consumer_ids:
                    cn = sim.nodes[c]
                    if cn.status == "up" and cn.active and cn.coordinator == nid:
                        sim.dispatch(cn, "coordinator_lost", f"the connection to {nid} was reset")
        elif down:
            if nid in self.isr:
                self.isr.remove(nid)
                sim.dispatch(node, "drop_out")
        else:
            self.catch_up(nid)
        self.plan()

    def catch_up(self, nid):
        leader = self.sim.nodes[self.leader]
        node = self.sim.nodes[nid]
        if leader.status == "up" and nid != self.leader and node.status == "up" and nid not in self.isr:
            self.sim.dispatch(node, "catch_up", leader.replica_state(), self.leader_epoch)
            self.isr = [b for b in self.broker_ids if b in self.isr or b == nid]

    def plan(self):
        """The controller: if the leader's broker is down, the next in-sync broker that is up (in order, after the
        leader) takes over once broker.session.timeout.ms has passed since the leader went silent."""
        nodes = self.sim.nodes
        cand = None
        if nodes[self.leader].status != "up":
            i = self.broker_ids.index(self.leader)
            order = self.broker_ids[i + 1:] + self.broker_ids[:i]
            cand = next((b for b in order if b in self.isr and nodes[b].status == "up"), None)
        if cand == self.candidate:
            return
        if self.candidate is not None:
            self.sim.dispatch(nodes[self.candidate], "cancel_timer", "failover")
        self.candidate = cand
        if cand is not None:
            delay = max(0, self.down_since + self.failover_delay - self.sim.now)
            self.sim.dispatch(nodes[cand], "set_timer", "failover", delay)

    def failover(self, node):
        """The failover timer fired on `node` (inside its handler): it becomes the group coordinator."""
        sim = self.sim
        self.candidate = None
        old = sim.nodes[self.leader]
        if old.status == "up" or node.id not in self.isr:
            self.plan()
            return
        self.leader_epoch += 1
        self.isr = [b for b in self.isr if b != old.id]
        sim.dispatch(old, "resign", self.leader_epoch)
        self.leader = node.id
        self.broker = node
        self.down_since = None
        node.take_over(self.leader_epoch)
        self.failovers.append([sim.now, old.id, node.id])
        self.note(f"{old.id} is fenced: {node.id} becomes the group coordinator (leader epoch {self.leader_epoch}) "
                  f"and loads the group from __consumer_offsets")
        for b in self.broker_ids:
            if b != node.id and sim.nodes[b].status == "up" and b not in self.isr:
                self.catch_up(b)

    def check_single_coordinator(self):
        acting = [b for b in self.broker_ids if self.sim.nodes[b].role == "coordinator"]
        if len(acting) > 1 or (acting and acting[0] != self.leader):
            self.report_violation("single_coordinator",
                                  f"{' and '.join(acting)} act as the group coordinator; the controller's leader of "
                                  f"__consumer_offsets is {self.leader} (epoch {self.leader_epoch})",
                                  acting[-1], ("sc", tuple(acting), self.leader_epoch))

    def nodes_of(self, mids):
        g = self.broker.group
        return [g[m]["node"] if m in g else m for m in mids]

    def new_partition(self, name, t):
        self.created[name] = t
        self.owners[name] = {}
        self.unowned_since[name] = t

    # --- services for the nodes --------------------------------------------------------------------------
    def counts(self):
        return self.broker.counts()

    def leo(self, t, now):
        """The log end offset of partition `t` at time `now`: records produced since it was created."""
        return max(0, (now - self.created[t]) * self.rate // 1000)

    def reset_offset(self, consumer, t):
        """auto.offset.reset for a partition with no committed offset."""
        if self.reset_earliest:
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

    def assignment_computed(self, generation, counts, assignment):
        self.assigned_for[generation] = all_partitions(counts)

    def generation_started(self, generation):
        self.generations += 1

    def held_generation(self, node_id, join):
        """For the exclusive_ownership invariant only (nothing is sent): the generation of the assignment the member
        that sent JoinGroup `join` holds, which its claim's generation (its current generation) can be newer than
        when that generation's SyncGroup answer never reached it."""
        gen = join["generation"]
        node = self.sim.nodes.get(node_id)
        held = getattr(node, "claim_gen", None)
        return gen if held is None else min(gen, held)

    def static_rejoined(self, node):
        self.note(f"{node} restarted with its group.instance.id: it gets its partitions back, no rebalance")

    def note(self, text):
        self.notes.append([self.sim.now, text])
        del self.notes[:-20]

    def commit_accepted(self, broker, src, m, stale, old):
        self.accepted_commits += 1
        if stale is None:
            return
        back = [t for t, off in m["offsets"].items() if old.get(t) is not None and off < old[t]]
        details = (f"the coordinator accepted {src}'s commit of {', '.join(tp_sorted(m['offsets']))} although it "
                   f"would fail with {stale} (it sent generation {m['generation']}, the group is at "
                   f"{broker.generation})")
        if back:
            details += f"; committed offsets went backwards on {', '.join(tp_sorted(back))}"
        self.report_violation("fenced_commits", details, src, ("fc", src, m["generation"], broker.generation))

    def commit_rejected(self, src, err):
        self.rejected[err] = self.rejected.get(err, 0) + 1

    # --- interventions ------------------------------------------------------------------------------------
    def resolve(self, selector):
        nodes = self.sim.nodes
        if selector == "coordinator":
            return self.leader if self.multi_broker else BROKER
        if selector == "leader":
            nid = self.broker.leader if self.mode != "consumer" else None
            return nid if nid is not None and nodes[nid].status != "crashed" else None
        if selector == "next":
            return next((n for n in self.consumer_ids if not nodes[n].active and nodes[n].status == "up"), None)
        if selector == "last":
            return next((n for n in reversed(self.consumer_ids) if nodes[n].active and nodes[n].status == "up"),
                        None)
        return None

    def _consumer(self, iv):
        nid = iv["node"]
        if nid in self.broker_ids:
            raise InterventionError(f"node: {iv['action']} takes a consumer (c1..), not a broker",
                                    code="invalid_target", field="node")
        return self.sim.nodes[nid]

    def check_action(self, iv):
        action = iv["action"]
        if action == "add_partitions":
            topics = TOPICS[:self.sim.params["topics"]]
            if iv["topic"] not in topics:
                raise InterventionError(f"topic: unknown topic {iv['topic']!r} (topics: {', '.join(topics)})",
                                        code="invalid_target", field="topic")
            have = self.counts().get(iv["topic"], 0)
            if have + iv["count"] > MAX_PARTITIONS:
                raise InterventionError(f"count: {iv['topic']} has {have} partitions; at most {MAX_PARTITIONS} "
                                        f"(add at most {MAX_PARTITIONS - have})", code="out_of_range", field="count")
            return
        c = self._consumer(iv)
        if c.status != "up":
            raise InterventionError(f"node: {c.id} is {c.status}", code="invalid_state", field="node")
        if action == "add_consumer":
            if c.active:
                raise InterventionError(f"node: {c.id} is already running a consumer", code="invalid_state",
                                        field="node")
            if iv.get("instance_id") and not self.sim.params["static_membership"]:
                raise InterventionError("instance_id: static membership is off (params.static_membership)",
                                        code="invalid_state", field="instance_id")
            return
        if not c.active:
            raise InterventionError(f"node: {c.id} is not running a consumer (add_consumer starts one)",
                                    code="invalid_state", field="node")
        if c.closing:
            raise InterventionError(f"node: {c.id} is shutting down", code="invalid_state", field="node")
        if c.stalled_until is not None:
            raise InterventionError(f"node: {c.id} is stalled until {c.stalled_until} ms", code="invalid_state",
                                    field="node")

    def act(self, iv):
        self.check_action(iv)
        sim = self.sim
        action = iv["action"]
        if action == "add_partitions":
            if self.multi_broker:  # cluster metadata: every broker learns it
                for b in self.broker_ids:
                    sim.dispatch(sim.nodes[b], "add_partitions", iv["topic"], iv["count"])
                return {"partitions": self.counts()[iv["topic"]]}
            sim.dispatch(self.broker, "add_partitions", iv["topic"], iv["count"])
            return {"partitions": self.counts()[iv["topic"]]}
        c = sim.nodes[iv["node"]]
        if action == "add_consumer":
            inst = None
            if sim.params["static_membership"]:
                inst = iv.get("instance_id") or c.id
            sim.dispatch(c, "launch", inst)
            return {"instance_id": inst} if inst else None
        if action == "remove_consumer":
            sim.dispatch(c, "close")
            return None
        sim.dispatch(c, "stall", iv["duration"])
        return {"until": sim.now + iv["duration"]}

    # --- invariants and metrics ------------------------------------------------------------------------------

    def counted(self, c):
        """Whether consumer `c`'s ownership counts: a current member (member id, generation) of the group."""
        mid = c.member_id
        m = self.broker.group.get(mid) if mid else None
        if m is None or m["node"] != c.id or c.status == "crashed":
            return False
        if self.mode == "consumer":
            return m["epoch"] >= 0
        if c.generation != self.broker.generation:
            return False
        # Cooperative: a member that joined this generation with claims of an older one than the newest (it missed
        # a rebalance: the assignor ignores them and may give them to others) owns nothing of what it still holds
        # until this generation's assignment reaches it; then it revokes what is not in it.
        return not (m.get("stale_claims") and c.claim_gen != c.generation)

    def check_exclusive(self, t):
        owners = [n for n in self.owners[t] if self.counted(self.sim.nodes[n])]
        if len(owners) >= 2:
            gen = self.broker.generation
            self.report_violation("exclusive_ownership",
                          f"{t} is consumed by {' and '.join(owners)} at once, both current members "
                          f"({'group epoch' if self.mode == 'consumer' else 'generation'} {gen})",
                          owners[-1], ("ex", t, tuple(owners), gen))

    def ownership(self, c):
        now = self.sim.now
        new, old = c.owned, self.held[c.id]
        for t in old:
            if t not in new:
                o = self.owners[t]
                o.pop(c.id, None)
                if not o:
                    self.unowned_since[t] = now
                if len(o) < 2:
                    self.multi.pop(t, None)
        for t in new:
            if t in old:
                continue
            o = self.owners[t]
            if not o:
                self.close_unowned(t, now)
            prev = self.last_owner.get(t)
            if prev is not None and prev != c.id:
                self.moved += 1
                if self.episode is not None:
                    self.episode["moved"] += 1
            self.last_owner[t] = c.id
            o[c.id] = True
            if len(o) >= 2:
                self.multi[t] = True
                self.check_exclusive(t)
        self.held[c.id] = list(new)

    def close_unowned(self, t, now):
        since = self.unowned_since.pop(t, None)
        if since is None:
            return
        if self.first_settled is not None:
            self.unowned_ms += now - max(since, self.first_settled)
        ep = self.episode
        if ep is not None:
            ms = now - max(since, ep["start"])
            if ms > 0:
                ep["unowned_by_partition"][t] = ep["unowned_by_partition"].get(t, 0) + ms

    def settled(self):
        b = self.broker
        if not b.group:
            return False
        nodes = self.sim.nodes
        if self.mode == "consumer":
            if b.target_epoch != b.group_epoch:
                return False
            for mid, m in b.group.items():
                c = nodes[m["node"]]
                if m["state"] != "stable" or m["epoch"] != b.target_epoch or c.member_id != mid \
                        or c.status == "crashed" or c.generation != m["epoch"] or c.phase != "stable" \
                        or c.owned != m["assigned"]:
                    return False
            return True
        if b.state != "Stable":
            return False
        for mid, m in b.group.items():
            c = nodes[m["node"]]
            if c.member_id != mid or c.status == "crashed" or c.generation != b.generation or c.phase != "stable" \
                    or c.need_rejoin or c.stashed is not None:
                return False
        return True

    def on_state(self, node, ev):
        ch = ev["changes"]
        if node is self.broker:
            if "partitions" in ch:
                for name, t in node.partitions:
                    if name not in self.created:
                        self.new_partition(name, t)
            if "state" in ch or "generation" in ch:
                self.group_changed()
            if self.multi and ("members" in ch or "generation" in ch):
                for t in list(self.multi):
                    self.check_exclusive(t)
            if "role" in ch:
                self.check_single_coordinator()
        elif node.index < self.nb:  # another broker (brokers >= 2)
            if "partitions" in ch:
                for name, t in node.partitions:
                    if name not in self.created:
                        self.new_partition(name, t)
            if "role" in ch:
                self.check_single_coordinator()
        else:
            if "owned" in ch:
                self.ownership(node)
            if self.multi and ("member_id" in ch or "generation" in ch or "phase" in ch):
                for t in node.owned:
                    if t in self.multi:
                        self.check_exclusive(t)
        now = self.sim.now
        if now - self.lag_sampled >= 100:
            self.lag_sampled = now
            lag = self.total_lag()
            if lag > self.max_lag:
                self.max_lag = lag
        if any(f not in QUIET for f in ch) and self.settled():
            self.on_settled()

    def group_changed(self):
        b = self.broker
        starting = (b.state == "PreparingRebalance") if self.mode != "consumer" else True
        if starting and self.episode is None and b.group:
            before = b.generation - 1 if self.mode == "consumer" else b.generation  # KIP-848 has bumped already
            self.episode = {"start": self.sim.now, "end": None, "trigger": b.reason, "from_generation": before,
                            "to_generation": None, "moved": 0, "duplicates": 0, "unowned_by_partition": {}}

    def on_settled(self):
        now = self.sim.now
        b = self.broker
        if self.first_settled is None:
            self.first_settled = now
        if self.mode == "consumer":
            parts = [name for name, _ in b.partitions]
        else:
            parts = self.assigned_for.get(b.generation)
        if parts is not None:
            missing = [t for t in parts if not any(self.counted(self.sim.nodes[n]) for n in self.owners[t])]
            if missing:
                self.report_violation("all_partitions_owned",
                              f"the group is stable at {'epoch' if self.mode == 'consumer' else 'generation'} "
                              f"{b.generation} but nobody owns {', '.join(missing)}", None,
                              ("ao", b.generation, tuple(missing)))
        ep = self.episode
        if ep is not None:
            for t, since in self.unowned_since.items():
                ms = now - max(since, ep["start"])
                if ms > 0:
                    ep["unowned_by_partition"][t] = ep["unowned_by_partition"].get(t, 0) + ms
                self.unowned_since[t] = now
                if self.first_settled is not None and self.first_settled < now:
                    self.unowned_ms += now - max(since, self.first_settled)
            ep["end"] = now
            ep["to_generation"] = b.generation
            ep["duration_ms"] = now - ep["start"]
            ep["unowned_by_partition"] = {t: ep["unowned_by_partition"][t]
                                          for t in tp_sorted(ep["unowned_by_partition"])}
            ep["unowned_partition_ms"] = sum(ep["unowned_by_partition"].values())
            self.episodes.append(ep)
            self.episode = None

    def committed_lag(self, t):
        return self.leo(t, self.sim.now) - self.broker.committed.get(t, 0)

    def total_lag(self):
        return sum(self.committed_lag(t) for t in self.created)

    def metrics(self):
        now = self.sim.now
        unowned = self.unowned_ms
        if self.first_settled is not None:
            unowned += sum(now - max(since, self.first_settled) for since in self.unowned_since.values())
        lag = {t: self.committed_lag(t) for t in tp_sorted(self.created)}
        extra = {}
        if self.multi_broker:
            extra = {"coordinator": self.leader, "leader_epoch": self.leader_epoch, "isr": list(self.isr),
                     "failovers": [list(f) for f in self.failovers]}
        return extra | {
            "mode": self.mode,
            "rebalances": self.generations,
            "rebalance_episodes": len(self.episodes) + (1 if self.episode else 0),
            "unowned_partition_ms": unowned,
            "partitions_moved": self.moved,
            "records_processed": self.records,
            "duplicate_records": self.duplicates,
            "duplicates_by_partition": {t: self.dups_by_tp[t] for t in tp_sorted(self.dups_by_tp)},
            "records_skipped": self.skipped,
            "commits_accepted": self.accepted_commits,
            "commits_rejected": dict(sorted(self.rejected.items())),
            "consumer_lag": lag,
            "total_lag": sum(lag.values()),
            "max_total_lag": max(self.max_lag, sum(lag.values())),
            "rebalance_log": [dict(e) for e in self.episodes[-20:]],
        }

    # --- presets -----------------------------------------------------------------------------------------------
    @classmethod
    def presets(cls):
        def join(assignor, slug, title, narrative):
            return {"slug": slug, "title": title, "narrative": narrative,
                    "scenario": {"protocol": "kafka", "seed": 5, "duration": 12000, "nodes": 3,
                                 "params": {"assignor": assignor, "partitions": 3, "consumers": 1},
                                 "interventions": [{"at": 5000, "action": "add_consumer"}]}}

        def rolling(static, slug, title, narrative):
            ivs = []
            for i, c in enumerate(("c1", "c2", "c3")):
                at = 5000 + i * 6000
                ivs.append({"at": at, "action": "remove_consumer", "node": c})
                ivs.append({"at": at + 1500, "action": "add_consumer", "node": c})
            return {"slug": slug, "title": title, "narrative": narrative,
                    "scenario": {"protocol": "kafka", "seed": 9, "duration": 26000, "nodes": 3,
                                 "params": {"assignor": "range", "partitions": 6, "consumers": 3,
                                            "static_membership": static},
                                 "interventions": ivs}}

        return [
            join("range", "kafka-join-eager", "A consumer joins: eager",
                 "c1 owns all three partitions. c2 joins: the coordinator starts a rebalance, c1 commits and "
                 "revokes everything (stop the world), both rejoin, the leader assigns c1 {p0, p1} and c2 {p2}. "
                 "Every partition is unowned for a moment."),
            join("cooperative-sticky", "kafka-join-cooperative", "A consumer joins: cooperative",
                 "The same join with cooperative-sticky (KIP-429): c1 keeps p0 and p1 throughout. Round 1 only "
                 "tells c1 to give up p2; c1 revokes it and rejoins; round 2 hands p2 to c2. Only p2 is ever "
                 "unowned."),
            rolling(False, "kafka-rolling-restart", "Rolling restart, dynamic members",
                    "c1, c2 and c3 are restarted one after another. Each clean shutdown sends LeaveGroup and each "
                    "start joins again: two rebalances per consumer, six in all, each a stop-the-world pause."),
            rolling(True, "kafka-rolling-restart-static", "Rolling restart, static membership",
                    "The same rolling restart with group.instance.id set (KIP-345). A static member sends no "
                    "LeaveGroup and comes back within the session timeout: the coordinator hands it its old "
                    "partitions with no rebalance. Only its own partitions pause while it is away."),
            {"slug": "kafka-stalled-consumer", "title": "A stalled consumer",
             "narrative": "c3's application gets stuck on a slow batch. Its heartbeat thread keeps it in the group, "
                          "so when c4 joins everyone else revokes and waits for c3 (eager: the whole group stops). "
                          "After max.poll.interval.ms c3 leaves, the group rebalances without it, c3 finishes its "
                          "batch too late (CommitFailedException) and its records are processed twice.",
             "scenario": {"protocol": "kafka", "seed": 3, "duration": 30000, "nodes": 4,
                          "params": {"assignor": "range", "partitions": 6, "consumers": 3,
                                     "max_poll_interval_ms": 60000},
                          "interventions": [{"at": 5000, "action": "stall", "node": "c3", "duration": 9000},
                                            {"at": 6000, "action": "add_consumer", "node": "c4"}]}},
            {"slug": "kafka-kip848-stall", "title": "KIP-848: no stop-the-world",
             "narrative": "The same stalled consumer under the consumer protocol (KIP-848): the broker computes the "
                          "target assignment and each member reconciles on its own. c1 and c2 never stop consuming; "
                          "only the partition c3 must hand over to c4 waits, until c3 leaves the group.",
             "scenario": {"protocol": "kafka", "seed": 3, "duration": 30000, "nodes": 4,
                          "params": {"group_protocol": "consumer", "assignor": "uniform", "partitions": 6,
                                     "consumers": 3, "max_poll_interval_ms": 60000},
                          "interventions": [{"at": 5000, "action": "stall", "node": "c3", "duration": 9000},
                                            {"at": 6000, "action": "add_consumer", "node": "c4"}]}},
            {"slug": "kafka-coordinator-failover", "title": "The coordinator fails over",
             "narrative": "Three brokers; the group coordinator is b1, the leader of the group's __consumer_offsets "
                          "partition, which b2 and b3 replicate. b1 crashes at 6 s: the consumers' connections "
                          "break and they ask b2 with FindCoordinator (not available yet) while they keep consuming. "
                          "After broker.session.timeout.ms the controller fences b1 and b2 becomes the coordinator: it "
                          "loads the group and the committed offsets from __consumer_offsets, the consumers find it "
                          "and go on without a rebalance. c4 joins at 9 s: b2 runs that rebalance. b1 restarts at 13 "
                          "s as a follower and catches up.",
             "scenario": {"protocol": "kafka", "seed": 5, "duration": 20000, "nodes": 4,
                          "params": {"brokers": 3, "assignor": "range", "partitions": 6, "consumers": 3},
                          "interventions": [{"at": 6000, "action": "crash", "node": "coordinator"},
                                            {"at": 9000, "action": "add_consumer", "node": "c4"},
                                            {"at": 13000, "action": "restart", "node": "b1"}]}},
            {"slug": "kafka-zombie", "title": "A zombie's commit is fenced",
             "narrative": "c2 freezes (a long GC pause) past its session timeout. The coordinator removes it and its "
                          "partitions move to c1 and c3. When c2 wakes it still thinks it owns them: it processes "
                          "records again (duplicates) and tries to commit, and the coordinator rejects the commit "
                          "from a member it no longer knows.",
             "scenario": {"protocol": "kafka", "seed": 4, "duration": 20000, "nodes": 3,
                          "params": {"assignor": "range", "partitions": 6, "consumers": 3},
                          "interventions": [{"at": 5000, "action": "pause", "node": "c2"},
                                            {"at": 12000, "action": "resume", "node": "c2"}]}},
        ]


PROTOCOL = Kafka
