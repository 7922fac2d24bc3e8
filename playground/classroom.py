"""The class (issue 12; docs/classroom.md): a teacher's run followed by students who join with a short code.

- `teach` (the owner of a run) gets a 6-character code from an alphabet without look-alikes, a link `/c/<code>`
  and a QR code (an SVG drawn server-side by segno), and a token only its browser holds. Code -> room lives in
  the cache (Redis in production, so every Daphne process knows it), with an expiry.
- The teacher sees how many follow (`viewers`). If the teacher's connection drops (a reload, a network blip), the
  run is parked in the cache (its recorded scenario, time and speed: the engine is deterministic, so that is the
  whole state), students are told the class is paused, and any process rebuilds it when the teacher's browser
  sends `reclaim` with the token within RECLAIM_SECONDS; otherwise the class ends and students are told plainly.
- A student's `fork` turns their connection into an owner of a run rebuilt from the teacher's recorded scenario
  at the teacher's moment (the same trace), free to crash and cut.
- Predictions: the teacher's `ask` pauses the run and puts a question with 2 to 4 choices to every student; each
  answers once (`answer`); the teacher sees the `tally`; `reveal` shows it to everyone and plays on.
- A lesson in a class (issue 13): `teach` with `lesson` (a slug) sends students to the lesson's page; the teacher's
  `lesson_step` {step} moves every student to that step; `ask` {step} asks that step's prediction (the question
  and choices from the lesson; students' copy of the lesson has no answers), and its `reveal` carries the answer
  and `why`, then plays to the next step's moment (a `lesson_step` to everyone) as the player does alone.
- The open question, its answers and the lesson's step are parked with the run: a reloaded teacher gets them back.
- Rebuilding a run (reclaim, fork) re-simulates under the same cost limits as a seek (travel.Budget): refused up
  front or stopped with `too_costly`, and the class goes on as it was.

Channel-layer messages (beside consumers.py's room.*): `room.class` (a serialised message for every viewer),
`room.class_direct` (one for a single student: what a late joiner missed),
`room.owner_back` (viewers ask for a fresh snapshot), `room.fork_request` / `room.fork_state`, `room.answer`.
"""

import asyncio
import hashlib
import hmac
import io
import logging
import re
import secrets

import segno
from channels.exceptions import ChannelFull
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from simulator import Simulation
from simulator.errors import PlaygroundError
from simulator.timetravel.cost import run_slices

from .lessons import lesson_get, lessons_of, play_until


class ClassError(PlaygroundError):
    """A class message that cannot be acted on: an `error` with this code; the session goes on."""

    def __init__(self, code, message, field=None):
        super().__init__(message, code=code, field=field)


def _dumps(obj):
    from .session import dumps  # session.py imports this module for CLASS_HANDLERS

    return dumps(obj)

log = logging.getLogger("playground.classroom")

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a projector, typed on a phone
CODE_LENGTH = 6
CODE_RE = re.compile(f"^[{ALPHABET}]{{{CODE_LENGTH}}}$")
CLASS_SECONDS = 8 * 3600  # a code lives a school day at most (refreshed on reclaim)
RECLAIM_SECONDS = 60  # the teacher's browser has this long to come back
MAX_QUESTION = 300
MAX_CHOICE = 120


def normalise_code(text):
    """A code as typed ("k7m 2pq", "K7M-2PQ") -> "K7M2PQ", or None if it cannot be one."""
    code = re.sub(r"[\s-]", "", str(text or "")).upper()
    return code if CODE_RE.match(code) else None


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _class_key(code):
    return f"class:{code}"


def _room_key(room):
    return f"classroom:{room}"


def _parked_key(room):
    return f"classrun:{room}"


def lookup(code):
    """The class behind a code ({room, protocol, token_hash}), or None."""
    code = normalise_code(code)
    return cache.get(_class_key(code)) if code else None


def _class_lesson(slug, protocol):
    """The lesson a class is taught from (`teach`'s `lesson`), or None."""
    if slug is None:
        return None
    try:
        lesson = lesson_get(slug) if isinstance(slug, str) else None
    except Http404:
        lesson = None
    if lesson is None or lesson["protocol"] != protocol:
        raise ClassError("unknown_lesson", "lesson: the slug of a lesson of this run's protocol", "lesson")
    return lesson


def _plain(paragraphs):
    """Lesson text spans as plain text (the class bar shows text; the lesson panel shows the spans)."""
    return "\n\n".join("".join(text for _, text in para) for para in paragraphs)


# --- HTTP: /join, /c/<code>, /c/<code>/qr.svg ------------------------------------------------------------------
def join(request):
    """A form to type the code; with ?code=, straight to the class (or the form again, saying the code is unknown)."""
    typed = request.GET.get("code")
    if typed is not None:
        code = normalise_code(typed)
        if code and lookup(code):
            return HttpResponseRedirect(reverse("class", args=[code]))
        return render(request, "join.html", {"typed": typed[:20], "unknown": True}, status=404)
    return render(request, "join.html", {})


def class_page(request, code):
    entry = lookup(code)
    if entry is None:
        return render(request, "join.html", {"typed": code[:20], "unknown": True}, status=404)
    if entry.get("lesson"):  # a class taught from a lesson: students follow it on the lesson's page
        url = reverse("lesson", args=[entry["lesson"]])
    else:
        url = reverse("play", args=[entry["protocol"]])
    return HttpResponseRedirect(f"{url}?watch={entry['room']}&class={normalise_code(code)}")


def class_qr(request, code):
    if lookup(code) is None:
        raise Http404("no such class")
    out = io.BytesIO()
    segno.make(request.build_absolute_uri(reverse("class", args=[normalise_code(code)])), error="m").save(
        out, kind="svg", scale=10, border=2, dark="#0f172a", xmldecl=False)
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")


# --- the class, on the teacher's connection ----------------------------------------------------------------------
class Classroom:
    """Class state of one connection: as a teacher (code, token, the open question) or as a student (the question
    it may answer once). The consumer calls in; this sends through it."""

    def __init__(self, consumer):
        self.consumer = consumer
        self.code = None
        self.token = None
        self.poll = None  # teacher: {id, question, choices, counts, open, lesson?, step?}
        self.lesson = None  # teacher of a lesson: {"slug", "step"} (the step every student is shown)
        self.asked = None  # student: {id, choices, answered}

    @property
    def session(self):
        return self.consumer.session

    @property
    def teaching(self):
        return self.code is not None

    async def _to_owner(self, obj):
        await self.consumer.emit(_dumps(obj), broadcast=False)

    async def _to_students(self, obj):
        from .consumers import room_group

        await self.consumer.channel_layer.group_send(room_group(self.session.room),
                                                     {"type": "room.class", "text": _dumps(obj), "obj": obj})

    def _class_message(self):
        origin = self.session.page_origin or ""
        path = reverse("class", args=[self.code])
        protocol = self.session.sim.scenario["protocol"]
        return {"type": "class", "code": self.code, "room": self.session.room, "token": self.token,
                "url": origin + path, "path": path, "qr": path + "/qr.svg", "viewers": len(self.consumer.viewers),
                "lesson": self.lesson["slug"] if self.lesson else None,
                "lessons": lessons_of(protocol)}

    # teacher's messages
    async def teach(self, msg):
        if self.consumer.channel_layer is None:
            raise ClassError("no_rooms", "a class needs a channel layer")
        if not self.teaching:
            lesson = _class_lesson(msg.get("lesson"), self.session.sim.scenario["protocol"])
            self.token = secrets.token_urlsafe(24)
            entry = {"room": self.session.room, "protocol": self.session.sim.scenario["protocol"],
                     "token_hash": _token_hash(self.token)}
            if lesson is not None:
                entry["lesson"] = lesson["slug"]
                self.lesson = {"slug": lesson["slug"], "step": 0}
            for _ in range(20):
                code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
                if await cache.aadd(_class_key(code), entry, CLASS_SECONDS):
                    break
            else:
                raise ClassError("too_busy", "no free class code; try again")
            self.code = code
            await cache.aset(_room_key(self.session.room), code, CLASS_SECONDS)
        await self._to_owner(self._class_message())

    async def viewers_changed(self):
        if self.teaching:
            await self._to_owner({"type": "viewers", "count": len(self.consumer.viewers)})

    def _lesson_step_message(self):
        return {"type": "lesson_step", "lesson": self.lesson["slug"], "step": self.lesson["step"]}

    async def lesson_step(self, msg):
        """The teacher moved to step k (Next, Back): every student is shown it."""
        if not self.teaching or self.lesson is None:
            raise ClassError("not_teaching_a_lesson", "teach a class from a lesson's page first")
        steps = lesson_get(self.lesson["slug"])["steps"]
        k = msg.get("step")
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(steps):
            raise ClassError("bad_step", f"step: 0 to {len(steps)} (the number of steps: the lesson is over)", "step")
        self.lesson["step"] = k
        await self._to_students(self._lesson_step_message())

    async def ask(self, msg):
        if not self.teaching:
            raise ClassError("not_teaching", "press Teach first: only a class's teacher asks")
        if msg.get("step") is not None:
            poll = self._lesson_poll(msg.get("step"))
        else:
            question = msg.get("question")
            choices = msg.get("choices")
            if not isinstance(question, str) or not 0 < len(question.strip()) <= MAX_QUESTION:
                raise ClassError("bad_question", f"question: text of 1 to {MAX_QUESTION} characters", "question")
            if (not isinstance(choices, list) or not 2 <= len(choices) <= 4
                    or not all(isinstance(c, str) and 0 < len(c.strip()) <= MAX_CHOICE for c in choices)):
                raise ClassError("bad_choices", f"choices: 2 to 4 texts of at most {MAX_CHOICE} characters",
                                 "choices")
            poll = {"question": question.strip(), "choices": [c.strip() for c in choices]}
        await self.session._set_playing(False)  # the run waits for the answers
        poll_id = (self.poll["id"] + 1) if self.poll else 1
        self.poll = {"id": poll_id, **poll, "counts": [0] * len(poll["choices"]), "open": True}
        await self._to_students(self._ask_message())
        await self._tally()

    def _lesson_poll(self, k):
        """A lesson step's prediction as a question: its text without markup (the page shows the lesson's own
        spans), never its answer (that goes out with the reveal)."""
        if self.lesson is None:
            raise ClassError("not_teaching_a_lesson", "step: only a class taught from a lesson asks a step's question",
                             "step")
        steps = lesson_get(self.lesson["slug"])["steps"]
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < len(steps) or "ask" not in steps[k]:
            raise ClassError("bad_step", "step: the index of a step of this lesson that asks a question", "step")
        spans = steps[k]["ask"]["spans"]
        return {"question": _plain(spans["question"]), "choices": [_plain(c) for c in spans["choices"]],
                "lesson": self.lesson["slug"], "step": k}

    def _ask_message(self):
        p = self.poll
        out = {"type": "ask", "poll": p["id"], "question": p["question"], "choices": p["choices"]}
        if "step" in p:
            out.update(lesson=p["lesson"], step=p["step"])
        return out

    async def _tally(self):
        p = self.poll
        out = {"type": "tally", "poll": p["id"], "question": p["question"], "choices": p["choices"],
               "counts": p["counts"], "answered": sum(p["counts"]), "students": len(self.consumer.viewers)}
        if "step" in p:
            out.update(lesson=p["lesson"], step=p["step"])
        await self._to_owner(out)

    async def reveal(self, msg):
        if not self.teaching or self.poll is None or not self.poll["open"]:
            raise ClassError("no_question", "there is no open question to reveal")
        p = self.poll
        p["open"] = False
        out = {"type": "reveal", "poll": p["id"], "question": p["question"], "choices": p["choices"],
               "counts": p["counts"]}
        next_moment = None
        if "step" in p:  # a lesson's prediction: its answer and why, only now
            steps = lesson_get(p["lesson"])["steps"]
            ask = steps[p["step"]]["ask"]
            out.update(lesson=p["lesson"], step=p["step"], answer=ask["answer"], why=ask["why"],
                       why_spans=ask["spans"]["why"])
            k = p["step"] + 1
            if k < len(steps) and "do" not in steps[p["step"]] and self.lesson["step"] == p["step"]:
                self.lesson["step"] = k  # a step that waits for an action stays until the teacher performs it
                next_moment = steps[k]["moment"]
        await self._to_students(out)
        await self._to_owner(out)
        if "step" not in p:
            await self.session._set_playing(True)  # ... and plays on: the run shows the answer
        elif next_moment is not None:  # ... to the lesson's next stop, as the player does alone
            await self._to_students(self._lesson_step_message())
            await self._to_owner(self._lesson_step_message())
            if next_moment >= self.session.sim.now:
                await play_until(self.session, next_moment)

    async def answer_arrived(self, poll_id, choice):
        p = self.poll
        if p is None or not p["open"] or p["id"] != poll_id or not 0 <= choice < len(p["counts"]):
            return
        p["counts"][choice] += 1
        await self._tally()

    async def student_joined(self, channel):
        """A student joining gets, after the snapshot, the lesson's step and the open question."""
        late = []
        if self.lesson is not None:
            late.append(self._lesson_step_message())
        if self.poll is not None and self.poll["open"]:
            late.append(self._ask_message())
        for obj in late:
            try:
                await self.consumer.channel_layer.send(channel, {"type": "room.class_direct", "obj": obj,
                                                                 "text": _dumps(obj)})
            except ChannelFull:  # that student is far behind; the class goes on without it
                log.warning("class %s: student channel full, %s not sent", self.code, obj["type"])
                return

    async def fork_state(self):
        """What a student's fork starts from: the teacher's run so far, replayable exactly (and how many engine
        events it took: the rebuild's up-front cost estimate)."""
        sim = self.session.sim
        return {"scenario": sim.recorded_scenario(), "t": sim.now, "speed": self.session.speed,
                "events": sim.event_count}

    # the teacher leaves: park the run for RECLAIM_SECONDS
    async def teacher_left(self):
        """Called on the teacher's disconnect instead of ending the room. Returns True if the class waits."""
        if not self.teaching or self.session.sim is None:
            return False
        room = self.session.room
        parked = {**await self.fork_state(), "poll": self.poll, "lesson": self.lesson}  # the tally survives
        await cache.aset(_parked_key(room), parked, RECLAIM_SECONDS + 30)
        await self._to_students({"type": "class_paused", "seconds": RECLAIM_SECONDS,
                                 "message": "The teacher's connection dropped: the class is paused and goes on "
                                            "when they are back."})
        asyncio.get_running_loop().create_task(_end_unless_reclaimed(self.consumer.channel_layer, room, self.code))
        return True

    # student's messages
    def on_student_message(self, obj):
        """A class message forwarded to this student: remember the open question (to accept one answer)."""
        if obj.get("type") == "ask":
            self.asked = {"id": obj["poll"], "choices": len(obj["choices"]), "answered": False}
        elif obj.get("type") == "reveal" and self.asked and self.asked["id"] == obj.get("poll"):
            self.asked = None

    async def answer(self, msg):
        from .consumers import control_group

        if self.asked is None:
            raise ClassError("no_question", "there is no open question to answer")
        choice = msg.get("choice")
        if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice < self.asked["choices"]:
            raise ClassError("bad_choice", f"choice: an integer from 0 to {self.asked['choices'] - 1}", "choice")
        if self.asked["answered"]:
            raise ClassError("already_answered", "you answered this question already")
        self.asked["answered"] = True
        await self.consumer.channel_layer.group_send(control_group(self.consumer.viewer.room),
                                                     {"type": "room.answer", "poll": self.asked["id"],
                                                      "choice": choice})
        await self.consumer.emit(_dumps({"type": "answered", "poll": self.asked["id"], "choice": choice}),
                                 broadcast=False)


async def _end_unless_reclaimed(layer, room, code):
    from .consumers import room_group

    await asyncio.sleep(RECLAIM_SECONDS)
    if await cache.aget(_parked_key(room)) is None:
        return  # reclaimed (the parked run was taken)
    await cache.adelete_many([_parked_key(room), _class_key(code), _room_key(room)])
    await layer.group_send(room_group(room), {"type": "room.closed", "message": "The class has ended."})


async def reclaim(consumer, msg):
    """`reclaim` on a fresh connection: the teacher's browser takes its class back (same room, same code).
    With `lesson` (the teacher picked one in class and opened its page): the class goes on with a fresh run of
    the lesson's scenario, and students are sent to the lesson's page (`class_lesson`)."""
    room, token = msg.get("room"), msg.get("token")
    if not isinstance(room, str) or not isinstance(token, str) or len(token) > 100:
        raise ClassError("bad_reclaim", "reclaim: needs the `room` and the `token` of your class", "token")
    if consumer.session.sim is not None:
        raise ClassError("already_started", "this connection drives its own run; reclaim from a new one")
    code = await cache.aget(_room_key(room))
    entry = await cache.aget(_class_key(code)) if code else None
    if entry is None or not hmac.compare_digest(entry["token_hash"], _token_hash(token)):
        raise ClassError("bad_reclaim", "that class has ended, or the token is not its teacher's", "token")
    parked = None
    for _ in range(30):  # the old connection's disconnect may still be parking the run
        parked = await cache.aget(_parked_key(room))
        if parked is not None:
            break
        await asyncio.sleep(0.1)
    if parked is None:
        raise ClassError("bad_reclaim", "the class's run is not waiting (it ended, or is still connected)", "room")
    lesson = _class_lesson(msg.get("lesson"), entry["protocol"])
    moved = lesson is not None and (parked.get("lesson") or {}).get("slug") != lesson["slug"]
    if moved:  # the teacher picked a lesson: the class goes on with the lesson's run, from its start
        parked = {"scenario": lesson["scenario"], "t": 0, "speed": parked["speed"], "events": 0, "poll": None,
                  "lesson": {"slug": lesson["slug"], "step": 0}}
        entry = {**entry, "lesson": lesson["slug"]}
    session = consumer.session
    sim = await rebuild(parked, session)  # over the cost limits: too_costly, and the run stays parked
    await cache.adelete(_parked_key(room))
    session.room = room
    session.speed = parked["speed"]
    session.travel.start({}, sim)
    await session.replace_simulation(sim, playing=False, include_events=False)
    from .consumers import control_group, room_group

    consumer.owner_joined = True  # in the room's control group before its students ask for a snapshot
    await consumer.channel_layer.group_add(control_group(room), consumer.channel_name)
    await consumer.channel_layer.group_send(room_group(room), {"type": "room.owner_back"})
    classroom = consumer.classroom
    classroom.code, classroom.token = code, token
    classroom.poll, classroom.lesson = parked.get("poll"), parked.get("lesson")
    await cache.aset(_class_key(code), entry, CLASS_SECONDS)
    await cache.aset(_room_key(room), code, CLASS_SECONDS)
    await classroom._to_owner(classroom._class_message())
    if moved:  # students follow to the lesson's page
        url = f"{reverse('lesson', args=[lesson['slug']])}?watch={room}&class={code}"
        await classroom._to_students({"type": "class_lesson", "lesson": lesson["slug"], "url": url})
    if classroom.lesson is not None:
        await classroom._to_owner(classroom._lesson_step_message())
    if classroom.poll is not None and classroom.poll["open"]:
        await classroom._tally()


async def rebuild(state, session):
    """A Simulation at `state["t"]` of the recorded scenario: the same trace as the run it was taken from.
    Re-simulated in the travel worker threads under the limits of a seek (session.travel's Budget): refused up
    front from the run's event count, or stopped, with TooCostly (`too_costly`); nothing changes then."""
    t = state["t"]
    budget = session.travel._budget(f"rebuild the class's run to {t} ms",
                                    "Teach (or try) a lighter run: fewer nodes, or from an earlier moment.")
    budget.admit(int(state.get("events") or 0))
    sim = Simulation(state["scenario"])

    def advance():
        for _ in run_slices(sim, t, budget, drain=False):
            pass

    await session.travel._in_worker(budget, advance)
    return sim


async def fork(consumer, state, sim=None):
    """The student's connection becomes the owner of a copy of the teacher's run (paused at the teacher's moment);
    `sim` is `rebuild(state)`, done while the student still followed the class (refused: they still do)."""
    if sim is None:
        sim = await rebuild(state, consumer.session)
    session = consumer.new_session()
    session.speed = state["speed"]
    session.travel.start({}, sim)
    await session.replace_simulation(sim, playing=False, include_events=False)


async def on_teach(session, msg):
    await session.classroom.teach(msg)


async def on_ask(session, msg):
    await session.classroom.ask(msg)


async def on_reveal(session, msg):
    await session.classroom.reveal(msg)


async def on_lesson_step(session, msg):
    await session.classroom.lesson_step(msg)


async def on_reclaim(session, msg):
    await reclaim(session.classroom.consumer, msg)


async def on_answer(session, msg):
    raise ClassError("not_a_student", "only a class's students answer (this connection drives its own run)")


async def on_fork(session, msg):
    raise ClassError("not_a_student", "fork: only someone following a class forks its run")


CLASS_HANDLERS = {"teach": on_teach, "ask": on_ask, "reveal": on_reveal, "reclaim": on_reclaim,
                  "answer": on_answer, "fork": on_fork, "lesson_step": on_lesson_step}
