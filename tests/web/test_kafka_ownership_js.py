"""Kafka's ownership rule is defined once in Python (simulator/protocols/kafka/checker.py: `ownership`, contract in
docs/protocols/kafka.md, "Ownership rule") and once for the page (static/js/protocols/kafka-ownership.js). This
runs the JavaScript module under Node.js over snapshots of fuzzed Kafka runs (random faults, joins, leaves,
stalls, loss; classic eager and cooperative, static members, KIP-848, two brokers with failovers) and holds it
to the Python answer for every consumer and partition: as the page sees it (no stale-claims fact, which no view
carries) and with the model's stale claimants passed to both.
"""

import json
import random
import shutil
import subprocess
from pathlib import Path

from simulator import Simulation
from simulator.chaos import random_schedule
from simulator.protocols.kafka.checker import ownership

MODULE = Path(__file__).resolve().parents[2] / "static" / "js" / "protocols" / "kafka-ownership.js"
NODE = shutil.which("node")

SCRIPT = """
import { ownership, isZombie } from %s;
let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map(({ snapshot, stale }) => ({
  page: ownership(snapshot),
  model: ownership(snapshot, stale),
  zombies: snapshot.order.filter((id) => isZombie(snapshot, id)),
}));
process.stdout.write(JSON.stringify(out));
"""

MODES = [{"assignor": "range"}, {"assignor": "roundrobin"}, {"assignor": "cooperative-sticky"},
         {"group_protocol": "consumer", "assignor": "uniform"}, {"group_protocol": "consumer", "assignor": "range"}]


def churn(rng, ids):
    c = rng.choice([i for i in ids if i.startswith("c")])
    k = rng.random()
    if k < 0.4:
        return {"action": "add_consumer", "node": c}
    if k < 0.7:
        return {"action": "remove_consumer", "node": c}
    return {"action": "stall", "node": c, "duration": rng.randint(100, 25000)}  # beyond max.poll.interval.ms too


def fuzzed(seed):
    """A random schedule of faults and group changes (as bench/kafka.py --fuzz), in one of the group modes."""
    rng = random.Random(seed)
    brokers = 2 if seed % 4 == 3 else 1
    bs = ["b1", "b2"] if brokers > 1 else ["broker"]
    ids = bs + [f"c{i}" for i in range(1, 6)]
    params = dict(MODES[seed % len(MODES)], partitions=rng.randint(2, 8), consumers=rng.randint(1, 5),
                  static_membership=rng.random() < 0.4, max_poll_interval_ms=20000, session_timeout_ms=10000,
                  metadata_max_age_ms=5000, brokers=brokers)
    return {"protocol": "kafka", "seed": seed, "nodes": 5, "duration": 25000, "params": params,
            "network": {"latency": [1, rng.choice([10, 100])], "loss": rng.choice([0, 0.05, 0.1]),
                        "duplicate": rng.choice([0, 0.05])},
            "interventions": random_schedule(seed, ids, 20000, count=rng.randint(5, 20), extra=churn, extra_weight=6)}


def lossy_static(seed):
    """Cooperative-sticky static members under loss with a member joining and leaving every 700 ms: the setting
    where members rejoin with stale claims (tests/simulator/test_kafka_zombies.py)."""
    return {"protocol": "kafka", "seed": seed, "nodes": 5, "duration": 20000,
            "params": {"assignor": "cooperative-sticky", "partitions": 8, "topics": 2, "consumers": 3,
                       "static_membership": True, "max_poll_interval_ms": 20000, "session_timeout_ms": 10000,
                       "metadata_max_age_ms": 5000},
            "network": {"latency": [1, 100], "loss": 0.1, "duplicate": 0.05},
            "interventions": [{"at": 3000 + 700 * k, "action": "add_consumer" if k % 2 == 0 else "remove_consumer",
                               "node": "c4"} for k in range(10)]}


def samples(scenario, step=100):
    """(snapshot, stale claimants) every `step` ms of simulated time, and right after every state event."""
    sim = Simulation(scenario)
    out = []
    for t in range(step, scenario["duration"] + 1, step):
        sim.advance(t)
        events = sim.drain()
        if any(ev["type"] == "state" for ev in events) or t % 1000 == 0:
            out.append({"snapshot": sim.snapshot(), "stale": sorted(sim.protocol.stale_claimants())})
    return out


def run_js(cases):
    script = SCRIPT % json.dumps(MODULE.as_uri())
    done = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_pages_ownership_flags_agree_with_pythons():
    assert NODE, "Node.js (v20 or later) runs the page's module here"
    cases = [s for seed in range(12) for s in samples(fuzzed(seed))]
    cases += [s for seed in (3, 80, 164) for s in samples(lossy_static(seed))]
    answers = run_js(cases)
    assert len(answers) == len(cases)
    zombies = stale = 0
    for case, js in zip(cases, answers):
        nodes = case["snapshot"]["nodes"]
        where = f"seed {case['snapshot'].get('seed', '?')} at {case['snapshot']['t']} ms"
        assert js["page"] == ownership(nodes), where
        assert js["model"] == ownership(nodes, case["stale"]), where
        assert sorted(js["zombies"]) == sorted(c for c, o in ownership(nodes).items() if o["zombie"]), where
        zombies += bool(js["zombies"])
        stale += any(nodes[c]["owned"] for c in case["stale"])
    # the runs reach the cases that matter: zombies, and members holding stale claims
    assert zombies >= 5, zombies
    assert stale >= 1, stale
