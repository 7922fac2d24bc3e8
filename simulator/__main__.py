"""`python -m simulator run SCENARIO.json` / `export SCENARIO.json --format mermaid|shiviz` / `protocols`."""

import argparse
import json
import os
import sys

from .engine import Simulation
from .errors import PlaygroundError
from .export import FORMATS, export_lines
from .hunt.cli import add_parser as add_hunt_parser
from .interventions import describe_common
from .lessons.cli import add_parser as add_lesson_parser
from .protocols import all_protocols
from .scenario import DURATION, MAX_SCENARIO_BYTES
from .trace import TraceHash, canonical, print_error

SLICE_MS = 1000  # print as we go, so a long run streams instead of holding its trace


def load_simulation(args):
    """The Simulation of `args.scenario` (a file, or - for standard input) with --seed/--until applied; an
    error line and exit code 2 instead when it cannot be read or is not valid."""
    try:
        with open(args.scenario, "rb") if args.scenario != "-" else sys.stdin.buffer as fh:
            raw = fh.read(MAX_SCENARIO_BYTES + 1)
        scenario = json.loads(raw) if len(raw) <= MAX_SCENARIO_BYTES else raw
    except OSError as err:
        return None, print_error(f"cannot read {args.scenario}: {err.strerror}", "io_error")
    except ValueError as err:
        return None, print_error(f"scenario: not valid JSON ({err})", "invalid_scenario")
    if args.until is not None and not DURATION.min <= args.until <= DURATION.max:
        return None, print_error(f"--until: must be {DURATION.describe()} (simulated ms), got {args.until}",
                           "invalid_scenario", "duration")
    try:
        if isinstance(scenario, dict):
            if args.seed is not None:
                scenario["seed"] = args.seed
            if args.until is not None:
                scenario["duration"] = args.until
        return Simulation(scenario), 0
    except PlaygroundError as err:
        return None, print_error(err.message, err.code, err.field)


def cmd_run(args):
    sim, status = load_simulation(args)
    if sim is None:
        return status
    out = sys.stdout
    digest = TraceHash()
    until = sim.duration
    t = 0
    while t < until:
        t = min(until, t + SLICE_MS)
        sim.advance(t)
        events = sim.drain()
        digest.update(events)
        if not args.quiet:
            out.write("".join(canonical(ev) + "\n" for ev in events))
    summary = sim.summary()
    summary["trace_hash"] = digest.hexdigest()
    summary["scenario"] = sim.recorded_scenario()
    out.write(canonical(summary) + "\n")
    return 0


def cmd_export(args):
    sim, status = load_simulation(args)
    if sim is None:
        return status
    sys.stdout.write("".join(line + "\n" for line in export_lines(sim, args.format, args.hide)))
    return 0


def cmd_experiment(args):
    from .experiments import csv_lines, normalize_experiment, run_experiment, spread_over

    try:
        with open(args.file, "rb") as fh:
            raw = json.loads(fh.read(MAX_SCENARIO_BYTES + 1))
        if args.trials is not None and isinstance(raw, dict):
            raw["trials"] = args.trials
        exp = normalize_experiment(raw)
    except OSError as err:
        return print_error(f"cannot read {args.file}: {err.strerror}", "io_error")
    except ValueError as err:
        return print_error(f"experiment: not valid JSON ({err})", "invalid_experiment")
    except PlaygroundError as err:
        return print_error(err.message, err.code, err.field)

    def progress(rows, done, total):
        if not args.quiet:
            sys.stdout.write(canonical({"type": "progress", "done": done, "total": total}) + "\n")
            sys.stdout.flush()

    result = run_experiment(exp, map_batches=spread_over(args.workers), on_rows=progress)
    if args.csv:
        with open(args.csv, "w") as fh:
            fh.write("\n".join(csv_lines(result)) + "\n")
    sys.stdout.write(canonical({"type": "experiment", "title": exp["title"], "variants": result["variants"],
                                "experiment": exp}) + "\n")
    return 0


def cmd_protocols(_args):
    out = {
        "protocols": [p.describe() for p in all_protocols()],
        "interventions": describe_common(),
    }
    print(json.dumps(out, indent=2))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario; print the trace as JSON Lines, then a summary line")
    run.add_argument("scenario", help="scenario JSON file (- for standard input)")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--until", type=int, help=f"simulated ms to run (1..{DURATION.max}); overrides duration")
    run.add_argument("--quiet", action="store_true", help="print only the summary line")
    run.set_defaults(func=cmd_run)
    add_hunt_parser(sub)
    export = sub.add_parser("export", help="run a scenario; print its trace as a Mermaid sequence diagram or a "
                                           "ShiViz log (docs/export.md)")
    export.add_argument("scenario", help="scenario JSON file (- for standard input)")
    export.add_argument("--format", choices=FORMATS, required=True)
    export.add_argument("--seed", type=int, help="override the scenario's seed")
    export.add_argument("--until", type=int, help=f"simulated ms to run (1..{DURATION.max}); overrides duration")
    export.add_argument("--hide", action="append", default=[], metavar="KIND",
                        help="leave out messages of this kind (e.g. a heartbeat); repeatable")
    export.set_defaults(func=cmd_export)
    experiment = sub.add_parser("experiment", help="run an experiment (a sweep over many seeded trials); print "
                                                   "progress and results as JSON Lines (docs/experiments.md)")
    experiment.add_argument("file", help="experiment JSON file")
    experiment.add_argument("--trials", type=int, help="override the number of trials per variant")
    experiment.add_argument("--workers", type=int, default=1,
                            help="worker processes (a local Dask cluster; DASK_SCHEDULER_ADDRESS for a real one)")
    experiment.add_argument("--csv", metavar="FILE", help="also write every trial's metrics as CSV")
    experiment.add_argument("--quiet", action="store_true", help="print only the final results line")
    experiment.set_defaults(func=cmd_experiment)
    add_lesson_parser(sub)
    protocols = sub.add_parser("protocols", help="list protocols with parameters, bounds and actions, as JSON")
    protocols.set_defaults(func=cmd_protocols)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `... | head`: the reader has gone, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
