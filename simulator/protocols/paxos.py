"""Paxos (Lamport, "Paxos Made Simple", 2001): single-decree, and Multi-Paxos with a distinguished leader.

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

from functools import partial

from ..errors import InterventionError, ScenarioError
from ..node import Node
from ..params import Action, Param
from .base import Protocol

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

    @property
    def p(self):
        return self.sim.params

    @property
    def proto(self):
        return self.sim.protocol

    def answer_learn(self, src, m, known):
        """Catch-up: answer a learner's learn? with the values this node knows are chosen from its slot on (a
        learner's `learned`, a proposer's `chosen`); say nothing if it knows none."""
        f = m["from_slot"]
        out = [[i + 1, v] for i, v in enumerate(known[f - 1:f - 1 + REPORT_MAX], f - 1) if v is not None]
        if out:
            self.tell((src,), {"kind": "learned", "learned": out})

    def tell(self, dsts, msg):
        """Send `msg` to each of `dsts` (and count it for the metrics)."""
        send = self.sim.network.send
        counts = self.proto.messages
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
        if self.booted and "forget_promise_on_restart" in self.sim.mutations:
            # mutation: stable storage was not stable after all
            if self.promised is not None:
                self.promised = None
                self.mark("promised")
            if self.accepted:
                self.accepted = []
                self.mark("accepted")
        self.booted = True

    def on_message(self, src, m):
        kind = m["kind"]
        if kind == "prepare":
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
        elif kind == "accept":
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
            self.tell(self.proto.learners, out)
        elif kind == "learn?":  # a learner catching up: report what this acceptor has accepted from that slot on
            frm = m["from_slot"]
            report = [[i + 1, e[0], e[1]] for i, e in enumerate(self.accepted[frm - 1:frm - 1 + REPORT_MAX], frm - 1)
                      if e is not None]
            self.tell((src,), {"kind": "report", "accepted": report})


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
        if self.p["catch_up"]:
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
            iv = self.p["catch_up_interval"]
            self.set_timer("catch_up", self.rng.randint(iv // 2, iv + iv // 2))

    def behind(self, grace):
        """Whether it misses something it should ask for: single-decree, the value; Multi-Paxos, a slot it has
        known about for at least `grace` ms (an in-flight slot is normally learned within a round trip), or
        anything at all after a restart until a majority of acceptors has answered."""
        if not self.p["multi"]:
            return not self.knows(1)
        if self.unsure:
            return True
        now = self.now
        return any(now - t >= grace for t in self.since.values())

    def on_start(self):
        if not self.p["catch_up"]:
            return
        restarted, self.booted = self.booted, True
        if restarted:
            self.unsure = self.p["multi"]  # it may have missed any slot while it was down
            if self.behind(0):
                self.ask()
        if self.behind(0):
            self.arm_catch_up()

    def on_timer(self, name):
        if name == "catch_up" and self.behind(self.p["catch_up_interval"] // 2):
            self.ask()
        if name == "catch_up" and self.behind(0):
            self.arm_catch_up()

    def ask(self):
        self.answered = {}
        if not self.asking:
            self.asking = True
            self.mark("asking")
        others = [lid for lid in self.proto.learners if lid != self.id]
        # acceptors report what they accepted; learners and proposers answer only with what they know is chosen
        self.tell(self.proto.acceptors + others + self.proto.proposers,
                  {"kind": "learn?", "from_slot": self.first_unknown()})

    def on_message(self, src, m):
        kind = m["kind"]
        if kind == "accepted":
            slot = m["slot"]
            if not self.knows(slot):
                self.vote(src, slot, m["ballot"], m["value"], "accepted")
        elif kind == "decide":
            self.learn(m["slot"], m["value"], "decide")
        elif kind == "report":  # an acceptor's answer to learn?: what it has accepted
            for slot, b, value in m["accepted"]:
                if not self.knows(slot):
                    self.vote(src, slot, b, value, "acceptors")
            if self.unsure:
                self.answered[src] = True
                if len(self.answered) >= self.proto.majority:
                    # quorum intersection: every slot chosen before it asked was reported by one of these
                    self.unsure = False
                    self.settle()
        elif kind == "learned":  # another learner's answer: what it learned is chosen (learners agree)
            for slot, value in m["learned"]:
                self.learn(slot, value, src)
        elif kind == "learn?":
            self.answer_learn(src, m, self.learned)
        elif kind == "commit":  # the Multi-Paxos leader's commit point: slots 1..upto are chosen
            if self.p["catch_up"]:
                for slot in range(self.first_unknown(), m["upto"] + 1):
                    self.note(slot)

    def vote(self, src, slot, b, value, how):
        """Acceptor `src` accepted ballot `b` with `value` in `slot` (now or earlier: either way it voted)."""
        votes = self.tally.setdefault(slot, {}).setdefault((b[0], b[1], value), {})
        votes[src] = True
        if len(votes) >= self.proto.majority:  # a majority accepted one ballot: chosen
            self.learn(slot, value, how)
        elif self.p["catch_up"]:
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
        self.multi = self.sim.params["multi"]
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
                self.tell(self.proto.learners + self.other_proposers(), {"kind": "decide", "slot": slot, "value": value})

    # --- lifecycle ----------------------------------------------------------------------------
    def on_start(self):
        if self.multi:
            self.arm_election()

    def arm_election(self):
        lo, hi = self.p["leader_timeout_min"], self.p["leader_timeout_max"]
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
                self.set_timer("heartbeat", self.p["heartbeat_interval"])
        elif name == "resend":
            if self.phase == LEADING:
                self.resend()
                self.set_timer("resend", self.p["phase_timeout"])
        elif name == "commit":
            if self.phase == LEADING:
                self.tell_commit()
                self.set_timer("commit", self.p["catch_up_interval"])

    def tell_commit(self):
        """Catch-up, Multi-Paxos: tell the learners the leader's commit point (the highest slot it knows chosen),
        so that a learner that missed slots (cut off, crashed) knows it misses them and asks."""
        if self.chosen:
            self.tell(self.proto.learners, {"kind": "commit", "upto": len(self.chosen)})

    def other_proposers(self):
        return [p for p in self.proto.proposers if p != self.id]

    # --- client values ------------------------------------------------------------------------
    def client_propose(self, value):
        """A client hands `value` to this proposer; `self.result` says what happened (for the event)."""
        self.proto.proposed(self)
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
        self.proto.ballot_started(self)
        self.tell(self.proto.acceptors, {"kind": "prepare", "ballot": self.ballot, "from_slot": self.from_slot})
        self.set_timer("retry", self.p["phase_timeout"])

    def fail(self):
        """This ballot got no majority (pre-empted or timed out): retry, after a random backoff if enabled."""
        self.fails += 1
        self.cancel_timer("retry")
        if self.p["backoff"]:
            window = min(self.p["backoff_max"], self.p["backoff_base"] * 2 ** min(self.fails - 1, 20))
            self.set_phase(BACKOFF)
            self.set_timer("backoff", self.rng.randint(1, window))
        else:
            self.start_ballot()

    def on_message(self, src, m):
        kind = m["kind"]
        if kind == "promise":
            self.on_promise(src, m)
        elif kind == "accepted":
            self.on_accepted(src, m)
        elif kind == "nack":
            self.on_nack(src, m)
        elif kind == "heartbeat":
            self.on_heartbeat(src, m)
        elif kind == "forward":
            self.on_forward(src, m)
        elif kind == "decide":
            self.on_decide(src, m)
        elif kind == "learn?":
            self.answer_learn(src, m, self.chosen)

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

    def on_promise(self, src, m):
        if self.phase != PREPARE or m["ballot"] != self.ballot or src in self.promises:
            return
        self.promises = self.promises + [src]
        self.mark("promises")
        self.reports[src] = m["accepted"]
        if len(self.promises) >= self.proto.majority:
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
        ignore = "ignore_accepted_values" in self.sim.mutations
        value = best[1] if best is not None and not ignore else self.value
        self.proposal = value
        self.accepts = []
        self.set_phase(ACCEPT)
        self.mark("proposal", "accepts")
        self.proto.phase2_started(self, 1, best is not None and best[1] != self.value and not ignore)
        self.tell(self.proto.acceptors, {"kind": "accept", "ballot": self.ballot, "slot": 1, "value": value})
        self.set_timer("retry", self.p["phase_timeout"])

    def on_nack(self, src, m):
        self.see_round(m["promised"])
        if m["ballot"] != self.ballot or self.phase not in (PREPARE, ACCEPT, LEADING):
            return  # about an abandoned ballot
        self.proto.preemptions += 1
        if self.multi:
            self.step_down(None)  # someone holds a higher ballot: defer to it, wait for its heartbeats
        else:
            self.fail()

    def on_accepted(self, src, m):
        if m["ballot"] != self.ballot:
            return
        slot = m["slot"]
        if not self.multi:
            if self.phase != ACCEPT or src in self.accepts:
                return
            self.accepts = self.accepts + [src]
            self.mark("accepts")
            if len(self.accepts) >= self.proto.majority:
                self.cancel_timer("retry")
                self.fails = 0
                self.set_phase(DONE)
                self.record_chosen(1, m["value"])
            return
        if self.phase != LEADING or slot not in self.inflight:
            return
        acks = self.acks.setdefault(slot, {})
        acks[src] = True
        if len(acks) >= self.proto.majority:
            value = self.inflight.pop(slot)
            del self.acks[slot]
            self.record_chosen(slot, value)

    # --- Multi-Paxos ----------------------------------------------------------------------------
    def become_leader(self):
        self.cancel_timer("retry")
        self.fails = 0
        self.set_phase(LEADING)
        self.set_leader(self.id)
        self.proto.became_leader(self)
        best = self.highest_accepted()
        ignore = "ignore_accepted_values" in self.sim.mutations
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
        self.set_timer("heartbeat", self.p["heartbeat_interval"])
        self.set_timer("resend", self.p["phase_timeout"])
        if self.p["catch_up"]:
            self.set_timer("commit", self.p["catch_up_interval"])

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
        self.proto.phase2_started(self, slot, False)
        self.tell(self.proto.acceptors, {"kind": "accept", "ballot": self.ballot, "slot": slot, "value": value})

    def resend(self):
        """Re-send phase 2 for slots not yet known chosen, to acceptors that have not answered (loss)."""
        for slot, value in self.inflight.items():
            acks = self.acks.get(slot, {})
            missing = [a for a in self.proto.acceptors if a not in acks]
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


class Paxos(Protocol):
    name = "paxos"
    title = "Paxos"
    version = "2"  # bump when a change alters traces: old share links then say their replay may differ
    summary = ("Proposers duel, acceptors promise: a value, once chosen, stays chosen, whoever crashes; "
               "without backoff or a leader, nothing may ever be chosen.")
    nodes = Param(5, "number of acceptors (proposers and learners: params.proposers, params.learners)", 1, 31)
    params = {
        "proposers": Param(2, "number of proposers (p1..)", 1, 9),
        "learners": Param(2, "number of learners (l1..)", 1, 9),
        "multi": Param(False, "Multi-Paxos: a distinguished leader runs phase 1 once, then phase 2 per log slot",
                       kind="bool"),
        "auto_propose": Param(True, "single-decree: each proposer proposes its own value (A, B, ...) in the "
                                    "first 30 ms", kind="bool"),
        "backoff": Param(True, "after a failed ballot, wait a random time before retrying (off: retry at once)",
                         kind="bool"),
        "backoff_base": Param(40, "first backoff window (ms); it doubles after each failed ballot", 1, 60_000),
        "backoff_max": Param(640, "largest backoff window (ms)", 1, 60_000),
        "phase_timeout": Param(200, "a ballot with no majority answer after this long fails; a leader re-sends "
                                    "unanswered accepts this often (ms)", 10, 60_000),
        "heartbeat_interval": Param(50, "Multi-Paxos: leader heartbeat to the other proposers (ms)", 1, 30_000),
        "leader_timeout_min": Param(150, "Multi-Paxos: shortest randomised wait for a silent leader (ms)", 10, 60_000),
        "leader_timeout_max": Param(300, "Multi-Paxos: longest randomised wait for a silent leader (ms)", 10, 60_000),
        "catch_up": Param(True, "a learner that missed the decision (down, cut off, messages lost) asks the acceptors "
                                "and the other learners until it learns it (off: it stays behind)", kind="bool"),
        "catch_up_interval": Param(400, "catch-up: a learner that misses something asks again after a random "
                                        "0.5..1.5 times this (ms); a Multi-Paxos leader tells the learners its "
                                        "commit point this often", 10, 60_000),
        "client_interval": Param(500, "Multi-Paxos: a client sends a value to the leader every this many ms "
                                      "(0: none)", 0, 600_000),
    }
    actions = {
        "propose": Action(
            "a client asks proposer `node` to propose `value` (Multi-Paxos: a follower forwards it to the leader)",
            {"node": Param(None, "the proposer (or `leader`)", kind="str"),
             "value": Param("", "the value; empty for an automatic one", kind="str", max_length=40)},
        ),
    }
    selectors = {"leader": "Multi-Paxos: the proposer leading with the highest ballot"}
    mutations = {
        "forget_promise_on_restart": "an acceptor keeps its promise and accepted proposal in memory only: "
                                     "a restart forgets them",
        "ignore_accepted_values": "a proposer proposes its own value even when the promises report an "
                                  "accepted one",
    }
    invariants = {
        "one_value_per_slot": "at most one value is chosen (accepted by a majority at one ballot) in each slot",
        "learners_agree": "learners (and proposers) never learn different values for a slot, and only "
                          "chosen ones",
        "promise_respected": "no acceptor accepts a ballot below one it has promised",
    }

    # --- construction -----------------------------------------------------------------------------
    @classmethod
    def roles(cls, acceptors, params):
        p = params.get("proposers", cls.params["proposers"].default)
        l_ = params.get("learners", cls.params["learners"].default)
        return ([f"p{i}" for i in range(1, p + 1)], [f"a{i}" for i in range(1, acceptors + 1)],
                [f"l{i}" for i in range(1, l_ + 1)])

    @classmethod
    def node_ids(cls, count):
        return cls.scenario_node_ids(count, {})

    @classmethod
    def scenario_node_ids(cls, count, params):
        ps, accs, ls = cls.roles(count, params)
        return ps + accs + ls

    @classmethod
    def validate_params(cls, p):
        if p["backoff_base"] > p["backoff_max"]:
            raise ScenarioError(f"params.backoff_max: must be at least backoff_base ({p['backoff_base']})",
                                field="params.backoff_max")
        if p["leader_timeout_min"] > p["leader_timeout_max"]:
            raise ScenarioError("params.leader_timeout_max: must be at least leader_timeout_min "
                                f"({p['leader_timeout_min']})", field="params.leader_timeout_max")
        if p["heartbeat_interval"] >= p["leader_timeout_min"]:
            raise ScenarioError("params.heartbeat_interval: must be below leader_timeout_min "
                                f"({p['leader_timeout_min']}) or followers time out", field="params.heartbeat_interval")

    def __init__(self, sim):
        super().__init__(sim)
        self.proposers, self.acceptors, self.learners = self.roles(sim.scenario["nodes"], sim.scenario["params"])
        self.majority = len(self.acceptors) // 2 + 1

    def make_node(self, node_id, index, rng):
        cls = {"p": ProposerNode, "a": AcceptorNode, "l": LearnerNode}[node_id[0]]
        return cls(self.sim, node_id, index, rng)

    def setup(self):
        sim = self.sim
        self.messages = {}  # kind -> count
        self.ballots = 0
        self.preemptions = 0
        self.leader_changes = 0
        self.readoptions = 0  # phase 2 with a value found in the promises instead of the proposer's own
        self.first_proposal_at = None
        self.slot_started = {}  # slot -> first phase 2 for it
        self.max_promised = {a: None for a in self.acceptors}  # highest promise each acceptor ever made
        self.shadow = {nid: [] for nid in sim.node_ids}  # last seen accepted / learned / chosen list
        self.votes = {}  # (slot, round, proposer, value) -> {acceptor: True}, never forgotten
        self.chosen = {}  # slot -> first value chosen
        self.chosen_vals = {}  # slot -> {every value chosen there: True} (more than one is a violation)
        self.chosen_at = {}  # slot -> when
        self.learned = {}  # slot -> first value learned (by learners or proposers)
        self.client_seq = 0
        self.last_leader = None
        if not sim.params["multi"] and sim.params["auto_propose"]:
            for i, pid in enumerate(self.proposers):
                delay = sim.protocol_rng.randint(0, 30)
                sim.env.timeout(delay).callbacks.append(partial(self._auto_propose, pid, LETTERS[i % 26]))
        if sim.params["multi"] and sim.params["client_interval"]:
            self._schedule_client()

    def _auto_propose(self, pid, value, _event=None):
        node = self.sim.nodes[pid]
        if node.status == "up" and node.phase == IDLE:
            self.sim.dispatch(node, "client_propose", value)

    def _schedule_client(self):
        ev = self.sim.env.timeout(self.sim.params["client_interval"])
        ev.callbacks.append(self._client_tick)

    def _client_tick(self, _event=None):
        leader = self.resolve("leader")
        if leader is not None:
            self.client_seq += 1
            self.sim.dispatch(self.sim.nodes[leader], "client_propose", f"x{self.client_seq}")
        self._schedule_client()

    # --- interventions ----------------------------------------------------------------------------
    def resolve(self, selector):
        if selector == "leader":
            best = None
            for pid in self.proposers:
                node = self.sim.nodes[pid]
                if node.status == "up" and node.phase == LEADING and (best is None or node.ballot > best.ballot):
                    best = node
            return best.id if best else None
        return None

    def act(self, iv):
        node = self.sim.nodes[iv["node"]]
        if node.ROLE != PROPOSER:
            raise InterventionError(f"{node.id} is {'an' if node.ROLE == ACCEPTOR else 'a'} {node.ROLE}: propose to "
                                    f"a proposer ({self.proposers[0]}..{self.proposers[-1]})",
                                    code="not_a_proposer", field="node")
        if node.status != "up":
            raise InterventionError(f"{node.id} is {node.status}", code="invalid_state", field="node")
        value = iv.get("value") or ""
        if value == NOOP:
            raise InterventionError(f"value: {NOOP!r} is reserved for the gaps a new leader fills",
                                    code="reserved_value", field="value")
        if not node.multi and node.phase in (PREPARE, ACCEPT, BACKOFF):
            raise InterventionError(f"{node.id} is busy with ballot {fmt_ballot(node.ballot)} ({node.phase}); "
                                    "propose again once it is idle or done", code="busy", field="node")
        if not value:
            if node.multi:
                self.client_seq += 1
                value = f"x{self.client_seq}"
            else:
                value = LETTERS[node.index % 26]
        self.sim.dispatch(node, "client_propose", value)
        return dict(node.result, value=value)

    # --- hooks from the nodes (metrics) -------------------------------------------------------------
    def proposed(self, node):
        if self.first_proposal_at is None:
            self.first_proposal_at = self.sim.now

    def ballot_started(self, node):
        self.ballots += 1

    def phase2_started(self, node, slot, readopted):
        self.slot_started.setdefault(slot, self.sim.now)
        if readopted:
            self.readoptions += 1

    def became_leader(self, node):
        if node.id != self.last_leader:
            self.leader_changes += 1
            self.last_leader = node.id

    # --- invariants, checked on every state event ----------------------------------------------------

    def on_state(self, node, ev):
        role = node.ROLE
        ch = ev["changes"]
        splice = ev.get("splice", {})
        if role == ACCEPTOR:
            if "accepted" in ch or "accepted" in splice:
                start = 0 if "accepted" in ch else splice["accepted"][0]
                self._new_accepts(node, start)
            if node.promised is not None and gt(node.promised, self.max_promised[node.id]):
                self.max_promised[node.id] = node.promised
        else:
            field = "learned" if role == LEARNER else "chosen"
            if field in ch or field in splice:
                start = 0 if field in ch else splice[field][0]
                self._new_learned(node, field, start)

    def _new_accepts(self, node, start):
        aid = node.id
        shadow = self.shadow[aid]
        acc = node.accepted
        promised = self.max_promised[aid]
        for i in range(start, len(acc)):
            entry = acc[i]
            if entry is None or (i < len(shadow) and shadow[i] == entry):
                continue
            b, value = entry
            slot = i + 1
            if gt(promised, b):
                self.report_violation("promise_respected",
                              f"{aid} accepted ballot {fmt_ballot(b)} in slot {slot} after promising "
                              f"{fmt_ballot(promised)}", aid, key=("promise", aid, slot, tuple(b)))
            key = (slot, b[0], b[1], value)
            voters = self.votes.setdefault(key, {})
            voters[aid] = True
            if len(voters) == self.majority:
                self.chosen_vals.setdefault(slot, {})[value] = True
                first = self.chosen.get(slot)
                if slot not in self.chosen:
                    self.chosen[slot] = value
                    self.chosen_at[slot] = self.sim.now
                elif first != value:
                    self.report_violation("one_value_per_slot",
                                  f"slot {slot}: “{value}” was chosen at ballot {fmt_ballot(b)} "
                                  f"({', '.join(voters)} accepted it), but “{first}” had been chosen before",
                                  aid, key=("one", slot))
        sync(shadow, acc, start)

    def _new_learned(self, node, field, start):
        shadow = self.shadow[node.id]
        vals = getattr(node, field)
        for i in range(start, len(vals)):
            value = vals[i]
            if value is None or (i < len(shadow) and shadow[i] == value):
                continue
            slot = i + 1
            first = self.learned.setdefault(slot, value)
            if first != value:
                self.report_violation("learners_agree",
                              f"{node.id} learned “{value}” for slot {slot}, but “{first}” was learned there before",
                              node.id, key=("agree", slot))
            elif value not in self.chosen_vals.get(slot, {}):
                self.report_violation("learners_agree",
                              f"{node.id} learned “{value}” for slot {slot}, which no majority accepted",
                              node.id, key=("unchosen", slot))
        sync(shadow, vals, start)

    # --- figures ------------------------------------------------------------------------------------
    def metrics(self):
        multi = self.sim.params["multi"]
        lat = sorted(self.chosen_at[s] - self.slot_started[s] for s in self.chosen_at if s in self.slot_started)
        rounds = max([self.sim.nodes[p].max_round for p in self.proposers] + [0])
        out = {
            "ballots": self.ballots,
            "max_round": rounds,
            "preemptions": self.preemptions,
            "chosen_slots": len(self.chosen),
            "messages": sum(self.messages.values()),
            "messages_by_kind": dict(sorted(self.messages.items())),
        }
        if not multi:
            out["value_chosen"] = self.chosen.get(1)
            out["time_to_choose_ms"] = (self.chosen_at[1] - self.first_proposal_at
                                        if 1 in self.chosen_at and self.first_proposal_at is not None else None)
            out["readopted_values"] = self.readoptions
        else:
            out["leader_changes"] = self.leader_changes
            out["choose_latency_ms"] = {
                "count": len(lat),
                "mean": round(sum(lat) / len(lat), 3) if lat else None,
                "p50": lat[len(lat) // 2] if lat else None,
                "max": lat[-1] if lat else None,
            }
        return out

    # --- presets ------------------------------------------------------------------------------------
    @classmethod
    def presets(cls):
        def duel(params, narrative_extra=None):
            return {"protocol": "paxos", "seed": 1, "duration": 10_000,
                    "params": dict({"auto_propose": False}, **params),
                    "network": DUEL_NETWORK,
                    "interventions": [{"at": 0, "action": "propose", "node": "p1", "value": "A"},
                                      {"at": 30, "action": "propose", "node": "p2", "value": "B"}]}
        return [
            {"slug": "paxos-basic", "title": "A value is chosen, and stays chosen",
             "narrative": "p1 proposes A: a majority of acceptors promise its ballot, then accept A, and the "
                          "learners learn it. Later p2 proposes B with a higher ballot, but the promises it gets "
                          "report A as accepted, so p2 must propose A too: once chosen, a value never changes.",
             "scenario": {"protocol": "paxos", "seed": 2, "duration": 1500, "params": {"auto_propose": False},
                          "interventions": [{"at": 0, "action": "propose", "node": "p1", "value": "A"},
                                            {"at": 400, "action": "propose", "node": "p2", "value": "B"}]}},
            {"slug": "paxos-duel", "title": "Duelling proposers: nothing is ever chosen",
             "narrative": "Two data centres: p1 sits next to a1 and a2, p2 next to a4 and a5, and every message "
                          "takes a fixed time. With backoff off, each proposer retries at once when it is "
                          "pre-empted, and its new prepare always lands just before the other's accept. The "
                          "ballots climb for ever and no value is chosen: Paxos is safe, but not live. (Add a "
                          "little jitter to the latency and luck usually ends the duel after a few rounds; luck is "
                          "not a guarantee.)",
             "scenario": duel({"backoff": False})},
            {"slug": "paxos-duel-backoff", "title": "Randomised backoff ends the duel",
             "narrative": "The same two data centres, but a pre-empted proposer now waits a random time (its "
                          "window doubling after each failure) before it retries. One proposer soon gets both "
                          "phases through while the other waits, and a value is chosen.",
             "scenario": duel({"backoff": True})},
            {"slug": "paxos-duel-leader", "title": "A distinguished proposer ends the duel",
             "narrative": "The same network in Multi-Paxos mode, backoff still off. The proposers first agree on "
                          "a leader (phase 1 once); from then on only the leader proposes and the other forwards "
                          "its clients' values to it, so there is nobody to duel with: every value is chosen in "
                          "one round trip, in its own log slot.",
             "scenario": {"protocol": "paxos", "seed": 1, "duration": 2000, "network": DUEL_NETWORK,
                          "params": {"multi": True, "backoff": False, "client_interval": 0},
                          "interventions": [{"at": 500, "action": "propose", "node": "p1", "value": "A"},
                                            {"at": 500, "action": "propose", "node": "p2", "value": "B"},
                                            {"at": 900, "action": "propose", "node": "p2", "value": "C"},
                                            {"at": 900, "action": "propose", "node": "p1", "value": "D"}]}},
            {"slug": "paxos-majority", "title": "A majority of acceptors, or nothing",
             "narrative": "Three of the five acceptors are down when p1 proposes A: with only two promises it "
                          "cannot get past phase 1, and it retries with ever higher ballots. As soon as one "
                          "acceptor comes back there is a majority again, and A is chosen; the promises and "
                          "accepted values on disk survived the crash.",
             "scenario": {"protocol": "paxos", "seed": 3, "duration": 3000, "params": {"auto_propose": False},
                          "interventions": [{"at": 0, "action": "crash", "node": "a1"},
                                            {"at": 0, "action": "crash", "node": "a2"},
                                            {"at": 0, "action": "crash", "node": "a3"},
                                            {"at": 100, "action": "propose", "node": "p1", "value": "A"},
                                            {"at": 1500, "action": "restart", "node": "a2"}]}},
            {"slug": "paxos-learner-catch-up", "title": "A learner catches up",
             "narrative": "l2 is down when p1 gets A chosen, so it misses every accepted and decide message. When "
                          "it restarts it knows nothing, and nobody tells it unasked: it asks the acceptors, l1 and "
                          "the proposers (learn?). p1 and l1 know A is chosen and say so; the acceptors report what "
                          "they accepted, and three of them at the same ballot would do as well. One acceptor's "
                          "word would not: it may have accepted a value that was never chosen. With catch_up off, "
                          "l2 stays empty for ever.",
             "scenario": CATCH_UP},
            {"slug": "multipaxos-log", "title": "Multi-Paxos: phase 1 once, then one round trip per value",
             "narrative": "In Multi-Paxos mode the first proposer whose timer fires runs phase 1 for every slot "
                          "at once and becomes the leader. A client then sends a value every 300 ms: each needs "
                          "only phase 2, and the log grows on every acceptor and learner.",
             "scenario": {"protocol": "paxos", "seed": 4, "duration": 4000,
                          "params": {"multi": True, "client_interval": 300}}},
            {"slug": "multipaxos-failover", "title": "Leader fail-over: accepted values are proposed again",
             "narrative": "The leader sends value x for slot 1 and crashes before it hears back, although the "
                          "acceptors accepted x, so x is chosen. The other proposer's timer fires, it runs phase 1 "
                          "with a higher ballot, and the promises report x in slot 1: it must propose x again, not "
                          "its own value. Try the same with the ignore_accepted_values mutation.",
             "scenario": FAILOVER},
            {"slug": "paxos-forget-promise", "title": "Mutation: acceptors that forget on restart",
             "narrative": "A is chosen by a1, a2 and a3 (p1 cannot reach a4 and a5). a1 and a2 then restart, and "
                          "with this mutation they have forgotten what they promised and accepted. p2, which "
                          "cannot reach a3, collects promises from a1, a2, a4 and a5 that report nothing, and "
                          "gets B chosen: two values chosen, and the checker flags it. Without the mutation a1 "
                          "and a2 report A and p2 proposes A.",
             "scenario": {"protocol": "paxos", "seed": 5, "duration": 2000, "params": {"auto_propose": False},
                          "mutations": ["forget_promise_on_restart"],
                          "interventions": [{"at": 0, "action": "cut", "a": "p1", "b": "a4"},
                                            {"at": 0, "action": "cut", "a": "p1", "b": "a5"},
                                            {"at": 0, "action": "cut", "a": "p2", "b": "a3"},
                                            {"at": 10, "action": "propose", "node": "p1", "value": "A"},
                                            {"at": 400, "action": "crash", "node": "a1"},
                                            {"at": 400, "action": "crash", "node": "a2"},
                                            {"at": 500, "action": "restart", "node": "a1"},
                                            {"at": 500, "action": "restart", "node": "a2"},
                                            {"at": 600, "action": "propose", "node": "p2", "value": "B"}]}},
        ]


# Two data centres: p1 next to a1 and a2, p2 next to a4 and a5, a3 and the learners in between; fixed latencies.
DUEL_NETWORK = {
    "latency": [20, 20],
    "links": [{"a": "p1", "b": "a1", "latency": [10, 10]}, {"a": "p1", "b": "a2", "latency": [10, 10]},
              {"a": "p2", "b": "a4", "latency": [10, 10]}, {"a": "p2", "b": "a5", "latency": [10, 10]}],
}

FAILOVER = {
    "protocol": "paxos", "seed": 6, "duration": 2500,
    "params": {"multi": True, "client_interval": 0},
    "interventions": [{"at": 1000, "action": "propose", "node": "leader", "value": "x"},
                      {"at": 1005, "action": "crash", "node": "leader"}],
}

CATCH_UP = {
    "protocol": "paxos", "seed": 2, "duration": 2500, "params": {"auto_propose": False},
    "interventions": [{"at": 0, "action": "crash", "node": "l2"},
                      {"at": 100, "action": "propose", "node": "p1", "value": "A"},
                      {"at": 1000, "action": "restart", "node": "l2"}],
}


PROTOCOL = Paxos
