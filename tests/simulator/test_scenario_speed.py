"""A scenario may carry `speed` (how fast its sharer watched it, simulated ms per wall second): the page opens a
shared run at it (tests/web/test_pacing_browser.py); the simulation never reads it, so the trace is the same."""

import pytest

from simulator import normalize_scenario
from simulator.errors import ScenarioError
from trace_hashes import trace_hash_of

RAFT = {"protocol": "raft", "seed": 4, "duration": 3000,
        "interventions": [{"at": 1000, "action": "crash", "node": "leader"}]}


def test_speed_is_kept_and_changes_no_trace():
    sc = normalize_scenario(dict(RAFT, speed=400))
    assert sc["speed"] == 400.0
    assert "speed" not in normalize_scenario(RAFT)
    assert trace_hash_of(dict(RAFT, speed=400)) == trace_hash_of(RAFT)


@pytest.mark.parametrize("bad", [0, -1, 20_000, "fast", True])
def test_a_bad_speed_is_refused_naming_the_field(bad):
    with pytest.raises(ScenarioError) as err:
        normalize_scenario(dict(RAFT, speed=bad))
    assert err.value.field == "speed"
