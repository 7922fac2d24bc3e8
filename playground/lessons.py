"""The lesson player's pages and messages (issue 13, web side; docs/lessons.md).

Pages: `/learn/` (the lessons by protocol), `/learn/<slug>/` (the playground with the lesson's steps beside the
run), `/embed/<slug>/` and `/embed/s/<slug>/` (a lesson or a saved run without chrome, for an iframe on another
site: the only routes whose frame policy allows framing).

WebSocket messages (docs/websocket.md):
- `play_until` {t}: play to moment t and pause there exactly (everything before t has happened, nothing at t),
  as `Simulation.advance(t)` does headless, so the lesson's numbers hold;
- `lesson_do` {lesson, step, intervention | for_me}: the learner's action at a `do` step, recognised with
  `matches_do` before it is applied (a different action is applied anyway and answered "not quite it");
  `for_me` applies the step's own `do`. An action the step expects to be refused counts as done when it is
  refused with that code. Answered by `lesson_did` {step, ok, message, refused?}.
"""

import copy
import functools

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from simulator.errors import PlaygroundError
from simulator.lessons import LESSONS_DIR, lesson_index, load_lesson, matches_do, parse_text
from simulator.lessons.format import SLUG, TEXT_LIMITS
from simulator.protocols import get_protocol


MAX_MOMENT = 24 * 3600 * 1000


@functools.lru_cache(maxsize=64)
def lesson_get(slug):
    """The normalised lesson `slug` (docs/lessons/<slug>.json), or Http404. Lessons ship with the code: cached."""
    path = LESSONS_DIR / f"{slug}.json"
    if not SLUG.match(slug or "") or not path.is_file():
        raise Http404(f"no lesson {slug!r}")
    lesson = load_lesson(path)
    for key in ("title", "summary"):  # the player shows spans, never markup
        lesson[f"{key}_spans"] = parse_text(lesson[key], key, TEXT_LIMITS[key])
    return lesson


@functools.lru_cache(maxsize=1)
def _index():
    """lesson_index() with the title and summary parsed into spans (the page renders spans, never markup)."""
    return [dict(e, title_spans=parse_text(e["title"], "title", TEXT_LIMITS["title"]),
                 summary_spans=parse_text(e["summary"], "summary", TEXT_LIMITS["summary"])) for e in lesson_index()]


def lessons_of(protocol):
    """[{slug, title}] of the protocol's lessons (a teacher in class picks one)."""
    return [{"slug": e["slug"], "title": e["title"]} for e in _index() if e["protocol"] == protocol]


# --- pages ------------------------------------------------------------------------------------------------
@require_GET
def learn_index(request):
    groups = []
    for entry in _index():
        if not groups or groups[-1]["protocol"] != entry["protocol"]:
            proto = get_protocol(entry["protocol"]).describe()
            groups.append({"protocol": entry["protocol"], "title": proto["title"], "lessons": []})
        groups[-1]["lessons"].append(entry)
    return render(request, "learn.html", {"groups": groups})


def student_copy(lesson):
    """The lesson as a class's students get it: no prediction's answer or `why` (the teacher's reveal carries
    them) and no `expect` (a step's checks pin the previous prediction's answer)."""
    out = copy.deepcopy(lesson)
    for step in out["steps"]:
        step.pop("expect", None)
        ask = step.get("ask")
        if ask:
            for key in ("answer", "why"):
                ask.pop(key, None)
            ask["spans"].pop("why", None)
    return out


@require_GET
def learn_lesson(request, slug):
    from . import views

    lesson = lesson_get(slug)
    if request.GET.get("watch") or request.GET.get("class"):  # following someone's run: a student
        lesson = dict(student_copy(lesson), following=True)
    return views.play(request, lesson["protocol"], extra_config={"lesson": lesson}, template="learn_lesson.html")


def _embed_policy(response):
    """Framing allowed on this response only: CSP frame-ancestors from PLAYGROUND_EMBED_ANCESTORS (default any
    site); every other route keeps `frame-ancestors 'none'` and X-Frame-Options DENY."""
    ancestors = getattr(settings, "PLAYGROUND_EMBED_ANCESTORS", "*")
    policy = settings.CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")
    response["Content-Security-Policy"] = policy
    return response


@xframe_options_exempt
@require_GET
def embed_lesson(request, slug):
    from . import views

    lesson = lesson_get(slug)
    response = views.play(request, lesson["protocol"], extra_config={"lesson": lesson, "embed": "lesson"},
                          template="embed.html")
    return _embed_policy(response)


@xframe_options_exempt
@require_GET
def embed_saved(request, slug):
    from . import views
    from .pages import saved_config
    from .selectors import scenario_get

    row = scenario_get(slug)
    response = views.play(request, row.protocol, saved=saved_config(row), extra_config={"embed": "saved"},
                          template="embed.html")
    return _embed_policy(response)


# --- WebSocket messages -------------------------------------------------------------------------------------
class LessonRefused(PlaygroundError):
    def __init__(self, code, message, field=None):
        super().__init__(message, code=code, field=field)


def _moment(msg):
    t = msg.get("t")
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= MAX_MOMENT:
        raise LessonRefused("bad_t", f"t: must be a whole number of simulated ms from 0 to {MAX_MOMENT}", "t")
    return t


async def _play_until(session, msg):
    await play_until(session, _moment(msg))


async def play_until(session, t):
    """Play to moment t and pause there exactly (the run loop's stop_at, as a shared link's end)."""
    sim = session.sim
    if t < sim.now:
        raise LessonRefused("bad_t", f"t: the run is at {sim.now} ms already; seek back to go to {t} ms", "t")
    if t == sim.now:
        await session._set_playing(False)
        return
    session.stop_at = t
    await session._set_playing(True)


def _step_of(msg):
    slug = msg.get("lesson")
    if not isinstance(slug, str):
        raise LessonRefused("unknown_lesson", "lesson: required, the lesson's slug", "lesson")
    try:
        lesson = lesson_get(slug)
    except Http404:
        raise LessonRefused("unknown_lesson", f"lesson: no lesson {slug[:60]!r}", "lesson") from None
    k = msg.get("step")
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < len(lesson["steps"]) \
            or "do" not in lesson["steps"][k]:
        raise LessonRefused("bad_step", "step: must be the index of a step of this lesson that asks for an action",
                            "step")
    return lesson["steps"][k], k


async def _lesson_do(session, msg):
    step, k = _step_of(msg)
    do = step["do"]
    sim = session.sim
    if sim.now != step["moment"]:
        raise LessonRefused("not_at_step", f"this step's action belongs at {step['moment']} ms and the run is at "
                            f"{sim.now} ms: go back to the step and try again", "step")
    if msg.get("for_me") is True:
        iv, match_message, ok = dict(do["intervention"]), "Done for you.", True
    else:
        iv = msg.get("intervention")
        if not isinstance(iv, dict):
            raise LessonRefused("invalid_intervention", "intervention: required (an object with an `action`)",
                                "intervention")
        match = matches_do(step, iv, sim)  # before applying it: a crash changes who `leader` is
        ok, match_message = match.ok, match.message
    out = {"type": "lesson_did", "step": k, "ok": ok, "message": match_message}
    try:
        await session.travel.intervene(iv)  # forks when behind the frontier, as `intervene` does
    except PlaygroundError as err:
        if not (ok and do.get("refused") == err.code):
            raise
        out.update(refused=err.code, message=f"Refused, as the lesson predicted: {err.message}")
    await session.flush()
    if msg.get("id") is not None:
        out["id"] = msg["id"]
    from .session import dumps

    await session.emit(dumps(out), broadcast=False)


LESSON_HANDLERS = {"play_until": _play_until, "lesson_do": _lesson_do}
