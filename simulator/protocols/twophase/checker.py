"""Two-phase commit's invariant checker and figures (a part of the TwoPhase object: spec.TwoPhase inherits it)."""

from ..base import Checker, invariant
from .nodes import ABORTED, COMMITTED, COORD, PRECOMMITTED, PREPARED


class TwoPhaseChecker(Checker):
    def setup_checker(self):
        self.votes = {}  # tx -> {participant: "yes"/"no"}, as first seen
        self.outcome = {}  # tx -> {"committed": [ids], "aborted": [ids]}
        self.blocked_open = {}  # (participant, tx) -> blocked since
        self.blocked_ms = 0
        self.max_blocked_ms = 0

    def voted(self, nid, tx, vote):
        """A participant sent its vote (the first one counts; it never changes it)."""
        self.votes.setdefault(tx, {}).setdefault(nid, vote)


    @invariant("atomicity", "no transaction is committed at one participant and aborted at another")
    @invariant("commit_needs_all_yes", "a transaction commits only if every participant voted YES")
    def on_state(self, node, ev):
        touched = node.touched
        if not touched and "status" not in ev["changes"]:
            return
        node.touched = {}
        if node.id == COORD:
            return
        nid = node.id
        now = self.sim.now
        crashed = node.status == "crashed"
        for tx in touched:
            e = node.tx.get(tx)
            if e is None:
                continue
            if e["state"] in (COMMITTED, ABORTED):
                out = self.outcome.setdefault(tx, {COMMITTED: [], ABORTED: []})
                if nid not in out[e["state"]]:
                    out[e["state"]].append(nid)
                    if e["state"] == COMMITTED:
                        votes = self.votes.get(tx, {})
                        bad = [p for p in self.sim.node_ids[1:] if votes.get(p) != "yes"]
                        if bad:
                            what = ", ".join(f"{p} {'voted NO' if votes.get(p) == 'no' else 'never voted'}"
                                             for p in bad)
                            self.report_violation("commit_needs_all_yes", f"{nid} committed {tx} but {what}", nid,
                                          ("yes", tx))
                    if out[COMMITTED] and out[ABORTED]:
                        self.report_violation("atomicity", f"{tx} is committed at {', '.join(out[COMMITTED])} but aborted "
                                      f"at {', '.join(out[ABORTED])}", nid, ("atomicity", tx))
        # blocked time: from the first unanswered decision timeout to the outcome (or a crash)
        for tx in list(touched) + [t for (p, t) in self.blocked_open if p == nid and t not in touched]:
            e = node.tx.get(tx)
            since = None if crashed or e is None else e["blocked_since"]
            key = (nid, tx)
            open_since = self.blocked_open.get(key)
            if open_since is not None and since != open_since:
                del self.blocked_open[key]
                self._add_blocked(now - open_since)
            if since is not None and key not in self.blocked_open:
                self.blocked_open[key] = since

    def _add_blocked(self, ms):
        self.blocked_ms += ms
        self.max_blocked_ms = max(self.max_blocked_ms, ms)

    def metrics(self):
        now = self.sim.now
        open_ms = [now - s for s in self.blocked_open.values()]
        committed = sum(1 for o in self.outcome.values() if o[COMMITTED] and not o[ABORTED])
        aborted = sum(1 for o in self.outcome.values() if o[ABORTED] and not o[COMMITTED])
        split = sum(1 for o in self.outcome.values() if o[COMMITTED] and o[ABORTED])
        in_doubt = sum(1 for nid in self.sim.node_ids[1:] for e in self.sim.nodes[nid].tx.values()
                       if e["state"] in (PREPARED, PRECOMMITTED))
        return {
            "transactions": self.tx_seq,
            "commits": committed,
            "aborts": aborted,
            "split": split,
            "in_doubt": in_doubt,
            "blocked_ms": self.blocked_ms + sum(open_ms),
            "max_blocked_ms": max([self.max_blocked_ms] + open_ms),
            "blocked_now": len(open_ms),
        }
