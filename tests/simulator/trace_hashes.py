"""The recorded trace hashes that a refactoring must not change.

Every docs/examples file, every preset of every protocol, and seeded random fault schedules for every
protocol (plain and with each teaching mutation on). `python tests/simulator/trace_hashes.py --write`
records them in trace_hashes.json; test_trace_hashes.py checks that the code still produces them. Only a
deliberate change of behaviour (with its protocol's or the engine's version bumped) may rewrite the file.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from simulator.chaos import raft_actions, random_schedule  # noqa: E402
from simulator.engine import Simulation  # noqa: E402
from simulator.protocols import all_protocols  # noqa: E402
from simulator.trace import TraceHash  # noqa: E402

RECORD = os.path.join(HERE, "trace_hashes.json")
FUZZ_SEEDS = range(1, 7)
FUZZ_DURATION = 5000


def trace_hash_of(scenario):
    sim = Simulation(json.loads(json.dumps(scenario)))
    digest = TraceHash()
    t = 0
    while t < sim.duration:
        t = min(sim.duration, t + 1000)
        sim.advance(t)
        digest.update(sim.drain())
    return digest.hexdigest()


def cases():
    """name -> scenario, in a stable order."""
    out = {}
    examples = os.path.join(ROOT, "docs", "examples")
    for name in sorted(os.listdir(examples)):
        if name.endswith(".json"):
            with open(os.path.join(examples, name)) as fh:
                out[f"example/{name}"] = json.load(fh)
    for proto in all_protocols():
        for preset in proto.presets():
            out[f"preset/{proto.name}/{preset['slug']}"] = preset["scenario"]
        ids = Simulation({"protocol": proto.name, "seed": 1, "duration": 1}).node_ids
        extra = raft_actions if proto.name == "raft" else None
        for mutation in [None] + sorted(proto.mutations):
            for seed in FUZZ_SEEDS if mutation is None else FUZZ_SEEDS[:2]:
                schedule = random_schedule(seed, ids, FUZZ_DURATION, count=15, extra=extra)
                for iv in schedule:  # "leader" is Raft's selector: elsewhere the protocol's first, or a node
                    if iv.get("node") == "leader" and "leader" not in proto.selectors:
                        iv["node"] = next(iter(proto.selectors), ids[seed % len(ids)])
                scenario = {"protocol": proto.name, "seed": seed, "duration": FUZZ_DURATION,
                            "interventions": schedule}
                if mutation:
                    scenario["mutations"] = [mutation]
                out[f"fuzz/{proto.name}/{mutation or 'plain'}/{seed}"] = scenario
    return out


def main():
    record = {name: trace_hash_of(sc) for name, sc in cases().items()}
    if "--write" in sys.argv:
        with open(RECORD, "w") as fh:
            json.dump(record, fh, indent=1, sort_keys=True)
            fh.write("\n")
        print(f"recorded {len(record)} trace hashes in {RECORD}")
    else:
        print(json.dumps(record, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
