"""Shrink a failing scenario to a small one that still violates the same invariant.

Each step proposes a smaller or simpler scenario and keeps it only if running it still ends in a violation of
the same invariant: end the run just past the violation, remove the hunt's interventions (delta debugging,
Zeller's ddmin), move each one as early as it still fails, undo the network and load settings the hunt added,
use fewer nodes, less client load. Rounds repeat until a round changes nothing. The interventions of the
starting scenario are kept as they are: the shrinking works on what the hunt added.
"""

import copy

from ..engine import Simulation
from ..errors import ScenarioError
from . import first_violation

MAX_ROUNDS = 4
EARLIER_PROBES = 6  # binary-search steps per intervention when moving it earlier


class Shrinker:
    def __init__(self, scenario, base_ivs, added, invariant, protocol, shrink_load=None):
        """`scenario` fails with `invariant`; its interventions are `base_ivs` (kept) and `added` (shrunk)."""
        self.invariant = invariant
        self.protocol = protocol
        self.base_ivs = list(base_ivs)
        self.added = list(added)
        self.frame = {k: v for k, v in scenario.items() if k != "interventions"}
        self.shrink_load = shrink_load or {}
        self.runs = 0
        self.violation = None

    # --- the predicate ---------------------------------------------------------------------
    def compose(self, added=None, frame=None):
        sc = copy.deepcopy(self.frame if frame is None else frame)
        ivs = self.base_ivs + list(self.added if added is None else added)
        ivs.sort(key=lambda iv: iv["at"])  # stable, as when the trial was built
        sc["interventions"] = ivs
        return sc

    def fails(self, scenario):
        self.runs += 1
        found = first_violation(scenario, self.invariant)
        if found is not None:
            self.violation = found
        return found is not None

    @property
    def scenario(self):
        return self.compose()

    def _event(self, step):
        return {"type": "shrink", "step": step, "interventions": len(self.base_ivs) + len(self.added),
                "duration": self.frame["duration"], "nodes": self.frame.get("nodes", self.protocol.nodes.default),
                "runs": self.runs}

    # --- the steps -------------------------------------------------------------------------
    def trim_duration(self):
        found = first_violation(self.compose(), self.invariant)
        self.runs += 1
        end = found["t"] + 1
        if end >= self.frame["duration"] and all(iv["at"] < end for iv in self.added):
            return False
        frame = dict(self.frame, duration=end)
        added = [iv for iv in self.added if iv["at"] < end]
        if self.fails(self.compose(added, frame)):
            self.frame, self.added = frame, added
            return True
        return False

    def remove(self):
        """ddmin over the added interventions: the smallest subset (1-minimal) that still fails."""
        items = list(self.added)
        before = len(items)
        if items and self.fails(self.compose([])):
            items = []
        n = 2
        while len(items) >= 2:
            size = -(-len(items) // n)
            parts = [items[i:i + size] for i in range(0, len(items), size)]
            for part in parts:
                if len(parts) > 1 and self.fails(self.compose(part)):
                    items, n = part, 2
                    break
            else:
                for i in range(len(parts)):
                    rest = [iv for j, p in enumerate(parts) if j != i for iv in p]
                    if self.fails(self.compose(rest)):
                        items, n = rest, max(n - 1, 2)
                        break
                else:
                    if n >= len(items):
                        break
                    n = min(len(items), 2 * n)
        self.added = items
        return len(items) < before

    def earlier(self):
        """Move each added intervention as early as it still fails (a bounded binary search on its time)."""
        changed = False
        for target in list(self.added):
            at = target["at"]
            if at == 0:
                continue
            moved, _ = self._with_time(target, 0)
            if self.fails(self.compose(moved)):
                self.added, changed = moved, True
                continue
            lo, hi = 0, at  # at lo it passes, at hi it fails
            for _ in range(EARLIER_PROBES):
                mid = (lo + hi) // 2
                if mid <= lo:
                    break
                moved, moved_target = self._with_time(target, mid)
                if self.fails(self.compose(moved)):
                    self.added, target, hi, changed = moved, moved_target, mid, True
                else:
                    lo = mid
        return changed

    def _with_time(self, target, at):
        """The added list with `target` (by identity) moved to `at`, re-sorted; and the moved copy."""
        copy_ = dict(target, at=at)
        moved = [copy_ if iv is target else iv for iv in self.added]
        moved.sort(key=lambda iv: iv["at"])
        return moved, copy_

    def simplify_frame(self, base_frame):
        """Undo the hunt's network and params settings, then try less load and fewer nodes."""
        changed = False
        for key in ("network", "params"):
            for name in sorted(self.frame.get(key, {})):
                if name not in base_frame.get(key, {}):
                    frame = dict(self.frame, **{key: {k: v for k, v in self.frame[key].items() if k != name}})
                    if not frame[key]:
                        del frame[key]
                    changed |= self._try_frame(frame)
        for name, (kind, values) in self.shrink_load.items():
            current = self.frame.get("params", {}).get(name, self.protocol.params[name].default)
            for value in values:  # the lightest first: keep the first that still fails
                if _lighter(kind, value, current) and self._try_frame(
                        dict(self.frame, params=dict(self.frame.get("params", {}), **{name: value}))):
                    changed = True
                    break
        changed |= self.fewer_nodes()
        return changed

    def fewer_nodes(self):
        """The fewest nodes that still fail; the nodes the interventions name are renamed to the lowest free
        ids of the same role (n15 -> n3 in a 4-node cluster), since a smaller cluster has no n15."""
        nodes = self.frame.get("nodes", self.protocol.nodes.default)
        for n in range(self.protocol.nodes.min, nodes):
            frame = dict(self.frame, nodes=n)
            try:
                ids = Simulation(dict(frame, interventions=[], duration=1)).node_ids
            except ScenarioError:
                continue
            renamed = _renamed(self.base_ivs + self.added, ids)
            if renamed is None or any(nid in renamed for iv in self.base_ivs for nid in _named(iv)):
                continue  # no room for every role, or the starting scenario's interventions would change
            added = [_rename(iv, renamed) for iv in self.added]
            if self.fails(self.compose(added, frame)):
                self.frame, self.added = frame, added
                return True
        return False

    def _try_frame(self, frame):
        if self.fails(self.compose(frame=frame)):
            self.frame = frame
            return True
        return False

    def steps(self, base_frame):
        """Generator of `shrink` events; `self.scenario` is the smallest failing scenario so far."""
        if self.trim_duration():
            yield self._event("duration")
        for _ in range(MAX_ROUNDS):
            progress = False
            for name, step in (("remove", self.remove), ("earlier", self.earlier),
                               ("simplify", lambda: self.simplify_frame(base_frame)),
                               ("duration", self.trim_duration)):
                if step():
                    progress = True
                    yield self._event(name)
            if not progress:
                break


def _lighter(kind, value, current):
    """Is `value` less load than `current`? "interval": ms between requests (0: none); "amount": a count."""
    if kind == "interval":
        return current != 0 and (value == 0 or value > current)
    return value < current


NODE_FIELDS = ("node", "a", "b")


def _named(iv):
    """The node ids an intervention names (selectors such as `leader` too: they are never renamed)."""
    out = [iv[f] for f in NODE_FIELDS if isinstance(iv.get(f), str)]
    for group in iv.get("groups", ()):
        out.extend(group)
    return out


def _renamed(ivs, ids):
    """old id -> new id for each named id missing from `ids`: the lowest unused id of its role (its letters:
    n, a, p, c...); None if a role has too few ids left."""
    named = list(dict.fromkeys(nid for iv in ivs for nid in _named(iv)))
    present = set(ids)
    free = [nid for nid in ids if nid not in named]
    mapping = {}
    for nid in named:
        if nid in present or not nid[-1:].isdigit():
            continue  # an id of the smaller cluster too, or a selector
        role = nid.rstrip("0123456789")
        spare = [f for f in free if f.rstrip("0123456789") == role and f not in mapping.values()]
        if not spare:
            return None
        mapping[nid] = spare[0]
    return mapping


def _rename(iv, mapping):
    out = dict(iv)
    for f in NODE_FIELDS:
        if isinstance(out.get(f), str):
            out[f] = mapping.get(out[f], out[f])
    if "groups" in out:
        out["groups"] = [[mapping.get(n, n) for n in group] for group in out["groups"]]
    return out
