"""Paxos' invariant checker and figures (a part of the Paxos object: spec.Paxos inherits it)."""

from ..base import Checker, invariant
from .nodes import ACCEPTOR, LEARNER, fmt_ballot, gt, sync


class PaxosChecker(Checker):
    def setup_checker(self):
        sim = self.sim
        self.ballots = 0
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
        self.last_leader = None

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
            # what the acceptor has made known: with a disk (disk_ms), what is on disk (a "writing" change)
            promised, accepted = node.made()
            if "accepted" in ch or "accepted" in splice or "writing" in ch:
                start = 0 if "accepted" in ch or "writing" in ch else splice["accepted"][0]
                self._new_accepts(node, start, accepted)
            if promised is not None and gt(promised, self.max_promised[node.id]):
                self.max_promised[node.id] = promised
        else:
            field = "learned" if role == LEARNER else "chosen"
            if field in ch or field in splice:
                start = 0 if field in ch else splice[field][0]
                self._new_learned(node, field, start)

    @invariant("one_value_per_slot", "at most one value is chosen (accepted by a majority at one ballot) in each slot")
    @invariant("promise_respected", "no acceptor accepts a ballot below one it has promised")
    def _new_accepts(self, node, start, acc):
        aid = node.id
        shadow = self.shadow[aid]
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

    @invariant("learners_agree", "learners (and proposers) never learn different values for a slot, and only "
                                 "chosen ones")
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
        multi = self.ctx.params.multi
        counters = self.ctx.metrics
        lat = sorted(self.chosen_at[s] - self.slot_started[s] for s in self.chosen_at if s in self.slot_started)
        rounds = max([self.sim.nodes[p].max_round for p in self.proposers] + [0])
        out = {
            "ballots": self.ballots,
            "max_round": rounds,
            "preemptions": counters.preemptions,
            "chosen_slots": len(self.chosen),
            "messages": sum(counters.messages.values()),
            "messages_by_kind": dict(sorted(counters.messages.items())),
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
