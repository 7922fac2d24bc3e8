"""Random fault schedules for a hunt, one vocabulary per protocol.

A trial is the starting scenario plus a schedule drawn here from a seeded `random.Random`: the shared faults
(crash and restart, pause and resume, cuts, partitions, lossy or slow links, clock drift, network-wide loss
and duplication) and the protocol's own actions and client load. Like `simulator.chaos`, but weighted toward
what breaks protocols: most faults land just after a moment the baseline run marks as *hot* (a state change
of an election, a commit, a decision, a rebalance), and a crash or a pause usually comes with its restart or
resume, so the node is back to cause trouble.
"""

from ..chaos import COMMON_WEIGHTS, raft_actions

FAULT_WEIGHTS = dict(COMMON_WEIGHTS, crash=5, pause=3, restart=1, resume=1, crash_group=2)
HOT_SHARE = 0.65  # share of interventions placed just after a hot moment of the baseline run


class Vocabulary:
    """What a hunt may do to one protocol. Subclasses set the class attributes and `action`."""

    horizon = 5000  # simulated ms of one trial (unless the caller sets a duration)
    window = 60  # a hot fault lands 0..window ms after its hot moment
    hot_keys = ()  # state-change keys whose changes are hot moments
    action_weight = 4  # weight of the protocol's own actions against FAULT_WEIGHTS' total (24)
    load = {}  # param -> values a trial may set when the starting scenario leaves it at its default
    shrink_load = {}  # param -> ("interval" or "amount", lighter values to try while shrinking, lightest first)
    reactive_share = 0.0  # share of trials that also choose faults from the run's state (reactive.py)
    max_reactions = 0  # interventions a reactive trial may choose

    def __init__(self, protocol, ids, params):
        self.protocol = protocol
        self.ids = list(ids)
        self.params = params
        self.selectors = list(protocol.selectors)

    def action(self, rng):
        """One of the protocol's own actions (without `at`), or a list of (delay ms, action) for a short
        sequence; None if it has none."""
        return None

    def reaction_watch(self, ids):
        """What `react` keeps track of during one reactive trial (a fresh dict per trial)."""
        return {}

    def react(self, rng, event, watch):
        """Interventions (without `at`) answering one state event, as [(ms after the event, intervention)]."""
        return None


class RaftVocabulary(Vocabulary):
    window = 40
    hot_keys = ("role", "leader", "commit")
    action_weight = 10
    load = {"client_interval": [0, 30, 50, 100]}
    shrink_load = {"client_interval": ("interval", [0, 400, 200, 100])}

    def __init__(self, protocol, ids, params):
        super().__init__(protocol, ids, params)
        # room for four elections one after another (Figure 8 takes that many)
        self.horizon = max(self.horizon, 6 * params.get("election_timeout_max", 300))

    def action(self, rng):
        kind = rng.choices(("one", "minority_write", "write_then_crash", "restart_all"), (6, 2, 2, 1))[0]
        if kind == "one":
            return raft_actions(rng, self.ids)
        value = f"c{rng.randrange(1000)}"
        if kind == "minority_write":  # the leader, cut off with at most one follower, takes a write
            group = ["leader"] + ([rng.choice(self.ids)] if rng.random() < 0.6 else [])
            return [(0, {"action": "partition", "groups": [group]}),
                    (rng.randint(1, 20), {"action": "client_request", "node": "leader", "value": value})]
        if kind == "write_then_crash":  # the leader takes a write and crashes before it is replicated
            return [(0, {"action": "client_request", "node": "leader", "value": value}),
                    (rng.randint(0, 15), {"action": "crash", "node": "leader"})]
        return [(0, {"action": "heal_all"})] + [(0, {"action": "restart", "node": nid}) for nid in self.ids]

    # Reactive trials aim at what schedules drawn in advance rarely hit, naming nodes by what happened to them:
    # a new leader is cut off alone (before its no-op reaches anyone), or takes a write that reaches one
    # follower at most and crashes; or it is cut off or crashes as soon as its commit index moves; when a
    # leader crashes, a server crashed earlier comes back and campaigns at once, or another server does.
    # Figure 8 is three such leaders in a row.
    reactive_share = 0.5
    max_reactions = 24
    LEADER_MOVES = ("none", "cut_off", "isolated_write", "alone_write", "write_then_crash", "crash",
                    "crash_on_commit", "cut_off_on_commit")
    LEADER_WEIGHTS = (2, 4, 2, 2, 2, 2, 2, 3)
    LEAN_WEIGHTS = (1, 4, 0, 0, 0, 1, 1, 3)  # one intervention each (a lean trial, while shrinking)

    def reaction_watch(self, ids):
        return {"role": {}, "down": [], "armed": {}}

    def react(self, rng, event, watch):
        node = event.get("node")
        if event["type"] == "intervention":
            if event["action"] == "crash":
                return self._on_crash(rng, node, watch)
            if event["action"] == "restart" and node in watch["down"]:
                watch["down"].remove(node)
            return None
        changes = event["changes"]
        if "role" in changes:
            watch["role"][node] = changes["role"]
            if changes["role"] == "leader":
                return self._on_leader(rng, node, watch)
        if "commit" in changes and node in watch["armed"] and watch["role"].get(node) == "leader":
            return [(rng.choice([0, 1, 3]), self._fault(watch["armed"].pop(node), node))]
        return None

    @staticmethod
    def _fault(kind, node):
        if kind == "cut_off":  # alone in a partition (it stays up, and leader of nobody)
            return {"action": "partition", "groups": [[node]]}
        return {"action": "crash", "node": node}

    def _on_leader(self, rng, node, watch):
        kind = rng.choices(self.LEADER_MOVES, self.LEAN_WEIGHTS if watch["lean"] else self.LEADER_WEIGHTS)[0]
        if kind == "none":
            return None
        if kind.endswith("_on_commit"):  # as soon as its commit index moves
            watch["armed"][node] = kind[:-len("_on_commit")]
            return None
        if kind == "cut_off":  # before its first append (a no-op) reaches anyone, or just after
            return [(rng.choice([0, 1, 3]), self._fault(kind, node))]
        if kind == "crash":
            return [(rng.choice([0, 1, 3, 10, 30, 100, 300]), self._fault(kind, node))]
        write = {"action": "client_request", "node": node, "value": f"c{rng.randrange(1000)}"}
        if kind == "write_then_crash":  # crashes before the write reaches anyone, or soon after
            at = rng.choice([0, 1, 5, 20])
            return [(at, write), (at + rng.randint(0, 15), {"action": "crash", "node": node})]
        group = [node]
        if kind == "isolated_write":  # with one follower
            group.append(rng.choice([i for i in self.ids if i != node]))
        at = rng.randint(1, 10)
        crash = at + rng.choice([15, 30, 60, 150])
        return [(0, {"action": "partition", "groups": [sorted(group, key=self.ids.index)]}), (at, write),
                (crash, {"action": "crash", "node": node}), (crash, {"action": "heal_all"})]

    def _on_crash(self, rng, node, watch):
        down = watch["down"]
        earlier = [i for i in down if i != node]
        if node not in down:
            down.append(node)
        if earlier and rng.random() < 0.7:  # one crashed before comes back and campaigns at once
            back = rng.choice(earlier)
            at = rng.choice([20, 100, 300])
            campaign = {"action": "timeout", "node": back}
            return [(at, {"action": "restart", "node": back})] + ([] if watch["lean"] else
                                                                 [(at + rng.choice([1, 5]), campaign)])
        out = []
        if rng.random() < 0.8 and not watch["lean"]:  # another server campaigns right away
            up = [i for i in self.ids if i not in down]
            if up:
                out.append((rng.choice([1, 10, 50]), {"action": "timeout", "node": rng.choice(up)}))
        if rng.random() < 0.5:  # and this one comes back later
            out.append((rng.choice([300, 1500]), {"action": "restart", "node": node}))
        return out


class PaxosVocabulary(Vocabulary):
    horizon = 4000
    window = 40
    hot_keys = ("phase", "leader", "proposal", "accepts", "learned", "chosen")
    action_weight = 8
    shrink_load = {"client_interval": ("interval", [0, 4000, 2000, 1000])}

    def action(self, rng):
        proposers = [i for i in self.ids if i.startswith("p")]
        node = "leader" if self.params.get("multi") and rng.random() < 0.5 else rng.choice(proposers)
        return {"action": "propose", "node": node, "value": rng.choice("ABCDEFGH")}


class TwoPhaseVocabulary(Vocabulary):
    horizon = 8000
    window = 30
    hot_keys = ("txs",)
    action_weight = 10
    shrink_load = {"begin_interval": ("interval", [0, 8000, 4000])}
    COORDINATOR_POINTS = ("after_votes", "after_decision_logged", "after_first_decision_sent")

    def action(self, rng):
        participants = [i for i in self.ids if i != "coord"]
        kind = rng.choices(("begin", "abort", "arm_crash"), (4, 1, 4))[0]
        if kind == "begin":
            return {"action": "begin", "votes": {p: "no" for p in participants if rng.random() < 0.15}}
        if kind == "abort":
            return {"action": "abort", "node": rng.choice(self.ids)}
        if rng.random() < 0.6:
            return {"action": "arm_crash", "node": "coordinator", "point": rng.choice(self.COORDINATOR_POINTS)}
        return {"action": "arm_crash", "node": rng.choice(participants), "point": "after_vote"}


class GossipVocabulary(Vocabulary):
    horizon = 8000
    window = 100
    hot_keys = ("store", "members", "suspects", "incarnation")
    action_weight = 6

    def action(self, rng):
        return {"action": "rumor", "node": rng.choice(self.ids), "id": rng.choice(["", "r1", "r1", "r2"])}


class KafkaVocabulary(Vocabulary):
    horizon = 20000
    window = 150
    hot_keys = ("generation", "assignment", "owned", "revoking", "phase")
    action_weight = 12
    shrink_load = {"produce_rate": ("amount", [0, 1, 5]), "partitions": ("amount", [1, 2, 3])}

    def consumers(self):
        return [i for i in self.ids if i.startswith("c")]

    def action(self, rng):
        kind = rng.choices(("add_consumer", "remove_consumer", "stall", "add_partitions"), (4, 3, 4, 1))[0]
        if kind == "add_consumer":
            return {"action": "add_consumer", "node": "next" if rng.random() < 0.5 else rng.choice(self.consumers())}
        if kind == "remove_consumer":
            return {"action": "remove_consumer", "node": "last" if rng.random() < 0.4 else rng.choice(self.consumers())}
        if kind == "stall":
            return {"action": "stall", "node": rng.choice(self.consumers()),
                    "duration": rng.choice([2000, 5000, 12000])}
        return {"action": "add_partitions", "topic": "t0", "count": 1}


VOCABULARIES = {"raft": RaftVocabulary, "paxos": PaxosVocabulary, "twophase": TwoPhaseVocabulary,
                "gossip": GossipVocabulary, "kafka": KafkaVocabulary}


def vocabulary_for(protocol, ids, params):
    return VOCABULARIES.get(protocol.name, Vocabulary)(protocol, ids, params)


def hot_moments(events, hot_keys):
    """Sorted distinct times of `state` events that change one of `hot_keys` (the baseline's critical moments)."""
    times = {ev["t"] for ev in events if ev["type"] == "state" and any(k in ev.get("changes", ()) for k in hot_keys)}
    return sorted(times)


def draw_trial(rng, vocab, horizon, hot, base_params, network):
    """One trial's changes: {"seed_offset", "params", "network", "interventions"} drawn from `rng`."""
    changes = {"params": {}, "network": {}, "interventions": []}
    for name, values in vocab.load.items():
        if name not in base_params:
            changes["params"][name] = rng.choice(values)
    if not network.get("duplicate") and rng.random() < 0.15:
        changes["network"]["duplicate"] = rng.choice([0.05, 0.2, 0.5])
    if not network.get("loss") and rng.random() < 0.15:
        changes["network"]["loss"] = rng.choice([0.05, 0.1, 0.3])
    names = list(FAULT_WEIGHTS)
    weights = [FAULT_WEIGHTS[n] for n in names]
    names.append("action")
    weights.append(vocab.action_weight)
    late = max(1, horizon * 4 // 5)  # leave the last fifth for the consequences to show
    out = changes["interventions"]
    for _ in range(rng.randint(1, 12)):
        if hot and rng.random() < HOT_SHARE:
            at = min(late, rng.choice(hot) + rng.randint(0, vocab.window))
        else:
            at = rng.randint(0, late)
        kind = rng.choices(names, weights)[0]
        if kind == "action":
            got = vocab.action(rng)
            if isinstance(got, dict):
                out.append(dict(got, at=at))
            elif got is not None:
                out.extend(dict(iv, at=min(late, at + delay)) for delay, iv in got)
            continue
        out.extend(_fault(rng, kind, at, vocab, late))
    out.sort(key=lambda iv: iv["at"])
    return changes


def _fault(rng, kind, at, vocab, late):
    ids = vocab.ids
    if kind in ("crash", "pause"):
        selectors = [s for s in vocab.selectors if s in ("leader", "coordinator")]
        node = rng.choice(selectors) if selectors and rng.random() < 0.35 else rng.choice(ids)
        first = {"at": at, "action": kind, "node": node}
        if rng.random() < 0.25:
            return [first]
        back = "restart" if kind == "crash" else "resume"
        # a selector names whoever holds the role when it applies: bring back a concrete node instead
        target = node if node in ids else rng.choice(ids)
        # from a blip to a third of the run: long enough to pass a session or election timeout
        later = min(late, at + rng.choice([1, 20, 100, 300, 1000, 3000, late // 3]))
        return [first, {"at": max(at, later), "action": back, "node": target}]
    if kind == "crash_group":
        return _crash_group(rng, at, ids, late)
    if kind in ("restart", "resume", "set_drift"):
        if kind == "set_drift":
            return [{"at": at, "action": "set_drift", "node": rng.choice(ids),
                     "factor": rng.choice([0.5, 0.8, 1.25, 2.0, 4.0])}]
        return [{"at": at, "action": kind, "node": rng.choice(ids)}]
    if kind in ("cut", "heal"):
        a, b = rng.sample(ids, 2)
        return [{"at": at, "action": kind, "a": a, "b": b, "oneway": rng.random() < 0.3}]
    if kind == "partition":
        shuffled = ids[:]
        rng.shuffle(shuffled)
        k = rng.randint(1, max(1, len(ids) // 2))
        out = [{"at": at, "action": "partition", "groups": [sorted(shuffled[:k], key=ids.index)]}]
        if rng.random() < 0.6:
            out.append({"at": min(late, at + rng.choice([100, 500, 1500])), "action": "heal_all"})
        return out
    if kind == "heal_all":
        return [{"at": at, "action": "heal_all"}]
    if kind == "set_link":
        a, b = rng.sample(ids, 2)
        iv = {"at": at, "action": "set_link", "a": a, "b": b}
        if rng.random() < 0.6:
            lo = rng.randint(0, 200)
            iv["latency"] = [lo, lo + rng.randint(0, 400)]
        if "latency" not in iv or rng.random() < 0.5:
            iv["loss"] = rng.choice([0.1, 0.3, 0.5, 1.0])
        return [iv]
    raise ValueError(kind)


def _crash_group(rng, at, ids, late):
    """A correlated failure: a majority of one role (ids sharing a prefix: Paxos's a1..a5, Raft's n1..n5)
    crashes at once and restarts together a little later (a rack losing power)."""
    roles = {}
    for nid in ids:
        roles.setdefault(nid.rstrip("0123456789"), []).append(nid)
    group = roles[rng.choice(sorted(roles))]
    victims = sorted(rng.sample(group, len(group) // 2 + 1), key=ids.index)
    back = min(late, at + rng.choice([1, 50, 200, 800]))
    return ([{"at": at, "action": "crash", "node": v} for v in victims]
            + [{"at": max(at, back), "action": "restart", "node": v} for v in victims])
