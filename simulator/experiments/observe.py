"""What experiments measure, read from the trace: each protocol's metrics as an observer of events.

An observer is fed every event of one trial (`feed(events)`) and answers `metrics()`. It keeps only the node
fields it needs (from `state` events), so it works on any run the engine produces, live or headless, and needs
nothing from a protocol's internals. `mark(name, t)` records a moment the trial's setup chose (e.g. the crash).
"""


class Observer:
    """Tracks each node's status and the fields listed in `FIELDS` from `state` events."""

    FIELDS = ()
    metrics_doc = {}  # metric name -> what it measures (shown by the CLI and the page)

    def __init__(self, node_ids):
        self.nodes = {nid: {"status": "up"} for nid in node_ids}
        self.marks = {}
        self.t = 0

    def mark(self, name, t):
        self.marks[name] = t

    def feed(self, events):
        fields = self.FIELDS
        for ev in events:
            self.t = ev["t"]
            if ev["type"] == "state":
                node = self.nodes[ev["node"]]
                changes = ev["changes"]
                before = {f: node.get(f) for f in fields if f in changes}
                if "status" in changes:
                    before["status"] = node["status"]
                for f in ("status",) + tuple(fields):
                    if f in changes:
                        node[f] = changes[f]
                self.on_change(ev, before)
            else:
                self.on_event(ev)

    def on_change(self, ev, before):
        """A node's tracked fields changed (`before` holds the old values of those that did)."""

    def on_event(self, ev):
        """Any other event."""

    def metrics(self):
        return {}


class RaftObserver(Observer):
    """Raft: when a leader is up, elections started, commit latency of client requests."""

    FIELDS = ("role", "term", "commit")
    metrics_doc = {
        "downtime_ms": "time from the crash of the leader until another node becomes leader "
                       "(Raft paper, section 9.3, Figure 16)",
        "elections": "elections started (a node became candidate, or a candidate started a new term) after the "
                     "crash, or in the whole run",
        "leaderless_ms": "total time with no up leader, from the first leader to the end of the run",
        "commit_latency_ms": "mean time from a client request's append to its commit on the leader",
    }

    def __init__(self, node_ids):
        super().__init__(node_ids)
        self.elections = []  # times a node became candidate
        self.leader_since = {}  # up leaders -> since
        self.first_leader = None
        self.new_leader_at = None  # the first leadership won after the "crash" mark
        self.leaderless = 0
        self.leaderless_since = None
        self.pending = {}  # (node, index) -> appended at
        self.latencies = []

    def on_change(self, ev, before):
        nid, node, t = ev["node"], self.nodes[ev["node"]], ev["t"]
        is_leader = node.get("role") == "leader" and node["status"] == "up"
        # an election: a node becomes candidate, or a candidate starts another one (a new term)
        if node.get("role") == "candidate" and (("role" in before and before["role"] != "candidate")
                                                or "term" in before):
            self.elections.append(t)
        if is_leader and nid not in self.leader_since:
            self.leader_since[nid] = t
            if self.first_leader is None:
                self.first_leader = t
            crash = self.marks.get("crash")
            if crash is not None and self.new_leader_at is None and t >= crash:
                self.new_leader_at = t
        elif not is_leader and nid in self.leader_since:
            del self.leader_since[nid]
        self._leaderless_at(t)
        if "commit" in before and is_leader:
            commit = node.get("commit") or 0
            for key in [k for k in self.pending if k[0] == nid and k[1] <= commit]:
                self.latencies.append(t - self.pending.pop(key))

    def _leaderless_at(self, t):
        if self.first_leader is None:
            return
        if not self.leader_since and self.leaderless_since is None:
            self.leaderless_since = t
        elif self.leader_since and self.leaderless_since is not None:
            self.leaderless += t - self.leaderless_since
            self.leaderless_since = None

    def on_event(self, ev):
        if ev["type"] == "intervention" and ev.get("action") == "client_request" and ev.get("result") == "appended":
            self.pending[(ev["node"], ev["index"])] = ev["t"]

    def metrics(self):
        crash = self.marks.get("crash")
        out = {"elections": len([t for t in self.elections if crash is None or t >= crash])}
        if crash is not None:
            out["downtime_ms"] = None if self.new_leader_at is None else self.new_leader_at - crash
        leaderless = self.leaderless
        if self.leaderless_since is not None:
            leaderless += self.t - self.leaderless_since
        out["leaderless_ms"] = leaderless if self.first_leader is not None else None
        out["commit_latency_ms"] = (sum(self.latencies) / len(self.latencies)) if self.latencies else None
        return out


class GossipObserver(Observer):
    """Gossip: how long a rumour takes to reach every up node, the residue it leaves; SWIM: how long until a
    crashed member is suspected and declared dead, and how many live members were declared dead."""

    FIELDS = ("store", "hot", "suspects", "dead")
    metrics_doc = {
        "spread_ms": "time from the first node knowing the first rumour until every up node knows it",
        "rounds": "spread_ms in gossip rounds (params.interval), rounded up; with lockstep, the rounds run (the "
                  "last one's exchanges end within it): compare with log2 N + ln N (push), log3 N (push-pull)",
        "residue": "fraction of up nodes that never heard the first rumour, at the end of the run "
                   "(Demers et al.: s = e^-(k+1)(1-s) for push, feedback, coin)",
        "messages": "messages sent in the whole run",
        "detection_ms": "SWIM: from the first crash to the first up member suspecting the crashed node",
        "dead_ms": "SWIM: from the first crash to the first up member declaring the crashed node dead",
        "false_positives": "SWIM: times an up member declared another member dead while it was alive "
                           "(up, or paused: slow but not crashed)",
    }

    def __init__(self, node_ids, interval=None, lockstep=False):
        super().__init__(node_ids)
        self.interval = interval
        self.lockstep = lockstep  # rounds at interval, 2 x interval...: the rumour starts at 0, round k ends
        # (latency below half the interval) before (k + 1) x interval
        self.rumour = None  # the first rumour id seen
        self.started = None
        self.knows = set()  # nodes that know the first rumour
        self.spread_at = None
        self.messages = 0
        self.crashed = None  # (node, t) of the first crash
        self.detected_at = None
        self.dead_at = None
        self.false_positives = 0

    def _up(self):
        return [n for n, v in self.nodes.items() if v["status"] == "up"]

    def on_change(self, ev, before):
        nid, node, t = ev["node"], self.nodes[ev["node"]], ev["t"]
        if "store" in before:
            store = node.get("store") or {}
            if self.rumour is None and store:
                self.rumour = sorted(store)[0]
                self.started = t
            if self.rumour in store:
                self.knows.add(nid)
        if self.rumour is not None and self.spread_at is None and ("store" in before or "status" in before):
            if all(n in self.knows for n in self._up()):
                self.spread_at = t
        if "status" in before and node["status"] == "crashed" and self.crashed is None:
            self.crashed = (nid, t)
        if node["status"] != "up":
            return
        if "suspects" in before and self.crashed and self.detected_at is None:
            if any(m == self.crashed[0] for m, _ in node.get("suspects") or ()):
                self.detected_at = t
        if "dead" in before:
            old = {m for m, _ in before["dead"] or ()}
            for member, _ in node.get("dead") or ():
                if member in old:
                    continue
                if self.nodes[member]["status"] != "crashed":  # up, or paused: slow but alive
                    self.false_positives += 1
                elif self.crashed and member == self.crashed[0] and self.dead_at is None:
                    self.dead_at = t
            if self.crashed and self.detected_at is None and self.dead_at is not None:
                self.detected_at = self.dead_at

    def on_event(self, ev):
        if ev["type"] == "send":
            self.messages += 1

    def metrics(self):
        up = self._up()
        spread = None if self.spread_at is None else self.spread_at - self.started
        crash_t = self.crashed[1] if self.crashed else None
        return {
            "spread_ms": spread,
            "rounds": None if spread is None or not self.interval else (
                spread // self.interval if self.lockstep else -(-spread // self.interval)),
            "residue": None if self.rumour is None or not up else sum(n not in self.knows for n in up) / len(up),
            "messages": self.messages,
            "detection_ms": None if self.detected_at is None else self.detected_at - crash_t,
            "dead_ms": None if self.dead_at is None else self.dead_at - crash_t,
            "false_positives": self.false_positives,
        }


class TwoPhaseObserver(Observer):
    """2PC and 3PC: how long participants that voted YES stay uncertain (lock held, outcome unknown) and how much of
    it they spend blocked, asking a coordinator that does not answer."""

    FIELDS = ("txs",)
    UNCERTAIN = ("prepared", "precommitted")
    FINAL = ("committed", "aborted")
    metrics_doc = {
        "uncertain_ms": "mean time from a participant's YES vote (prepared, lock held) until it learns the outcome "
                        "(empty if one is still uncertain at the end of the run)",
        "blocked_ms": "mean time from a participant's decision timeout (blocked: it cannot decide alone) until it "
                      "learns the outcome; 0 for one never blocked (Bernstein et al. 1987, 7.3: 2PC blocks until the "
                      "coordinator recovers)",
        "committed": "fraction of the participants' transactions that committed",
    }

    def __init__(self, node_ids):
        super().__init__(node_ids)
        self.since = {}  # (node, tx) -> when it became uncertain
        self.blocked = {}  # (node, tx) -> blocked_since
        self.uncertain = []
        self.blocked_ms = []
        self.outcomes = {}  # (node, tx) -> final state

    def on_change(self, ev, before):
        if "txs" not in before:
            return
        t = ev["t"]
        for entry in self.nodes[ev["node"]].get("txs") or ():
            if "vote" not in entry:  # the coordinator's entries have `votes`; a participant's its own `vote`
                continue
            key = (ev["node"], entry["tx"])
            state = entry["state"]
            if state in self.UNCERTAIN:
                self.since.setdefault(key, t)
                if entry.get("blocked_since") is not None:
                    self.blocked.setdefault(key, entry["blocked_since"])
            elif state in self.FINAL and key not in self.outcomes:
                self.outcomes[key] = state
                if key in self.since:
                    self.uncertain.append(t - self.since.pop(key))
                    self.blocked_ms.append(t - self.blocked.pop(key) if key in self.blocked else 0)

    def metrics(self):
        unfinished = [k for k in self.since if k not in self.outcomes]
        return {
            "uncertain_ms": None if unfinished or not self.uncertain else sum(self.uncertain) / len(self.uncertain),
            "blocked_ms": None if unfinished or not self.blocked_ms else sum(self.blocked_ms) / len(self.blocked_ms),
            "committed": None if not self.outcomes else
            sum(v == "committed" for v in self.outcomes.values()) / len(self.outcomes),
        }


class KafkaObserver(Observer):
    """Kafka consumer groups: partition-time with no owner from the scenario's first intervention (the change the
    experiment makes: a consumer joins, one stalls...) on, once every partition has had an owner; ownership as the
    consumers themselves report it (`owned`; a zombie that still thinks it owns a partition counts as its owner)."""

    FIELDS = ("owned",)
    metrics_doc = {
        "unowned_partition_ms": "partition-ms with no up consumer owning the partition, from the first intervention "
                                "(or the moment every partition first had an owner) to the end of the run",
        "partitions_unowned": "partitions left without an owner at some moment in that time (eager: all of them in "
                              "a rebalance; cooperative and KIP-848: only those that move)",
    }

    def __init__(self, node_ids, partitions, measure_from=0):
        super().__init__(node_ids)
        self.total = partitions
        self.measure_from = measure_from  # the group forms before this
        self.settled = False
        self.since = None  # when the unowned count last changed (after settling)
        self.unowned_now = 0
        self.unowned_ms = 0
        self.touched = set()

    def _owned(self):
        return {p for n in self.nodes.values() if n["status"] == "up" for p in n.get("owned") or ()}

    def _update(self, t):
        owned = self._owned()
        if not self.settled:
            if len(owned) < self.total or t < self.measure_from:
                return
            self.settled = True
            self.known = set(owned)
            self.since = t
        self.unowned_ms += self.unowned_now * (t - self.since)
        self.since = t
        self.known |= owned
        missing = self.known - owned
        self.touched |= missing
        self.unowned_now = len(missing) + max(0, self.total - len(self.known))

    def on_change(self, ev, before):
        if "owned" in before or "status" in before:
            self._update(ev["t"])

    def on_event(self, ev):
        if ev["type"] != "intervention":
            return
        if ev.get("action") == "add_partitions":
            self.total += int(ev.get("count") or 1)
        self._update(ev["t"])

    def metrics(self):
        if not self.settled:
            return {"unowned_partition_ms": None, "partitions_unowned": None}
        return {"unowned_partition_ms": self.unowned_ms + self.unowned_now * (self.t - self.since),
                "partitions_unowned": len(self.touched)}


OBSERVERS = {"raft": RaftObserver, "gossip": GossipObserver, "twophase": TwoPhaseObserver, "kafka": KafkaObserver}


def observer_for(scenario, node_ids):
    """The observer of a (normalised) scenario's protocol, or None if it has no experiment metrics."""
    cls = OBSERVERS.get(scenario["protocol"])
    if cls is None:
        return None
    if cls is GossipObserver:
        return cls(node_ids, interval=scenario["params"].get("interval"),
                   lockstep=bool(scenario["params"].get("lockstep")))
    if cls is KafkaObserver:
        params = scenario["params"]
        times = [iv["at"] for iv in scenario.get("interventions") or ()]
        return cls(node_ids, partitions=int(params.get("partitions", 1)) * int(params.get("topics", 1)),
                   measure_from=min(times) if times else 0)
    return cls(node_ids)
