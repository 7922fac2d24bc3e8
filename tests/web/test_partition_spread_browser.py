"""Partition mode spreads islands apart (issue 12): a partition in force is drawn with its groups visibly apart
(however it was made: a button, a shared run, the node menu), and partition mode starts with each group on an
island of its own instead of every node stacked in island A. Distances measured on the drawn nodes."""

import math

import pytest

from .conftest import ARTIFACTS, next_frames, open_playground

pytestmark = pytest.mark.browser

NODE_XY = """() => Object.fromEntries([...document.querySelectorAll('#topology .node')].map((g) => {
  const m = /translate\\(([-\\d.]+),([-\\d.]+)\\)/.exec(g.getAttribute('transform'));
  return [g.dataset.node, [Number(m[1]), Number(m[2])]]; }))"""
LEFT, RIGHT = ["n1", "n2"], ["n3", "n4", "n5"]


def gap(xy, a, b):
    """The smallest distance between a node of group a and a node of group b."""
    return min(math.dist(xy[i], xy[j]) for i in a for j in b)


def spacing(xy, group):
    """The largest distance from a node of the group to its nearest neighbour in the group."""
    return max(min(math.dist(xy[i], xy[j]) for j in group if j != i) for i in group)


def test_a_partition_draws_its_groups_apart(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    scenario = {"protocol": "raft", "seed": 1, "nodes": 5,
                "interventions": [{"at": 900, "action": "partition", "groups": [LEFT, RIGHT]}]}
    open_playground(page, daphne_server, "raft", scenario=scenario, speed=250)
    page.wait_for_function("window.playground.snapshot.t > 200", timeout=15_000)
    next_frames(page)
    before = page.evaluate(NODE_XY)
    assert page.evaluate("window.playground.snapshot.net.partition.length") == 0
    page.wait_for_function("window.playground.snapshot.net.partition.length === 2", timeout=15_000)
    page.locator("body").click(position={"x": 5, "y": 200})
    page.keyboard.press("Space")  # pause: from here on positions only move when the partition does
    next_frames(page)
    after = page.evaluate(NODE_XY)
    page.screenshot(path=str(ARTIFACTS / "partition-spread-1280x720.png"))
    # on the circle the two groups' neighbours sit as close as any neighbours; apart, the gap between the groups
    # is clearly wider than the spacing inside either group, and wider than it was
    assert gap(before, LEFT, RIGHT) <= 1.05 * max(spacing(before, LEFT), spacing(before, RIGHT))
    assert gap(after, LEFT, RIGHT) >= 1.4 * max(spacing(after, LEFT), spacing(after, RIGHT)), (before, after)
    assert gap(after, LEFT, RIGHT) >= gap(before, LEFT, RIGHT) + 25
    # partition mode picks up the partition in force: one island per group, not everyone in island A
    page.keyboard.press("p")
    page.wait_for_function("window.playground.state.islands === true")
    next_frames(page)
    islands = page.evaluate(NODE_XY)
    page.screenshot(path=str(ARTIFACTS / "partition-islands-1280x720.png"))
    assert max(islands[i][0] for i in LEFT) < min(islands[j][0] for j in RIGHT)  # A left of B
    assert gap(islands, LEFT, RIGHT) >= 1.4 * max(spacing(islands, LEFT), spacing(islands, RIGHT))
    # healing brings the circle back
    page.keyboard.press("p")
    page.wait_for_function("window.playground.snapshot.net.partition.length === 0")
    next_frames(page)
    healed = page.evaluate(NODE_XY)
    for node, (x, y) in before.items():
        assert math.dist((x, y), healed[node]) < 1.0, node
    errors.check()
