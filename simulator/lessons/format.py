"""The lesson format (docs/lessons.md): validation with errors naming the step and field.

`validate_lesson(raw, slug)` returns the normalised lesson (the scenario normalised, each text with its parsed
`spans`, each `do` split into its intervention, hint and matched fields) or raises LessonError.
"""

import json
import re

from ..errors import PlaygroundError
from ..interventions import COMMON, NODE, validate_intervention
from ..protocols import get_protocol
from ..scenario import DURATION, MAX_SCENARIO_BYTES, normalize_scenario
from .errors import LessonError
from .expect import validate_expect
from .text import parse_text

MAX_LESSON_BYTES = MAX_SCENARIO_BYTES + 64 * 1024
MAX_STEPS = 100
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
TOP_FIELDS = ("title", "summary", "protocol", "scenario", "steps")
STEP_FIELDS = ("text", "until", "highlight", "ask", "do", "expect")
ASK_FIELDS = ("question", "choices", "answer", "why")
DO_EXTRA = ("hint", "match", "refused")
ERROR_CODE = re.compile(r"^[a-z][a-z_]{0,40}$")
TEXT_LIMITS = {"title": 120, "summary": 600, "text": 3000, "question": 400, "choice": 200, "why": 1500,
               "hint": 400}


def load_lesson(path):
    """Read and validate a lesson file; its slug is the file name without `.json`."""
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    if not name.endswith(".json"):
        raise LessonError(f"{name}: a lesson file's name ends in .json", field="slug")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_LESSON_BYTES + 1)
    except OSError as err:
        raise LessonError(f"cannot read {path}: {err.strerror}", code="io_error") from None
    if len(raw) > MAX_LESSON_BYTES:
        raise LessonError(f"lesson: larger than {MAX_LESSON_BYTES} bytes", code="too_large")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as err:  # RecursionError: nested too deep
        raise LessonError(f"lesson: not valid JSON ({err})") from None
    return validate_lesson(data, name[:-len(".json")])


def validate_lesson(raw, slug):
    if not isinstance(slug, str) or not SLUG.match(slug) or len(slug) > 80:
        raise LessonError(f"slug: lowercase letters, digits and single dashes (at most 80), got {slug!r}",
                          field="slug")
    if not isinstance(raw, dict):
        raise LessonError("lesson: must be an object with title, summary, protocol, scenario, steps", field="lesson")
    _only(raw, TOP_FIELDS, "")
    for key in TOP_FIELDS:
        if key not in raw:
            raise LessonError(f"{key}: required", field=key)
    lesson = {"slug": slug}
    for key in ("title", "summary"):
        lesson[key] = _text(raw[key], key, TEXT_LIMITS[key])
    try:
        proto = get_protocol(raw["protocol"]) if isinstance(raw["protocol"], str) else None
    except PlaygroundError as err:
        message = err.message if err.message.startswith("protocol") else f"protocol: {err.message}"
        raise LessonError(message, field="protocol") from None
    if proto is None:
        raise LessonError(f"protocol: must be a protocol name, got {raw['protocol']!r}", field="protocol")
    lesson["protocol"] = proto.name
    scenario = raw["scenario"]
    if isinstance(scenario, dict) and scenario.get("protocol", proto.name) != proto.name:
        raise LessonError(f"scenario.protocol: {scenario['protocol']!r} differs from the lesson's protocol "
                          f"{proto.name!r}", field="scenario.protocol")
    try:
        lesson["scenario"] = normalize_scenario(dict(scenario, protocol=proto.name) if isinstance(scenario, dict)
                                                else scenario)
    except PlaygroundError as err:
        field = f"scenario.{err.field}" if err.field and not err.field.startswith("scenario") else "scenario"
        message = err.message if err.message.startswith("scenario") else f"scenario.{err.message}"
        raise LessonError(message, field=field) from None
    ids = proto.scenario_node_ids(lesson["scenario"]["nodes"], lesson["scenario"]["params"])
    steps = raw["steps"]
    if not isinstance(steps, list) or not steps:
        raise LessonError("steps: must be a non-empty list", field="steps")
    if len(steps) > MAX_STEPS:
        raise LessonError(f"steps: at most {MAX_STEPS}, got {len(steps)}", field="steps")
    lesson["steps"] = []
    at = 0
    for i, step in enumerate(steps):
        out = _step(step, proto, ids, f"steps[{i}]", at)
        at = out.get("until", at)
        out["moment"] = at  # where the step pauses (its until, or the previous step's): what Back seeks to
        lesson["steps"].append(out)
    return lesson


def _step(step, proto, ids, where, at):
    if not isinstance(step, dict):
        raise LessonError(f"{where}: must be an object with at least `text`", field=where)
    _only(step, STEP_FIELDS, where)
    out = {"text": _text(step.get("text"), f"{where}.text", TEXT_LIMITS["text"])}
    out["spans"] = parse_text(out["text"], f"{where}.text", TEXT_LIMITS["text"])
    if "until" in step:
        until = step["until"]
        if isinstance(until, bool) or not isinstance(until, int) or not 0 <= until <= DURATION.max:
            raise LessonError(f"{where}.until: must be an integer between 0 and {DURATION.max} (simulated ms), "
                              f"got {until!r}", field=f"{where}.until")
        if until < at:
            raise LessonError(f"{where}.until: must not go back in time: the previous steps reach t={at}, "
                              f"got {until}", field=f"{where}.until")
        out["until"] = until
    if "highlight" in step:
        out["highlight"] = _highlight(step["highlight"], proto, ids, f"{where}.highlight")
    if "ask" in step:
        out["ask"] = _ask(step["ask"], f"{where}.ask")
    if "do" in step:
        out["do"] = _do(step["do"], proto, ids, f"{where}.do")
    if "expect" in step:
        out["expect"] = validate_expect(step["expect"], proto, ids, f"{where}.expect")
    return out


def _text(value, where, limit):
    parse_text(value, where, limit)
    return value


def _only(d, allowed, where):
    for key in d:
        if key not in allowed:
            name = f"{where}.{key}" if where else key
            raise LessonError(f"{name}: unknown field (allowed: {', '.join(allowed)})", field=name)


def _node(value, proto, ids, where):
    if isinstance(value, str) and (value in ids or value in proto.selectors):
        return value
    sel = f" or a role ({', '.join(proto.selectors)})" if proto.selectors else ""
    raise LessonError(f"{where}: unknown node {value!r} (nodes are {ids[0]}..{ids[-1]}{sel})", field=where)


def _highlight(raw, proto, ids, where):
    if not isinstance(raw, list) or not raw or len(raw) > 40:
        raise LessonError(f"{where}: must be a list of 1 to 40 items: node ids or roles, {{\"link\": [a, b]}}, "
                          f"{{\"message\": kind}}", field=where)
    out = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        if isinstance(item, str):
            out.append(_node(item, proto, ids, w))
        elif isinstance(item, dict) and list(item) == ["link"]:
            pair = item["link"]
            if not isinstance(pair, list) or len(pair) != 2:
                raise LessonError(f"{w}.link: must be [a, b]", field=f"{w}.link")
            a, b = (_node(n, proto, ids, f"{w}.link[{j}]") for j, n in enumerate(pair))
            if a == b:
                raise LessonError(f"{w}.link: a and b are the same node ({a})", field=f"{w}.link")
            out.append({"link": [a, b]})
        elif isinstance(item, dict) and list(item) == ["message"]:
            kind = item["message"]
            if not isinstance(kind, str) or not kind or len(kind) > 60:
                raise LessonError(f"{w}.message: must be a message kind (e.g. \"RequestVote\")", field=f"{w}.message")
            out.append({"message": kind})
        else:
            raise LessonError(f"{w}: must be a node id or role, {{\"link\": [a, b]}} or {{\"message\": kind}}, "
                              f"got {json.dumps(item)[:80]}", field=w)
    return out


def _ask(raw, where):
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: must be an object with question, choices, answer, why", field=where)
    _only(raw, ASK_FIELDS, where)
    for key in ASK_FIELDS:
        if key not in raw:
            raise LessonError(f"{where}.{key}: required", field=f"{where}.{key}")
    out = {"question": _text(raw["question"], f"{where}.question", TEXT_LIMITS["question"])}
    choices = raw["choices"]
    if not isinstance(choices, list) or not 2 <= len(choices) <= 4:
        n = len(choices) if isinstance(choices, list) else choices
        raise LessonError(f"{where}.choices: must be a list of 2 to 4 choices, got {n!r}", field=f"{where}.choices")
    out["choices"] = [_text(c, f"{where}.choices[{i}]", TEXT_LIMITS["choice"]) for i, c in enumerate(choices)]
    if len(set(out["choices"])) != len(out["choices"]):
        raise LessonError(f"{where}.choices: two choices are the same", field=f"{where}.choices")
    answer = raw["answer"]
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise LessonError(f"{where}.answer: must be the index of the right choice (0..{len(choices) - 1}), "
                          f"got {answer!r}", field=f"{where}.answer")
    out["answer"] = answer
    out["why"] = _text(raw["why"], f"{where}.why", TEXT_LIMITS["why"])
    out["spans"] = {"question": parse_text(out["question"], where, TEXT_LIMITS["question"]),
                    "choices": [parse_text(c, where, TEXT_LIMITS["choice"]) for c in out["choices"]],
                    "why": parse_text(out["why"], where, TEXT_LIMITS["why"])}
    return out


def _do(raw, proto, ids, where):
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: must be an intervention (action and its fields) with a hint", field=where)
    if "hint" not in raw:
        raise LessonError(f"{where}.hint: required (how to do it on the page)", field=f"{where}.hint")
    hint = _text(raw["hint"], f"{where}.hint", TEXT_LIMITS["hint"])
    iv = {k: v for k, v in raw.items() if k not in DO_EXTRA}
    if "at" in iv:
        raise LessonError(f"{where}.at: a step's `do` happens at the step's moment (set the step's `until`)",
                          field=f"{where}.at")
    try:
        intervention = validate_intervention(proto, ids, iv, where=where, error=LessonError)
    except LessonError as err:  # one code for every fault of a lesson file (unknown_action... name the field)
        raise LessonError(err.message, field=err.field) from None
    fields = [k for k in intervention if k != "action"]
    match = raw.get("match")
    if match is None:
        match = [k for k in fields if k in iv and is_node_field(proto, intervention["action"], k)]
    elif not isinstance(match, list) or not all(isinstance(k, str) for k in match):
        raise LessonError(f"{where}.match: must be a list of the intervention's field names", field=f"{where}.match")
    for i, key in enumerate(match):
        if key not in fields:
            raise LessonError(f"{where}.match[{i}]: {key!r} is not a field of this {intervention['action']} "
                              f"(fields: {', '.join(fields) or 'none'})", field=f"{where}.match[{i}]")
    out = {"intervention": intervention, "hint": hint, "match": list(match),
           "hint_spans": parse_text(hint, f"{where}.hint", TEXT_LIMITS["hint"])}
    if "refused" in raw:  # the lesson predicts the action is refused with this error code (e.g. "uncertain")
        if not isinstance(raw["refused"], str) or not ERROR_CODE.match(raw["refused"]):
            raise LessonError(f"{where}.refused: must be an error code such as \"uncertain\", got "
                              f"{raw['refused']!r}", field=f"{where}.refused")
        out["refused"] = raw["refused"]
    return out


def is_node_field(proto, action, key):
    """Does field `key` of `action` name nodes (an id or a role selector)?"""
    if action in COMMON:
        return COMMON[action][0].get(key) in (NODE, "groups")
    return action in proto.actions and key in proto.actions[action].node_fields
