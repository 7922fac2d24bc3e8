"""Raft's servers (Ongaro & Ousterhout 2014, Figure 2), with pre-vote and check-quorum.

Persistent state (term, voted_for, log) survives a crash; everything else is volatile. Log entries are
[term, value] lists, indexed from 1 as in the paper, never changed in place (followers share them with the
leader's log and messages). Teaching mutations (self.mutations) break one rule each.
"""

from ...node import Node, receives
from ..disk import StableStorage

FOLLOWER, PRECANDIDATE, CANDIDATE, LEADER = "follower", "precandidate", "candidate", "leader"


class RaftNode(Node):
    VIEW = ("role", "term", "voted_for", "leader", "log", "commit", "votes")
    VISIBLE_TIMERS = ("election",)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.HANDLERS != RaftNode.HANDLERS:  # on_message dispatches through RaftNode's table (_HANDLERS)
            raise TypeError(f"{cls.__name__}: a Raft server handles the messages RaftNode does, with its methods")

    def init_persistent(self):
        self.term = 0
        self.voted_for = None
        self.log = []  # [[term, value], ...]; log[i - 1] is entry i
        # None: no disk on the critical path. DurableRaftNode's writes in progress (simulator/protocols/disk.py):
        # its replies wait for them and its log splices feed them, so the hot paths (on_append_entries,
        # advance_commit) inline reply, mark_splice and majority_match only when this is None. (An instance
        # attribute, not a class flag: CPython 3.11 reads those several times faster.)
        self.disk = None

    def init_volatile(self):
        self.role = FOLLOWER
        self.leader = None
        self.commit = 0
        self.votes = []
        self.next_index = {}
        self.match_index = {}
        self.sent_upto = {}  # leader: last index sent to each peer (to keep a lagging follower's batches coming)
        self.acked = {}  # check-quorum: peers heard from since the last check
        self.last_leader_contact = None

    # --- helpers ------------------------------------------------------------------------

    def majority(self):
        return len(self.ctx.node_ids) // 2 + 1

    def last_log(self):
        return (len(self.log), self.log[-1][0] if self.log else 0)

    def reset_election_timer(self):
        lo = self.params.election_timeout_min
        # = self.set_timer("election", a uniform integer in [min, max]), inlined: once per AppendEntries
        self.ctx.set_timer(self, "election", lo + int(self.rng.random() * (self.params.election_timeout_max - lo + 1)))

    def set_role(self, role):
        if role != self.role:
            self.role = role
            self.mark("role")

    def adopt_term(self, term):
        """Any message with a higher term: adopt it and become follower (Figure 2, all servers)."""
        self.term = term
        self.voted_for = None
        self.votes = []
        self.mark("term", "voted_for", "votes")
        if self.role != FOLLOWER:
            if self.role == LEADER:
                self.cancel_timer("heartbeat")
                self.cancel_timer("quorum")
            self.set_role(FOLLOWER)
            self.reset_election_timer()
        if self.leader is not None:
            self.leader = None
            self.mark("leader")

    def heard_from_leader_recently(self):
        t = self.last_leader_contact
        return t is not None and self.now - t < self.params.election_timeout_min

    # --- lifecycle ------------------------------------------------------------------------
    def on_start(self):
        self.reset_election_timer()

    def on_timer(self, name):
        if name == "election":
            if self.role == LEADER:
                return
            if self.params.pre_vote:
                self.start_pre_vote()
            else:
                self.start_election()
        elif name == "heartbeat" and self.role == LEADER:
            self.replicate()
            self.set_timer("heartbeat", self.params.heartbeat_interval)
        elif name == "quorum" and self.role == LEADER:
            if len(self.acked) + 1 < self.majority():
                self.set_role(FOLLOWER)  # check-quorum: lost touch with a majority, step down
                self.leader = None
                self.votes = []
                self.mark("leader", "votes")
                self.cancel_timer("heartbeat")
                self.metrics.leader_step_downs += 1
                self.reset_election_timer()
            else:
                self.acked = {}
                self.set_timer("quorum", self.params.election_timeout_max)

    def vote_request(self, term, pre):
        index, last_term = self.last_log()
        return {"kind": "RequestVote", "term": term, "candidate": self.id,
                "last_log_index": index, "last_log_term": last_term, "pre": pre}

    def start_pre_vote(self):
        self.set_role(PRECANDIDATE)
        self.votes = [self.id]
        self.leader = None  # it believes the leader is gone
        self.mark("votes", "leader")
        self.reset_election_timer()
        self.broadcast(self.vote_request(self.term + 1, True))

    def start_election(self):
        self.term += 1
        self.voted_for = self.id
        self.votes = [self.id]
        self.leader = None
        self.set_role(CANDIDATE)
        self.mark("term", "voted_for", "votes", "leader")
        self.metrics.elections += 1
        self.reset_election_timer()
        self.broadcast(self.vote_request(self.term, False))

    def become_leader(self):
        self.set_role(LEADER)
        self.leader = self.id
        self.mark("leader")
        self.cancel_timer("election")
        n = len(self.log) + 1
        self.next_index = {p: n for p in self.peers}
        self.match_index = {p: 0 for p in self.peers}
        self.sent_upto = {p: 0 for p in self.peers}
        self.acked = {}
        if self.params.leader_noop:
            self.append(None)
        self.replicate()
        self.set_timer("heartbeat", self.params.heartbeat_interval)
        if self.params.check_quorum:
            self.set_timer("quorum", self.params.election_timeout_max)

    def append(self, value):
        self.log.append([self.term, value])
        self.mark_splice("log", len(self.log) - 1)
        self.protocol.appended(self, len(self.log))
        if len(self.ctx.node_ids) == 1:
            self.advance_commit()

    # --- messages -------------------------------------------------------------------------
    def reply(self, dst, msg):
        """Answer an RPC. A server with a disk (DurableRaftNode) answers once what it reports is on disk."""
        self.ctx.send(self.id, dst, msg)

    def on_message(self, src, m):
        kind = m["kind"]
        # Any message but a vote request with a higher term: adopt it first (Figure 2, all servers). A granted
        # pre-vote carries the term the candidate proposes, not the voter's: not adopted. A refused one
        # carries the voter's term, which a stale pre-candidate catches up with.
        if kind != "RequestVote" and m["term"] > self.term and not (
                kind == "RequestVoteReply" and m["pre"] and m["granted"]):
            self.adopt_term(m["term"])
        _HANDLERS[kind](self, src, m)  # = self.HANDLERS[kind]: a module global is read faster than a class attribute

    def log_ok(self, m):
        if self.mutations.vote_without_log_check:
            return True
        index, last_term = self.last_log()
        return (m["last_log_term"], m["last_log_index"]) >= (last_term, index)

    @receives("RequestVote")
    def on_request_vote(self, src, m):
        # Leader stickiness (thesis 4.2.3): with check-quorum or pre-vote, ignore a vote request
        # while a leader is known to be alive, so a rejoining node cannot disrupt the cluster.
        sticky = (self.params.check_quorum or self.params.pre_vote) and (
            self.role == LEADER or self.heard_from_leader_recently())
        if m["pre"]:
            granted = m["term"] > self.term and not sticky and self.log_ok(m)
            self.reply(src, {"kind": "RequestVoteReply", "term": m["term"] if granted else self.term,
                            "granted": granted, "pre": True})
            return
        if sticky and m["term"] > self.term:
            self.reply(src, {"kind": "RequestVoteReply", "term": self.term, "granted": False, "pre": False})
            return
        if m["term"] > self.term:
            self.adopt_term(m["term"])
        granted = (m["term"] == self.term and self.voted_for in (None, m["candidate"]) and self.log_ok(m))
        if granted:
            if self.voted_for != m["candidate"]:
                self.voted_for = m["candidate"]
                self.mark("voted_for")
            self.reset_election_timer()
        self.reply(src, {"kind": "RequestVoteReply", "term": self.term, "granted": granted, "pre": False})

    @receives("RequestVoteReply")
    def on_vote_reply(self, src, m):
        if not m["granted"] or src in self.votes:
            return
        if m["pre"]:
            if self.role == PRECANDIDATE and m["term"] == self.term + 1:
                self.votes = self.votes + [src]
                self.mark("votes")
                if len(self.votes) >= self.majority():
                    self.start_election()
            return
        if self.role == CANDIDATE and m["term"] == self.term:
            self.votes = self.votes + [src]
            self.mark("votes")
            if len(self.votes) >= self.majority():
                self.become_leader()

    @receives("AppendEntries")
    def on_append_entries(self, src, m):
        # The hottest handler (every follower, every batch and heartbeat): helpers that run on every call
        # (set_role, mark, mark_splice, reset_election_timer, set_commit) are inlined; keep them alike.
        if m["term"] < self.term:
            self.reply(src, {"kind": "AppendEntriesReply", "term": self.term, "success": False, "match": 0,
                            "hint": 0})
            return
        dirty = self._dirty
        disk = self.disk
        if self.role != FOLLOWER:
            self.role = FOLLOWER  # a candidate hearing from this term's leader steps down
            dirty["role"] = True
            self.votes = []
            dirty["votes"] = True
        leader = m["leader"]
        if self.leader != leader:
            self.leader = leader
            dirty["leader"] = True
        ctx = self.ctx
        params = self.params
        if params.check_quorum or params.pre_vote:  # only leader stickiness reads it (on_request_vote)
            self.last_leader_contact = ctx.now
        lo = params.election_timeout_min  # reset_election_timer()
        set_timer = ctx.set_timer  # (a local: CPython 3.11 calls a bound method held in an attribute faster so)
        set_timer(self, "election", lo + int(self.rng.random() * (params.election_timeout_max - lo + 1)))
        prev = m["prev_index"]
        log = self.log
        size = len(log)
        if prev > size or (prev > 0 and log[prev - 1][0] != m["prev_term"]):
            hint = min(prev, size + 1)
            if prev <= size:  # skip back over the whole conflicting term
                bad = log[prev - 1][0]
                while hint > 1 and log[hint - 2][0] == bad:
                    hint -= 1
            self.reply(src, {"kind": "AppendEntriesReply", "term": self.term, "success": False, "match": 0,
                            "hint": hint})
            return
        entries = m["entries"]
        n = len(entries)
        i = 0
        held = size - prev  # how many of them are at indices we have an entry for
        if held > n:
            held = n
        while i < held and log[prev + i][0] == entries[i][0]:
            i += 1  # held already (the same index and term)
        if i < n:
            if prev + i == size:
                # The common case, nothing to delete: the rest goes on the end of the log, in one splice.
                log.extend(entries[i:] if i else entries)  # shared with the leader's: never changed in place
                if disk is None:  # mark_splice("log", size), inlined
                    splices = self._splices
                    old = splices.get("log")
                    if old is None or size < old:
                        splices["log"] = size
                else:
                    self.mark_splice("log", size)
            else:  # entry prev + i + 1 conflicts with ours (the same index, another term)
                keep_conflicts = self.mutations.no_truncate
                for i in range(i, n):
                    entry = entries[i]
                    idx = prev + 1 + i
                    if idx <= len(log):
                        if log[idx - 1][0] == entry[0]:
                            continue
                        if keep_conflicts:
                            continue  # mutation: keep our conflicting entry and carry on
                        del log[idx - 1:]
                        self.mark_splice("log", idx - 1)
                    log.append(entry)
                    self.mark_splice("log", idx - 1)
        last_new = prev + n
        commit = m["commit"]
        if commit > self.commit:
            if commit > last_new:
                commit = last_new
            if commit > self.commit:
                self.commit = commit  # set_commit(commit)
                dirty["commit"] = True
        answer = {"kind": "AppendEntriesReply", "term": self.term, "success": True, "match": last_new, "hint": 0}
        if disk is None:
            send = ctx.send  # = self.reply(src, answer)
            send(self.id, src, answer)
        else:
            self.reply(src, answer)

    @receives("AppendEntriesReply")
    def on_append_reply(self, src, m):
        if self.role != LEADER or m["term"] != self.term:
            return
        self.acked[src] = True
        if m["success"]:
            match = m["match"]
            match_index = self.match_index
            if match > match_index[src]:
                match_index[src] = match
                if match > self.commit:
                    self.advance_commit()
            next_index = self.next_index
            if match >= next_index[src]:
                next_index[src] = match + 1
            if match == self.sent_upto[src] < len(self.log):
                # The follower has all we sent it and is still behind: its next batch now, not at the next
                # heartbeat. Only for the reply to the latest batch: a duplicate or stale reply sends nothing.
                self.send_append(src)
        else:
            self.next_index[src] = max(1, min(self.next_index[src] - 1, m["hint"]))
            self.send_append(src)

    # --- leader ---------------------------------------------------------------------------
    def replicate(self):
        # = `for p in self.peers: self.send_append(p)`, inlined (every client write and heartbeat sends to
        # every peer; sending changes nothing the loop reads): keep the two alike.
        log = self.log
        nid, term, commit = self.id, self.term, self.commit
        most = self.params.max_entries_per_append
        next_index, sent_upto = self.next_index, self.sent_upto
        send = self.ctx.send
        # = self.peers, in order: become_leader builds next_index from them (only a leader replicates)
        for p in next_index:
            prev = next_index[p] - 1
            entries = log[prev:prev + most]
            sent_upto[p] = prev + len(entries)
            send(nid, p, {"kind": "AppendEntries", "term": term, "leader": nid, "prev_index": prev,
                          "prev_term": log[prev - 1][0] if prev > 0 else 0,
                          "entries": entries, "commit": commit})  # entries are never changed in place

    def send_append(self, p):
        prev = self.next_index[p] - 1
        log = self.log
        entries = log[prev:prev + self.params.max_entries_per_append]
        self.sent_upto[p] = prev + len(entries)
        self.ctx.send(self.id, p, {"kind": "AppendEntries", "term": self.term, "leader": self.id, "prev_index": prev,
                      "prev_term": log[prev - 1][0] if prev > 0 else 0,
                      "entries": entries, "commit": self.commit})  # entries are never changed in place

    def majority_match(self):
        """The highest index stored on a majority. This leader has every entry, so it is the
        (majority - 1)-th highest matchIndex among the peers: O(n log n) in C, not O(n) per entry."""
        need = len(self.ctx.node_ids) // 2  # = self.majority() - 1
        return sorted(self.match_index.values(), reverse=True)[need - 1] if need else len(self.log)

    def advance_commit(self):
        if self.disk is None:  # = self.majority_match(), inlined (once per acknowledged batch)
            need = len(self.ctx.node_ids) // 2
            n = sorted(self.match_index.values(), reverse=True)[need - 1] if need else len(self.log)
        else:
            n = self.majority_match()
        if n <= self.commit:
            return
        # Figure 8: only an entry of the current term is committed by counting replicas (earlier ones
        # follow). A leader's log has non-decreasing terms, so if entry n is older, so is every entry before it.
        if self.log[n - 1][0] == self.term or self.mutations.commit_old_terms:
            self.set_commit(n)

    def set_commit(self, n):
        self.commit = n
        self.mark("commit")  # the checker sees it in the state event (Raft.on_state)

    def client_request(self, value):
        self.append(value)
        self.replicate()


_HANDLERS = RaftNode.HANDLERS  # message kind -> handler (Node.HANDLERS, built from @receives)


class DurableRaftNode(StableStorage, RaftNode):
    """A server whose persistent state (term, voted_for, log) takes `disk_ms` to reach stable storage (the
    scenario's `disk_ms` > 0; Raft.make_node picks it; the disk itself is simulator/protocols/disk.py).

    Figure 2: persistent state is "updated on stable storage before responding to RPCs": a reply waits until
    every write issued before it is done. A candidate sends its vote requests at once and counts its own vote
    when its write is done; a leader replicates new entries while it writes them and counts itself toward a
    majority for the entries on its disk (thesis 10.2.1). A crash loses the writes not yet done: the server
    restarts with what was on disk.
    """

    VIEW = RaftNode.VIEW + ("writing",)
    DURABLE_FIELDS = ("term", "voted_for")
    DURABLE_LIST = "log"

    def init_persistent(self):
        super().init_persistent()
        self.init_disk()

    def init_volatile(self):
        super().init_volatile()
        self.lose_unwritten()
        self.own_match = 0  # leader: the highest index of this term's log on its own disk

    def on_durable(self, action):
        kind = action[0]
        if kind == "vote":  # a candidate's own vote, now on disk
            if self.role == CANDIDATE and self.term == action[1] and self.id not in self.votes:
                self.votes = self.votes + [self.id]
                self.mark("votes")
                if len(self.votes) >= self.majority():
                    self.become_leader()
        elif kind == "match":  # a leader's own entries, now on disk
            if self.role == LEADER and self.term == action[1] and action[2] > self.own_match:
                self.own_match = action[2]
                self.advance_commit()

    # --- Raft, with the disk on the critical path -------------------------------------------
    def reply(self, dst, msg):
        self.persist()
        self.after_writes(("send", dst, msg))

    def on_message(self, src, m):
        super().on_message(src, m)
        self.persist()  # e.g. a higher term adopted from a reply

    def on_timer(self, name):
        if name == "disk":
            self.write_done()
            return
        super().on_timer(name)
        self.persist()

    def start_election(self):
        super().start_election()
        self.votes = []  # its own vote counts once its term and vote are on disk
        self.persist()
        self.after_writes(("vote", self.term))

    def become_leader(self):
        self.own_match = 0
        super().become_leader()
        self.after_writes(("match", self.term, len(self.log)))  # what it already holds, once on disk

    def append(self, value):
        super().append(value)
        self.persist()
        self.after_writes(("match", self.term, len(self.log)))

    def majority_match(self):
        """The highest index stored on a majority, counting this leader's own disk, not its log."""
        matches = sorted([self.own_match, *self.match_index.values()], reverse=True)
        return matches[self.majority() - 1]
