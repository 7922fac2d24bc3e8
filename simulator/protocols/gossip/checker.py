"""Gossip's invariant checker and figures (a part of the Gossip object: spec.Gossip inherits it): how far each
rumour version has spread and when, the residue, and SWIM's suspicions, deaths and detection times."""

from ..base import Checker, invariant
from .nodes import ALIVE, DEAD, SUSPECT, SWIM


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


class GossipChecker(Checker):
    def setup_checker(self):
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

    def register_rumor(self, rid, counter, origin, value, node):
        """A rumour version starts at `node` (the `rumor` action, or the initial rumour): track its spread."""
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

    @invariant("informed_never_reverts", "a node that has learned a rumour never loses it (the store survives "
                                         "crashes)")
    @invariant("versions_monotonic", "a node never replaces a newer version of a rumour with an older one")
    @invariant("rumor_integrity", "every copy of a rumour version carries the value it was started with")
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
        step = self.ctx.params.interval
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

    @invariant("refute_before_death", "SWIM: a live member that has heard it is suspected refutes (raises its "
                                      "incarnation) before anyone can declare it dead at that incarnation")
    @invariant("incarnation_genuine", "SWIM: only a member raises its own incarnation: nobody believes a higher one "
                                      "than it has announced")
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
        if self.ctx.params.mode != SWIM:
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
        cfg = self.ctx.params
        sent = self.ctx.metrics.sent
        out = {"mode": cfg.mode, "messages": sum(sent.values()), "messages_by_kind": dict(sent)}
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
            "rounds_to_full_spread": -(-full // self.ctx.params.interval) if full is not None else None,
            "residue": residue, "residue_fraction": round(residue / n, 4),
            "series": [[t, round(c / n, 4)] for t, c in u.series],
        }
