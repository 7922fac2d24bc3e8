"""Gossip's nodes: epidemic dissemination (Demers et al. 1987) and the SWIM failure detector (Das et al. 2002).

Three modes (`params.mode`):

- `rumor` (rumour mongering): a node that learns a rumour becomes *hot* for it and
  spreads it every `interval` ms to `fanout` random peers (push), hands it out
  when asked (pull), or both (push-pull). It loses interest by a stop rule: with
  probability 1/k (`coin`) or after k (`counter`) contacts that already knew it
  (`feedback`), or after any contact (blind). Cheap, but it can die out before
  everyone heard it: the *residue*.
- `anti_entropy`: every `interval` ms each node exchanges its whole store with
  `fanout` random peers, forever. Slower and chattier, but it reaches everyone
  still reachable.
- `swim`: the SWIM failure detector with memberlist's defaults: every probe
  period ping one random member; no ack within the probe timeout -> ping-req
  through `indirect_checks` others; no ack by the end of the period -> suspect;
  dead after the suspicion timeout (4 x probe interval x max(1, log10 N)) unless
  the member refutes with a higher incarnation number. Membership updates ride
  on pings and acks (piggybacked, each retransmitted retransmit_mult x
  ceil(log10(N + 1)) times) and on gossip to `fanout` members every `interval`.

With `lockstep`, every node gossips at the same instants (interval, 2 x interval, ...) and answers a pull with
what it knew at the start of the round: the synchronous rounds the theory counts (a node that learns by push
cannot hand the rumour on to a puller in the same round). Latency must stay below half the interval.

The rumour store is the replicated database: persistent (kept across a crash).
Each rumour has a version (counter, origin); a newer version of the same id
replaces the older one everywhere (last writer wins, the origin breaks ties).

Scale: nothing here is O(N) per node. Peers are drawn by index, SWIM keeps only
the members it has heard something about (everyone else is "alive, incarnation
0"), no timer is visible (no `timers` state events), and a node emits a state
event only when its store, hot set, incarnation or suspicion lists change.
"""


from ...node import Node, receives

RUMOR, ANTI_ENTROPY, SWIM = "rumor", "anti_entropy", "swim"
PUSH, PULL, PUSH_PULL = "push", "pull", "push_pull"
COIN, COUNTER = "coin", "counter"
ALIVE, SUSPECT, DEAD = "alive", "suspect", "dead"
MAX_PIGGYBACK = 8  # membership updates per message (memberlist fills a UDP packet: about this many)
ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."


class _Base(Node):
    VISIBLE_TIMERS = ()  # a gossip tick is routine: no timer arcs, no `timers` state events

    def send(self, dst, msg):
        self.ctx.send(self.id, dst, msg)
        sent = self.metrics.sent
        kind = msg["kind"]
        sent[kind] = sent.get(kind, 0) + 1

    def random_peers(self, k):
        """k distinct random other nodes, drawn by index (no O(N) peer list)."""
        ids = self.ctx.node_ids
        n = len(ids)
        me = self.index
        if k == 1:
            r = int(self.rng.random() * (n - 1))  # 5x cheaper than randrange; the bias is below 2**-40
            return [ids[r + (r >= me)]]
        return [ids[r + (r >= me)] for r in self.rng.sample(range(n - 1), k)]


class GossipNode(_Base):
    """Rumour mongering and anti-entropy."""

    VIEW = ("store", "hot")

    def init_persistent(self):
        self.store = {}  # rumour id -> [counter, origin, value]; replaced, never mutated in place

    def init_volatile(self):
        self.hot = []  # rumour ids this node still spreads (SIR: infective); the others it knows are removed
        self.strikes = {}  # counter stop rule: rumour id -> contacts that already knew it
        # lockstep: what this node knew at the start of the current round (store and hot set are replaced,
        # never changed in place: keeping them is free); a pull is answered from these
        self.round_store = self.store
        self.round_hot = self.hot
        if self.mutations.forget_on_crash and self.store:
            self.store = {}  # mutation: the store lived in memory only

    # --- helpers --------------------------------------------------------------------------
    def vkey(self, counter, origin):
        return (counter, self.ctx.index_of[origin])

    def entries(self, rids):
        if not rids:
            return []
        store = self.store
        return [[rid] + store[rid] for rid in rids]

    def digest(self):
        return {rid: e[:2] for rid, e in self.store.items()}

    def newer_than(self, rids, have, store):
        """The entries among `rids` that are newer in `store` than in digest `have`, and the ids that are not."""
        out, knew = [], []
        for rid in rids:
            c, o, v = store[rid]
            h = have.get(rid)
            if h is None or self.vkey(c, o) > self.vkey(h[0], h[1]):
                out.append([rid, c, o, v])
            else:
                knew.append(rid)
        return out, knew

    def merge(self, updates):
        """Apply received entries; return the ids this node already knew (same or newer version)."""
        store = self.store
        new = None
        knew = []
        learned = []
        for rid, c, o, v in updates:
            cur = store.get(rid)
            if cur is not None:
                if self.mutations.no_version_check:
                    if cur[0] == c and cur[1] == o:
                        knew.append(rid)
                        continue  # mutation: anything else overwrites, older or not
                elif self.vkey(cur[0], cur[1]) >= self.vkey(c, o):
                    knew.append(rid)
                    continue
            if new is None:
                new = dict(store)
            new[rid] = [c, o, v]
            learned.append(rid)
        if new is not None:
            self.store = new
            self.mark("store")
            if self.params.mode == RUMOR:
                self.heat(learned)
        return knew

    def heat(self, rids):
        """Newly learned (or newer) rumours: spread them."""
        add = [rid for rid in rids if rid not in self.hot]
        for rid in rids:
            self.strikes.pop(rid, None)
        if add:
            self.hot = self.hot + add
            self.mark("hot")

    def contact(self, rids):
        """One contact that counts towards the stop rule of each hot rumour in `rids`."""
        cfg = self.params
        cooled = []
        for rid in rids:
            if rid not in self.hot:
                continue
            if cfg.stop == COIN:
                stop = self.rng.random() < cfg.coin
            else:
                n = self.strikes.get(rid, 0) + 1
                self.strikes[rid] = n
                stop = n >= cfg.stop_k
            if stop:
                cooled.append(rid)
                self.strikes.pop(rid, None)
        if cooled:
            self.hot = [rid for rid in self.hot if rid not in cooled]
            self.mark("hot")

    def start_rumor(self, rid, counter, value):
        self.store = {**self.store, rid: [counter, self.id, value]}
        self.mark("store")
        if self.params.mode == RUMOR:
            self.heat([rid])

    # --- lifecycle --------------------------------------------------------------------------
    def on_start(self):
        if self.params.lockstep:  # rounds at interval, 2 x interval, ... (after a restart: the next one)
            self.set_timer("gossip", self.params.interval - self.now % self.params.interval)
        else:
            self.set_timer("gossip", self.rng.randrange(self.params.interval))

    def on_timer(self, name):
        if name != "gossip":
            return
        cfg = self.params
        self.set_timer("gossip", cfg.interval)
        if cfg.lockstep:
            self.round_store = self.store
            self.round_hot = self.hot
        style = cfg.style
        rumor = cfg.mode == RUMOR
        pushed = ()
        if style == PUSH:
            pushed = self.hot if rumor else list(self.store)
            if not pushed:
                return
            msg = {"kind": "push", "updates": self.entries(pushed)}
        elif style == PULL:
            msg = {"kind": "pull", "have": self.digest()}
        elif rumor:
            pushed = self.hot
            msg = {"kind": "pushpull", "updates": self.entries(pushed), "have": self.digest()}
        else:
            msg = {"kind": "pushpull", "updates": self.entries(list(self.store))}
        blind = rumor and not cfg.feedback and pushed
        for dst in self.random_peers(cfg.fanout_used):
            self.send(dst, msg)
            if blind:
                self.contact(list(pushed))  # blind: every contact counts, whatever the peer knew

    @receives("push")
    def on_push(self, src, m):
        knew = self.merge(m["updates"])
        if self.params.mode == RUMOR and self.params.feedback and knew:
            self.send(src, {"kind": "feedback", "knew": knew})

    @receives("feedback")
    def on_feedback(self, src, m):
        self.contact(m["knew"])

    @receives("reply")
    def on_reply(self, src, m):
        self.merge(m["updates"])
        if "knew" in m:
            self.contact(m["knew"])

    @receives("pull", "pushpull")
    def on_pull(self, src, m):
        cfg = self.params
        rumor = cfg.mode == RUMOR
        # offered: what it knew before merging what the peer pushed; in lockstep, at the start of this round
        if cfg.lockstep:
            offer = list(self.round_hot) if rumor else list(self.round_store)
        else:
            offer = list(self.hot) if rumor else list(self.store)
        knew_theirs = self.merge(m["updates"]) if m["kind"] == "pushpull" else []
        if "have" in m:
            have = m["have"]
        else:  # anti-entropy push-pull: the peer sent its whole store
            have = {u[0]: u[1:3] for u in m["updates"]}
        give, knew_mine = self.newer_than(offer, have, self.round_store if cfg.lockstep else self.store)
        reply = {"kind": "reply", "updates": give}
        if rumor and cfg.feedback and knew_theirs:
            reply["knew"] = knew_theirs
        if give or "knew" in reply:
            self.send(src, reply)
        if rumor and offer:
            self.contact(knew_mine if cfg.feedback else offer)


class SwimNode(_Base):
    """The SWIM failure detector (ping, ping-req, suspect, dead, incarnation numbers)."""

    VIEW = ("incarnation", "suspects", "dead")

    def init_persistent(self):
        self.incarnation = 0  # kept across a crash (as if on disk): a restarted node announces a higher one
        self.boots = 0

    def init_volatile(self):
        self.members = {}  # id -> [state, incarnation] for members heard about; others: alive, incarnation 0
        self.suspects = []  # [[id, incarnation]] this node suspects (view)
        self.dead = []  # [[id, incarnation]] this node has declared or learned dead (view)
        self.queue = []  # broadcasts to piggyback: [[state, id, incarnation], transmissions left]
        self.probe = None  # {"target", "seq", "acked"} of the current protocol period
        self.seq = 0
        self.relays = {}  # our seq -> [requester, its seq, started at] for ping-reqs we forward

    # --- membership -------------------------------------------------------------------------
    def state_of(self, mid):
        return self.members.get(mid) or (ALIVE, 0)

    def enqueue(self, update):
        mid = update[1]
        self.queue = [item for item in self.queue if item[0][1] != mid]  # the newer news replaces the older
        self.queue.append([update, self.params.retransmits])

    def piggyback(self):
        q = self.queue
        if not q:
            return []
        q.sort(key=lambda item: -item[1])  # least transmitted first (stable sort: ties keep their order)
        out = []
        for item in q[:MAX_PIGGYBACK]:
            out.append(item[0])
            item[1] -= 1
        self.queue = [item for item in q if item[1] > 0]
        return out

    def apply(self, st, mid, inc):
        """One membership update (SWIM section 4.2 / memberlist precedence)."""
        if mid == self.id:
            if st != ALIVE and inc >= self.incarnation:
                self.protocol.heard(self, inc)
                if not self.mutations.no_refutation:
                    self.incarnation = inc + 1  # refute: I am alive, with a higher incarnation
                    self.mark("incarnation")
                    self.enqueue([ALIVE, self.id, self.incarnation])
                    self.protocol.refuted(self)
            return
        cs, ci = self.state_of(mid)
        if st == ALIVE:
            ok = inc > ci
        elif st == SUSPECT:
            ok = cs == ALIVE and inc >= ci
        else:
            ok = cs != DEAD and inc >= ci
        if ok:
            self.set_member(mid, st, inc)
            self.enqueue([st, mid, inc])  # pass the news on (infection-style dissemination)

    def set_member(self, mid, st, inc):
        old = self.members.get(mid)
        self.members[mid] = [st, inc]
        if old is not None and old[0] == SUSPECT:
            self.suspects = [e for e in self.suspects if e[0] != mid]
            self.mark("suspects")
            self.cancel_timer("suspect:" + mid)
        if old is not None and old[0] == DEAD:
            self.dead = [e for e in self.dead if e[0] != mid]
            self.mark("dead")
        if st == SUSPECT:
            self.suspects = self.suspects + [[mid, inc]]
            self.mark("suspects")
            self.set_timer("suspect:" + mid, self.params.suspicion_timeout)
        elif st == DEAD:
            self.dead = self.dead + [[mid, inc]]
            self.mark("dead")
        self.protocol.verdict(self, st, mid, inc)

    def pick_members(self, k, exclude=None):
        """k distinct random members this node does not believe dead (nor `exclude`, nor itself)."""
        ids = self.ctx.node_ids
        n = len(ids)
        me = self.index
        members = self.members
        rng = self.rng
        chosen = {}
        for _ in range(4 * k + 16):
            r = int(rng.random() * (n - 1))
            mid = ids[r + (r >= me)]
            e = members.get(mid)
            if mid != exclude and mid not in chosen and (e is None or e[0] != DEAD):
                chosen[mid] = True
                if len(chosen) == k:
                    return list(chosen)
        # most candidates are dead (or k is close to N): draw from the full list
        rest = [mid for mid in ids if mid != self.id and mid != exclude and mid not in chosen
                and self.state_of(mid)[0] != DEAD]
        return list(chosen) + rng.sample(rest, min(k - len(chosen), len(rest)))

    # --- lifecycle --------------------------------------------------------------------------
    def on_start(self):
        cfg = self.params
        if self.boots:
            self.incarnation += 1  # rejoin: outrank whatever the others concluded about us
            self.mark("incarnation")
            self.enqueue([ALIVE, self.id, self.incarnation])
        self.boots += 1
        self.set_timer("probe", self.rng.randrange(cfg.probe_interval))
        self.set_timer("gossip", self.rng.randrange(cfg.interval))

    def on_timer(self, name):
        cfg = self.params
        if name == "probe":
            self.set_timer("probe", cfg.probe_interval)
            p = self.probe
            if p is not None and not p["acked"]:
                self.suspect(p["target"])  # no ack, direct or indirect, by the end of the period
            self.probe = None
            if self.relays:
                old = self.now - cfg.probe_interval
                self.relays = {s: r for s, r in self.relays.items() if r[2] > old}
            targets = self.pick_members(1)
            if not targets:
                return
            self.seq += 1
            self.probe = {"target": targets[0], "seq": self.seq, "acked": False}
            self.send(targets[0], {"kind": "ping", "seq": self.seq, "updates": self.piggyback()})
            self.set_timer("probe_timeout", cfg.probe_timeout)
        elif name == "probe_timeout":
            p = self.probe
            if p is None or p["acked"] or not cfg.indirect_checks:
                return
            for via in self.pick_members(cfg.indirect_checks, exclude=p["target"]):
                self.send(via, {"kind": "ping_req", "seq": p["seq"], "target": p["target"],
                                "updates": self.piggyback()})
        elif name == "gossip":
            self.set_timer("gossip", cfg.interval)
            if self.queue:
                for dst in self.pick_members(cfg.fanout_used):
                    updates = self.piggyback()
                    if not updates:
                        break
                    self.send(dst, {"kind": "gossip", "updates": updates})
        elif name.startswith("suspect:"):
            mid = name[8:]
            st, inc = self.state_of(mid)
            if st == SUSPECT:
                self.set_member(mid, DEAD, inc)  # not refuted in time
                self.enqueue([DEAD, mid, inc])

    def suspect(self, mid):
        st, inc = self.state_of(mid)
        if st == ALIVE:
            self.set_member(mid, SUSPECT, inc)
            self.enqueue([SUSPECT, mid, inc])

    def on_message(self, src, m):
        for st, mid, inc in m["updates"]:  # every SWIM message carries membership updates: applied first
            self.apply(st, mid, inc)
        self.HANDLERS[m["kind"]](self, src, m)

    @receives("gossip")
    def on_gossip(self, src, m):
        """Nothing more: a gossip message is its updates."""

    @receives("ping")
    def on_ping(self, src, m):
        self.send(src, {"kind": "ack", "seq": m["seq"], "updates": self.piggyback()})

    @receives("ack")
    def on_ack(self, src, m):
        p = self.probe
        if p is not None and m["seq"] == p["seq"]:
            p["acked"] = True
        else:
            relay = self.relays.pop(m["seq"], None)
            if relay is not None:  # the target answered our ping on someone's behalf: pass the ack on
                self.send(relay[0], {"kind": "ack", "seq": relay[1], "updates": self.piggyback()})

    @receives("ping_req")
    def on_ping_req(self, src, m):
        self.seq += 1
        self.relays[self.seq] = [src, m["seq"], self.now]
        self.send(m["target"], {"kind": "ping", "seq": self.seq, "updates": self.piggyback()})
