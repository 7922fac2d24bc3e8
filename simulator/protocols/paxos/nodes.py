"""Paxos' nodes (Lamport, "Paxos Made Simple", 2001): single-decree, and Multi-Paxos with a distinguished leader.

Roles are separate nodes: proposers p1.., acceptors a1.. (the scenario's `nodes`
is the number of acceptors) and learners l1... A ballot is [round, proposer
number], unique per proposer and totally ordered (lists compare like tuples).

Phase 1: prepare(b) -> an acceptor that has promised nothing higher promises b
and reports every proposal it has accepted; otherwise it answers nack with its
promise. Phase 2: with promises from a majority, the proposer sends accept(b, v)
where v is the value of the highest-ballot proposal reported, or its own value
if none was. An acceptor accepts unless it has promised a higher ballot, and
tells the proposer and every learner. A value is chosen once a majority of
acceptors have accepted the same ballot.

Acceptors keep `promised` and `accepted` across a crash (stable storage);
proposers keep the highest round they have used or seen, so no ballot is ever
reused with another value. Everything else is volatile.

Slots: single-decree Paxos decides slot 1 only. In Multi-Paxos mode a leader
runs phase 1 once for every slot from the first one it does not know to be
chosen, re-proposes what the promises report (no-ops fill the gaps), and then
runs phase 2 only, one slot per value, until a higher ballot pre-empts it.

View values are JSON-shaped lists that are replaced, never mutated in place
(events and snapshots share them).
"""

from ...node import Node, receives
from ..disk import StableStorage

NOOP = "no-op"
PROPOSER, ACCEPTOR, LEARNER = "proposer", "acceptor", "learner"
# proposer phases
IDLE, PREPARE, ACCEPT, BACKOFF, DONE = "idle", "prepare", "accept", "backoff", "done"
FOLLOWER, LEADING = "follower", "leading"

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
REPORT_MAX = 64  # catch-up: slots per answer to a learn? (a learner far behind asks again for the rest)


def gt(a, b):
    """Ballot a is higher than ballot b (None is below every ballot)."""
    return a is not None and (b is None or a > b)


def fmt_ballot(b):
    return "none" if b is None else f"{b[0]}.{b[1]}"


def set_slot(lst, slot, value):
    """Put `value` at slot (1-based) of a list, padding with None; return the first changed 0-based index
    (where the padding starts, if it grew)."""
    i = slot - 1
    first = min(i, len(lst))
    if i >= len(lst):
        lst.extend([None] * (i + 1 - len(lst)))
    lst[i] = value
    return first


def sync(shadow, lst, start):
    """Make `shadow` a copy of `lst`, which changed from index `start` on (it may have grown past it)."""
    del shadow[start:]
    shadow.extend(lst[len(shadow):])


class PaxosNode(Node):
    ROLE = ""

    def answer_learn(self, src, m, known):
        """Catch-up: answer a learner's learn? with the values this node knows are chosen from its slot on (a
        learner's `learned`, a proposer's `chosen`); say nothing if it knows none."""
        f = m["from_slot"]
        out = [[i + 1, v] for i, v in enumerate(known[f - 1:f - 1 + REPORT_MAX], f - 1) if v is not None]
        if out:
            self.tell((src,), {"kind": "learned", "learned": out})

    def tell(self, dsts, msg):
        """Send `msg` to each of `dsts` (and count it for the metrics)."""
        send = self.ctx.send
        counts = self.metrics.messages
        kind = msg["kind"]
        for dst in dsts:
            counts[kind] = counts.get(kind, 0) + 1
            send(self.id, dst, msg)


# --- acceptors ----------------------------------------------------------------------------------
class AcceptorNode(PaxosNode):
    ROLE = ACCEPTOR
    VIEW = ("role", "promised", "accepted")
    VISIBLE_TIMERS = ()

    def init_persistent(self):
        self.role = ACCEPTOR
        self.promised = None  # highest ballot promised: stable storage
        self.accepted = []  # per slot: [ballot, value] accepted there, or None: stable storage
        self.booted = False

    def on_start(self):
        if self.booted and self.mutations.forget_promise_on_restart:
            # mutation: stable storage was not stable after all
            if self.promised is not None:
                self.promised = None
                self.mark("promised")
            if self.accepted:
                self.accepted = []
                self.mark("accepted")
        self.booted = True

    def made(self):
        """(promise, accepted values) as this acceptor has made them known: what it holds (the checker's view)."""
        return self.promised, self.accepted

    @receives("prepare")
    def on_prepare(self, src, m):
        b = m["ballot"]
        if gt(b, self.promised):
            self.promised = b
            self.mark("promised")
        if b == self.promised:  # promised now, or a repeat of the prepare we promised
            frm = m["from_slot"]
            report = [[i + 1, e[0], e[1]] for i, e in enumerate(self.accepted[frm - 1:], frm - 1)
                      if e is not None]
            self.tell((src,), {"kind": "promise", "ballot": b, "accepted": report})
        else:
            self.tell((src,), {"kind": "nack", "ballot": b, "promised": self.promised, "phase": "prepare"})

    @receives("accept")
    def on_accept(self, src, m):
        b, slot, v = m["ballot"], m["slot"], m["value"]
        if gt(self.promised, b):
            self.tell((src,), {"kind": "nack", "ballot": b, "promised": self.promised, "phase": "accept",
                               "slot": slot})
            return
        if self.promised != b:
            self.promised = b  # accepting b is also a promise not to accept anything lower
            self.mark("promised")
        cur = self.accepted[slot - 1] if slot <= len(self.accepted) else None
        if cur is None or cur[0] != b or cur[1] != v:
            self.mark_splice("accepted", set_slot(self.accepted, slot, [b, v]))
        out = {"kind": "accepted", "ballot": b, "slot": slot, "value": v}
        self.tell((src,), out)
        self.tell(self.protocol.learners, out)

    @receives("learn?")
    def on_learn_query(self, src, m):
        """A learner catching up: report what this acceptor has accepted from that slot on."""
        frm = m["from_slot"]
        report = [[i + 1, e[0], e[1]] for i, e in enumerate(self.accepted[frm - 1:frm - 1 + REPORT_MAX], frm - 1)
                  if e is not None]
        self.tell((src,), {"kind": "report", "accepted": report})


class DurableAcceptorNode(StableStorage, AcceptorNode):
    """An acceptor whose promise and accepted values take `disk_ms` to reach stable storage (the scenario's
    `disk_ms` > 0; Paxos.make_node picks it; the disk itself is simulator/protocols/disk.py): it answers a
    prepare or an accept only once what it promised or accepted is on disk, as Paxos requires of acceptors
    ("an acceptor must remember this information even if it fails and then restarts"). A crash loses the
    writes not yet done."""

    VIEW = AcceptorNode.VIEW + ("writing",)
    DURABLE_FIELDS = ("promised",)
    DURABLE_LIST = "accepted"

    def init_persistent(self):
        super().init_persistent()
        self.init_disk()

    def init_volatile(self):
        super().init_volatile()
        self.lose_unwritten()

    def made(self):
        """What is on disk: an answer waits for it, and a crash forgets the rest (never promised to anyone)."""
        return self.on_disk[0][0], self.on_disk[1]

    def tell(self, dsts, msg):
        self.persist()
        self.after_writes(("tell", tuple(dsts), msg))

    def on_durable(self, action):
        AcceptorNode.tell(self, action[1], action[2])

    def on_timer(self, name):
        if name == "disk":
            self.write_done()


# --- learners -----------------------------------------------------------------------------------
class LearnerNode(PaxosNode):
    ROLE = LEARNER
    VIEW = ("role", "learned", "learned_from", "asking")
    VISIBLE_TIMERS = ()

    def init_persistent(self):
        self.role = LEARNER
        self.learned = []  # per slot: the value learned chosen, or None
        self.learned_from = []  # per slot: how: "accepted", "decide", "acceptors" (asked) or a learner's id
        self.booted = False

    def init_volatile(self):
        self.tally = {}  # slot -> {(round, proposer, value): {acceptor: True}}, until the slot is learned
        self.since = {}  # catch-up: slot -> when this learner first knew the slot exists, until it learns it
        self.unsure = False  # catch-up, Multi-Paxos: restarted, and no majority has answered a learn? since
        self.answered = {}  # acceptors that answered the last learn?
        self.asking = False  # catch-up: it has asked and not yet learned everything it knows it misses
        self.low = 1  # no slot below this one is unknown (a hint for first_unknown)

    def knows(self, slot):
        return slot <= len(self.learned) and self.learned[slot - 1] is not None

    def first_unknown(self):
        slot = self.low  # slots below it are known (learned slots are never forgotten)
        while self.knows(slot):
            slot += 1
        self.low = slot
        return slot

    def learn(self, slot, value, how):
        if self.knows(slot):
            return  # a learner learns each slot once
        self.tally.pop(slot, None)
        self.since.pop(slot, None)
        if self.params.catch_up:
            for gap in range(len(self.learned) + 1, slot):  # it skipped slots: it misses them
                self.note(gap)
        self.mark_splice("learned", set_slot(self.learned, slot, value))
        self.mark_splice("learned_from", set_slot(self.learned_from, slot, how))
        self.settle()

    def settle(self):
        """Stop showing `asking` once it misses nothing it knows of."""
        if self.asking and not self.behind(0):
            self.asking = False
            self.mark("asking")

    # --- catch-up: ask the acceptors and the other learners -----------------------------------
    def note(self, slot):
        """This learner knows slot `slot` exists (or may hold a chosen value) and has not learned it."""
        if not self.knows(slot) and slot not in self.since:
            self.since[slot] = self.now
            self.arm_catch_up()

    def arm_catch_up(self):
        if "catch_up" not in self._timers:
            iv = self.params.catch_up_interval
            self.set_timer("catch_up", self.rng.randint(iv // 2, iv + iv // 2))

    def behind(self, grace):
        """Whether it misses something it should ask for: single-decree, the value; Multi-Paxos, a slot it has
        known about for at least `grace` ms (an in-flight slot is normally learned within a round trip), or
        anything at all after a restart until a majority of acceptors has answered."""
        if not self.params.multi:
            return not self.knows(1)
        if self.unsure:
            return True
        now = self.now
        return any(now - t >= grace for t in self.since.values())

    def on_start(self):
        if not self.params.catch_up:
            return
        restarted, self.booted = self.booted, True
        if restarted:
            self.unsure = self.params.multi  # it may have missed any slot while it was down
            if self.behind(0):
                self.ask()
        if self.behind(0):
            self.arm_catch_up()

    def on_timer(self, name):
        if name == "catch_up" and self.behind(self.params.catch_up_interval // 2):
            self.ask()
        if name == "catch_up" and self.behind(0):
            self.arm_catch_up()

    def ask(self):
        self.answered = {}
        if not self.asking:
            self.asking = True
            self.mark("asking")
        others = [lid for lid in self.protocol.learners if lid != self.id]
        # acceptors report what they accepted; learners and proposers answer only with what they know is chosen
        self.tell(self.protocol.acceptors + others + self.protocol.proposers,
                  {"kind": "learn?", "from_slot": self.first_unknown()})

    @receives("accepted")
    def on_accepted(self, src, m):
        slot = m["slot"]
        if not self.knows(slot):
            self.vote(src, slot, m["ballot"], m["value"], "accepted")

    @receives("decide")
    def on_decide(self, src, m):
        self.learn(m["slot"], m["value"], "decide")

    @receives("report")
    def on_report(self, src, m):
        """An acceptor's answer to learn?: what it has accepted."""
        for slot, b, value in m["accepted"]:
            if not self.knows(slot):
                self.vote(src, slot, b, value, "acceptors")
        if self.unsure:
            self.answered[src] = True
            if len(self.answered) >= self.protocol.majority:
                # quorum intersection: every slot chosen before it asked was reported by one of these
                self.unsure = False
                self.settle()

    @receives("learned")
    def on_learned(self, src, m):
        """Another learner's answer: what it learned is chosen (learners agree)."""
        for slot, value in m["learned"]:
            self.learn(slot, value, src)

    @receives("learn?")
    def on_learn_query(self, src, m):
        self.answer_learn(src, m, self.learned)

    @receives("commit")
    def on_commit(self, src, m):
        """The Multi-Paxos leader's commit point: slots 1..upto are chosen."""
        if self.params.catch_up:
            for slot in range(self.first_unknown(), m["upto"] + 1):
                self.note(slot)

    def vote(self, src, slot, b, value, how):
        """Acceptor `src` accepted ballot `b` with `value` in `slot` (now or earlier: either way it voted)."""
        votes = self.tally.setdefault(slot, {}).setdefault((b[0], b[1], value), {})
        votes[src] = True
        if len(votes) >= self.protocol.majority:  # a majority accepted one ballot: chosen
            self.learn(slot, value, how)
        elif self.params.catch_up:
            self.note(slot)


# --- proposers ----------------------------------------------------------------------------------
class ProposerNode(PaxosNode):
    ROLE = PROPOSER
    VIEW = ("role", "phase", "ballot", "value", "proposal", "promises", "accepts", "leader", "pending", "chosen")
    VISIBLE_TIMERS = ("retry", "backoff", "election")

    def init_persistent(self):
        self.role = PROPOSER
        self.max_round = 0  # highest round used or seen: stable, so a ballot is never reused
        self.chosen = []  # per slot: value this proposer knows is chosen, or None

    def init_volatile(self):
        self.multi = self.params.multi
        self.phase = FOLLOWER if self.multi else IDLE
        self.ballot = None
        self.value = None  # single-decree: this proposer's own value
        self.proposal = None  # single-decree: the value sent in phase 2
        self.promises = []  # acceptors that promised the current ballot
        self.accepts = []  # single-decree: acceptors that accepted the current ballot
        self.leader = None  # Multi-Paxos: the leader this proposer follows (itself when leading)
        self.pending = []  # Multi-Paxos: values waiting for a slot
        self.reports = {}  # acceptor -> accepted proposals it reported in its promise
        self.from_slot = 1
        self.next_slot = 1
        self.inflight = {}  # Multi-Paxos leader: slot -> value sent in phase 2, not yet known chosen
        self.acks = {}  # slot -> {acceptor: True}
        self.fails = 0  # consecutive failed ballots (backoff window)
        self.result = {}  # what the last client_propose did

    @property
    def number(self):
        return self.index + 1  # p1 -> 1: the second part of its ballots

    def set_phase(self, phase):
        if phase != self.phase:
            self.phase = phase
            self.mark("phase")

    def set_leader(self, leader):
        if leader != self.leader:
            self.leader = leader
            self.mark("leader")

    def see_round(self, ballot):
        if ballot is not None and ballot[0] > self.max_round:
            self.max_round = ballot[0]

    def known_chosen(self, slot):
        return slot <= len(self.chosen) and self.chosen[slot - 1] is not None

    def record_chosen(self, slot, value, tell=True):
        """This proposer now knows `value` is chosen in `slot`; tell the learners and the other proposers."""
        if not self.known_chosen(slot):
            self.mark_splice("chosen", set_slot(self.chosen, slot, value))
            if tell:
                self.tell(self.protocol.learners + self.other_proposers(), {"kind": "decide", "slot": slot, "value": value})

    # --- lifecycle ----------------------------------------------------------------------------
    def on_start(self):
        if self.multi:
            self.arm_election()

    def arm_election(self):
        lo, hi = self.params.leader_timeout_min, self.params.leader_timeout_max
        self.set_timer("election", self.rng.randint(lo, hi))

    def on_timer(self, name):
        if name == "retry":
            if self.phase in (PREPARE, ACCEPT):
                self.fail()
        elif name == "backoff":
            if self.phase == BACKOFF:
                self.start_ballot()
        elif name == "election":
            if self.phase == FOLLOWER:
                self.start_ballot()
        elif name == "heartbeat":
            if self.phase == LEADING:
                self.tell(self.other_proposers(), {"kind": "heartbeat", "ballot": self.ballot})
                self.set_timer("heartbeat", self.params.heartbeat_interval)
        elif name == "resend":
            if self.phase == LEADING:
                self.resend()
                self.set_timer("resend", self.params.phase_timeout)
        elif name == "commit":
            if self.phase == LEADING:
                self.tell_commit()
                self.set_timer("commit", self.params.catch_up_interval)

    def tell_commit(self):
        """Catch-up, Multi-Paxos: tell the learners the leader's commit point (the highest slot it knows chosen),
        so that a learner that missed slots (cut off, crashed) knows it misses them and asks."""
        if self.chosen:
            self.tell(self.protocol.learners, {"kind": "commit", "upto": len(self.chosen)})

    def other_proposers(self):
        return [p for p in self.protocol.proposers if p != self.id]

    # --- client values ------------------------------------------------------------------------
    def client_propose(self, value):
        """A client hands `value` to this proposer; `self.result` says what happened (for the event)."""
        self.protocol.proposed(self)
        self.result = self._client_propose(value)

    def _client_propose(self, value):
        if not self.multi:
            self.value = value
            self.mark("value")
            self.fails = 0
            self.start_ballot()
            return {"result": "proposing", "ballot": self.ballot}
        if self.phase == LEADING:
            slot = self.propose_new(value)
            return {"result": "proposing", "slot": slot}
        if self.leader is not None and self.leader != self.id:
            self.tell((self.leader,), {"kind": "forward", "value": value})
            return {"result": "forwarded", "leader_hint": self.leader}
        self.pending = self.pending + [value]
        self.mark("pending")
        if self.phase == FOLLOWER:
            self.cancel_timer("election")
            self.start_ballot()  # nobody is leading that we know of: try to lead
        return {"result": "queued"}

    # --- phase 1 ------------------------------------------------------------------------------
    def start_ballot(self):
        self.max_round += 1
        self.ballot = [self.max_round, self.number]
        self.promises = []
        self.reports = {}
        self.set_phase(PREPARE)
        self.mark("ballot", "promises")
        if self.accepts:
            self.accepts = []
            self.mark("accepts")
        if self.proposal is not None:
            self.proposal = None
            self.mark("proposal")
        self.cancel_timer("backoff")
        self.cancel_timer("election")
        self.from_slot = 1
        if self.multi:
            while self.known_chosen(self.from_slot):
                self.from_slot += 1
        self.protocol.ballot_started(self)
        self.tell(self.protocol.acceptors, {"kind": "prepare", "ballot": self.ballot, "from_slot": self.from_slot})
        self.set_timer("retry", self.params.phase_timeout)

    def fail(self):
        """This ballot got no majority (pre-empted or timed out): retry, after a random backoff if enabled."""
        self.fails += 1
        self.cancel_timer("retry")
        if self.params.backoff:
            window = min(self.params.backoff_max, self.params.backoff_base * 2 ** min(self.fails - 1, 20))
            self.set_phase(BACKOFF)
            self.set_timer("backoff", self.rng.randint(1, window))
        else:
            self.start_ballot()

    @receives("learn?")
    def on_learn_query(self, src, m):
        self.answer_learn(src, m, self.chosen)

    @receives("decide")
    def on_decide(self, src, m):
        slot = m["slot"]
        self.record_chosen(slot, m["value"], tell=False)
        if not self.multi and slot == 1 and self.phase in (PREPARE, ACCEPT, BACKOFF):
            for name in ("retry", "backoff"):
                self.cancel_timer(name)
            self.fails = 0
            self.set_phase(DONE)  # no point going on: the value is decided
        elif self.multi and slot in self.inflight:
            del self.inflight[slot]
            self.acks.pop(slot, None)

    @receives("promise")
    def on_promise(self, src, m):
        if self.phase != PREPARE or m["ballot"] != self.ballot or src in self.promises:
            return
        self.promises = self.promises + [src]
        self.mark("promises")
        self.reports[src] = m["accepted"]
        if len(self.promises) >= self.protocol.majority:
            if self.multi:
                self.become_leader()
            else:
                self.start_phase2()

    def highest_accepted(self):
        """slot -> (ballot, value) of the highest-ballot proposal reported by the promises."""
        best = {}
        for entries in self.reports.values():
            for slot, b, v in entries:
                if slot not in best or b > best[slot][0]:
                    best[slot] = (b, v)
        return best

    def start_phase2(self):
        best = self.highest_accepted().get(1)
        ignore = self.mutations.ignore_accepted_values
        value = best[1] if best is not None and not ignore else self.value
        self.proposal = value
        self.accepts = []
        self.set_phase(ACCEPT)
        self.mark("proposal", "accepts")
        self.protocol.phase2_started(self, 1, best is not None and best[1] != self.value and not ignore)
        self.tell(self.protocol.acceptors, {"kind": "accept", "ballot": self.ballot, "slot": 1, "value": value})
        self.set_timer("retry", self.params.phase_timeout)

    @receives("nack")
    def on_nack(self, src, m):
        self.see_round(m["promised"])
        if m["ballot"] != self.ballot or self.phase not in (PREPARE, ACCEPT, LEADING):
            return  # about an abandoned ballot
        self.metrics.preemptions += 1
        if self.multi:
            self.step_down(None)  # someone holds a higher ballot: defer to it, wait for its heartbeats
        else:
            self.fail()

    @receives("accepted")
    def on_accepted(self, src, m):
        if m["ballot"] != self.ballot:
            return
        slot = m["slot"]
        if not self.multi:
            if self.phase != ACCEPT or src in self.accepts:
                return
            self.accepts = self.accepts + [src]
            self.mark("accepts")
            if len(self.accepts) >= self.protocol.majority:
                self.cancel_timer("retry")
                self.fails = 0
                self.set_phase(DONE)
                self.record_chosen(1, m["value"])
            return
        if self.phase != LEADING or slot not in self.inflight:
            return
        acks = self.acks.setdefault(slot, {})
        acks[src] = True
        if len(acks) >= self.protocol.majority:
            value = self.inflight.pop(slot)
            del self.acks[slot]
            self.record_chosen(slot, value)

    # --- Multi-Paxos ----------------------------------------------------------------------------
    def become_leader(self):
        self.cancel_timer("retry")
        self.fails = 0
        self.set_phase(LEADING)
        self.set_leader(self.id)
        self.protocol.became_leader(self)
        best = self.highest_accepted()
        ignore = self.mutations.ignore_accepted_values
        top = max([s for s in best] + [len(self.chosen), self.from_slot - 1])
        self.inflight = {}
        self.acks = {}
        for slot in range(self.from_slot, top + 1):
            if self.known_chosen(slot):
                continue
            if slot in best and not ignore:
                value = best[slot][1]  # must re-propose what may already be chosen
            elif slot in best and self.pending:
                value = self.take_pending()  # mutation: our own value, despite what was accepted there
            else:
                value = NOOP  # nothing accepted in a majority: fill the gap
            self.send_accept(slot, value)
        self.next_slot = top + 1
        while self.pending:
            self.propose_new(self.take_pending())
        self.tell(self.other_proposers(), {"kind": "heartbeat", "ballot": self.ballot})
        self.set_timer("heartbeat", self.params.heartbeat_interval)
        self.set_timer("resend", self.params.phase_timeout)
        if self.params.catch_up:
            self.set_timer("commit", self.params.catch_up_interval)

    def take_pending(self):
        value, self.pending = self.pending[0], self.pending[1:]
        self.mark("pending")
        return value

    def propose_new(self, value):
        slot = self.next_slot
        self.next_slot += 1
        self.send_accept(slot, value)
        return slot

    def send_accept(self, slot, value):
        self.inflight[slot] = value
        self.acks[slot] = {}
        self.protocol.phase2_started(self, slot, False)
        self.tell(self.protocol.acceptors, {"kind": "accept", "ballot": self.ballot, "slot": slot, "value": value})

    def resend(self):
        """Re-send phase 2 for slots not yet known chosen, to acceptors that have not answered (loss)."""
        for slot, value in self.inflight.items():
            acks = self.acks.get(slot, {})
            missing = [a for a in self.protocol.acceptors if a not in acks]
            self.tell(missing, {"kind": "accept", "ballot": self.ballot, "slot": slot, "value": value})

    def step_down(self, leader):
        """A higher ballot exists: stop proposing, follow `leader` (if known), and wait for it."""
        for name in ("retry", "backoff", "heartbeat", "resend", "commit"):
            self.cancel_timer(name)
        self.set_phase(FOLLOWER)
        self.set_leader(leader)
        self.inflight = {}
        self.acks = {}
        if self.promises:
            self.promises = []
            self.mark("promises")
        self.arm_election()
        if leader is not None and self.pending:
            self.forward_pending()

    def forward_pending(self):
        for value in self.pending:
            self.tell((self.leader,), {"kind": "forward", "value": value})
        self.pending = []
        self.mark("pending")

    @receives("heartbeat")
    def on_heartbeat(self, src, m):
        if not self.multi:
            return
        b = m["ballot"]
        self.see_round(b)
        if self.phase == FOLLOWER or gt(b, self.ballot):
            if self.phase != FOLLOWER or self.leader != src:
                self.step_down(src)
            else:
                self.arm_election()
                if self.pending:
                    self.forward_pending()

    @receives("forward")
    def on_forward(self, src, m):
        if not self.multi:
            return
        if self.phase == LEADING:
            self.propose_new(m["value"])
        elif self.leader is not None and self.leader != self.id and self.leader != src:
            self.tell((self.leader,), m)
        else:
            self.pending = self.pending + [m["value"]]
            self.mark("pending")
