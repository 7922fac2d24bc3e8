"""Every teaching mutation names (in its protocol's `mutation_examples`) a designed docs/examples file that switches
it on and breaks an invariant, while the same file without the mutation breaks none: the home page's "Broken on
purpose" and the Settings offer open exactly these."""

import copy
import json
import os

import pytest

from simulator import run_scenario
from simulator.protocols import all_protocols

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "examples")
CASES = [(p.name, m) for p in all_protocols() for m in p.mutations]


def broken(scenario):
    return {v["invariant"] for v in run_scenario(copy.deepcopy(scenario))[1]["violations"]}


@pytest.mark.parametrize("protocol,mutation", CASES)
def test_each_mutation_has_a_designed_example_that_catches_it(protocol, mutation):
    proto = next(p for p in all_protocols() if p.name == protocol)
    stem = proto.mutation_examples.get(mutation)
    assert stem, f"{protocol}/{mutation} names no example"
    with open(os.path.join(EXAMPLES, f"{stem}.json")) as fh:
        sc = json.load(fh)
    assert sc["protocol"] == protocol and sc["mutations"] == [mutation]
    assert broken(sc), f"{stem} breaks nothing"
    assert not broken(dict(sc, mutations=[])), f"{stem} breaks something without the mutation"
    assert proto.describe()["mutation_examples"][mutation] == stem


def test_examples_name_only_declared_mutations():
    for p in all_protocols():
        assert set(p.mutation_examples) <= set(p.mutations)
