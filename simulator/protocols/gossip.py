"""Gossip: epidemic dissemination (Demers et al. 1987) and the SWIM failure detector (Das et al. 2002).

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

The rumour store is the replicated database: persistent (kept across a crash).
Each rumour has a version (counter, origin); a newer version of the same id
replaces the older one everywhere (last writer wins, the origin breaks ties).

Scale: nothing here is O(N) per node. Peers are drawn by index, SWIM keeps only
the members it has heard something about (everyone else is "alive, incarnation
0"), no timer is visible (no `timers` state events), and a node emits a state
event only when its store, hot set, incarnation or suspicion lists change.
"""

import math

from ..errors import InterventionError, ScenarioError
from ..node import Node
from ..params import Action, Param
from .base import Protocol

RUMOR, ANTI_ENTROPY, SWIM = "rumor", "anti_entropy", "swim"
PUSH, PULL, PUSH_PULL = "push", "pull", "push_pull"
COIN, COUNTER = "coin", "counter"
ALIVE, SUSPECT, DEAD = "alive", "suspect", "dead"
MAX_PIGGYBACK = 8  # membership updates per message (memberlist fills a UDP packet: about this many)
ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."


def suspicion_timeout(n, probe_interval, mult):
    """memberlist's suspicionTimeout: mult x max(1, log10 n) x probe interval, in integer ms."""
    scale = max(1000, int(math.log10(max(1, n)) * 1000))
    return mult * scale * probe_interval // 1000


def retransmit_limit(n, mult):
    """memberlist's retransmitLimit: mult x ceil(log10(n + 1))."""
    return mult * math.ceil(math.log10(n + 1))


class Config:
    """The parameters a node reads on every tick, as attributes (cheaper than dict lookups at 10,000 nodes)."""

    def __init__(self, sim):
        p = sim.params
        n = sim.scenario["nodes"]
        self.n = n
        self.mode = p["mode"]
        self.style = p["style"]
        self.fanout = min(p["fanout"], n - 1)
        self.interval = p["interval"]
        self.stop = p["stop"]
        self.k = p["stop_k"]
        self.coin = 1.0 / p["stop_k"]
        self.feedback = p["feedback"]
        self.probe_interval = p["probe_interval"]
        self.probe_timeout = p["probe_timeout"]
        self.indirect_checks = p["indirect_checks"]
        self.suspicion_timeout = suspicion_timeout(n, p["probe_interval"], p["suspicion_mult"])
        self.retransmits = retransmit_limit(n, p["retransmit_mult"])
        self.no_version_check = "no_version_check" in sim.mutations
        self.forget_on_crash = "forget_on_crash" in sim.mutations
        self.no_refutation = "no_refutation" in sim.mutations


class _Base(Node):
    VISIBLE_TIMERS = ()  # a gossip tick is routine: no timer arcs, no `timers` state events

    def init_persistent(self):
        self.proto = self.sim.protocol
        self.cfg = self.proto.cfg

    def send(self, dst, msg):
        self.sim.network.send(self.id, dst, msg)
        sent = self.proto.sent
        kind = msg["kind"]
        sent[kind] = sent.get(kind, 0) + 1

    def random_peers(self, k):
        """k distinct random other nodes, drawn by index (no O(N) peer list)."""
        ids = self.sim.node_ids
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
        super().init_persistent()
        self.store = {}  # rumour id -> [counter, origin, value]; replaced, never mutated in place

    def init_volatile(self):
        self.hot = []  # rumour ids this node still spreads (SIR: infective); the others it knows are removed
        self.strikes = {}  # counter stop rule: rumour id -> contacts that already knew it
        if self.cfg.forget_on_crash and self.store:
            self.store = {}  # mutation: the store lived in memory only

    # --- helpers --------------------------------------------------------------------------
    def vkey(self, counter, origin):
        return (counter, self.sim.nodes[origin].index)

    def entries(self, rids):
        if not rids:
            return []
        store = self.store
        return [[rid] + store[rid] for rid in rids]

    def digest(self):
        return {rid: e[:2] for rid, e in self.store.items()}

    def newer_than(self, rids, have):
        """The entries among `rids` that are newer here than in digest `have`, and the ids that are not."""
        out, knew = [], []
        store = self.store
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
                if self.cfg.no_version_check:
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
            if self.cfg.mode == RUMOR:
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
        cfg = self.cfg
        cooled = []
        for rid in rids:
            if rid not in self.hot:
                continue
            if cfg.stop == COIN:
                stop = self.rng.random() < cfg.coin
            else:
                n = self.strikes.get(rid, 0) + 1
                self.strikes[rid] = n
                stop = n >= cfg.k
            if stop:
                cooled.append(rid)
                self.strikes.pop(rid, None)
        if cooled:
            self.hot = [rid for rid in self.hot if rid not in cooled]
            self.mark("hot")

    def start_rumor(self, rid, counter, value):
        self.store = {**self.store, rid: [counter, self.id, value]}
        self.mark("store")
        if self.cfg.mode == RUMOR:
            self.heat([rid])

    # --- lifecycle --------------------------------------------------------------------------
    def on_start(self):
        self.set_timer("gossip", self.rng.randrange(self.cfg.interval))

    def on_timer(self, name):
        if name != "gossip":
            return
        cfg = self.cfg
        self.set_timer("gossip", cfg.interval)
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
        for dst in self.random_peers(cfg.fanout):
            self.send(dst, msg)
            if blind:
                self.contact(list(pushed))  # blind: every contact counts, whatever the peer knew

    def on_message(self, src, m):
        kind = m["kind"]
        cfg = self.cfg
        rumor = cfg.mode == RUMOR
        if kind == "push":
            knew = self.merge(m["updates"])
            if rumor and cfg.feedback and knew:
                self.send(src, {"kind": "feedback", "knew": knew})
        elif kind == "feedback":
            self.contact(m["knew"])
        elif kind == "reply":
            self.merge(m["updates"])
            if "knew" in m:
                self.contact(m["knew"])
        elif kind in ("pull", "pushpull"):
            offer = list(self.hot) if rumor else list(self.store)  # before merging what the peer pushed
            knew_theirs = self.merge(m["updates"]) if kind == "pushpull" else []
            if "have" in m:
                have = m["have"]
            else:  # anti-entropy push-pull: the peer sent its whole store
                have = {u[0]: u[1:3] for u in m["updates"]}
            give, knew_mine = self.newer_than(offer, have)
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
        super().init_persistent()
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
        self.queue.append([update, self.cfg.retransmits])

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
                self.proto.heard(self, inc)
                if not self.cfg.no_refutation:
                    self.incarnation = inc + 1  # refute: I am alive, with a higher incarnation
                    self.mark("incarnation")
                    self.enqueue([ALIVE, self.id, self.incarnation])
                    self.proto.refuted(self)
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
            self.set_timer("suspect:" + mid, self.cfg.suspicion_timeout)
        elif st == DEAD:
            self.dead = self.dead + [[mid, inc]]
            self.mark("dead")
        self.proto.verdict(self, st, mid, inc)

    def pick_members(self, k, exclude=None):
        """k distinct random members this node does not believe dead (nor `exclude`, nor itself)."""
        ids = self.sim.node_ids
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
        cfg = self.cfg
        if self.boots:
            self.incarnation += 1  # rejoin: outrank whatever the others concluded about us
            self.mark("incarnation")
            self.enqueue([ALIVE, self.id, self.incarnation])
        self.boots += 1
        self.set_timer("probe", self.rng.randrange(cfg.probe_interval))
        self.set_timer("gossip", self.rng.randrange(cfg.interval))

    def on_timer(self, name):
        cfg = self.cfg
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
                for dst in self.pick_members(cfg.fanout):
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
        for st, mid, inc in m["updates"]:
            self.apply(st, mid, inc)
        kind = m["kind"]
        if kind == "ping":
            self.send(src, {"kind": "ack", "seq": m["seq"], "updates": self.piggyback()})
        elif kind == "ack":
            p = self.probe
            if p is not None and m["seq"] == p["seq"]:
                p["acked"] = True
            else:
                relay = self.relays.pop(m["seq"], None)
                if relay is not None:  # the target answered our ping on someone's behalf: pass the ack on
                    self.send(relay[0], {"kind": "ack", "seq": relay[1], "updates": self.piggyback()})
        elif kind == "ping_req":
            self.seq += 1
            self.relays[self.seq] = [src, m["seq"], self.now]
            self.send(m["target"], {"kind": "ping", "seq": self.seq, "updates": self.piggyback()})


class Update:
    """One rumour version started by the `rumor` action (or the initial rumour), with its spread figures."""

    __slots__ = ("rid", "counter", "origin", "value", "key", "started_at", "informed", "full_at", "series")

    def __init__(self, rid, counter, origin, value, key, started_at):
        self.rid, self.counter, self.origin, self.value = rid, counter, origin, value
        self.key = key
        self.started_at = started_at
        self.informed = 0  # nodes holding this version or a newer one
        self.full_at = None
        self.series = []  # [[t, informed]], at most one point per gossip interval


class Gossip(Protocol):
    name = "gossip"
    title = "Gossip and SWIM"
    version = "1"  # bump when a change alters traces: old share links then say their replay may differ
    summary = ("Epidemic spread at scale: push, pull and push-pull, rumour mongering's residue versus "
               "anti-entropy, and SWIM failure detection with suspicion and refutation.")
    nodes = Param(16, "number of nodes (1,000 play in the browser, 10,000 headless)", 2, 10_000)
    params = {
        "mode": Param(RUMOR, "rumor: rumour mongering with a stop rule; anti_entropy: periodic full state "
                             "exchange; swim: the SWIM failure detector", kind="choice",
                      choices=(RUMOR, ANTI_ENTROPY, SWIM)),
        "style": Param(PUSH, "push: informed nodes send; pull: every node asks; push_pull: both in one exchange",
                       kind="choice", choices=(PUSH, PULL, PUSH_PULL)),
        "fanout": Param(1, "peers contacted per gossip interval (SWIM: members gossiped to, memberlist uses 3)",
                        1, 32),
        "interval": Param(200, "gossip interval in ms (one round)", 1, 60_000),
        "stop": Param(COIN, "rumour mongering stop rule: coin = lose interest with probability 1/k, counter = "
                            "after k contacts", kind="choice", choices=(COIN, COUNTER)),
        "stop_k": Param(2, "k of the stop rule (smaller: stops sooner, leaves more residue)", 1, 50),
        "feedback": Param(True, "only contacts that already knew the rumour count (else every contact: blind)",
                          kind="bool"),
        "initial_rumor": Param(True, "n1 starts rumour r1 at t=0 (rumor and anti_entropy modes)", kind="bool"),
        "probe_interval": Param(1000, "SWIM: protocol period, one probe per member per period (ms)", 20, 60_000),
        "probe_timeout": Param(500, "SWIM: wait this long for a direct ack before asking others (ms)",
                               10, 60_000),
        "indirect_checks": Param(3, "SWIM: members asked to ping-req the target (0: no indirect probes)", 0, 10),
        "suspicion_mult": Param(4, "SWIM: suspicion timeout = this x probe interval x max(1, log10 N)", 1, 20),
        "retransmit_mult": Param(4, "SWIM: each membership update is piggybacked this x ceil(log10(N+1)) times",
                                 1, 20),
    }
    actions = {
        "rumor": Action(
            "start a rumour at `node` (the same `id` again: a newer version that replaces the old one)",
            {"node": Param("n1", "the node that starts it", kind="str"),
             "id": Param("", "rumour id (letters, digits, _ - .); empty: the next free r<k>", kind="str",
                         max_length=24),
             "value": Param("", "its value; empty: v<version>", kind="str", max_length=40)},
        ),
    }
    mutations = {
        "no_version_check": "a node takes whatever version of a rumour it is sent, even an older one "
                            "(last writer wins without comparing versions)",
        "forget_on_crash": "the rumour store lives in memory only: a crash forgets what the node had learned",
        "no_refutation": "SWIM: a node that hears it is suspected does not raise its incarnation to refute it",
    }
    invariants = {
        "informed_never_reverts": "a node that has learned a rumour never loses it (the store survives crashes)",
        "versions_monotonic": "a node never replaces a newer version of a rumour with an older one",
        "rumor_integrity": "every copy of a rumour version carries the value it was started with",
        "refute_before_death": "SWIM: a live member that has heard it is suspected refutes (raises its "
                               "incarnation) before anyone can declare it dead at that incarnation",
        "incarnation_genuine": "SWIM: only a member raises its own incarnation: nobody believes a higher one "
                               "than it has announced",
    }
    Node = GossipNode

    @classmethod
    def validate_params(cls, p):
        if p["probe_timeout"] >= p["probe_interval"]:
            raise ScenarioError(f"params.probe_timeout: must be below probe_interval ({p['probe_interval']} ms), "
                                "or indirect probes get no time", field="params.probe_timeout")

    def make_node(self, node_id, index, rng):
        if not hasattr(self, "cfg"):
            self.cfg = Config(self.sim)
            self.sent = {}  # message kind -> count
        cls = SwimNode if self.cfg.mode == SWIM else GossipNode
        return cls(self.sim, node_id, index, rng)

    def setup(self):
        sim = self.sim
        self.n = len(sim.node_ids)
        self.crashed = {}  # node id -> True while crashed
        # rumours
        self.updates = []  # Update, in start order
        self.by_rid = {}  # rumour id -> [Update]
        self.by_version = {}  # (id, counter, origin) -> Update
        self.versions = {}  # node id -> {rumour id: version key} as last seen in a state event
        # SWIM
        self.heard_max = {}  # node id -> highest incarnation of a suspicion/death it heard about itself
        self.verdicts = {}  # (state, id, incarnation) -> True: first verdicts already counted
        self.counts = {"suspicions": 0, "false_suspicions": 0, "deaths": 0, "false_deaths": 0, "refutations": 0}
        self.episodes = []  # crash episodes: {"node", "crashed_at", "first_dead_ms", "all_dead_ms"}
        self.open_episode = {}  # node id -> its episode while crashed
        if self.cfg.mode != SWIM and sim.params["initial_rumor"]:
            first = sim.nodes[sim.node_ids[0]]
            self._register("r1", 1, first.id, "hello", first)
            first.start_rumor("r1", 1, "hello")  # flushed by its on_start

    # --- the `rumor` action -------------------------------------------------------------
    def _register(self, rid, counter, origin, value, node):
        u = Update(rid, counter, origin, value, (counter, node.index), self.sim.now)
        self.updates.append(u)
        self.by_rid.setdefault(rid, []).append(u)
        self.by_version[(rid, counter, origin)] = u
        for nid, versions in self.versions.items():  # nodes that already hold a newer concurrent version
            if versions.get(rid, (-1,)) >= u.key:
                u.informed += 1
        if u.informed:
            self._point(u)
        return u

    def act(self, iv):
        if iv["action"] != "rumor":
            return super().act(iv)
        if self.cfg.mode == SWIM:
            raise InterventionError("rumor: SWIM mode spreads membership updates, not rumours "
                                    "(set params.mode to rumor or anti_entropy)", code="invalid_mode",
                                    field="action")
        node = self.sim.nodes[iv["node"]]
        if node.status != "up":
            raise InterventionError(f"node: {node.id} is {node.status}; only an up node can start a rumour",
                                    code="invalid_state", field="node")
        rid = iv.get("id") or ""
        if rid:
            if not all(ch in ID_CHARS for ch in rid):
                raise InterventionError(f"id: {rid!r} may use only letters, digits, _ - and .",
                                        code="invalid_value", field="id")
        else:
            k = len(self.by_rid) + 1
            while f"r{k}" in self.by_rid:
                k += 1
            rid = f"r{k}"
        cur = node.store.get(rid)
        counter = cur[0] + 1 if cur else 1
        value = iv.get("value") or f"v{counter}"
        if (rid, counter, node.id) in self.by_version:
            raise InterventionError(f"id: {node.id} already started version {counter} of {rid}",
                                    code="invalid_state", field="id")
        self._register(rid, counter, node.id, value, node)
        self.sim.dispatch(node, "start_rumor", rid, counter, value)
        return {"id": rid, "version": counter, "value": value}

    # --- invariants and figures, on every state event -------------------------------------

    def on_state(self, node, ev):
        ch = ev["changes"]
        if "status" in ch:
            if node.status == "crashed":
                self.crashed[node.id] = True
                for u in self.updates:
                    self._check_full(u)
            else:
                self.crashed.pop(node.id, None)
        if "store" in ch:
            self._store_changed(node)

    def _store_changed(self, node):
        nid = node.id
        nodes = self.sim.nodes
        old = self.versions.get(nid) or {}
        now = {}
        for rid, (c, o, v) in node.store.items():
            key = (c, nodes[o].index)
            now[rid] = key
            prev = old.get(rid)
            if prev == key:
                continue
            u = self.by_version.get((rid, c, o))
            if u is None or u.value != v:
                self.report_violation("rumor_integrity", f"{nid} holds {rid} version {c}@{o} = {v!r}, which no node started",
                              nid, key=("ri", rid, c, o))
            if prev is not None and key < prev:
                self.report_violation("versions_monotonic",
                              f"{nid} replaced version {prev[0]}@{self.sim.node_ids[prev[1]]} of {rid} with the "
                              f"older {c}@{o}", nid, key=("vm", rid))
            self._count(rid, prev, key)
        for rid, prev in old.items():
            if rid not in now:
                self.report_violation("informed_never_reverts", f"{nid} no longer knows {rid}", nid, key=("inr", nid, rid))
                self._count(rid, prev, None)
        self.versions[nid] = now

    def _count(self, rid, prev, key):
        for u in self.by_rid.get(rid, ()):
            was = prev is not None and prev >= u.key
            has = key is not None and key >= u.key
            if was != has:
                u.informed += 1 if has else -1
                self._point(u)
                if has:
                    self._check_full(u)

    def _point(self, u):
        t = self.sim.now
        s = u.series
        step = self.cfg.interval
        if len(s) > 1 and (s[-1][0] - u.started_at) // step == (t - u.started_at) // step:
            s[-1] = [t, u.informed]
        else:
            s.append([t, u.informed])

    def _check_full(self, u):
        if u.full_at is not None or self.n - u.informed > len(self.crashed):
            return
        missing = self.n - u.informed
        crashed_missing = sum(1 for nid in self.crashed if not self._knows(nid, u))
        if missing == crashed_missing:
            u.full_at = self.sim.now

    def _knows(self, nid, u):
        key = (self.versions.get(nid) or {}).get(u.rid)
        return key is not None and key >= u.key

    # --- SWIM hooks (called by the nodes as things happen) ----------------------------------
    def heard(self, node, inc):
        if inc > self.heard_max.get(node.id, -1):
            self.heard_max[node.id] = inc

    def refuted(self, node):
        self.counts["refutations"] += 1

    def verdict(self, node, st, mid, inc):
        target = self.sim.nodes[mid]
        if inc > target.incarnation:
            self.report_violation("incarnation_genuine",
                          f"{node.id} believes {mid} has incarnation {inc}, but {mid} has only announced "
                          f"{target.incarnation}", node.id, key=("ig", mid, inc))
        if st == ALIVE:
            return
        key = (st, mid, inc)
        first = key not in self.verdicts
        if first:
            self.verdicts[key] = True
        down = target.status == "crashed"
        if st == SUSPECT:
            if first:
                self.counts["suspicions"] += 1
                self.counts["false_suspicions"] += not down
            return
        if first:
            self.counts["deaths"] += 1
            self.counts["false_deaths"] += not down
        if (target.status == "up" and target.incarnation <= inc
                and self.heard_max.get(mid, -1) >= inc):
            self.report_violation("refute_before_death",
                          f"{node.id} declared {mid} dead at incarnation {inc}: {mid} is up and heard it was "
                          "suspected, but never refuted", node.id, key=("rbd", mid, inc))
        ep = self.open_episode.get(mid)
        if ep is not None:
            now = self.sim.now
            if ep["first_dead_ms"] is None:
                ep["first_dead_ms"] = now - ep["crashed_at"]
            if ep["all_dead_ms"] is None and self._all_dead(mid):
                ep["all_dead_ms"] = now - ep["crashed_at"]

    def _all_dead(self, mid):
        for n in self.sim.nodes.values():
            if n.id != mid and n.status != "crashed" and n.state_of(mid)[0] != DEAD:
                return False
        return True

    def after_intervention(self, iv, resolved):
        if self.cfg.mode != SWIM:
            return
        action = resolved["action"]
        if action == "crash":
            ep = {"node": resolved["node"], "crashed_at": self.sim.now, "first_dead_ms": None, "all_dead_ms": None}
            self.episodes.append(ep)
            self.open_episode[resolved["node"]] = ep
        elif action == "restart":
            self.open_episode.pop(resolved["node"], None)

    # --- figures ------------------------------------------------------------------------------
    def metrics(self):
        cfg = self.cfg
        out = {"mode": cfg.mode, "messages": sum(self.sent.values()), "messages_by_kind": dict(self.sent)}
        if cfg.mode == SWIM:
            out.update(self.counts)
            out["suspicion_timeout_ms"] = cfg.suspicion_timeout
            out["detections"] = [dict(ep) for ep in self.episodes]
            first = [ep["first_dead_ms"] for ep in self.episodes if ep["first_dead_ms"] is not None]
            out["detection_ms"] = first[0] if first else None
            return out
        out["style"] = cfg.style
        rumors = [self._rumor_metrics(u) for u in self.updates]
        out["rumors"] = rumors
        last = rumors[-1] if rumors else {}
        for k in ("fraction", "full_spread_ms", "rounds_to_full_spread", "residue"):
            out[k if k != "fraction" else "informed_fraction"] = last.get(k)
        return out

    def _rumor_metrics(self, u):
        n = self.n
        residue = sum(1 for nid, node in self.sim.nodes.items()
                      if node.status != "crashed" and not self._knows(nid, u))
        full = u.full_at - u.started_at if u.full_at is not None else None
        return {
            "id": u.rid, "version": u.counter, "origin": u.origin, "value": u.value, "started_at": u.started_at,
            "informed": u.informed, "nodes": n, "fraction": round(u.informed / n, 4),
            "full_spread_ms": full,
            "rounds_to_full_spread": -(-full // self.cfg.interval) if full is not None else None,
            "residue": residue, "residue_fraction": round(residue / n, 4),
            "series": [[t, round(c / n, 4)] for t, c in u.series],
        }

    # --- presets ------------------------------------------------------------------------------
    @classmethod
    def presets(cls):
        race = "256 nodes, anti-entropy (no stop rule), one rumour from n1 at t=0, the same seed in all three races. "
        swim = {"mode": SWIM, "fanout": 3}
        return [
            {"slug": "gossip-push", "title": "Push: a fast start and a slow finish",
             "narrative": race + "Push: only informed nodes send. The rumour doubles every round at first, but "
                                 "the last few nodes wait long for someone to pick them: about 13 rounds.",
             "scenario": {"protocol": "gossip", "seed": 1, "nodes": 256, "duration": 5000,
                          "params": {"mode": ANTI_ENTROPY, "style": PUSH}}},
            {"slug": "gossip-pull", "title": "Pull: a slow start and a fast finish",
             "narrative": race + "Pull: every node asks a random peer each round. Hardly anyone has the rumour to "
                                 "give at first, but at the end each uninformed node finds it almost at once: "
                                 "about 9 rounds.",
             "scenario": {"protocol": "gossip", "seed": 1, "nodes": 256, "duration": 5000,
                          "params": {"mode": ANTI_ENTROPY, "style": PULL}}},
            {"slug": "gossip-push-pull", "title": "Push-pull: the best of both",
             "narrative": race + "Push-pull: each exchange goes both ways, so it starts like push and ends like "
                                 "pull: about 7 rounds, roughly log3(N) + ln ln N.",
             "scenario": {"protocol": "gossip", "seed": 1, "nodes": 256, "duration": 5000,
                          "params": {"mode": ANTI_ENTROPY, "style": PUSH_PULL}}},
            {"slug": "gossip-residue", "title": "Rumour mongering leaves a residue",
             "narrative": "200 nodes, push rumour mongering with an aggressive stop rule: a node loses interest "
                          "the first time it calls someone who already knew (k = 1). The rumour dies out in a "
                          "few seconds with only about 500 messages, but about one node in five never hears it "
                          "(theory: s = e^-(k+1)(1-s), 20%). Raise stop_k, or switch to anti-entropy, to reach "
                          "everyone at a higher price.",
             "scenario": {"protocol": "gossip", "seed": 1, "nodes": 200, "duration": 6000,
                          "params": {"mode": RUMOR, "style": PUSH, "stop": COIN, "stop_k": 1}}},
            {"slug": "gossip-1000", "title": "A thousand nodes",
             "narrative": "1,000 nodes, push-pull rumour mongering (k = 4): everyone knows in about 10 rounds "
                          "(2 s). Every node keeps starting one exchange per round, but once the rumour has "
                          "cooled they carry nothing new.",
             "scenario": {"protocol": "gossip", "seed": 1, "nodes": 1000, "duration": 6000,
                          "params": {"mode": RUMOR, "style": PUSH_PULL, "stop_k": 4}}},
            {"slug": "gossip-stale-overwrite", "title": "Last writer wins needs versions",
             "narrative": "n5 updates rumour r1 at 2 s. With the no_version_check mutation a node takes whatever "
                          "version it is sent, so the old value keeps flowing back over the new one: "
                          "versions_monotonic fires and the update may vanish altogether. Remove the mutation "
                          "and version 2 replaces version 1 on every node.",
             "scenario": {"protocol": "gossip", "seed": 3, "nodes": 16, "duration": 6000,
                          "params": {"mode": ANTI_ENTROPY, "style": PUSH_PULL}, "mutations": ["no_version_check"],
                          "interventions": [{"at": 2000, "action": "rumor", "node": "n5", "id": "r1",
                                             "value": "new"}]}},
            {"slug": "gossip-swim-crash", "title": "SWIM detects a crashed node",
             "narrative": "16 members ping one random member every second. n5 crashes at 3 s; within a period "
                          "or two someone's ping and ping-reqs go unanswered and it suspects n5, the suspicion "
                          "spreads on pings, acks and gossip, and n5 is declared dead 4.8 s later "
                          "(4 x 1 s x log10 16): about 7 s after the crash.",
             "scenario": {"protocol": "gossip", "seed": 1, "nodes": 16, "duration": 15000, "params": dict(swim),
                          "interventions": [{"at": 3000, "action": "crash", "node": "n5"}]}},
            {"slug": "gossip-swim-pause", "title": "A paused node is suspected, then refutes",
             "narrative": "n7 freezes for 4 s (a long GC pause). Its probers get no ack and suspect it. When it "
                          "wakes up it reads the suspicion piggybacked on the pings it was holding, raises its "
                          "incarnation to 1 and gossips alive: the suspicion is withdrawn before the 4.8 s "
                          "timeout declares it dead.",
             "scenario": {"protocol": "gossip", "seed": 1, "nodes": 16, "duration": 15000, "params": dict(swim),
                          "interventions": [{"at": 3000, "action": "pause", "node": "n7"},
                                            {"at": 7000, "action": "resume", "node": "n7"}]}},
            {"slug": "gossip-swim-no-refutation", "title": "Without refutation, a live node is declared dead",
             "narrative": "The same pause with the no_refutation mutation: n7 hears it is suspected but does not "
                          "raise its incarnation, so the suspicion runs out and a live, working node is declared "
                          "dead for good. refute_before_death fires.",
             "scenario": {"protocol": "gossip", "seed": 1, "nodes": 16, "duration": 15000, "params": dict(swim),
                          "mutations": ["no_refutation"],
                          "interventions": [{"at": 3000, "action": "pause", "node": "n7"},
                                            {"at": 7000, "action": "resume", "node": "n7"}]}},
        ]


PROTOCOL = Gossip
