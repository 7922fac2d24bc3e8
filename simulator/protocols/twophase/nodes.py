"""Two-phase commit's nodes: presumed abort (Gray 1978; Bernstein, Hadzilacos & Goodman 1987, ch. 7), cooperative
termination, and three-phase commit (Skeen 1981) as a mode.

One coordinator (`coord`) and N participants (`p1`..`pN`). Every transaction involves every participant and,
to make locks visible, updates the same row at each of them: a participant holds that row's lock from the
moment it starts the work until it learns the outcome.

2PC. `begin` sends the work; `work_ms` later the coordinator sends PREPARE. A participant that votes YES first
force-writes a `prepared` record (the lock stays held) and is then *uncertain*: it may neither commit nor abort
on its own. A NO vote aborts at once. The coordinator force-writes COMMIT (all YES) before sending it, or writes
ABORT lazily (presumed abort: no record means abort); participants force-write COMMIT, release the lock and
acknowledge; after every acknowledgement the coordinator writes END. A participant that has not voted may abort
on a timeout; one that voted YES and hears nothing asks the coordinator again every `decision_timeout` and is
*blocked*, holding its lock, until someone who knows answers. With `cooperative` on it also asks its peers,
which helps only if one of them knows the outcome or has not voted yet (it then aborts and says so).

Recovery is from the write-ahead log (`log`, persistent; `buffer` holds records written but not yet on disk and
is lost in a crash): a coordinator re-sends a logged decision without END; with no decision logged it answers
"abort" (presumed abort). A participant with a `prepared` record but no outcome is uncertain again and asks.

3PC (`mode: "3pc"`). After all YES votes the coordinator force-writes PRECOMMIT and sends PRE-COMMIT;
participants force-write it and acknowledge; then COMMIT as in 2PC (the coordinator commits after
`vote_timeout` even without every acknowledgement: a silent participant is presumed crashed). A participant
that times out runs the termination protocol as a backup coordinator: it collects the states of the peers it
can reach; anyone committed -> commit; anyone aborted or not yet voted -> abort; anyone pre-committed -> bring
the uncertain ones to pre-committed, then commit; all uncertain -> abort. With crash failures and bounded
delays that never blocks the participants that stayed up (a participant that crashed and recovered must ask and
may wait). Under a partition each side terminates on its own, and they can decide differently: that atomicity
violation is the lesson, and the checker reports it.

Teaching mutations each remove one rule, so the checker can show why it exists.
"""

from bisect import insort

from ...node import Node, receives

COORD = "coord"

# participant states of one transaction
WORKING, PREPARED, PRECOMMITTED, COMMITTED, ABORTED = "working", "prepared", "precommitted", "committed", "aborted"
UNDECIDED = (WORKING, PREPARED, PRECOMMITTED)
LOCKING = UNDECIDED  # states in which the participant holds the transaction's lock
STATUS_OF = {PREPARED: "uncertain", PRECOMMITTED: "precommitted", COMMITTED: "committed", ABORTED: "aborted"}

# coordinator states of one transaction
C_WORKING, C_PREPARING, C_PRECOMMITTING = "working", "preparing", "precommitting"
C_COMMITTING, C_COMMITTED, C_ABORTED, C_RECOVERING = "committing", "committed", "aborted", "recovering"

RECOVERED_WHY = {
    C_COMMITTING: "its log says COMMIT, no END: re-sends COMMIT",
    C_COMMITTED: "its log says COMMIT and END",
    C_ABORTED: "its log says ABORT",
    C_RECOVERING: "its log says PRECOMMIT, no outcome: asks the participants",
}

VIEW_TXS = 8
FIRST_AUTO_BEGIN_MS = 500  # the view lists the last VIEW_TXS transactions plus every undecided one

COORD_POINTS = ("after_votes", "after_decision_logged", "after_first_decision_sent")
PARTICIPANT_POINTS = ("after_vote",)
CRASH_POINTS = ("off",) + COORD_POINTS + PARTICIPANT_POINTS

def tx_number(tx):
    return int(tx[2:])


class _TimerKinds(tuple):
    """VISIBLE_TIMERS by kind: timer `decide:tx1` is visible if `decide` is listed."""

    def __contains__(self, name):
        return tuple.__contains__(self, name.split(":", 1)[0])


# --- nodes --------------------------------------------------------------------------------------------
class TxNode(Node):
    """What coordinator and participants share: the write-ahead log and the crash points."""

    VISIBLE_TIMERS = _TimerKinds(("work", "votes", "prepare", "decide", "term"))
    TIMER_HANDLERS = {}  # timer kind (`votes` of `votes:tx3`) -> the method timer_<kind>(self, tx), per class

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.TIMER_HANDLERS = {name[6:]: fn for klass in reversed(cls.__mro__) if issubclass(klass, TxNode)
                              for name, fn in vars(klass).items() if name.startswith("timer_")}

    def init_persistent(self):
        self.log = []  # on disk: [tx, record, t]
        self.armed = "off"  # fault injection (the `arm_crash` action), not protocol state: survives a crash
        self.touched = {}  # tx ids changed since the checker last looked (checker bookkeeping, kept on a crash)

    def init_volatile(self):
        self.buffer = []  # written, not yet on disk: lost in a crash
        self.after_flush = []  # (method name, *args) to run once the buffer is on disk
        self.disk_busy = False
        self.lazy_armed = False
        self.tx = {}  # tx -> dict (internal); the view shows a digest
        self.numbers = []  # tx numbers, sorted
        self.open = {}  # tx -> True while undecided (participants: while it holds the lock)
        self.recover()

    @property
    def participants(self):
        return self.ctx.node_ids[1:]

    def recover(self):
        """Rebuild the volatile state from the log (at creation and after a crash)."""

    def add_tx(self, tx, e):
        if tx not in self.tx:
            insort(self.numbers, tx_number(tx))
        self.tx[tx] = e
        self.track(tx)

    def track(self, tx):
        if self.tx[tx]["state"] in self.FINAL:
            self.open.pop(tx, None)
        else:
            self.open[tx] = True

    def changed(self, tx):
        self.touched[tx] = True
        self.mark("txs")

    # --- the write-ahead log --------------------------------------------------------------------
    def write(self, tx, record, force, then=None):
        """Append a log record. Forced: on disk after `disk_ms` (then run `then`); lazy: with the next forced
        write or after `lazy_flush_ms`, whichever comes first."""
        self.buffer.append([tx, record, self.now])
        self.mark("buffer")
        if then is not None:
            self.after_flush.append(then)
        if force:
            if self.params.disk_ms == 0:
                self.flush_log()
            elif not self.disk_busy:
                self.disk_busy = True
                self.set_timer("disk", self.params.disk_ms)
        elif not self.lazy_armed and not self.disk_busy:
            self.lazy_armed = True
            self.set_timer("lazy", self.params.lazy_flush_ms)

    def flush_log(self):
        self.disk_busy = False
        if self.lazy_armed:
            self.lazy_armed = False
            self.cancel_timer("lazy")
        if self.buffer:
            start = len(self.log)
            self.log.extend(self.buffer)
            self.mark_splice("log", start)
            self.buffer = []
            self.mark("buffer")
        todo, self.after_flush = self.after_flush, []
        for name, *args in todo:
            if self.status != "up":
                return  # a crash point fired in an earlier continuation
            getattr(self, name)(*args)

    def log_records(self):
        """tx -> list of record kinds, in log order."""
        out = {}
        for tx, record, t in self.log:
            out.setdefault(tx, []).append((record, t))
        return out

    # --- faults ---------------------------------------------------------------------------------
    def crash_point(self, point):
        """If `arm_crash` armed this point, crash right here (messages already sent stay in flight)."""
        if self.armed != point:
            return False
        self.armed = "off"
        self.ctx.crash_at(self, point)
        return True

    def on_timer(self, name):
        kind, _, tx = name.partition(":")
        if kind in ("disk", "lazy"):
            if kind == "lazy":
                self.lazy_armed = False
            self.flush_log()
        else:
            self.TIMER_HANDLERS[kind](self, tx)

    def on_message(self, src, m):
        """Every message is about one transaction: its handler gets (src, tx, msg)."""
        self.HANDLERS[m["kind"]](self, src, m["tx"], m)

    # --- view -----------------------------------------------------------------------------------
    def sorted_open(self):
        return sorted(self.open, key=tx_number)

    def visible_txs(self):
        keep = {n: True for n in self.numbers[-VIEW_TXS:]}
        for tx in self.open:
            keep[tx_number(tx)] = True
        return [f"tx{n}" for n in sorted(keep)]

    def view_value(self, f):
        if f == "txs":
            return [self.tx_view(tx) for tx in self.visible_txs()]
        if f in ("log", "buffer"):
            return [list(r) for r in getattr(self, f)]
        return super().view_value(f)


class CoordinatorNode(TxNode):
    VIEW = ("role", "txs", "log", "buffer", "armed")
    FINAL = (C_COMMITTED, C_ABORTED)
    role = "coordinator"

    def recover(self):
        for tx, records in self.log_records().items():
            kinds = [r for r, _ in records]
            t = records[-1][1]
            e = self.new_tx(tx, C_WORKING, t)
            if "commit" in kinds:
                e["state"] = C_COMMITTED if "end" in kinds else C_COMMITTING
            elif "abort" in kinds:
                e["state"] = C_ABORTED
            elif "precommit" in kinds:
                e["state"] = C_RECOVERING
            e["votes"] = {p: "yes" for p in self.participants} if kinds and kinds[0] in ("commit", "precommit") \
                else {}
            e["why"] = RECOVERED_WHY[e["state"]]
            self.track(tx)
            self.touched[tx] = True

    def new_tx(self, tx, state, since=None):
        e = {"state": state, "votes": {}, "acks": [], "since": self.now if since is None else since,
             "why": "", "presumed": False}
        self.add_tx(tx, e)
        return e

    def tx_view(self, tx):
        e = self.tx[tx]
        return {"tx": tx, "state": e["state"], "votes": dict(e["votes"]), "acks": list(e["acks"]),
                "since": e["since"], "why": e["why"], "presumed": e["presumed"]}

    def set_state(self, tx, state, why=None):
        e = self.tx[tx]
        e["state"] = state
        e["since"] = self.now
        if why is not None:
            e["why"] = why
        self.track(tx)
        self.changed(tx)

    def on_start(self):
        for tx in self.sorted_open():
            e = self.tx[tx]
            if e["state"] == C_COMMITTING:  # logged COMMIT, no END: re-send it
                self.broadcast({"kind": "Decision", "tx": tx, "decision": "commit"}, self.participants)
                self.set_timer(f"resend:{tx}", self.params.decision_timeout)
            elif e["state"] == C_RECOVERING:  # 3PC: PRECOMMIT logged, outcome unknown: ask the participants
                self.ask_participants(tx)

    def ask_participants(self, tx):
        self.tx[tx]["replies"] = {}
        self.broadcast({"kind": "Inquire", "tx": tx}, self.participants)
        self.set_timer(f"resend:{tx}", self.params.decision_timeout)

    # --- the transaction, step by step ----------------------------------------------------------
    def begin(self, tx, votes):
        self.new_tx(tx, C_WORKING)
        self.changed(tx)
        for p in self.participants:
            self.send(p, {"kind": "Work", "tx": tx, "vote": votes[p]})
        self.set_timer(f"work:{tx}", self.params.work_ms)

    def timer_work(self, tx):
        if self.tx[tx]["state"] != C_WORKING:
            return
        self.set_state(tx, C_PREPARING)
        self.broadcast({"kind": "Prepare", "tx": tx}, self.participants)
        self.set_timer(f"votes:{tx}", self.params.vote_timeout)

    @receives("Vote")
    def on_Vote(self, src, tx, m):
        e = self.tx.get(tx)
        if e is None or e["state"] == C_ABORTED:
            if m["vote"] == "yes":  # presumed abort: no record (or an abort) means abort
                if e is None:
                    self.presume_abort(tx)
                self.send(src, {"kind": "Decision", "tx": tx, "decision": "abort"})
            return
        if e["state"] != C_PREPARING or src in e["votes"]:
            return
        e["votes"][src] = m["vote"]
        self.changed(tx)
        if m["vote"] == "no":
            self.decide(tx, "abort", f"{src} voted NO")
        elif len(e["votes"]) == len(self.participants):
            self.decide(tx, "precommit" if self.params.mode == "3pc" else "commit", "every participant voted YES")

    def timer_votes(self, tx):
        e = self.tx[tx]
        if e["state"] == C_PREPARING:
            missing = [p for p in self.participants if p not in e["votes"]]
            self.decide(tx, "abort", f"no vote from {', '.join(missing)} in time")
        elif e["state"] == C_PRECOMMITTING:  # 3PC: a participant that did not acknowledge is presumed crashed
            missing = [p for p in self.participants if p not in e["acks"]]
            self.decide(tx, "commit", f"no pre-commit acknowledgement from {', '.join(missing)}: presumed "
                        "crashed, commit anyway")

    def decide(self, tx, decision, why):
        """Log the decision (COMMIT and PRECOMMIT forced, ABORT lazily), then send it."""
        first_round = decision != "commit" or self.params.mode == "2pc"
        if first_round and self.crash_point("after_votes"):
            return
        e = self.tx[tx]
        e["why"] = why
        self.changed(tx)
        self.cancel_timer(f"votes:{tx}")
        if decision == "abort":
            self.set_state(tx, C_ABORTED)
            self.write(tx, "abort", force=False)
            self.send_decision(tx, decision, first_round)
        elif self.mutations.no_force_write:
            self.write(tx, decision, force=False)  # mutation: send before the decision is on disk
            self.send_decision(tx, decision, first_round)
        else:
            self.write(tx, decision, force=True, then=("send_decision", tx, decision, first_round))

    def send_decision(self, tx, decision, first_round):
        if first_round and self.crash_point("after_decision_logged"):
            return
        e = self.tx[tx]
        if decision == "abort":
            msg = {"kind": "Decision", "tx": tx, "decision": "abort"}
        elif decision == "precommit":
            self.set_state(tx, C_PRECOMMITTING)
            e["acks"] = []
            msg = {"kind": "PreCommit", "tx": tx}
        else:
            self.set_state(tx, C_COMMITTING)
            e["acks"] = []
            msg = {"kind": "Decision", "tx": tx, "decision": "commit"}
        for i, p in enumerate(self.participants):
            self.send(p, msg)
            if i == 0 and first_round and self.crash_point("after_first_decision_sent"):
                return
        if decision == "precommit":
            self.set_timer(f"votes:{tx}", self.params.vote_timeout)
        elif decision == "commit":
            self.set_timer(f"resend:{tx}", self.params.decision_timeout)

    @receives("PreAck")
    def on_PreAck(self, src, tx, m):
        e = self.tx.get(tx)
        if e is None or e["state"] != C_PRECOMMITTING or src in e["acks"]:
            return
        e["acks"].append(src)
        self.changed(tx)
        if len(e["acks"]) == len(self.participants):
            self.decide(tx, "commit", "every participant pre-committed")

    @receives("Ack")
    def on_Ack(self, src, tx, m):
        e = self.tx.get(tx)
        if e is None or e["state"] != C_COMMITTING or src in e["acks"]:
            return
        e["acks"].append(src)
        self.changed(tx)
        if len(e["acks"]) == len(self.participants):
            self.cancel_timer(f"resend:{tx}")
            self.write(tx, "end", force=False)
            self.set_state(tx, C_COMMITTED)

    def timer_resend(self, tx):
        e = self.tx[tx]
        if e["state"] == C_COMMITTING:
            for p in self.participants:
                if p not in e["acks"]:
                    self.send(p, {"kind": "Decision", "tx": tx, "decision": "commit"})
            self.set_timer(f"resend:{tx}", self.params.decision_timeout)
        elif e["state"] == C_RECOVERING:
            self.ask_participants(tx)

    def presume_abort(self, tx):
        e = self.new_tx(tx, C_ABORTED)
        e["presumed"] = True
        e["why"] = "no decision in its log: presumed abort"
        self.changed(tx)

    @receives("Inquire")
    def on_Inquire(self, src, tx, m):
        e = self.tx.get(tx)
        if e is None:
            self.presume_abort(tx)
            e = self.tx[tx]
        if e["state"] in (C_COMMITTING, C_COMMITTED):
            self.send(src, {"kind": "Decision", "tx": tx, "decision": "commit"})
        elif e["state"] == C_ABORTED:
            self.send(src, {"kind": "Decision", "tx": tx, "decision": "abort"})
        # undecided: no answer yet; the participant asks again

    @receives("Status")
    def on_Status(self, src, tx, m):
        """3PC recovery: a participant tells a recovering coordinator what it knows. If every participant
        answers and every one of them crashed and recovered since voting (none can be terminating on its own),
        nobody can decide but the coordinator, so it does, by the termination rule."""
        e = self.tx.get(tx)
        if e is None or e["state"] != C_RECOVERING:
            return
        if m["state"] in ("committed", "aborted"):
            self.cancel_timer(f"resend:{tx}")
            self.decide(tx, "commit" if m["state"] == "committed" else "abort",
                        f"learned from {src} that the participants {m['state']}")
            return
        replies = e.setdefault("replies", {})
        replies[src] = (m["state"], m.get("recovered", False))
        if len(replies) == len(self.participants) and all(r for _, r in replies.values()):
            self.cancel_timer(f"resend:{tx}")
            if any(s == "precommitted" for s, _ in replies.values()):
                self.decide(tx, "commit", "every participant recovered uncertain, one pre-committed: commit")
            else:
                self.decide(tx, "abort", "every participant recovered uncertain, none pre-committed: abort")

    def undecided(self):
        """The transactions the client may still abort. A decision being written to the log (in the buffer, not
        yet on disk) is already made: aborting then would send ABORT and, once the write ends, COMMIT too."""
        deciding = {tx for tx, record, _ in self.buffer if record in ("commit", "precommit", "abort")}
        return [tx for tx in self.sorted_open()
                if self.tx[tx]["state"] in (C_WORKING, C_PREPARING) and tx not in deciding]

    def client_abort(self, out):
        """The `abort` action on the coordinator: abort every undecided transaction (listed into `out`)."""
        for tx in self.undecided():
            if self.status != "up":
                break
            out.append(tx)
            self.cancel_timer(f"work:{tx}")
            self.decide(tx, "abort", "the client aborted it")


class ParticipantNode(TxNode):
    VIEW = ("role", "txs", "locks", "log", "buffer", "armed")
    FINAL = (COMMITTED, ABORTED)
    role = "participant"

    def recover(self):
        for tx, records in self.log_records().items():
            e = self.new_tx(tx, WORKING)
            for record, t in records:
                if record == "prepared":
                    e.update(state=PREPARED, vote="yes", since=t)
                elif record == "precommit":
                    e.update(state=PRECOMMITTED, since=t)
                elif record in ("commit", "abort"):
                    e.update(state=COMMITTED if record == "commit" else ABORTED, since=t)
            if e["state"] in (PREPARED, PRECOMMITTED):
                e["recovered"] = True  # 3PC: a recovered site must ask, never terminate on its own
                e["why"] = "recovered from its log: still uncertain"
            self.track(tx)
            self.touched[tx] = True

    def new_tx(self, tx, state, planned="yes"):
        e = {"state": state, "vote": None, "planned": planned, "since": self.now, "blocked_since": None,
             "why": "", "writing": False, "recovered": False, "term": None}
        self.add_tx(tx, e)
        return e

    def tx_view(self, tx):
        e = self.tx[tx]
        return {"tx": tx, "state": e["state"], "vote": e["vote"], "since": e["since"],
                "blocked_since": e["blocked_since"], "why": e["why"],
                "terminating": e["term"]["phase"] if e["term"] else None}

    def view_value(self, f):
        if f == "locks":
            return self.locks
        return super().view_value(f)

    @property
    def locks(self):
        return self.sorted_open()  # undecided = holding the row's lock

    def set_state(self, tx, state, why=None):
        e = self.tx[tx]
        was_locking = e["state"] in LOCKING
        e["state"] = state
        e["since"] = self.now
        self.track(tx)
        if state not in (PREPARED, PRECOMMITTED):
            e["blocked_since"] = None
        if why is not None:
            e["why"] = why
        self.changed(tx)
        if was_locking != (state in LOCKING):
            self.mark("locks")
        if state in self.FINAL:
            for kind in ("prepare", "decide", "term"):
                self.cancel_timer(f"{kind}:{tx}")
            e["term"] = None

    def on_start(self):
        for tx in self.sorted_open():
            if self.tx[tx]["state"] in (PREPARED, PRECOMMITTED):  # recovered uncertain: ask at once
                self.inquire(tx, everyone=self.params.cooperative or self.params.mode == "3pc")
                self.set_timer(f"decide:{tx}", self.params.decision_timeout)

    def inquire(self, tx, everyone):
        self.send(COORD, {"kind": "Inquire", "tx": tx})
        if everyone:
            self.broadcast({"kind": "Inquire", "tx": tx}, [p for p in self.participants if p != self.id])

    def abort(self, tx, why):
        """Abort (unilaterally before voting, or as told): lazy log record, lock released."""
        if tx not in self.tx:
            self.new_tx(tx, ABORTED)
        self.write(tx, "abort", force=False)
        self.set_state(tx, ABORTED, why)

    def commit(self, tx, why):
        e = self.tx[tx]
        if e["writing"] == "commit":
            return
        e["writing"] = "commit"
        e["why"] = why
        self.changed(tx)
        self.write(tx, "commit", force=True, then=("committed", tx))

    def committed(self, tx):
        e = self.tx[tx]
        e["writing"] = False
        if e["state"] not in UNDECIDED:
            return
        self.set_state(tx, COMMITTED)
        self.send(COORD, {"kind": "Ack", "tx": tx})

    # --- phase 1 ---------------------------------------------------------------------------------
    @receives("Work")
    def on_Work(self, src, tx, m):
        if tx in self.tx:
            return
        holder = self.locks[0] if self.locks and self.params.contention else None
        if holder is not None:
            self.new_tx(tx, ABORTED, planned="no")
            self.abort(tx, f"its row is locked by {holder}")
            return
        self.new_tx(tx, WORKING, planned=m["vote"])
        self.changed(tx)
        self.mark("locks")
        self.set_timer(f"prepare:{tx}", self.params.prepare_timeout)

    def abort_working(self, txs):
        """The `abort` action on a participant: abort what it has not voted on (a participant may)."""
        for tx in txs:
            self.abort(tx, "aborted before voting (a participant may)")

    def timer_prepare(self, tx):
        e = self.tx[tx]
        if e["state"] == WORKING and not e["writing"]:
            self.abort(tx, "no PREPARE in time: it has not voted, so it may abort on its own")

    def vote_no(self, tx, why):
        e = self.tx.get(tx)
        if e is None or e["state"] != ABORTED:
            self.abort(tx, why)
        e = self.tx[tx]
        e["vote"] = "no"
        self.changed(tx)
        self.protocol.voted(self.id, tx, "no")
        self.send(COORD, {"kind": "Vote", "tx": tx, "vote": "no"})

    @receives("Prepare")
    def on_Prepare(self, src, tx, m):
        e = self.tx.get(tx)
        if e is None:
            self.vote_no(tx, "PREPARE for work it has no record of (lost in a crash): votes NO")
        elif e["state"] == WORKING:
            if e["writing"]:
                return
            self.cancel_timer(f"prepare:{tx}")
            if e["planned"] == "no":
                self.vote_no(tx, "voted NO: it cannot commit its part")
            elif self.mutations.no_force_prepare:
                self.write(tx, "prepared", force=False)  # mutation: vote before the record is on disk
                self.voted_yes(tx)
            else:
                e["writing"] = "prepared"
                self.write(tx, "prepared", force=True, then=("voted_yes", tx))
        elif e["state"] in (PREPARED, PRECOMMITTED):
            self.send(COORD, {"kind": "Vote", "tx": tx, "vote": "yes"})
        elif e["state"] == ABORTED:
            if e["vote"] is None:
                e["vote"] = "no"
                self.changed(tx)
                self.protocol.voted(self.id, tx, "no")
            self.send(COORD, {"kind": "Vote", "tx": tx, "vote": "no"})

    def voted_yes(self, tx):
        e = self.tx[tx]
        if e["writing"] == "prepared":
            e["writing"] = False
        if e["state"] != WORKING:
            return  # aborted while the record was being written (a peer asked): it never votes YES
        e["vote"] = "yes"
        self.protocol.voted(self.id, tx, "yes")
        self.set_state(tx, PREPARED, "voted YES: uncertain until it hears the decision")
        self.send(COORD, {"kind": "Vote", "tx": tx, "vote": "yes"})
        self.set_timer(f"decide:{tx}", self.params.decision_timeout)
        self.crash_point("after_vote")

    # --- phase 2 (and 3PC's pre-commit) ------------------------------------------------------------
    @receives("Decision")
    def on_Decision(self, src, tx, m):
        e = self.tx.get(tx)
        frm = "the coordinator" if src == COORD else src
        if m["decision"] == "commit":
            if e is None:
                self.new_tx(tx, ABORTED)
                self.abort(tx, "told to commit, but it has no prepared record: its updates are lost")
                e = self.tx[tx]
            if e["state"] in UNDECIDED:
                self.commit(tx, f"{frm} said COMMIT")
            elif src == COORD:
                self.send(COORD, {"kind": "Ack", "tx": tx})  # a re-sent decision (or one it cannot apply)
        else:
            if e is None:
                self.new_tx(tx, ABORTED)
                self.abort(tx, f"{frm} said ABORT")
            elif e["state"] in UNDECIDED and e["writing"] != "commit":
                self.abort(tx, f"{frm} said ABORT")

    @receives("PreCommit")
    def on_PreCommit(self, src, tx, m):
        e = self.tx.get(tx)
        if e is None:
            self.send(src, {"kind": "Status", "tx": tx, "state": "aborted"})
        elif e["state"] == PREPARED:
            if e["writing"] == "precommit":
                e.setdefault("preack_to", {})[src] = True
                return
            e["writing"] = "precommit"
            e["preack_to"] = {src: True}
            self.write(tx, "precommit", force=True, then=("precommitted", tx))
        elif e["state"] == PRECOMMITTED:
            if src != self.id:
                self.send(src, {"kind": "PreAck", "tx": tx})
        elif e["state"] in (COMMITTED, ABORTED):
            self.send(src, {"kind": "Status", "tx": tx, "state": e["state"]})

    def precommitted(self, tx):
        e = self.tx[tx]
        if e["writing"] == "precommit":
            e["writing"] = False
        if e["state"] != PREPARED:
            return
        self.set_state(tx, PRECOMMITTED, "pre-committed: everyone voted YES")
        for dst in e.pop("preack_to", {}):
            if dst != self.id:
                self.send(dst, {"kind": "PreAck", "tx": tx})
        if not e["term"]:
            self.set_timer(f"decide:{tx}", self.params.decision_timeout)
        self.after_precommit_ack(tx)

    # --- waiting for the decision ----------------------------------------------------------------
    def timer_decide(self, tx):
        e = self.tx[tx]
        if e["state"] not in (PREPARED, PRECOMMITTED) or e["writing"] == "commit":
            return
        if self.mutations.commit_on_timeout:
            self.commit(tx, "mutation: decided COMMIT by itself after the timeout")
            return
        if self.params.mode == "3pc" and not e["recovered"]:
            self.start_termination(tx)
            return
        if e["blocked_since"] is None:
            e["blocked_since"] = self.now
            e["why"] = "blocked: voted YES, cannot decide alone, holds its lock"
            self.changed(tx)
        self.inquire(tx, everyone=self.params.cooperative or self.params.mode == "3pc")
        self.set_timer(f"decide:{tx}", self.params.decision_timeout)

    @receives("Inquire")
    def on_Inquire(self, src, tx, m):
        """A peer (cooperative termination, 3PC termination) or a recovering coordinator asks what we know."""
        e = self.tx.get(tx)
        if e is None or e["state"] == WORKING:
            self.abort(tx, f"{src} asked before it voted: it aborts on its own and says so")
            e = self.tx[tx]
        self.send(src, {"kind": "Status", "tx": tx, "state": STATUS_OF[e["state"]], "recovered": e["recovered"]})

    @receives("Status")
    def on_Status(self, src, tx, m):
        e = self.tx.get(tx)
        if e is None:
            return
        state = m["state"]
        if e["term"] is not None:
            e["term"]["replies"][src] = state
        if e["state"] not in (PREPARED, PRECOMMITTED) or e["writing"] == "commit":
            return
        if state == "committed":
            self.commit(tx, f"learned COMMIT from {src}")
        elif state == "aborted":
            self.abort(tx, f"learned ABORT from {src}")

    # --- 3PC termination protocol: this participant acts as a backup coordinator ---------------------
    def start_termination(self, tx):
        e = self.tx[tx]
        e["term"] = {"phase": "collect", "replies": {}, "acks": {}, "targets": []}
        e["why"] = "coordinator silent: asks its peers (3PC termination)"
        self.changed(tx)
        self.broadcast({"kind": "Inquire", "tx": tx}, [p for p in self.participants if p != self.id])
        self.set_timer(f"term:{tx}", self.params.vote_timeout)

    def timer_term(self, tx):
        e = self.tx[tx]
        term = e["term"]
        if term is None or e["state"] not in (PREPARED, PRECOMMITTED) or e["writing"] == "commit":
            return
        if term["phase"] == "precommit":
            self.finish_termination(tx, "commit", "pre-committed everyone it could reach")
            return
        states = list(term["replies"].values())
        if "committed" in states:
            self.finish_termination(tx, "commit", "a peer had committed")
        elif "aborted" in states:
            self.finish_termination(tx, "abort", "a peer had aborted or not voted")
        elif "precommitted" in states or e["state"] == PRECOMMITTED:
            term["phase"] = "precommit"
            term["targets"] = [p for p, s in term["replies"].items() if s == "uncertain"]
            e["why"] = "someone pre-committed: pre-commits the others, then commits"
            self.changed(tx)
            if e["state"] == PREPARED:
                self.on_PreCommit(self.id, tx, {"kind": "PreCommit", "tx": tx})
            for p in term["targets"]:
                self.send(p, {"kind": "PreCommit", "tx": tx})
            self.set_timer(f"term:{tx}", self.params.vote_timeout)
            self.after_precommit_ack(tx)
        else:
            self.finish_termination(tx, "abort", "everyone it reached was uncertain")

    @receives("PreAck")
    def on_PreAck(self, src, tx, m):
        e = self.tx.get(tx)
        if e is None or not e["term"] or e["term"]["phase"] != "precommit":
            return
        e["term"]["acks"][src] = True
        self.after_precommit_ack(tx)

    def after_precommit_ack(self, tx):
        e = self.tx[tx]
        term = e["term"]
        if term and term["phase"] == "precommit" and e["state"] == PRECOMMITTED \
                and all(p in term["acks"] for p in term["targets"]):
            self.cancel_timer(f"term:{tx}")
            self.finish_termination(tx, "commit", "pre-committed everyone it could reach")

    def finish_termination(self, tx, decision, why):
        e = self.tx[tx]
        e["term"] = None
        peers = [p for p in self.participants if p != self.id]
        if decision == "commit":
            self.commit(tx, f"termination: {why}")
        else:
            self.abort(tx, f"termination: {why}")
        self.broadcast({"kind": "Decision", "tx": tx, "decision": decision}, peers)
