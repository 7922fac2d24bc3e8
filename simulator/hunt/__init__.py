"""Hunt for a counterexample: seeded random fault schedules until one breaks an invariant, then shrink it.

`iter_hunt(scenario, budget=..., seed=..., workers=...)` yields JSON-ready events: `progress` lines as
trials finish, `shrink` lines as the first failure gets smaller, then one final `hunt` line whose
`scenario` is an ordinary scenario that shows the violation when run. Trial `i` of a hunt is drawn from its
own stream (`hunt:<seed>:<i>`), and the first failure is the lowest-numbered failing trial, so the result is
the same whatever the number of workers or the order in which they finish. Some trials (Raft's) also choose
faults from the run's state as it goes (reactive.py); they are reported as the ordinary schedule they amount
to. See docs/hunt.md.
"""

import copy
import json
import random

from ..engine import Simulation
from ..errors import PlaygroundError, ScenarioError
from ..protocols import get_protocol
from ..scenario import DURATION, normalize_scenario
from .reactive import first_of, run_reactive
from .schedules import draw_trial, hot_moments, vocabulary_for

DEFAULT_BUDGET = 2000
MAX_BUDGET = 1_000_000
MAX_WORKERS = 64
CHUNK = 16  # trials per task: one Dask task costs ~1.7 ms, a short trial ~5-50 ms
SLICE_MS = 200  # a trial checks for a violation this often and stops at the first one


class HuntError(PlaygroundError):
    """A hunt's own settings (budget, workers) are out of range."""

    code = "invalid_hunt"


def make_plan(scenario, seed=1, duration=None):
    """Everything a worker needs to draw and run trials: a small, picklable dict.

    Raises ScenarioError for a scenario that does not validate (before any trial runs).
    """
    if not isinstance(scenario, dict):
        raise ScenarioError("scenario: must be a JSON object")
    normal = normalize_scenario(scenario)
    protocol = get_protocol(normal["protocol"])
    base = {k: copy.deepcopy(v) for k, v in scenario.items() if k not in ("title", "description", "layout")}
    ids = Simulation(dict(normal, interventions=[], duration=1)).node_ids
    vocab = vocabulary_for(protocol, ids, normal["params"])
    if duration is None:
        last = max((iv["at"] for iv in normal["interventions"]), default=0)
        duration = min(DURATION.max, max(vocab.horizon, last + 1000))
    else:
        duration = DURATION.check(duration, "duration")
    baseline = Simulation(dict(base, duration=duration))
    baseline.advance(duration)
    hot = hot_moments(baseline.drain(), vocab.hot_keys)
    return {"base": base, "normal": normal, "ids": ids, "duration": duration, "seed": seed, "hot": hot,
            "baseline_violation": first_of(baseline.violations)}


def trial_changes(plan, index):
    """Trial `index`'s seed and changes, drawn from its own stream (independent of every other trial)."""
    rng = random.Random(f"hunt:{plan['seed']}:{index}")
    normal = plan["normal"]
    vocab = vocabulary_for(get_protocol(normal["protocol"]), plan["ids"], normal["params"])
    sim_seed = normal["seed"] if rng.random() < 0.5 else rng.randrange(2**31)
    changes = draw_trial(rng, vocab, plan["duration"], plan["hot"], plan["base"].get("params", {}),
                         normal["network"])
    changes["seed"] = sim_seed
    if vocab.reactive_share:
        # its own stream: adding reactive trials to a protocol changes none of its static draws
        react = random.Random(f"hunt:{plan['seed']}:{index}:react")
        if react.random() < vocab.reactive_share:
            changes["react"] = react.randrange(2**31)
            if react.random() < 0.5:
                changes["interventions"] = []  # only what it reacts with: Figure 8 wants a quiet cluster
    return changes


def run_trial(plan, changes):
    """Run one trial; its first violation or None. A failing reactive trial's `changes` get `chosen`, the
    interventions it chose: with them, `as_static(changes)` is an ordinary schedule that replays the run."""
    scenario = apply_changes(plan["base"], changes, plan["duration"])
    if "react" not in changes:
        return first_violation(scenario)
    normal = plan["normal"]
    vocab = vocabulary_for(get_protocol(normal["protocol"]), plan["ids"], normal["params"])
    found, chosen, _ = run_reactive(scenario, changes["react"], vocab)
    if found is None:
        return None
    changes["chosen"] = chosen
    replayed = first_violation(apply_changes(plan["base"], as_static(changes), plan["duration"]), found["invariant"])
    # None cannot happen while intervene() and scripted interventions agree; never report such a trial
    return replayed


def as_static(changes):
    """A failing trial's changes as an ordinary schedule: a reactive trial's chosen interventions join the
    drawn ones (never at the same millisecond as one of those: reactive.py)."""
    if "react" not in changes:
        return changes
    static = {k: v for k, v in changes.items() if k not in ("react", "chosen")}
    static["interventions"] = sorted(changes["interventions"] + changes["chosen"], key=lambda iv: iv["at"])
    return static


def apply_changes(base, changes, duration):
    """The scenario of a trial: `base` with the trial's seed, params, network settings and interventions."""
    sc = copy.deepcopy(base)
    sc["seed"] = changes["seed"]
    sc["duration"] = duration
    if changes["params"]:
        sc["params"] = dict(sc.get("params", {}), **changes["params"])
    if changes["network"]:
        sc["network"] = dict(sc.get("network", {}), **changes["network"])
    ivs = list(sc.get("interventions", [])) + changes["interventions"]
    ivs.sort(key=lambda iv: iv["at"])  # stable: the starting scenario's come first at equal times
    sc["interventions"] = ivs
    return sc


def first_violation(scenario, invariant=None):
    """Run `scenario`; the first violation event (of `invariant`, if given), or None. Stops at it.

    A scenario that does not validate (a shrink step removed a node it names) counts as no violation.
    """
    try:
        sim = Simulation(scenario)
    except ScenarioError:
        return None
    t = 0
    end = sim.duration
    while t < end:
        t = min(end, t + SLICE_MS)
        sim.advance(t)
        sim.drain()  # nothing is kept: a trial only needs its violations
        found = first_of(sim.violations, invariant)
        if found is not None:
            return found
    return None


def run_trials(plan, start, stop):
    """Trials start..stop-1 in order, stopping at the first failure: {"start", "tried", "failure"}."""
    for index in range(start, stop):
        changes = trial_changes(plan, index)
        found = run_trial(plan, changes)
        if found is not None:
            return {"start": start, "tried": index - start + 1,
                    "failure": {"index": index, "changes": changes, "violation": found}}
    return {"start": start, "tried": stop - start, "failure": None}


def iter_hunt(scenario, budget=DEFAULT_BUDGET, seed=1, workers=None, duration=None, shrink=True, client=None):
    """Generator of hunt events (dicts); the last is {"type": "hunt", ...}. Closing it cancels the work.

    `workers`: worker processes (1: in this process); `client`: a Dask client to use instead (compute.py).
    """
    from ..compute import ordered_map
    from .shrink import ReactiveShrinker, Shrinker

    if not isinstance(budget, int) or isinstance(budget, bool) or not 1 <= budget <= MAX_BUDGET:
        raise HuntError(f"budget: must be an integer between 1 and {MAX_BUDGET}, got {budget!r}", field="budget")
    if workers is not None and (not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS):
        raise HuntError(f"workers: must be an integer between 1 and {MAX_WORKERS}, got {workers!r}",
                        field="workers")
    plan = make_plan(scenario, seed, duration)
    chunks = [(start, min(budget, start + CHUNK)) for start in range(0, budget, CHUNK)]
    tried = 0
    failure = None
    if plan["baseline_violation"] is not None:  # the starting scenario breaks an invariant as it is
        chunks = []
        failure = {"index": None, "violation": plan["baseline_violation"],
                   "changes": {"seed": plan["normal"]["seed"], "params": {}, "network": {}, "interventions": []}}
        yield {"type": "progress", "tried": 0, "found": 1, "budget": budget}
    results = ordered_map(run_trials, plan, chunks, workers=workers, client=client)
    try:
        for result in results:
            tried += result["tried"]
            failure = result["failure"]
            yield {"type": "progress", "tried": tried, "found": 0 if failure is None else 1, "budget": budget}
            if failure is not None:
                break
    finally:
        results.close()  # cancels the chunks still queued, stops a cluster started for this hunt
    final = {"type": "hunt", "found": failure is not None, "invariant": None, "tried": tried, "budget": budget,
             "seed": seed, "scenario": None}
    if failure is None:
        yield final
        return
    changes = as_static(failure["changes"])
    found = apply_changes(plan["base"], changes, plan["duration"])
    invariant = failure["violation"]["invariant"]
    final.update(invariant=invariant, trial=failure["index"], found_interventions=len(found["interventions"]))
    if shrink:
        protocol = get_protocol(plan["normal"]["protocol"])
        base = plan["base"]
        if "react" in failure["changes"]:  # first in the reactions' own terms (shrink.py)
            reactive = ReactiveShrinker(base, failure["changes"], plan["duration"], invariant, protocol,
                                        vocabulary_for)
            yield from reactive.steps(base)
            smaller = apply_changes(reactive.base, reactive.changes, plan["duration"])
            if first_violation(smaller, invariant) is not None:  # as a static schedule too (it should)
                base, changes, found = reactive.base, reactive.changes, smaller
        vocab = vocabulary_for(protocol, plan["ids"], plan["normal"]["params"])
        shrinker = Shrinker(found, base.get("interventions", []), changes["interventions"], invariant, protocol,
                            vocab.shrink_load)
        yield from shrinker.steps(plan["base"])
        found = shrinker.scenario
    violation = first_violation(found, invariant)
    found["title"] = f"Counterexample: {invariant}"
    where = "the starting scenario" if failure["index"] is None else f"trial {failure['index']}"
    found["description"] = (f"Found by `python -m simulator hunt` (seed {seed}, {where}) and shrunk: "
                            f"{violation['details']}")
    final.update(scenario=found, violation=violation)
    yield final


def hunt(scenario, **kwargs):
    """Run a whole hunt; return its final event (the `hunt` dict)."""
    last = None
    for last in iter_hunt(scenario, **kwargs):
        pass
    return last


def dumps(event):
    return json.dumps(event, sort_keys=True, separators=(",", ":"))
