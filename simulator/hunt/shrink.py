"""Shrink a failing scenario to a small one that still violates the same invariant.

Each step proposes a smaller or simpler scenario and keeps it only if running it still ends in a violation of
the same invariant: end the run just past the violation, remove the hunt's interventions (delta debugging,
Zeller's ddmin), move each one as early as it still fails, undo the network and load settings the hunt added,
use fewer nodes, less client load. Rounds repeat until a round changes nothing. The interventions of the
starting scenario are kept as they are: the shrinking works on what the hunt added.
"""

import copy
import random

from ..engine import Simulation
from ..errors import ScenarioError
from . import first_violation

MAX_ROUNDS = 4
SIMPLEST_TRIES = 128  # reactive trials in the simplest setting tried before shrinking a reactive failure
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
        before = len(self.added)
        self.added = ddmin(self.added, lambda items: self.fails(self.compose(items)))
        return len(self.added) < before

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


def ddmin(items, fails):
    """Zeller's delta debugging: the smallest sublist of `items` (1-minimal) for which `fails(sublist)` holds,
    given that it holds for `items`. Halves, then quarters..., then one at a time."""
    items = list(items)
    if items and fails([]):
        return []
    n = 2
    while len(items) >= 2:
        size = -(-len(items) // n)
        parts = [items[i:i + size] for i in range(0, len(items), size)]
        for part in parts:
            if len(parts) > 1 and fails(part):
                items, n = part, 2
                break
        else:
            for i in range(len(parts)):
                rest = [x for j, p in enumerate(parts) if j != i for x in p]
                if fails(rest):
                    items, n = rest, max(n - 1, 2)
                    break
            else:
                if n >= len(items):
                    break
                n = min(len(items), 2 * n)
    return items


class ReactiveShrinker:
    """Shrinks a reactive trial (reactive.py) in its own terms before it becomes a static schedule.

    A static schedule found by reacting is brittle: remove one intervention and the next election goes to
    another server, so every later intervention names the wrong node at the wrong time, and static shrinking
    gets stuck at a dozen. Here the reactions still follow the run: first it searches again in the simplest
    setting (`simplest`), then it removes the trial's drawn interventions (ddmin), drops reactions by number
    (ddmin over the ones kept; the others still answer whatever the run then does), undoes the trial's network
    and load settings and tries fewer nodes. `changes` is a reactive trial's changes (with `react`);
    `self.changes` ends as an ordinary one (no `react`) that fails the same way.
    """

    def __init__(self, base, changes, duration, invariant, protocol, vocabulary_for):
        self.base = base
        self.changes = copy.deepcopy(changes)
        self.duration = duration
        self.invariant = invariant
        self.protocol = protocol
        self.vocabulary_for = vocabulary_for
        self.keep = None  # reaction numbers kept (None: all)
        self.runs = 0
        self.chosen = []

    def _run(self, changes, keep, base=None):
        from . import apply_changes
        from .reactive import run_reactive

        base = self.base if base is None else base
        scenario = apply_changes(base, changes, self.duration)
        try:
            sim = Simulation(dict(scenario, interventions=[], duration=1))
        except ScenarioError:
            return None, [], 0
        vocab = self.vocabulary_for(self.protocol, sim.node_ids, sim.params)
        skip = () if keep is None else set(range(vocab.max_reactions)) - set(keep)
        self.runs += 1
        return run_reactive(scenario, changes["react"], vocab, self.invariant, skip, changes.get("lean", False))

    def _fails(self, changes, keep, base=None):
        found, chosen, planned = self._run(changes, keep, base)
        if found is not None:
            self.chosen, self.planned = chosen, planned
        return found is not None

    def _event(self, step):
        size = len(self.changes["interventions"]) + len(self.chosen)
        return {"type": "shrink", "step": step, "interventions": size, "duration": self.duration,
                "nodes": self.base.get("nodes", self.protocol.nodes.default), "runs": self.runs}

    def steps(self, base_frame):
        if not self._fails(self.changes, None):
            return  # cannot happen: the trial failed; leave it as it is
        if self.simplest(SIMPLEST_TRIES):
            yield self._event("simplest")
        for _ in range(MAX_ROUNDS):
            progress = False
            before = len(self.changes["interventions"])
            self.changes["interventions"] = ddmin(self.changes["interventions"], lambda ivs: self._fails(
                dict(self.changes, interventions=ivs), self.keep))
            if len(self.changes["interventions"]) < before:
                progress = True
                yield self._event("remove")
            kept = list(range(self.planned)) if self.keep is None else self.keep
            smaller = ddmin(kept, lambda keep: self._fails(self.changes, keep))
            if len(smaller) < len(kept):
                self.keep, progress = smaller, True
                yield self._event("reactions")
            if self._simplify(base_frame):
                progress = True
                yield self._event("simplify")
            if not progress:
                break
        self._fails(self.changes, self.keep)  # the chosen interventions of the final run
        static = dict(self.changes, interventions=sorted(self.changes["interventions"] + self.chosen,
                                                         key=lambda iv: iv["at"]))
        del static["react"]
        static.pop("lean", None)
        self.changes = static

    def _simplify(self, base_frame):
        """Undo the trial's own network and params settings; then fewer nodes (when no drawn intervention
        names one)."""
        changed = False
        for key in ("network", "params"):
            for name in sorted(self.changes[key]):
                if name in base_frame.get(key, {}):
                    continue
                trial = dict(self.changes, **{key: {k: v for k, v in self.changes[key].items() if k != name}})
                if self._fails(trial, self.keep):
                    self.changes, changed = trial, True
        if self.changes["interventions"] or self.base.get("interventions"):
            return changed
        nodes = self.base.get("nodes", self.protocol.nodes.default)
        for n in range(self.protocol.nodes.min, nodes):
            base = dict(self.base, nodes=n)
            for keep in ([self.keep, None] if self.keep is not None else [None]):  # else all reactions again
                if self._fails(self.changes, keep, base):
                    self.base, self.keep = base, keep
                    return True
        return changed

    def simplest(self, tries):
        """Search again where counterexamples are simplest: the fewest nodes, none of the trial's drawn
        interventions, network or load settings, reactions only (half of them lean: one intervention per
        reaction); `tries` seeded runs (as Hypothesis tries simpler examples first). Adopts, of those that
        fail the same way, the one that chose the fewest interventions."""
        if self.base.get("interventions"):
            return False  # the starting scenario's interventions name its nodes: keep them as they are
        base = dict(self.base, nodes=self.protocol.nodes.min)
        best = None
        for j in range(tries):
            rng = random.Random(f"simplest:{self.changes['react']}:{j}")
            changes = {"seed": self.changes["seed"] if j % 2 == 0 else rng.randrange(2**31), "params": {},
                       "network": {}, "interventions": [], "react": rng.randrange(2**31), "lean": j % 4 < 2}
            found, chosen, _ = self._run(changes, None, base)
            if found is not None and (best is None or len(chosen) < best[0]):
                best = (len(chosen), changes)
        if best is None or not self._fails(best[1], None, base):
            return False
        self.base, self.changes, self.keep = base, best[1], None
        return True


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
