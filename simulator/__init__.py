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
    "normalize_scenario", "canonical", "trace_hash", "run_scenario", "ENGINE_VERSION", "versions",
]

# The engine's behaviour version (event order, network and fault model, interventions): bump it when a change
# alters the traces of every protocol. Each protocol has its own `version` (simulator/protocols/base.py) for
# changes to that protocol alone. A saved scenario stores both, so an old share link replayed by newer code
# can say that its replay may differ (docs/sharing.md). Refactors and speed-ups that keep traces identical
# bump nothing.
ENGINE_VERSION = "2"


def versions(protocol):
    """{"protocol": ..., "engine": ...}: the behaviour versions a scenario of `protocol` runs under here."""
    from .protocols import get_protocol

    return {"protocol": str(get_protocol(protocol).version), "engine": ENGINE_VERSION}


def run_scenario(scenario, until=None):
    """Run a scenario headless; return (events, summary). The summary carries the trace hash."""
    sim = Simulation(scenario)
    events = sim.run(until)
    summary = sim.summary()
    summary["trace_hash"] = trace_hash(events)
    return events, summary
