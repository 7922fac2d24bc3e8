"""Recognising a learner's action (`matches_do`) and playing a lesson headless (`check_lesson`)."""

from collections import namedtuple

from ..engine import Simulation
from ..errors import PlaygroundError
from ..interventions import validate_intervention
from .errors import LessonError
from .format import is_node_field
from .expect import evaluate, jsonish

DoMatch = namedtuple("DoMatch", "ok message")
NOT_QUITE = "That is not quite it: rewind and try again."


def matches_do(step, intervention, sim=None):
    """Is `intervention` (what the learner did, as sent live) the step's `do`? Returns DoMatch(ok, message).

    The action must be the same and so must every field in the `do`'s `match` list. Node fields are compared
    after resolving role selectors in the running simulation `sim` at this moment (`leader` is whoever leads
    now), on both sides; without `sim` they compare as written. A link's two ends compare in either order
    (unless one-way), a partition's groups in any order (the unlisted nodes counted as one more group)."""
    do = step.get("do") if isinstance(step, dict) else None
    if do is None:
        raise LessonError("step: has no `do` to match", field="do")
    want = do["intervention"]
    try:
        if sim is not None:
            got = validate_intervention(type(sim.protocol), sim.node_ids,
                                        {k: v for k, v in intervention.items() if k not in ("at", "selector")}
                                        if isinstance(intervention, dict) else intervention)
        elif isinstance(intervention, dict):
            got = intervention
        else:
            raise LessonError("intervention: must be an object with an `action`", field="intervention")
    except PlaygroundError as err:
        return DoMatch(False, f"{NOT_QUITE} ({err.message})")
    if got.get("action") != want["action"]:
        return DoMatch(False, f"{NOT_QUITE} This step asks you to {describe(want)}; you chose {describe(got)}.")
    for key in do["match"]:
        if _normal(key, want, sim) != _normal(key, got, sim):
            return DoMatch(False, f"{NOT_QUITE} This step asks you to {describe(want, sim)}; you chose "
                                  f"{describe(got, sim)}.")
    return DoMatch(True, "That is it.")


def _resolve(value, sim):
    if sim is None or not isinstance(value, str) or value in sim.nodes:
        return value
    resolved = sim.protocol.resolve(value)
    return resolved if resolved is not None else f"(no {value} now)"


def _normal(key, iv, sim):
    """The field as compared: node fields resolved now, a two-way link's ends and a partition's groups sorted."""
    value = iv.get(key)
    if key == "groups" and isinstance(value, list):
        groups = [sorted(_resolve(n, sim) for n in g) for g in value if isinstance(g, list)]
        if sim is not None:
            listed = {n for g in groups for n in g}
            rest = [n for n in sim.node_ids if n not in listed]
            if rest:
                groups.append(rest)
        return sorted(groups)
    if key in ("a", "b") and iv.get("action") in ("cut", "heal", "set_link") and not iv.get("oneway"):
        return sorted(str(_resolve(iv.get(k), sim)) for k in ("a", "b"))
    if sim is not None and is_node_field(type(sim.protocol), iv.get("action"), key):
        return _resolve(value, sim)
    return value


def describe(iv, sim=None):
    """A short phrase for an intervention: `crash leader (n3)`, `cut n1-n2`, `partition [n1 n2] [n3 n4 n5]`."""
    parts = [str(iv.get("action"))]
    if "a" in iv and "b" in iv:
        parts.append(f"{_shown(iv['a'], sim)}-{_shown(iv['b'], sim)}")
    for key, value in iv.items():
        if key in ("action", "at", "selector", "a", "b") or value is None or value is False or value in ("", {}):
            continue
        if key == "groups" and isinstance(value, list):
            parts.append(" ".join("[" + " ".join(_shown(n, sim) for n in g) + "]" for g in value
                                  if isinstance(g, list)))
        elif key == "node":
            parts.append(_shown(value, sim))
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)


def _shown(value, sim):
    resolved = _resolve(value, sim)
    return f"{value} ({resolved})" if resolved != value else str(value)


def expect_failures(step, sim, where="step"):
    """The step's `expect` checks that do not hold in `sim` now, as [{field, message}] ([]: all hold).

    The player can use it too, e.g. to tell whether a learner's own run still shows what the lesson says."""
    if "expect" not in step:
        return []
    views = {nid: jsonish(node.view()) for nid, node in sim.nodes.items()}
    metrics_cache = []

    def metrics():  # computed once, and only if a check reads a metric
        if not metrics_cache:
            metrics_cache.append(jsonish(sim.protocol.metrics()))
        return metrics_cache[0]

    failures = []
    for j, check in enumerate(step["expect"]):
        problem = evaluate(check, sim, views, metrics)
        if problem:
            failures.append({"field": f"{where}.expect[{j}]", "message": problem})
    return failures


def check_lesson(lesson):
    """Play a validated lesson headless; yield one report per step, then a final `lesson` report.

    Each step: play to its `until`, check its highlights exist (nodes and roles resolve now, messages of that
    kind were sent during the step or are in flight), perform its `do` (and check that the lesson's own matcher
    recognises it), then check its `expect`. A step report lists `failures` as {field, message}; `ok` is true
    when there are none."""
    sim = Simulation(lesson["scenario"])
    kinds = {}  # message kinds sent during this step (since the previous step's do)
    failed = []
    for i, step in enumerate(lesson["steps"]):
        where = f"steps[{i}]"
        failures = []
        if "until" in step:
            sim.advance(step["until"])
        _note_kinds(sim.drain(), kinds)
        for m in sim.network.messages():  # and those in flight now
            kinds[m["msg"].get("kind")] = True
        for j, item in enumerate(step.get("highlight", ())):
            problem = _highlight_problem(item, sim, kinds)
            if problem:
                failures.append({"field": f"{where}.highlight[{j}]", "message": problem})
        report = {"type": "step", "step": i, "t": sim.now}
        if "do" in step:
            do = step["do"]
            try:
                matched = matches_do(step, do["intervention"], sim)
                if not matched.ok:
                    failures.append({"field": f"{where}.do", "message": f"the lesson's own action is not "
                                                                        f"recognised: {matched.message}"})
                sim.intervene(do["intervention"])
                if "refused" in do:
                    failures.append({"field": f"{where}.do.refused", "message": f"expected a refusal "
                                     f"({do['refused']}), but {describe(do['intervention'])} applied at t={sim.now}"})
            except PlaygroundError as err:
                if do.get("refused") == err.code:
                    report["refused"] = err.as_dict()
                else:
                    failures.append({"field": f"{where}.do", "message": f"cannot apply at t={sim.now}: {err.message}"
                                                                        f" ({err.code})"})
            events = sim.drain()
            kinds.clear()  # what the action causes belongs to the next step
            _note_kinds(events, kinds)
            done = [ev for ev in events if ev["type"] == "intervention"]
            if done:  # as the trace shows it: selectors resolved
                report["did"] = {k: v for k, v in done[-1].items() if k not in ("t", "type")}
        failures += expect_failures(step, sim, where)
        if "do" not in step:
            kinds.clear()
        report["ok"] = not failures
        report["checks"] = len(step.get("expect", ()))
        if failures:
            report["failures"] = failures
            failed.append(i)
        yield report
    yield {"type": "lesson", "slug": lesson["slug"], "title": lesson["title"], "ok": not failed,
           "steps": len(lesson["steps"]), "failed_steps": failed, "t": sim.now,
           "violations": sorted({v["invariant"] for v in sim.violations})}


def _note_kinds(events, kinds):
    for ev in events:
        if ev["type"] == "send":
            kind = ev["msg"].get("kind") if isinstance(ev.get("msg"), dict) else None
            if kind is not None:
                kinds[kind] = True


def _highlight_problem(item, sim, kinds):
    if isinstance(item, str):
        return None if item in sim.nodes or sim.protocol.resolve(item) is not None else \
            f"there is no {item} at t={sim.now}"
    if "link" in item:
        for n in item["link"]:
            if n not in sim.nodes and sim.protocol.resolve(n) is None:
                return f"there is no {n} at t={sim.now}"
        return None
    if item["message"] in kinds:
        return None
    seen = ", ".join(sorted(k for k in kinds if k is not None)) or "none"
    return f"no {item['message']} message was sent during this step or is in flight at t={sim.now} (kinds: {seen})"
