"""Experiments: one scenario, a sweep of variants, many seeded trials, metrics summarised per variant.

An experiment file (docs/experiments.md):

    {"title": "...", "source": "the paper and figure it reproduces",
     "scenario": {...the usual scenario, without seed...},
     "sweep": [{"label": "150-155 ms", "params": {...}, "network": {...}}, ...],
     "trials": 100, "seed": 1,
     "setup": {"kind": "crash_leader", "stable_ms": 1000, "limit_ms": 10000},
     "metrics": ["downtime_ms", "elections"],
     "reference": {"150-155 ms": {"downtime_ms": {"median": 287}}}}

Trial i of variant v runs the scenario with the variant merged in and seed `seed + i` (the same seeds for every
variant, so variants are compared on the same draws). Every trial is a pure function of (experiment, v, i):
results are identical however the trials are spread over processes or machines.
"""

import copy
import random

from ..engine import Simulation
from ..errors import ScenarioError
from .observe import OBSERVERS, observer_for
from .stats import summarize

MAX_TRIALS = 10_000  # per variant
MAX_VARIANTS = 50
MAX_LIMIT_MS = 120_000  # simulated ms one trial may run after its setup
STEP_MS = 5  # granularity at which a trial checks whether it is done (simulated ms)
SETUPS = ("run", "crash_leader")
VARIANT_FIELDS = {"label", "params", "network", "nodes", "interventions", "value", "group"}


def _error(message, field):
    raise ScenarioError(f"{field}: {message}", field=field)


def normalize_experiment(raw):
    """Check an experiment and fill in defaults; raise ScenarioError naming the field."""
    if not isinstance(raw, dict):
        _error("an experiment is a JSON object", "experiment")
    known = {"title", "source", "scenario", "sweep", "trials", "seed", "setup", "metrics", "reference", "notes",
             "chart"}
    for key in raw:
        if key not in known:
            _error(f"unknown field (known: {', '.join(sorted(known))})", key)
    scenario = raw.get("scenario")
    if not isinstance(scenario, dict) or not isinstance(scenario.get("protocol"), str):
        _error("a scenario object with a protocol", "scenario")
    protocol = scenario["protocol"]
    if protocol not in OBSERVERS:
        _error(f"no experiment metrics for {protocol!r} yet (have: {', '.join(OBSERVERS)})", "scenario.protocol")
    sweep = raw.get("sweep", [{"label": "as given"}])
    if not isinstance(sweep, list) or not 1 <= len(sweep) <= MAX_VARIANTS:
        _error(f"a list of 1 to {MAX_VARIANTS} variants", "sweep")
    variants = []
    for i, v in enumerate(sweep):
        if not isinstance(v, dict) or not isinstance(v.get("label"), str):
            _error("a variant is an object with a label", f"sweep[{i}]")
        extra = set(v) - VARIANT_FIELDS
        if extra:
            _error(f"unknown field {sorted(extra)[0]!r} (known: {', '.join(sorted(VARIANT_FIELDS))})", f"sweep[{i}]")
        if "value" in v and (isinstance(v["value"], bool) or not isinstance(v["value"], (int, float))):
            _error("value: a number (where the chart puts this variant)", f"sweep[{i}]")
        if "group" in v and not isinstance(v["group"], str):
            _error("group: a string (the chart's line this variant belongs to)", f"sweep[{i}]")
        if "interventions" in v and not isinstance(v["interventions"], list):
            _error("interventions: a list (replaces the scenario's)", f"sweep[{i}]")
        variants.append(copy.deepcopy(v))
    trials = raw.get("trials", 100)
    if not isinstance(trials, int) or isinstance(trials, bool) or not 1 <= trials <= MAX_TRIALS:
        _error(f"an integer from 1 to {MAX_TRIALS}", "trials")
    seed = raw.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2 ** 31:
        _error("an integer from 0 to 2^31-1", "seed")
    setup = dict(raw.get("setup") or {"kind": "run"})
    if setup.get("kind") not in SETUPS:
        _error(f"kind must be one of {', '.join(SETUPS)}", "setup.kind")
    for key in ("stable_ms", "limit_ms"):
        if key in setup and (not isinstance(setup[key], int) or not 1 <= setup[key] <= MAX_LIMIT_MS):
            _error(f"an integer from 1 to {MAX_LIMIT_MS} (simulated ms)", f"setup.{key}")
    setup.setdefault("stable_ms", 1000)
    setup.setdefault("limit_ms", 10_000)
    available = OBSERVERS[protocol].metrics_doc
    metrics = raw.get("metrics", list(available))
    if not isinstance(metrics, list) or not metrics or any(m not in available for m in metrics):
        _error(f"a list of metric names from: {', '.join(available)}", "metrics")
    out = {"title": str(raw.get("title", "Experiment")), "source": str(raw.get("source", "")),
           "scenario": copy.deepcopy(scenario), "sweep": variants, "trials": trials, "seed": seed,
           "setup": setup, "metrics": list(metrics), "reference": copy.deepcopy(raw.get("reference") or {})}
    if "notes" in raw:
        out["notes"] = str(raw["notes"])
    if "chart" in raw:
        out["chart"] = _chart(raw["chart"], out["metrics"])
    for i in range(len(variants)):  # every variant must make a valid scenario: fail now, not in a worker
        Simulation(trial_scenario(out, i, 0))
    return out


CHARTS = ("cdf", "means")


def _chart(chart, metrics):
    """How the page draws the results (docs/experiments.md): {"kind": "cdf", "metric", "log_x"?} or
    {"kind": "means", "metric", "x", "series"?}; x and series name a variant's `nodes`, `value`, `group` or one of its params."""
    if not isinstance(chart, dict) or chart.get("kind") not in CHARTS:
        _error(f"an object whose kind is one of {', '.join(CHARTS)}", "chart.kind")
    if chart.get("metric") not in metrics:
        _error(f"one of the experiment's metrics: {', '.join(metrics)}", "chart.metric")
    extra = set(chart) - {"kind", "metric", "log_x", "x", "series", "x_label", "y_label"}
    if extra:
        _error("unknown field", f"chart.{sorted(extra)[0]}")
    if chart["kind"] == "means" and not isinstance(chart.get("x"), str):
        _error("the variant field on the x axis: nodes or a parameter's name", "chart.x")
    for key in ("series", "x_label", "y_label"):
        if key in chart and not isinstance(chart[key], str):
            _error("a string", f"chart.{key}")
    return copy.deepcopy(chart)


def trial_scenario(exp, variant, trial):
    """The scenario of trial `trial` of variant `variant`."""
    sc = copy.deepcopy(exp["scenario"])
    v = exp["sweep"][variant]
    if "params" in v:
        sc["params"] = dict(sc.get("params") or {}, **v["params"])
    if "network" in v:
        sc["network"] = dict(sc.get("network") or {}, **v["network"])
    if "nodes" in v:
        sc["nodes"] = v["nodes"]
    if "interventions" in v:
        sc["interventions"] = copy.deepcopy(v["interventions"])
    sc["seed"] = exp["seed"] + trial
    if exp["setup"]["kind"] != "run":
        sc["duration"] = MAX_LIMIT_MS * 2  # the setup decides when the trial ends
    return sc


def _advance(sim, obs, until):
    sim.advance(until)
    obs.feed(sim.drain())


def run_trial(exp, variant, trial):
    """Run one trial; return {"variant", "trial", "seed", metric: value..., "note"?}."""
    sc = trial_scenario(exp, variant, trial)
    sim = Simulation(sc)
    obs = observer_for(sim.scenario, sim.node_ids)
    setup = exp["setup"]
    out = {"variant": variant, "trial": trial, "seed": sc["seed"]}
    if setup["kind"] == "run":
        _advance(sim, obs, sim.duration)
    elif setup["kind"] == "crash_leader":
        note = _crash_leader(sim, obs, setup, sc)
        if note:
            out["note"] = note
    values = obs.metrics()
    for name in exp["metrics"]:
        out[name] = values.get(name)
    return out


def _crash_leader(sim, obs, setup, sc):
    """Wait for a leader that has held for `stable_ms`, crash it at a uniformly random moment within one
    heartbeat interval (the Raft paper's section 9.3 setup), then run until another leader or `limit_ms`."""
    params = sim.scenario["params"]
    t = 0
    warmup = setup["stable_ms"] + MAX_LIMIT_MS
    leader = None
    while t < warmup:
        t += STEP_MS
        _advance(sim, obs, t)
        leaders = sorted(obs.leader_since.items(), key=lambda kv: (kv[1], kv[0]))
        if len(leaders) == 1 and t - leaders[0][1] >= setup["stable_ms"]:
            leader = leaders[0][0]
            break
    if leader is None:
        return "no stable leader"
    heartbeat = int(params.get("heartbeat_interval", 1))
    offset = random.Random(sc["seed"] * 1_000_003 + 17).randrange(max(1, heartbeat))
    _advance(sim, obs, t + offset)
    iv = sim.intervene({"action": "crash", "node": leader})
    obs.mark("crash", iv["at"])
    end = iv["at"] + setup["limit_ms"]
    while obs.new_leader_at is None and t < end:
        t = min(end, max(t, iv["at"]) + STEP_MS)
        _advance(sim, obs, t)
    return None


def run_batch(exp, variant, trials):
    """Trials `trials` (a list of indices) of one variant: the unit of work sent to a worker."""
    return [run_trial(exp, variant, i) for i in trials]


def batches(exp, size=25):
    """(variant, [trial indices]) work units covering the whole experiment, in a fixed order."""
    out = []
    for v in range(len(exp["sweep"])):
        for start in range(0, exp["trials"], size):
            out.append((v, list(range(start, min(exp["trials"], start + size)))))
    return out


def summarize_results(exp, rows):
    """Per variant, each metric's summary (stats.summarize), in the sweep's order."""
    by_variant = [[] for _ in exp["sweep"]]
    for row in rows:
        by_variant[row["variant"]].append(row)
    out = []
    for v, variant_rows in zip(exp["sweep"], by_variant):
        variant_rows.sort(key=lambda r: r["trial"])
        out.append({"label": v["label"],
                    "metrics": {m: summarize([r[m] for r in variant_rows]) for m in exp["metrics"]},
                    "reference": exp["reference"].get(v["label"], {})})
    return out


def run_experiment(exp, map_batches=None, on_rows=None):
    """Run every trial; `map_batches(func, exp, units)` may spread the units over workers (an iterator of
    lists of rows, in any order); `on_rows(rows, done, total)` is told as results arrive. Returns
    {"experiment", "variants", "rows"} with rows sorted by (variant, trial)."""
    units = batches(exp)
    total = len(exp["sweep"]) * exp["trials"]
    if map_batches is None:
        results = (run_batch(exp, v, trials) for v, trials in units)
    else:
        results = map_batches(run_batch, exp, units)
    rows = []
    for chunk in results:
        rows.extend(chunk)
        if on_rows is not None:
            on_rows(chunk, len(rows), total)
    rows.sort(key=lambda r: (r["variant"], r["trial"]))
    return {"experiment": exp, "variants": summarize_results(exp, rows), "rows": rows}


def spread_over(workers=None, client=None):
    """A `map_batches` for run_experiment that runs the units on Dask workers (simulator/compute.py): a local
    cluster of `workers` processes, the cluster DASK_SCHEDULER_ADDRESS names, or `client`. In-process when
    `workers` is 1 and neither is given."""
    from ..compute import ordered_map

    def map_batches(func, exp, units):
        return ordered_map(func, exp, units, workers=workers, client=client)
    return map_batches


def csv_lines(result):
    """The rows as CSV: variant label, trial, seed, then each metric (empty when not reached)."""
    exp = result["experiment"]
    lines = [",".join(["variant", "trial", "seed"] + exp["metrics"])]
    for r in result["rows"]:
        label = exp["sweep"][r["variant"]]["label"].replace('"', '""')
        vals = ["" if r[m] is None else str(r[m]) for m in exp["metrics"]]
        lines.append(",".join([f'"{label}"', str(r["trial"]), str(r["seed"])] + vals))
    return lines
