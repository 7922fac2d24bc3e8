"""The observer: Kafka's invariants, checked after every state event, and the figures (partition-time unowned per
rebalance, partitions moved, duplicates, lag, commits).

A part of the Protocol object (spec.Kafka inherits it): it tracks who owns each partition from the consumers'
`owned` fields, and the coordinator's group from its node."""

from ..base import Checker, invariant
from .topics import all_partitions, tp_sorted


QUIET = ("positions", "processed", "dups", "log", "timers", "error", "committed")  # cannot settle a group


# --- the ownership rule ----------------------------------------------------------------------------------------
# One definition, on node views (what the page receives: snapshot["nodes"]); the checker applies it to the live
# nodes, whose attributes are their view fields. docs/protocols/kafka.md ("Ownership rule") is its contract;
# static/js/protocols/kafka-ownership.js is its JavaScript twin (held to it by tests/web/test_kafka_ownership_js.py).

def is_current_member(coordinator, consumer, stale_claims=False):
    """Whether the partitions `consumer` claims (its `owned`) count as its own: it is a current member of the group
    in the coordinator's eyes. Otherwise it is a zombie for all of them (its work is duplicated, its commits are
    fenced). `coordinator` and `consumer` are node views (mappings of view fields).

    A current member: not crashed; the coordinator's `members` has an entry [member id, node, ...] for its
    `member_id` (not one only handed out with MEMBER_ID_REQUIRED: status "pending") on its own slot; and
    - KIP-848 (coordinator `mode` "consumer"): that member has not left (status not "left": member epoch >= 0);
    - classic: the consumer's `generation` is the coordinator's, and it does not hold stale claims (a model-only
      fact no view carries, passed as `stale_claims`: see KafkaChecker.has_stale_claims)."""
    member_id = consumer["member_id"]
    if not member_id or consumer["status"] == "crashed":
        return False
    entry = None
    for m in coordinator["members"]:
        if m[0] == member_id and m[3] != "pending":
            entry = m
            break
    if entry is None or entry[1] != consumer["slot"]:
        return False
    if coordinator["mode"] == "consumer":
        return entry[3] != "left"
    return consumer["generation"] == coordinator["generation"] and not stale_claims


def coordinator_view(nodes):
    """The group coordinator among node views: the broker whose `role` is "coordinator" (brokers >= 2), else the
    first broker (the one node `broker`)."""
    brokers = [v for v in nodes.values() if "partitions" in v]
    return next((v for v in brokers if v.get("role") == "coordinator"), brokers[0])


def ownership(nodes, stale_claims=(), coordinator=None):
    """The ownership rule over a snapshot: {consumer id: {"owned": [...], "zombie": [...]}}, for every consumer
    view in `nodes` ({node id: view}, e.g. snapshot["nodes"]); "owned" are the claimed partitions that count as
    the consumer's own, "zombie" the ones it claims while the group has moved on from it (see is_current_member).
    `stale_claims`: consumer ids holding stale claims (model-only: Kafka.stale_claimants() on a live simulation;
    a page snapshot has none). `coordinator`: its view, if not the one coordinator_view finds."""
    coord = coordinator_view(nodes) if coordinator is None else coordinator
    out = {}
    for nid, view in nodes.items():
        if "slot" not in view:
            continue
        claimed = list(view["owned"])
        if is_current_member(coord, view, nid in stale_claims):
            out[nid] = {"owned": claimed, "zombie": []}
        else:
            out[nid] = {"owned": [], "zombie": claimed}
    return out


class KafkaChecker(Checker):
    """Kafka's invariants and figures (a part of the Kafka object: spec.Kafka inherits it)."""

    def setup_checker(self):
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
        self.first_settled = None
        self.episode = None
        self.episodes = []
        self.generations = 0
        self.assigned_for = {}  # generation -> partitions the leader assigned
        self.rejected = {}
        self.accepted_commits = 0
        self.max_lag = 0
        self.lag_sampled = -1

    def new_partition(self, name, t):
        self.created[name] = t
        self.owners[name] = {}
        self.unowned_since[name] = t

    # --- hooks the coordinators and consumers call (nothing here is sent or drawn) ----------------------------
    def assignment_computed(self, generation, counts, assignment):
        self.assigned_for[generation] = all_partitions(counts)

    def generation_started(self, generation):
        self.generations += 1

    def commit_rejected(self, src, err):
        self.rejected[err] = self.rejected.get(err, 0) + 1

    def held_generation(self, node_id, join):
        """For the exclusive_ownership invariant only (nothing is sent): the generation of the assignment the member
        that sent JoinGroup `join` holds, which its claim's generation (its current generation) can be newer than
        when that generation's SyncGroup answer never reached it."""
        gen = join["generation"]
        node = self.sim.nodes.get(node_id)
        held = getattr(node, "claim_gen", None)
        return gen if held is None else min(gen, held)

    # --- the invariants, each declared on the method that checks it -------------------------------------------
    @invariant("exclusive_ownership",
               "no partition is owned by two current members of the group at once (a consumer the coordinator no "
               "longer counts, by member id and generation, is a zombie: its work is duplicated and its commits are "
               "fenced)")
    def check_exclusive(self, t):
        owners = [n for n in self.owners[t] if self.counted(self.sim.nodes[n])]
        if len(owners) >= 2:
            gen = self.broker.generation
            self.report_violation("exclusive_ownership",
                          f"{t} is consumed by {' and '.join(owners)} at once, both current members "
                          f"({'group epoch' if self.ctx.params.mode == 'consumer' else 'generation'} {gen})",
                          owners[-1], ("ex", t, tuple(owners), gen))

    def counted(self, c):
        """Whether consumer `c`'s claims count: the ownership rule (is_current_member) on the live nodes, whose
        attributes are their view fields, with the model-only stale-claims fact."""
        return is_current_member(vars(self.broker), vars(c), self.has_stale_claims(c))

    def has_stale_claims(self, c):
        """Model-only (no view carries it): classic cooperative, `c` joined the current generation claiming
        partitions of an older one than the newest claimed (it missed a rebalance: the assignor ignored its claims
        and may have given them to others), and this generation's assignment has not reached it yet."""
        m = self.broker.group.get(c.member_id) if c.member_id else None
        return bool(m is not None and m.get("stale_claims")) and c.claim_gen != c.generation

    def stale_claimants(self):
        """The consumers `has_stale_claims` holds for now: what to pass to `ownership` with a snapshot."""
        nodes = self.sim.nodes
        return [nid for nid in self.consumer_ids if self.has_stale_claims(nodes[nid])]

    @invariant("all_partitions_owned",
               "once the group is stable and every member has synced (classic) or reconciled (KIP-848), every "
               "partition of the assignment has an owner")
    def on_settled(self):
        now = self.sim.now
        b = self.broker
        if self.first_settled is None:
            self.first_settled = now
        if self.ctx.params.mode == "consumer":
            parts = [name for name, _ in b.partitions]
        else:
            parts = self.assigned_for.get(b.generation)
        if parts is not None:
            missing = [t for t in parts if not any(self.counted(self.sim.nodes[n]) for n in self.owners[t])]
            if missing:
                what = "epoch" if self.ctx.params.mode == "consumer" else "generation"
                self.report_violation("all_partitions_owned",
                                      f"the group is stable at {what} {b.generation} but nobody owns "
                                      f"{', '.join(missing)}", None, ("ao", b.generation, tuple(missing)))
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

    @invariant("fenced_commits",
               "the coordinator accepts an offset commit only from a current member of the current generation "
               "(member epoch)")
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

    @invariant("single_coordinator",
               "brokers >= 2: at most one broker acts as the group coordinator at any moment, and it is the leader "
               "of __consumer_offsets the controller elected")
    def check_single_coordinator(self):
        acting = [b for b in self.ctx.params.broker_ids if self.sim.nodes[b].role == "coordinator"]
        if len(acting) > 1 or (acting and acting[0] != self.leader):
            self.report_violation("single_coordinator",
                                  f"{' and '.join(acting)} act as the group coordinator; the controller's leader of "
                                  f"__consumer_offsets is {self.leader} (epoch {self.leader_epoch})",
                                  acting[-1], ("sc", tuple(acting), self.leader_epoch))

    # --- tracking: who owns what, when the group settles ----------------------------------------------------
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
        elif node.index < self.ctx.params.brokers:  # another broker (brokers >= 2)
            if "partitions" in ch:
                for name, t in node.partitions:
                    if name not in self.created:
                        self.new_partition(name, t)
            if "role" in ch:
                self.check_single_coordinator()
        else:
            if "owned" in ch:
                self.track_owners(node)
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

    def track_owners(self, c):
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
        if self.ctx.params.mode == "consumer":
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

    def group_changed(self):
        b = self.broker
        kip848 = self.ctx.params.mode == "consumer"
        starting = True if kip848 else b.state == "PreparingRebalance"
        if starting and self.episode is None and b.group:
            before = b.generation - 1 if kip848 else b.generation  # KIP-848 has bumped already
            self.episode = {"start": self.sim.now, "end": None, "trigger": b.reason, "from_generation": before,
                            "to_generation": None, "moved": 0, "duplicates": 0, "unowned_by_partition": {}}

    # --- figures ----------------------------------------------------------------------------------------------
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
        if self.ctx.params.multi_broker:
            extra = {"coordinator": self.leader, "leader_epoch": self.leader_epoch, "isr": list(self.isr),
                     "failovers": [list(f) for f in self.failovers]}
        return extra | {
            "mode": self.ctx.params.mode,
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
