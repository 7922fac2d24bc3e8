"""What starts a happening is defined once, in simulator/trace.py (`starts_happening`); the page's twin
(static/js/page/happening.js, used by "◀ Happening") runs here under Node.js over the traces of every protocol's
example files and must cut them exactly where Python does: at every event, and for every prefix of the trace as
the page's log grows (`lastHappeningStart`)."""

import json
import shutil
import subprocess
from pathlib import Path

from simulator import Simulation
from simulator.trace import split_happenings, starts_happening

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "static" / "js" / "page" / "happening.js"
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))
NODE = shutil.which("node")

SCRIPT = """
import { startsHappening, lastHappeningStart } from %s;
let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map((events) => ({
  starts: events.map((ev, i) => startsHappening(ev, i ? events[i - 1] : null)),
  last: events.map((_, i) => lastHappeningStart(events.slice(0, i + 1))),
}));
process.stdout.write(JSON.stringify(out));
"""


def traces(limit=1500):
    """The first `limit` events of one example run per protocol (lean: only the fields a happening reads)."""
    seen = {}
    for path in EXAMPLES:
        protocol = path.name.split("-", 1)[0]
        if protocol in seen:
            continue
        sc = json.loads(path.read_text())
        sc["duration"] = min(sc.get("duration", 15000), 8000)
        sim = Simulation(sc)
        sim.advance(sim.duration)
        seen[protocol] = [{"type": ev["type"], "t": ev["t"]} for ev in sim.drain()[:limit]]
    return seen


def test_the_pages_happenings_are_pythons():
    assert NODE, "Node.js (v20 or later) runs the page's module here"
    runs = traces()
    assert len(runs) >= 5, sorted(runs)
    script = SCRIPT % json.dumps(MODULE.as_uri())
    done = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(list(runs.values())),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    types = set()
    for (protocol, events), js in zip(runs.items(), answers):
        starts = [starts_happening(ev, events[i - 1] if i else None) for i, ev in enumerate(events)]
        assert js["starts"] == starts, protocol
        last = -1
        for i, s in enumerate(starts):
            last = i if s else last
            assert js["last"][i] == last, f"{protocol}: after event {i}"
        # the runs cut somewhere other than at each event, and not only at new milliseconds
        groups = split_happenings(events)
        assert len(events) > len(groups) > 1, protocol
        types.update(g[0]["type"] for g in groups if len(g) > 1)
    assert {"deliver", "timer"} <= types, types
