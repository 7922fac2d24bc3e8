"""Raft's invariant checker and figures (a part of the Raft object: spec.Raft inherits it).

Incremental: each log is tracked as a chain of prefix ids, so every check costs O(changed entries), not
O(log). Its state is kept compact (ints in arrays, int or string keys, no per-entry tuples or lists) because
time travel deep-copies it with every checkpoint.
"""

from array import array

from ..base import Checker, invariant
from .nodes import LEADER


class RaftChecker(Checker):
    def setup_checker(self):
        self.leaders_by_term = {}  # term -> node id (election safety)
        self.leaders = {}  # node id -> term, for up leaders now
        self.leaderless_since = 0
        self.leaderless_ms = 0
        self.log_len = {nid: 0 for nid in self.sim.node_ids}
        # per entry: id of the prefix up to it (array('q'): one buffer to copy, not a list of ints)
        self.prefix_ids = {nid: array("q") for nid in self.sim.node_ids}
        # (parent prefix id, term, value) -> prefix id, keyed by one string (copied whole by a checkpoint's deepcopy,
        # unlike a tuple): "parent term 'value" for str values, "parent term !repr(value)" otherwise ('1' vs 1)
        self.prefix_chain = {}
        self.first_prefix = {}  # index << 32 | term -> prefix id first seen (log matching)
        # The last prefix id computed at each index (0-based), with its entry (the very object) and parent: a
        # follower copying its leader's entry (shared, never changed in place) on the same prefix reuses it
        # without building the key (most entries: the leader computes once, each follower finds it here)
        self.last_entry = []
        self.last_parent = array("q")
        self.last_pid = array("q")
        # The committed log, as first committed anywhere (state machine safety, leader completeness):
        self.committed_log = []  # entry i is committed_log[i - 1] ([term, value], shared with the node's log)
        self.committed_pids = array("q")  # prefix id of the committed log up to each index
        self.commit_terms = array("q")  # the term in which each index was first committed
        self.commit_seen = {nid: 0 for nid in self.sim.node_ids}  # commit index each node was checked up to
        self.append_time = {}  # index << 32 | term -> when the leader appended it (dropped once committed)
        self.latencies = array("q")  # commit latencies (ms), in order

    def appended(self, node, index):
        if index > len(self.committed_pids):  # (a later append at a committed index is never measured)
            self.append_time.setdefault(index << 32 | node.term, self.ctx.now)

    @invariant("election_safety", "at most one leader per term")
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
        now = self.ctx.now
        if self.leaders and self.leaderless_since is not None:
            self.leaderless_ms += now - self.leaderless_since
            self.leaderless_since = None
        elif not self.leaders and self.leaderless_since is None:
            self.leaderless_since = now

    @invariant("leader_append_only", "a leader never overwrites or deletes entries in its log")
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
                                      f"leader {nid} (term {node.term}) removed or overwrote entries from index "
                                      f"{start + 1}", nid, key=("laa", nid, node.term))
            self._log_matching(node, start)
            self.log_len[nid] = len(node.log)
        if "commit" in ch:
            self._commits(node)
        if "role" in ch or "status" in ch or "term" in ch:
            self._leadership(node)

    @invariant("log_matching", "two logs with an entry of the same index and term are identical up to it")
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
        last_entry, last_parent, last_pid = self.last_entry, self.last_parent, self.last_pid
        for i in range(start, end):
            entry = log[i]
            if i < len(last_entry) and last_entry[i] is entry and last_parent[i] == parent:
                pid = last_pid[i]  # the same (parent, term, value) as last time at this index: the same id
                ids.append(pid)
                parent = pid
                continue
            term, value = entry
            # the prefix_chain key (see setup_checker)
            key = f"{parent} {term} '{value}" if value.__class__ is str else f"{parent} {term} !{value!r}"
            pid = chain.get(key)
            if pid is None:
                # A history no server had before. Log Matching is broken iff two different histories end
                # with an entry of the same index and term, so only a new one can break it (a follower
                # copying its leader's entries reuses the leader's ids and skips this).
                pid = chain[key] = len(chain) + 1
                if self.first_prefix.setdefault((i + 1) << 32 | term, pid) != pid:
                    self.report_violation("log_matching",
                                          f"{node.id}'s entry {i + 1} (term {term}) has a different log before it "
                                          "than another server's entry with the same index and term", node.id,
                                          key=("lm", node.id, term))
            if i < len(last_entry):
                last_entry[i], last_parent[i], last_pid[i] = entry, parent, pid
            else:  # (i == len: indices are computed in order from 0)
                last_entry.append(entry)
                last_parent.append(parent)
                last_pid.append(pid)
            ids.append(pid)
            parent = pid

    @invariant("leader_completeness", "a leader's log holds every entry committed before its term")
    def _completeness(self, leader, upto, how):
        """Leader Completeness: `leader` holds the committed log up to index `upto`."""
        ids = self.prefix_ids[leader.id]
        if upto and (len(ids) < upto or ids[upto - 1] != self.committed_pids[upto - 1]):
            i = next(i for i in range(1, upto + 1) if i > len(ids) or ids[i - 1] != self.committed_pids[i - 1])
            self.report_violation("leader_completeness",
                                  f"{leader.id} {how} {leader.term} without entry {i} {self.committed_log[i - 1]}, "
                                  f"committed in term {self.commit_terms[i - 1]}", leader.id, key=("lc", leader.term))

    @invariant("state_machine_safety", "no two servers commit different entries at the same index")
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
                                  f"{nid} committed {node.log[i - 1]} at index {i}, but {self.committed_log[i - 1]} "
                                  "was committed there before", nid, key=("sms", nid, node.term))
            return
        if new <= n_committed:
            return
        # The first commit of indices len(committed)+1..new, in this node's term.
        now = self.ctx.now
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

    def metrics(self):
        leaderless = self.leaderless_ms
        if self.leaderless_since is not None:
            leaderless += self.sim.now - self.leaderless_since
        lat = sorted(self.latencies)
        return {
            "elections": self.ctx.metrics.elections,
            "leaderless_ms": leaderless,
            "entries_committed": len(self.committed_log),
            "commit_latency_ms": {
                "count": len(lat),
                "mean": round(sum(lat) / len(lat), 3) if lat else None,
                "p50": lat[len(lat) // 2] if lat else None,
                "max": lat[-1] if lat else None,
            },
            "leader_step_downs": self.ctx.metrics.leader_step_downs,
        }
