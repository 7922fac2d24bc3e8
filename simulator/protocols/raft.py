"""Raft (Ongaro & Ousterhout 2014), faithful to Figure 2, with pre-vote and check-quorum.

Persistent state (term, voted_for, log) survives a crash; everything else is
volatile. Log entries are [term, value] lists, indexed from 1 as in the paper.
Log entries are never changed in place (followers share them with the leader's
log and messages). Teaching mutations break one rule each so the invariant
checker can show why the rule exists; the checker (Raft.on_state) is incremental:
each log is tracked as a chain of prefix ids, so every check costs O(changed
entries), not O(log). Its state is kept compact (ints in arrays, int or string
keys, no per-entry tuples or lists) because time travel deep-copies it with
every checkpoint.
"""

from array import array
from functools import partial
from heapq import heappush

import simpy
from simpy.events import NORMAL

from ..errors import InterventionError, ScenarioError
from ..node import Node
from ..params import Action, Param
from .base import Protocol

_new = object.__new__

FOLLOWER, PRECANDIDATE, CANDIDATE, LEADER = "follower", "precandidate", "candidate", "leader"


class RaftNode(Node):
    VIEW = ("role", "term", "voted_for", "leader", "log", "commit", "votes")
    VISIBLE_TIMERS = ("election",)

    def init_persistent(self):
        self.term = 0
        self.voted_for = None
        self.log = []  # [[term, value], ...]; log[i - 1] is entry i

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

    def __init__(self, sim, node_id, index, rng):
        self.p = sim.params  # the scenario's parameters
        super().__init__(sim, node_id, index, rng)

    # --- helpers ------------------------------------------------------------------------

    def majority(self):
        return len(self.sim.node_ids) // 2 + 1

    def last_log(self):
        return (len(self.log), self.log[-1][0] if self.log else 0)

    def reset_election_timer(self):
        lo = self.p["election_timeout_min"]
        # = self.set_timer("election", uniform_int(self.rng, lo, max)), inlined: once per AppendEntries
        self.sim.set_timer(self, "election", lo + int(self.rng.random() * (self.p["election_timeout_max"] - lo + 1)))

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
        return t is not None and self.now - t < self.p["election_timeout_min"]

    # --- lifecycle ------------------------------------------------------------------------
    def on_start(self):
        self.reset_election_timer()

    def on_timer(self, name):
        if name == "election":
            if self.role == LEADER:
                return
            if self.p["pre_vote"]:
                self.start_pre_vote()
            else:
                self.start_election()
        elif name == "heartbeat" and self.role == LEADER:
            self.replicate()
            self.set_timer("heartbeat", self.p["heartbeat_interval"])
        elif name == "quorum" and self.role == LEADER:
            if len(self.acked) + 1 < self.majority():
                self.set_role(FOLLOWER)  # check-quorum: lost touch with a majority, step down
                self.leader = None
                self.votes = []
                self.mark("leader", "votes")
                self.cancel_timer("heartbeat")
                self.sim.protocol.stepped_down += 1
                self.reset_election_timer()
            else:
                self.acked = {}
                self.set_timer("quorum", self.p["election_timeout_max"])

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
        self.sim.protocol.elections += 1
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
        if self.p["leader_noop"]:
            self.append(None)
        self.replicate()
        self.set_timer("heartbeat", self.p["heartbeat_interval"])
        if self.p["check_quorum"]:
            self.set_timer("quorum", self.p["election_timeout_max"])

    def append(self, value):
        self.log.append([self.term, value])
        self.mark_splice("log", len(self.log) - 1)
        self.sim.protocol.appended(self, len(self.log))
        if len(self.sim.node_ids) == 1:
            self.advance_commit()

    # --- messages -------------------------------------------------------------------------
    def on_message(self, src, m):
        kind = m["kind"]
        if kind == "RequestVote":
            self.on_request_vote(src, m)
            return
        # A granted pre-vote carries the term the candidate proposes, not the voter's: not adopted.
        # A refused one carries the voter's term, which a stale pre-candidate catches up with.
        if m["term"] > self.term and not (kind == "RequestVoteReply" and m["pre"] and m["granted"]):
            self.adopt_term(m["term"])
        if kind == "AppendEntries":
            self.on_append_entries(src, m)
        elif kind == "AppendEntriesReply":
            self.on_append_reply(src, m)
        elif kind == "RequestVoteReply":
            self.on_vote_reply(src, m)

    def log_ok(self, m):
        if "vote_without_log_check" in self.sim.mutations:
            return True
        index, last_term = self.last_log()
        return (m["last_log_term"], m["last_log_index"]) >= (last_term, index)

    def on_request_vote(self, src, m):
        # Leader stickiness (thesis 4.2.3): with check-quorum or pre-vote, ignore a vote request
        # while a leader is known to be alive, so a rejoining node cannot disrupt the cluster.
        sticky = (self.p["check_quorum"] or self.p["pre_vote"]) and (
            self.role == LEADER or self.heard_from_leader_recently())
        if m["pre"]:
            granted = m["term"] > self.term and not sticky and self.log_ok(m)
            self.send(src, {"kind": "RequestVoteReply", "term": m["term"] if granted else self.term,
                            "granted": granted, "pre": True})
            return
        if sticky and m["term"] > self.term:
            self.send(src, {"kind": "RequestVoteReply", "term": self.term, "granted": False, "pre": False})
            return
        if m["term"] > self.term:
            self.adopt_term(m["term"])
        granted = (m["term"] == self.term and self.voted_for in (None, m["candidate"]) and self.log_ok(m))
        if granted:
            if self.voted_for != m["candidate"]:
                self.voted_for = m["candidate"]
                self.mark("voted_for")
            self.reset_election_timer()
        self.send(src, {"kind": "RequestVoteReply", "term": self.term, "granted": granted, "pre": False})

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

    def on_append_entries(self, src, m):
        # The hottest handler (every follower, every batch and heartbeat): helpers that run on every call
        # (set_role, mark, mark_splice, reset_election_timer, set_commit) are inlined; keep them alike.
        if m["term"] < self.term:
            self.send(src, {"kind": "AppendEntriesReply", "term": self.term, "success": False, "match": 0,
                            "hint": 0})
            return
        dirty = self._dirty
        if self.role != FOLLOWER:
            self.role = FOLLOWER  # a candidate hearing from this term's leader steps down
            dirty["role"] = True
            self.votes = []
            dirty["votes"] = True
        leader = m["leader"]
        if self.leader != leader:
            self.leader = leader
            dirty["leader"] = True
        sim = self.sim
        self.last_leader_contact = sim.env._now
        p = self.p
        lo = p["election_timeout_min"]  # reset_election_timer()
        sim.set_timer(self, "election", lo + int(self.rng.random() * (p["election_timeout_max"] - lo + 1)))
        prev = m["prev_index"]
        log = self.log
        size = len(log)
        if prev > size or (prev > 0 and log[prev - 1][0] != m["prev_term"]):
            hint = min(prev, size + 1)
            if prev <= size:  # skip back over the whole conflicting term
                bad = log[prev - 1][0]
                while hint > 1 and log[hint - 2][0] == bad:
                    hint -= 1
            self.send(src, {"kind": "AppendEntriesReply", "term": self.term, "success": False, "match": 0,
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
                splices = self._splices  # mark_splice("log", size)
                old = splices.get("log")
                if old is None or size < old:
                    splices["log"] = size
            else:  # entry prev + i + 1 conflicts with ours (the same index, another term)
                keep_conflicts = "no_truncate" in self.sim.mutations
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
        sim.network.send(self.id, src, {"kind": "AppendEntriesReply", "term": self.term, "success": True,
                                        "match": last_new, "hint": 0})

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
        most = self.p["max_entries_per_append"]
        next_index, sent_upto = self.next_index, self.sent_upto
        send = self.sim.network.send
        for p in self.peers:
            prev = next_index[p] - 1
            entries = log[prev:prev + most]
            sent_upto[p] = prev + len(entries)
            send(nid, p, {"kind": "AppendEntries", "term": term, "leader": nid, "prev_index": prev,
                          "prev_term": log[prev - 1][0] if prev > 0 else 0,
                          "entries": entries, "commit": commit})  # entries are never changed in place

    def send_append(self, p):
        prev = self.next_index[p] - 1
        log = self.log
        entries = log[prev:prev + self.p["max_entries_per_append"]]
        self.sent_upto[p] = prev + len(entries)
        self.sim.network.send(self.id, p, {"kind": "AppendEntries", "term": self.term, "leader": self.id, "prev_index": prev,
                      "prev_term": log[prev - 1][0] if prev > 0 else 0,
                      "entries": entries, "commit": self.commit})  # entries are never changed in place

    def advance_commit(self):
        # The highest index stored on a majority (this leader has every entry) is the
        # (majority - 1)-th highest matchIndex among the peers: O(n log n) in C, not O(n) per entry.
        need = len(self.sim.node_ids) // 2  # = self.majority() - 1
        n = sorted(self.match_index.values(), reverse=True)[need - 1] if need else len(self.log)
        if n <= self.commit:
            return
        # Figure 8: only an entry of the current term is committed by counting replicas (earlier ones
        # follow). A leader's log has non-decreasing terms, so if entry n is older, so is every entry before it.
        if self.log[n - 1][0] == self.term or "commit_old_terms" in self.sim.mutations:
            self.set_commit(n)

    def set_commit(self, n):
        self.commit = n
        self.mark("commit")  # the checker sees it in the state event (Raft.on_state)

    def client_request(self, value):
        self.append(value)
        self.replicate()


class _Tick(simpy.Event):
    """The SimPy event of the next automatic client write (a bare triggered event, like a Timeout)."""

    __slots__ = ("env", "callbacks")
    _value = None
    _ok = True


class Raft(Protocol):
    name = "raft"
    title = "Raft"
    version = "1"  # bump when a change alters traces: old share links then say their replay may differ
    summary = "Leader election and log replication: watch a leader emerge, crash it, split the cluster."
    nodes = Param(5, "number of servers", 3, 101)
    params = {
        "election_timeout_min": Param(150, "shortest randomised election timeout (ms)", 10, 60_000),
        "election_timeout_max": Param(300, "longest randomised election timeout (ms)", 10, 60_000),
        "heartbeat_interval": Param(50, "leader heartbeat interval (ms); well below the election timeout", 1, 30_000),
        "max_entries_per_append": Param(16, "most log entries in one AppendEntries", 1, 1000),
        "client_interval": Param(0, "a client request to the leader every this many ms (0: none)", 0, 600_000),
        "pre_vote": Param(False, "pre-vote (thesis 9.6): no term bump unless a majority would vote", kind="bool"),
        "check_quorum": Param(False, "check-quorum (thesis 6.2): a leader that loses a majority steps down",
                              kind="bool"),
        "leader_noop": Param(True, "a new leader appends a no-op entry so earlier entries can commit (section 8)",
                             kind="bool"),
    }
    actions = {
        "client_request": Action(
            "a client asks `node` to append `value` (a follower answers with the leader it knows)",
            {"node": Param("leader", "target node", kind="str"),
             "value": Param("", "the command; empty for an automatic name", kind="str", max_length=40)},
        ),
        "timeout": Action("fire the node's election timer now", {"node": Param(None, "target node", kind="str")}),
    }
    selectors = {"leader": "the current leader (highest term)"}
    mutations = {
        "vote_without_log_check": "voters grant votes without checking the candidate's log is up to date",
        "commit_old_terms": "a leader commits entries of earlier terms by counting replicas (the Figure 8 bug)",
        "no_truncate": "a follower keeps its conflicting entries instead of deleting them",
    }
    invariants = {
        "election_safety": "at most one leader per term",
        "leader_append_only": "a leader never overwrites or deletes entries in its log",
        "log_matching": "two logs with an entry of the same index and term are identical up to it",
        "leader_completeness": "a leader's log holds every entry committed before its term",
        "state_machine_safety": "no two servers commit different entries at the same index",
    }
    Node = RaftNode

    def make_node(self, node_id, index, rng):
        return RaftNode(self.sim, node_id, index, rng)  # (until Raft moves to its package)

    @classmethod
    def validate_params(cls, p):
        if p["election_timeout_min"] > p["election_timeout_max"]:
            raise ScenarioError("params.election_timeout_max: must be at least election_timeout_min "
                                f"({p['election_timeout_min']})", field="params.election_timeout_max")
        if p["heartbeat_interval"] >= p["election_timeout_min"]:
            raise ScenarioError("params.heartbeat_interval: must be below election_timeout_min "
                                f"({p['election_timeout_min']}) or followers time out", field="params.heartbeat_interval")

    def setup(self):
        self.elections = 0
        self.stepped_down = 0
        self.leaders_by_term = {}  # term -> node id (election safety)
        self.leaders = {}  # node id -> term, for up leaders now
        self.leaderless_since = 0
        self.leaderless_ms = 0
        self.log_len = {nid: 0 for nid in self.sim.node_ids}
        # per entry: id of the prefix up to it (array('q'): one buffer to copy, not a list of ints)
        self.prefix_ids = {nid: array("q") for nid in self.sim.node_ids}
        self.prefix_chain = {}  # _chain_key(parent prefix id, term, value) -> prefix id
        self.first_prefix = {}  # index << 32 | term -> prefix id first seen (log matching)
        # The committed log, as first committed anywhere (state machine safety, leader completeness):
        self.committed_log = []  # entry i is committed_log[i - 1] ([term, value], shared with the node's log)
        self.committed_pids = array("q")  # prefix id of the committed log up to each index
        self.commit_terms = array("q")  # the term in which each index was first committed
        self.commit_seen = {nid: 0 for nid in self.sim.node_ids}  # commit index each node was checked up to
        self.append_time = {}  # index << 32 | term -> when the leader appended it (dropped once committed)
        self.latencies = array("q")  # commit latencies (ms), in order
        self.client_seq = 0
        interval = self.sim.params["client_interval"]
        if interval:
            self._client_callbacks = (partial(self._client_tick, interval),)  # shared by every tick
            self._schedule_client(interval)

    # --- automatic client load ----------------------------------------------------------
    def _schedule_client(self, interval):
        # = env.timeout(interval) with callback partial(self._client_tick, interval), minus Timeout's checks
        # and a new partial per tick: a triggered event due `interval` ms from now, its callbacks shared.
        env = self.sim.env
        ev = _new(_Tick)
        ev.env = env
        ev.callbacks = self._client_callbacks
        heappush(env._queue, (env._now + interval, NORMAL, next(env._eid), ev))

    def _client_tick(self, interval, _event=None):
        leader = self.resolve("leader")
        if leader is not None:
            self.client_seq += 1
            node = self.sim.nodes[leader]
            self.sim.dispatch(node, "client_request", f"x{self.client_seq}")
        self._schedule_client(interval)

    # --- interventions ------------------------------------------------------------------
    def resolve(self, selector):
        if selector == "leader":
            # The up leader with the highest term (on a tie, which only a violation allows: the first node).
            best = None
            nodes = self.sim.nodes
            for nid in self.leaders:  # up leaders, kept by on_state
                node = nodes[nid]
                if best is None or (node.term, -node.index) > (best.term, -best.index):
                    best = node
            return best.id if best else None
        return None

    def check_action(self, iv):
        node = self.sim.nodes[iv["node"]]
        if node.status != "up":
            raise InterventionError(f"node: {node.id} is {node.status}", code="invalid_state", field="node")
        if iv["action"] == "timeout" and node.role == LEADER:
            raise InterventionError(f"node: {node.id} is the leader: it has no election timer", code="invalid_state",
                                    field="node")

    def act(self, iv):
        self.check_action(iv)
        node = self.sim.nodes[iv["node"]]
        if iv["action"] == "timeout":
            node.cancel_timer("election")
            self.sim.emit({"t": self.sim.now, "type": "timer", "node": node.id, "timer": "election", "forced": True})
            self.sim.dispatch(node, "on_timer", "election")
            return None
        if node.role != LEADER:
            return {"result": "redirected", "leader_hint": node.leader}
        value = iv.get("value") or ""
        if not value:
            self.client_seq += 1
            value = f"x{self.client_seq}"
        self.sim.dispatch(node, "client_request", value)
        return {"result": "appended", "index": len(node.log), "value": value}

    # --- invariants and metrics, checked on every state event ----------------------------
    def appended(self, node, index):
        if index > len(self.committed_pids):  # (a later append at a committed index is never measured)
            self.append_time.setdefault(index << 32 | node.term, self.sim.now)


    def on_state(self, node, ev):
        """Check every invariant the state event can affect, incrementally (O(changed entries), not O(log)).

        Logs are tracked as chains of prefix ids: entry i of a node gets the id of (id of entry i - 1, term,
        value), so two logs agree up to index i exactly when their ids at i are equal. That makes Log
        Matching, State Machine Safety and Leader Completeness O(1) comparisons per change.
        """
        ch = ev["changes"]
        splice = ev["splice"].get("log") if "splice" in ev else None
        if splice is not None or "log" in ch:
            nid = node.id
            start = splice[0] if splice is not None else 0
            if start < self.log_len[nid] and node.role == LEADER and "role" not in ch:
                self.report_violation("leader_append_only",
                              f"leader {nid} (term {node.term}) removed or overwrote entries from index {start + 1}",
                              nid, key=("laa", nid, node.term))
            self._log_matching(node, start)
            self.log_len[nid] = len(node.log)
        if "commit" in ch:
            self._commits(node)
        if "role" in ch or "status" in ch or "term" in ch:
            self._leadership(node)

    def _commits(self, node):
        """State Machine Safety: a node's log up to its commit index is the committed log."""
        nid = node.id
        commit_seen = self.commit_seen
        new = node.commit
        if new <= commit_seen[nid]:
            commit_seen[nid] = new
            return  # a crash resets commit to 0 (volatile): entries are re-checked as it climbs again
        commit_seen[nid] = new
        ids = self.prefix_ids[nid]
        if new > len(ids):
            new = len(ids)
        committed = self.committed_pids
        n_committed = len(committed)
        known = new if new < n_committed else n_committed
        if known and ids[known - 1] != committed[known - 1]:
            i = next(i for i in range(1, known + 1) if ids[i - 1] != committed[i - 1])
            self.report_violation("state_machine_safety",
                          f"{nid} committed {node.log[i - 1]} at index {i}, but {self.committed_log[i - 1]} was "
                          "committed there before", nid, key=("sms", nid, node.term))
            return
        if new <= n_committed:
            return
        # The first commit of indices len(committed)+1..new, in this node's term.
        now = self.sim.env._now
        for i in range(n_committed + 1, new + 1):
            entry = node.log[i - 1]
            self.committed_log.append(entry)
            committed.append(ids[i - 1])
            self.commit_terms.append(node.term)
            t0 = self.append_time.pop(i << 32 | entry[0], None)
            if t0 is not None:
                self.latencies.append(now - t0)
        for lid, term in self.leaders.items():  # leaders of later terms must hold them already
            if term > node.term:
                self._completeness(self.sim.nodes[lid], new, "is leader of term")

    def _completeness(self, leader, upto, how):
        """Leader Completeness: `leader` holds the committed log up to index `upto`."""
        ids = self.prefix_ids[leader.id]
        if upto and (len(ids) < upto or ids[upto - 1] != self.committed_pids[upto - 1]):
            i = next(i for i in range(1, upto + 1) if i > len(ids) or ids[i - 1] != self.committed_pids[i - 1])
            self.report_violation("leader_completeness",
                          f"{leader.id} {how} {leader.term} without entry {i} {self.committed_log[i - 1]}, "
                          f"committed in term {self.commit_terms[i - 1]}", leader.id, key=("lc", leader.term))

    def _leadership(self, node):
        nid = node.id
        is_leader = node.status == "up" and node.role == LEADER
        if is_leader and self.leaders.get(nid) != node.term:
            self.leaders[nid] = node.term
            other = self.leaders_by_term.setdefault(node.term, nid)
            if other != nid:
                self.report_violation("election_safety", f"{nid} and {other} are both leaders of term {node.term}",
                              nid, key=("es", node.term))
            # It must hold every entry committed in an earlier term (a stale leader of an old term
            # need not hold what a later term committed, so count only those).
            upto = len(self.commit_terms)
            while upto and self.commit_terms[upto - 1] >= node.term:
                upto -= 1
            self._completeness(node, upto, "became leader of term")
        elif not is_leader and nid in self.leaders:
            del self.leaders[nid]
        now = self.sim.now
        if self.leaders and self.leaderless_since is not None:
            self.leaderless_ms += now - self.leaderless_since
            self.leaderless_since = None
        elif not self.leaders and self.leaderless_since is None:
            self.leaderless_since = now

    def _log_matching(self, node, start):
        ids = self.prefix_ids[node.id]
        if start < len(ids):
            del ids[start:]
        log = node.log
        end = len(log)
        if start >= end:
            return
        chain = self.prefix_chain
        parent = ids[-1] if ids else 0
        for i in range(start, end):
            term, value = log[i]
            # = _chain_key(parent, term, value), inlined (once per entry of every log)
            key = f"{parent} {term} '{value}" if value.__class__ is str else f"{parent} {term} !{value!r}"
            pid = chain.get(key)
            if pid is None:
                # A history no server had before. Log Matching is broken iff two different histories end
                # with an entry of the same index and term, so only a new one can break it (a follower
                # copying its leader's entries reuses the leader's ids and skips this).
                pid = chain[key] = len(chain) + 1
                if self.first_prefix.setdefault((i + 1) << 32 | term, pid) != pid:
                    self.report_violation("log_matching",
                                  f"{node.id}'s entry {i + 1} (term {term}) has a different log before it than "
                                  "another server's entry with the same index and term", node.id,
                                  key=("lm", node.id, term))
            ids.append(pid)
            parent = pid

    def metrics(self):
        leaderless = self.leaderless_ms
        if self.leaderless_since is not None:
            leaderless += self.sim.now - self.leaderless_since
        lat = sorted(self.latencies)
        return {
            "elections": self.elections,
            "leaderless_ms": leaderless,
            "entries_committed": len(self.committed_log),
            "commit_latency_ms": {
                "count": len(lat),
                "mean": round(sum(lat) / len(lat), 3) if lat else None,
                "p50": lat[len(lat) // 2] if lat else None,
                "max": lat[-1] if lat else None,
            },
            "leader_step_downs": self.stepped_down,
        }

    @classmethod
    def presets(cls):
        return [
            {"slug": "raft-basic", "title": "A leader emerges",
             "narrative": "Five servers start as followers. The first whose randomised timer fires becomes candidate "
                          "and wins the vote; then a client writes a few entries.",
             "scenario": {"protocol": "raft", "seed": 7, "duration": 5000,
                          "interventions": [{"at": 1500, "action": "client_request", "node": "leader", "value": "a"},
                                            {"at": 2000, "action": "client_request", "node": "leader", "value": "b"}]}},
            {"slug": "raft-split-vote", "title": "Split vote",
             "narrative": "Four servers. n1 and n3 time out at the same moment; n2 hears n1 first and n4 hears n3 "
                          "first (their other links are slow), so the vote splits 2-2 and nobody wins term 1. "
                          "Randomised timeouts break the tie in a later term.",
             "scenario": {"protocol": "raft", "seed": 3, "duration": 4000, "nodes": 4,
                          "network": {"latency": [10, 10],
                                      "links": [{"a": "n1", "b": "n4", "latency": 60, "oneway": True},
                                                {"a": "n3", "b": "n2", "latency": 60, "oneway": True}]},
                          "interventions": [{"at": 20, "action": "timeout", "node": "n1"},
                                            {"at": 20, "action": "timeout", "node": "n3"}]}},
            {"slug": "raft-minority-leader", "title": "Leader isolated in a minority",
             "narrative": "The leader ends up on the small side of a partition. It keeps its title but cannot "
                          "commit; the majority elects a new leader. When the partition heals, the old leader "
                          "steps down and its uncommitted entries are replaced.",
             "scenario": {"protocol": "raft", "seed": 11, "duration": 8000, "params": {"client_interval": 400},
                          "interventions": [{"at": 2000, "action": "partition", "groups": [["leader"]]},
                                            {"at": 5000, "action": "heal_all"}]}},
        ]


def _chain_key(parent, term, value):
    """The key of a prefix in Raft.prefix_chain: one string (copied as a whole) rather than a (parent, term,
    value) tuple (a container deepcopy walks). repr keeps values of different types apart ('1' vs 1)."""
    if value.__class__ is str:
        return f"{parent} {term} '{value}"  # str values: the common case, cheaper than repr
    return f"{parent} {term} !{value!r}"


PROTOCOL = Raft
