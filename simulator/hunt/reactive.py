"""State-directed trials: faults chosen from what the run shows, as it runs.

A schedule drawn before the run cannot say "crash the node that just became leader" or "restart *the* first
leader": it does not know who that will be. A reactive trial runs the simulation in short slices, reads the
state and intervention events of each slice and lets the protocol's vocabulary answer some of them with
interventions a few milliseconds later (`Vocabulary.react`). Those are ordinary interventions, applied with
`Simulation.intervene` at whole milliseconds, so the run's record (the scenario's interventions plus the ones
it chose) replays exactly: a failure is reported as that static schedule. Every choice comes from the trial's
own `random.Random`, so a trial is as deterministic as a static one.
"""

import heapq
import random

from ..engine import Simulation
from ..errors import InterventionError, ScenarioError

STEP_MS = 2  # how often the run is looked at: a reaction lands at most this late after what it answers
QUIET_STEP_MS = 200  # once it has planned all the reactions it may: only violations are looked for


def run_reactive(scenario, react_seed, vocab, invariant=None, skip=(), lean=False):
    """Run `scenario`, reacting to its state events; return (first violation or None, interventions chosen,
    how many reactions it planned).

    The chosen interventions carry their `at`, never a time of one of the scenario's own interventions (so the
    order within a millisecond cannot differ on replay); at most `vocab.max_reactions` are planned. Reactions
    are numbered in the order they are planned; those numbered in `skip` are dropped (shrinking: the others
    still answer whatever the run then does). `lean`: the vocabulary prefers reactions of one intervention.
    """
    try:
        sim = Simulation(scenario)
    except ScenarioError:
        return None, [], 0
    rng = random.Random(f"react:{react_seed}")
    taken = {iv["at"] for iv in sim.scenario["interventions"]}
    end = sim.duration
    late = max(1, end * 4 // 5)
    watch = vocab.reaction_watch(sim.node_ids)
    watch["lean"] = lean
    pending = []  # heap of (at, order, intervention)
    chosen = []
    order = 0  # reactions planned so far
    t = 0
    while t < end:
        step = STEP_MS if order < vocab.max_reactions else QUIET_STEP_MS
        nxt = min(end, t + step, pending[0][0] if pending else end)
        sim.advance(nxt)
        t = nxt
        while pending and pending[0][0] <= t:
            iv = heapq.heappop(pending)[2]
            try:
                chosen.append(sim.intervene(iv))
            except InterventionError:
                pass  # e.g. a crash of a node already down: nothing happened, nothing to record
        events = sim.drain()
        found = first_of(sim.violations, invariant)
        if found is not None:
            return found, chosen, order
        if order >= vocab.max_reactions:
            continue
        for ev in events:
            if ev["type"] not in ("state", "intervention"):
                continue
            for delay, iv in vocab.react(rng, ev, watch) or ():
                at = max(t + (1 if sim.steps_at_now else 0), ev["t"] + delay)
                while at in taken:
                    at += 1
                if at <= late:
                    order += 1
                    if order - 1 not in skip:
                        heapq.heappush(pending, (at, order, dict(iv)))
    return first_of(sim.violations, invariant), chosen, order


def first_of(violations, invariant=None):
    """The first of `violations` (of `invariant`, if given) as {"t", "invariant", "details"}, or None."""
    for v in violations:
        if invariant is None or v["invariant"] == invariant:
            return {"t": v["t"], "invariant": v["invariant"], "details": v["details"]}
    return None
