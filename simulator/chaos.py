"""Random fault schedules from a seed: for fuzzing, benchmarks and hunting a seed that shows a bug.

`random_schedule(seed, node_ids, duration)` returns a list of scripted interventions (with `at`) drawn
from the shared vocabulary: crash/restart, pause/resume, cut/heal (one way or both), partition/heal_all,
set_link (latency, loss), set_drift, plus protocol actions passed in `extra`. The same arguments always
give the same schedule. Some interventions may not apply when their time comes (restarting a node that
is up); the engine records those as `rejected` events, which is part of what a fuzz run exercises.
"""

import random

COMMON_WEIGHTS = {
    "crash": 3, "restart": 3, "pause": 2, "resume": 2, "cut": 3, "heal": 2, "partition": 2, "heal_all": 2,
    "set_link": 2, "set_drift": 1,
}


def raft_actions(rng, ids):
    """Raft's own actions for `extra`: client requests (mostly to the leader) and forced election timeouts."""
    if rng.random() < 0.75:
        node = "leader" if rng.random() < 0.8 else rng.choice(ids)
        return {"action": "client_request", "node": node, "value": f"c{rng.randrange(1000)}"}
    return {"action": "timeout", "node": rng.choice(ids)}


def random_schedule(seed, node_ids, duration, count=None, extra=None, extra_weight=4, start=0):
    """A list of `count` interventions between `start` and `duration` ms, sorted by time.

    `extra(rng, ids)` returns one protocol action; it is drawn with weight `extra_weight` against the
    common actions' weights (COMMON_WEIGHTS).
    """
    rng = random.Random(seed)
    ids = list(node_ids)
    if count is None:
        count = rng.randint(3, 20)
    names = list(COMMON_WEIGHTS)
    weights = [COMMON_WEIGHTS[n] for n in names]
    if extra is not None:
        names.append("extra")
        weights.append(extra_weight)
    out = []
    for _ in range(count):
        at = rng.randint(start, max(start, duration - 1))
        action = rng.choices(names, weights)[0]
        out.append(dict(_one(rng, action, ids, extra), at=at))
    out.sort(key=lambda iv: iv["at"])
    return out


def _one(rng, action, ids, extra):
    if action == "extra":
        return extra(rng, ids)
    if action in ("crash", "restart", "pause", "resume"):
        node = rng.choice(ids) if action != "crash" or rng.random() < 0.6 else "leader"
        return {"action": action, "node": node}
    if action in ("cut", "heal"):
        a, b = rng.sample(ids, 2)
        return {"action": action, "a": a, "b": b, "oneway": rng.random() < 0.3}
    if action == "partition":
        shuffled = ids[:]
        rng.shuffle(shuffled)
        k = rng.randint(1, len(ids) // 2)
        return {"action": "partition", "groups": [sorted(shuffled[:k], key=ids.index)]}
    if action == "heal_all":
        return {"action": "heal_all"}
    if action == "set_link":
        a, b = rng.sample(ids, 2)
        iv = {"action": "set_link", "a": a, "b": b}
        if rng.random() < 0.7:
            lo = rng.randint(0, 200)
            iv["latency"] = [lo, lo + rng.randint(0, 300)]
        if "latency" not in iv or rng.random() < 0.5:
            iv["loss"] = rng.choice([0.0, 0.1, 0.3, 0.5, 1.0])
        return iv
    if action == "set_drift":
        return {"action": "set_drift", "node": rng.choice(ids), "factor": rng.choice([0.5, 0.8, 1.0, 1.25, 2.0])}
    raise ValueError(action)
