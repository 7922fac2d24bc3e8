"""The consumers: what every KafkaConsumer does (the application's poll loop, offsets, stalls, finding the
coordinator, the ownership log the page draws), then the classic member (JoinGroup/SyncGroup, eager or
cooperative revocation) and the KIP-848 member (ConsumerGroupHeartbeat, reconciliation)."""

from ...node import Node, receives
from .assignors import client_assign
from .broker import BROKER, LOG_MAX, LOG_TRIM
from .topics import tp_sorted, without


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
        if self.params.multi_broker:
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
        self.coordinator = None if self.params.multi_broker else BROKER  # where group and offset requests go
        self.finding = None  # the FindCoordinator request in flight
        self.find_tries = 0  # for the exponential retry backoff
        self.find_at = 0  # which broker to ask next
        self.avoid = None  # the broker that just failed us (the client's connection backoff)
        self.hb_wait = None  # classic, brokers >= 2: when the oldest unanswered Heartbeat was sent

    # --- brokers >= 2: finding the coordinator ---------------------------------------------------------------
    def find_coordinator(self):
        """FindCoordinator(key = the group id) to a broker other than the one that just failed."""
        if self.finding is not None or not self.active:
            return
        brokers = self.params.broker_ids
        ask = [b for b in brokers if b != self.avoid] or brokers
        self.seq += 1
        self.finding = self.seq
        self.send(ask[self.find_at % len(ask)], {"kind": "FindCoordinator", "req": self.seq, "key": "group"})
        self.set_timer("find", self.params.request_timeout)

    @receives("FindCoordinatorResponse")
    def on_find_response(self, src, m):
        if m["req"] != self.finding:
            return
        self.finding = None
        self.cancel_timer("find")
        if m["error"] != "NONE":  # the controller has not moved the leadership yet: retry with backoff
            self.find_tries += 1
            self.set_timer("find", self.find_backoff(self.find_tries))
            return
        self.find_tries = 0
        self.avoid = None
        self.put("coordinator", m["coordinator"])
        self.put("error", None)
        self.coordinator_found()

    def find_backoff(self, tries):
        """retry.backoff.ms 100 doubling up to retry.backoff.max.ms 1000 (Kafka ms), scaled."""
        s = self.params.time_scale
        return max(1, (min(100 * 2 ** min(tries - 1, 4), 1000) + s // 2) // s)

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
        self.set_timer("offsets", self.params.request_timeout)

    @receives("OffsetFetchResponse")
    def on_offsets(self, src, m):
        positions = None
        for t, off in m["offsets"].items():
            if t in self.owned and t not in self.positions and self.fetching.get(t) == m["req"]:
                if positions is None:
                    positions = dict(self.positions)
                positions[t] = off if off >= 0 else self.protocol.reset_offset(self, t)
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
        self.set_timer("request", self.params.request_timeout)

    def commit_msg(self, offsets):
        return {"kind": "OffsetCommit", "req": self.seq, "member_id": self.member_id,
                "instance_id": self.instance_id, "generation": self.generation, "offsets": offsets}

    def maybe_auto_commit(self):
        if not self.params.auto_commit or self.now < self.next_commit:
            return
        self.next_commit = self.now + self.params.auto_commit_interval
        offsets = self.commit_offsets([t for t in self.owned if t not in self.revoking])
        if offsets and self.member_id and self.generation >= 0 and self.phase in self.COMMIT_PHASES \
                and self.coordinator is not None:
            self.seq += 1
            self.send(self.coordinator, self.commit_msg(offsets))

    @receives("OffsetCommitResponse")
    def on_commit_response(self, src, m):
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
        budget = self.params.max_poll_records
        batch = []
        positions = None
        for t in self.owned:
            pos = self.positions.get(t)
            if pos is None or t in self.revoking:
                continue
            n = min(self.protocol.leo(t, self.now) - pos, budget)
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
            dup = self.protocol.processed(self, t, a, b)
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
        self.set_timer("poll", self.params.poll_interval)

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
        if lost and self.params.auto_commit:
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
            if self.params.multi_broker and self.waiting is not None:
                self.coordinator_lost(f"{self.waiting[0].capitalize()} request timed out")
            else:
                self.on_request_timeout()
        elif name == "offsets":
            self.request_offsets(self.missing_offsets())
        elif name == "metadata":
            if self.coordinator is not None:
                self.seq += 1
                self.send(self.coordinator, {"kind": "Metadata", "req": self.seq})
            self.set_timer("metadata", self.params.metadata_max_age)
        elif name == "retry":
            self.on_retry()
        elif name == "find":
            self.on_find_timer()

    def on_retry(self):
        pass

    def on_message(self, src, m):
        """Every answer: ignored once the consumer has shut down; with brokers >= 2 only the coordinator's count
        (FindCoordinator's answer aside), and NOT_COORDINATOR sends it looking for the coordinator; then the
        handler of its kind (HANDLERS)."""
        if not self.active:
            return  # a late answer to a consumer that has shut down
        kind = m["kind"]
        if self.params.multi_broker and kind != "FindCoordinatorResponse":
            if src != self.coordinator:
                return  # an answer from a broker we no longer take for the coordinator
            if m.get("error") == "NOT_COORDINATOR":
                self.coordinator_lost(f"{src} answered NOT_COORDINATOR")
                return
            if kind == "HeartbeatResponse":
                self.hb_wait = None
        handler = self.HANDLERS.get(kind)
        if handler is not None:
            handler(self, src, m)

    @receives("MetadataResponse")
    def on_metadata_response(self, src, m):
        self.on_metadata(m["partitions"])

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
        self.known = self.protocol.counts()
        self.last_poll = self.now
        self.next_commit = self.now + self.params.auto_commit_interval
        self.set_timer("poll", 0)
        self.set_timer("metadata", self.params.metadata_max_age)

    def close(self):
        """A clean shutdown (KafkaConsumer.close()): commit what was consumed, revoke, leave the group."""
        self.closing = True
        self.cancel_timer("poll")
        self.put("phase", "leaving")
        if self.params.auto_commit and self.owned:
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
        return self.params.mode == "eager"

    def start(self):
        super().start()
        self.put("phase", "unjoined")
        self.set_timer("heartbeat", self.params.heartbeat_interval)

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
        elif self.params.auto_commit and self.owned:
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
        if self.params.mode == "cooperative":
            owned, gen = without(self.owned, self.kept), self.generation
        elif self.params.assignor == "sticky":
            owned, gen = list(self.claim), self.claim_gen
        else:
            owned, gen = [], -1
        self.send(self.coordinator, {"kind": "JoinGroup", "req": self.seq, "member_id": self.member_id or "",
                           "instance_id": self.instance_id, "topics": self.topics(), "protocol": self.params.assignor,
                           "owned": owned, "generation": gen, "rebalance_timeout": self.params.max_poll_interval,
                           "session_timeout": self.params.session_timeout})
        self.put("phase", "joining")
        self.set_timer("request", self.params.join_timeout)

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

    @receives("JoinGroupResponse")
    def on_join_response(self, src, m):
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
            self.set_timer("request", self.params.request_timeout)
        elif err == "FENCED_INSTANCE_ID":
            self.fatal(err)
        else:
            self.set_error(f"JoinGroup failed: {err}")
            self.reset(err)
            self.put("phase", "unjoined")

    def compute_assignment(self, members):
        counts = dict(self.known)
        out = client_assign(self.params.assignor, counts, members)
        self.snapshot = dict(counts)
        self.protocol.assignment_computed(self.generation, counts, out)
        return out

    @receives("SyncGroupResponse")
    def on_sync_response(self, src, m):
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
        if revoked and self.mutations.no_revoke_before_rejoin:
            self.kept = self.kept + revoked  # keeps consuming them, and rejoins as if it had let them go
            self.prepare_join()
            return
        if revoked:
            if self.params.commit_on_revoke:
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
        self.set_timer("heartbeat", self.params.heartbeat_interval)
        if self.phase not in ("syncing", "stable", "committing") or self.generation < 0 or not self.member_id:
            return
        if self.now - self.last_poll > self.params.max_poll_interval and not self.closing:  # (closing is not a stall)
            self.poll_timeout()
            return
        if self.params.multi_broker:
            if self.coordinator is None:
                self.find_coordinator()
                return
            if self.hb_wait is not None and self.now - self.hb_wait >= self.params.request_timeout:
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

    @receives("HeartbeatResponse")
    def on_heartbeat_response(self, src, m):
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
        self.hb_req = None  # its request number: an answer to an older one (timed out) is discarded
        self.hb_again = False  # send another as soon as the one in flight is answered (an acknowledgement)
        self.full_hb = False  # the next heartbeat is a full one (after one timed out, or the coordinator was lost)

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
            if self.hb_sent is not None and self.now - self.hb_sent < self.params.request_timeout:
                self.hb_again = True  # one heartbeat in flight at a time
                return
            if self.hb_sent is not None:  # the last one timed out: the client resends all fields (full request)
                self.full_hb = True
            self.hb_sent = self.now
            self.hb_again = False
            self.seq += 1
            self.hb_req = self.seq
        msg = {"kind": "ConsumerGroupHeartbeat", "req": self.seq, "member_id": self.member_id,
               "instance_id": self.instance_id, "epoch": self.generation if epoch is None else epoch,
               "topics": self.topics(),
               "owned": self.claimed(), "rebalance_timeout": self.params.max_poll_interval}
        if self.full_hb:  # after a failure the client sends a full request: the answer has the assignment
            msg["full"], self.full_hb = True, False
        self.send(self.coordinator, msg)
        if epoch is None:
            self.set_timer("heartbeat", self.params.consumer_heartbeat_interval)

    def claimed(self):
        """The partitions reported as owned: those consumed, plus those of the assignment the application thread
        has not taken yet (it is stalled, or committing before a revocation). It will take them without asking
        again, so the coordinator must not hand them to another member on the strength of a report leaving them
        out (the coordinator frees what a member does not report; see docs/protocols/kafka.md)."""
        if self.target is None:
            return list(self.owned)
        return tp_sorted(self.owned + [t for t in self.target if t not in self.owned])

    def on_heartbeat_timer(self):
        if self.phase in ("unjoined", "idle", "leaving", "fenced"):
            return
        self.set_timer("heartbeat", self.params.consumer_heartbeat_interval)
        if self.generation > 0 and self.now - self.last_poll > self.params.max_poll_interval and not self.closing:
            self.poll_timeout()
            return
        if self.params.multi_broker and self.hb_sent is not None \
                and self.now - self.hb_sent >= self.params.request_timeout:
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

    @receives("ConsumerGroupHeartbeatResponse")
    def on_heartbeat_response(self, src, m):
        if m["sent_epoch"] < 0:
            return
        if m["req"] != self.hb_req:
            # Kafka's client failed that request at its timeout (and closed the connection): an answer to it
            # never arrives. Acting on one could take partitions the coordinator has since freed on the strength
            # of the newer heartbeat's owned list.
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
            self.set_timer("heartbeat", self.params.retry_backoff)
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
        if revoke and self.params.auto_commit:  # auto-commit before revocation
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
