"""Refactoring keeps behaviour: every recorded trace hash (examples, presets, fault schedules) is unchanged.

The record is tests/simulator/trace_hashes.json, written by `python tests/simulator/trace_hashes.py --write`
before a restructuring; rewrite it only for a deliberate change of behaviour, with a version bump.
"""

import json

import pytest

from trace_hashes import RECORD, cases, trace_hash_of

with open(RECORD) as fh:
    RECORDED = json.load(fh)
CASES = cases()


def test_every_recorded_case_still_exists():
    assert sorted(CASES) == sorted(RECORDED)


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_trace_hash_is_unchanged(name):
    assert trace_hash_of(CASES[name]) == RECORDED[name], name
