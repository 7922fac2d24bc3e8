"""Protocol Playground's simulator: deterministic, headless, pure Python on SimPy.

Never imports Django: tests, benchmarks, the CLI and the web server all drive it
the same way.
"""

from .engine import Simulation
from .errors import InterventionError, PlaygroundError, ScenarioError
from .scenario import normalize_scenario
from .trace import canonical, trace_hash

__all__ = [
    "Simulation", "PlaygroundError", "ScenarioError", "InterventionError",
    "normalize_scenario", "canonical", "trace_hash", "run_scenario",
]


def run_scenario(scenario, until=None):
    """Run a scenario headless; return (events, summary). The summary carries the trace hash."""
    sim = Simulation(scenario)
    events = sim.run(until)
    summary = sim.summary()
    summary["trace_hash"] = trace_hash(events)
    return events, summary
