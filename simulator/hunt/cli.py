"""`python -m simulator hunt SCENARIO.json [--budget N] [--seed S] [--workers K] [--duration MS]`."""

import json
import sys

from ..errors import PlaygroundError
from ..scenario import DURATION, MAX_SCENARIO_BYTES
from ..trace import print_error
from . import DEFAULT_BUDGET, MAX_BUDGET, MAX_WORKERS, dumps, iter_hunt


def add_parser(sub):
    hunt = sub.add_parser("hunt", help="search seeded random fault schedules for an invariant violation, shrink "
                                       "the first one found; print progress and the result as JSON Lines "
                                       "(docs/hunt.md)")
    hunt.add_argument("scenario", help="starting scenario JSON file (- for standard input)")
    hunt.add_argument("--budget", type=int, default=DEFAULT_BUDGET,
                      help=f"schedules to try at most (1..{MAX_BUDGET}; default {DEFAULT_BUDGET})")
    hunt.add_argument("--seed", type=int, default=1, help="seed of the hunt (not of the scenario); default 1")
    hunt.add_argument("--workers", type=int, default=None,
                      help=f"worker processes (1..{MAX_WORKERS}; default: one per core; 1 runs in this process; "
                           "$DASK_SCHEDULER_ADDRESS uses that Dask cluster)")
    hunt.add_argument("--duration", type=int, default=None,
                      help=f"simulated ms of each trial (1..{DURATION.max}; default: the protocol's horizon)")
    hunt.add_argument("--no-shrink", action="store_true", help="report the first failing schedule as found")
    hunt.set_defaults(func=cmd_hunt)
    return hunt


def cmd_hunt(args):
    try:
        with open(args.scenario, "rb") if args.scenario != "-" else sys.stdin.buffer as fh:
            raw = fh.read(MAX_SCENARIO_BYTES + 1)
        if len(raw) > MAX_SCENARIO_BYTES:
            return print_error(f"scenario: larger than {MAX_SCENARIO_BYTES} bytes", "too_large")
        scenario = json.loads(raw)
    except OSError as err:
        return print_error(f"cannot read {args.scenario}: {err.strerror}", "io_error")
    except ValueError as err:
        return print_error(f"scenario: not valid JSON ({err})", "invalid_scenario")
    out = sys.stdout
    try:
        for event in iter_hunt(scenario, budget=args.budget, seed=args.seed, workers=args.workers,
                               duration=args.duration, shrink=not args.no_shrink):
            out.write(dumps(event) + "\n")
            out.flush()
    except PlaygroundError as err:
        return print_error(err.message, err.code, err.field)
    return 0
