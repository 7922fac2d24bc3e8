"""A live session: one simulation, driven in real time for one WebSocket client (and its room's viewers).

The consumer (consumers.py) only moves bytes; everything else is here:

- parsing and checking client messages (every bad one is answered by an `error` with a code; the session
  goes on),
- the run loop: an asyncio task that advances the simulation in bounded slices, paced to the chosen speed
  (simulated ms per wall second), and sends at most one `frame` per tick (20 a second) with every event since
  the previous frame, serialised once,
- flow control: frames carry a sequence number and the client acknowledges them; the loop stops advancing
  the simulation while more than WINDOW frames (or WINDOW_BYTES) are unacknowledged, so a client that stops
  reading leaves the server's memory bounded (Daphne has no backpressure of its own),
- recording: live interventions are applied by the engine at the current simulated time and kept in
  `recorded_scenario()`, which replays the run so far exactly through `python -m simulator run`.

docs/websocket.md documents the protocol. Saving and time travel (`save`, `export`, `seek`, `step_back`) are
further handlers in `Session.HANDLERS`, from playground/travel.py (a composed `Travel`: `session.travel`).
"""

import asyncio
import collections
import json
import logging
import math
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from simulator import Simulation
from simulator.errors import PlaygroundError
from simulator.scenario import DURATION
from simulator.trace import starts_happening

from .classroom import CLASS_HANDLERS
from .hunting import HUNT_HANDLERS, Hunting
from .inputs import BadInput, clip, parse_json
from .lessons import LESSON_HANDLERS
from .ratelimit import RateLimited, asave_rate_check
from .travel import CANCELS_REQUEST, TRAVEL_HANDLERS, Travel

log = logging.getLogger("playground.session")

# Seconds between frames while playing: 20 frames a second by default, PLAYGROUND_FPS sets 1 to 30. The page
# interpolates between frames, so 20 looks as smooth as 30; it costs a quarter less CPU per session and lowers
# the intervene-to-frame latency under load (bench/ws.py: 50 real-time Raft sessions, p99 41 ms vs 66 ms).
TICK = 1 / min(30.0, max(1.0, float(os.environ.get("PLAYGROUND_FPS", "20"))))
WINDOW = 64  # unacknowledged frames after which the loop stops producing
WINDOW_BYTES = 4 * 1024 * 1024  # ... or unacknowledged bytes
# ... or bytes the transport still holds (written by us, not yet taken by the kernel): acks are the client's word,
# this is what it really read. Polled every WRITE_BUFFER_POLL seconds while above the bound.
WRITE_BUFFER_BYTES = 1024 * 1024
WRITE_BUFFER_POLL = 0.05
SLICE_STEPS = 2000  # at most this many engine steps between wall-clock checks
CHUNK_SECONDS = 0.001  # aim: a clock check every millisecond of engine work
SLICE_SECONDS = 0.010  # wall time one slice may take before yielding to the event loop...
TICK_BUDGET_SECONDS = 0.6 * TICK  # ...and all playing sessions of this process together, per tick (60% of a core)
MIN_SLICE_SECONDS = 0.0005
# Events one frame may carry: a heavier run (2,000 gossip nodes at fanout 32 make ~60,000 events per simulated ms)
# goes slower instead, since serialising a frame holds the event loop (~3 us an event; 0.5-1.2 s stalls seen with
# unbounded frames in bench/attack.py) and the page could not show more anyway: 1,000 is 20,000 events a second,
# 80-160 KB a frame, a few ms to serialise.
FRAME_EVENTS = 1000
SPEED_MIN = 1.0  # simulated ms per wall second: 1/1000 of real time
SPEED_MAX = 10_000.0  # 10x real time (the page's slider stops at real time, 1000)
DEFAULT_SPEED = 100.0
IDLE_FRAME_SECONDS = 0.25  # a frame that only moves the clock goes out at most this often
HORIZON = DURATION.max  # a live session runs past the scenario's duration, up to this simulated time
MAX_ID_LENGTH = 64


def happening_length(events):
    """How many of `events` (a step's backlog) belong to the happening at its head (simulator/trace.py)."""
    n = 1
    while n < len(events) and not starts_happening(events[n], events[n - 1]):
        n += 1
    return n


_build_pool = None  # this process's threads that build large simulations (start), made on first use
_build_pool_lock = threading.Lock()


def _forget_builders():
    """In a forked child the parent's build threads do not exist: make a new pool on first use."""
    global _build_pool, _build_pool_lock
    _build_pool = None
    _build_pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_builders)


def _builders():
    global _build_pool
    with _build_pool_lock:
        if _build_pool is None:
            _build_pool = ThreadPoolExecutor(max_workers=max(1, getattr(settings, "PLAYGROUND_BUILD_WORKERS", 2)),
                                             thread_name_prefix="playground-build")
        return _build_pool


def is_large(scenario):
    """Would building this scenario hold the event loop noticeably (a 10,000-node gossip run: 2 s)?"""
    if not isinstance(scenario, dict):
        return False
    nodes, ivs = scenario.get("nodes"), scenario.get("interventions")
    count = nodes if isinstance(nodes, int) else len(nodes) if isinstance(nodes, list) else 0
    return (count > getattr(settings, "PLAYGROUND_BUILD_OFF_LOOP_NODES", 50)
            or (isinstance(ivs, list) and len(ivs) > 200))


def _build_prepared(scenario):
    """In a build thread: the simulation, and the large parts of its `started` message already serialised."""
    sim = Simulation(scenario)
    events = sim.drain()
    return sim, {"scenario": dumps(sim.scenario), "snapshot": dumps(sim.snapshot()), "events": dumps(events)}


async def build_simulation(scenario):
    """(Simulation(scenario), prepared): off the event loop when it is large, in a small pool of threads of its
    own (PLAYGROUND_BUILD_WORKERS at once, first come first served), so the loop keeps answering every other
    client meanwhile (a 10,000-node gossip run: 0.8 s to build, 0.4 s to snapshot and serialise). `prepared` is
    then the `started` message's scenario, snapshot and events as JSON text (else None). One client builds one
    at a time (its messages are handled in order)."""
    if not is_large(scenario):
        return Simulation(scenario), None
    return await asyncio.get_running_loop().run_in_executor(_builders(), _build_prepared, scenario)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


_playing = set()  # sessions of this process whose run loop is advancing (a fair share of the CPU each)


def slice_seconds():
    """Wall time one session's slice may take: SLICE_SECONDS, less when many sessions play at once, so that one
    heavy run (10,000 gossip nodes at full speed) cannot starve the others."""
    return max(MIN_SLICE_SECONDS, min(SLICE_SECONDS, TICK_BUDGET_SECONDS / max(1, len(_playing))))


class ClientError(Exception):
    """A message the session cannot act on; becomes an `error` message. The session goes on."""

    def __init__(self, code, message, field=None, req_id=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.req_id = req_id  # the message's `id`, when the error is raised before the handler read it


def _request_id(msg):
    """The message's `id` if it is one we echo (a string of at most MAX_ID_LENGTH characters, or an integer)."""
    req_id = msg.get("id") if isinstance(msg, dict) else None
    if (isinstance(req_id, str) and len(req_id) <= MAX_ID_LENGTH) or (
            isinstance(req_id, int) and not isinstance(req_id, bool)):
        return req_id
    return None


async def _always():
    return True


def parse_message(text):
    """A client's WebSocket message, through the input checks of playground/inputs.py (`bad_json` naming the
    field, with the message's `id` when that is not what is at fault)."""
    try:
        return parse_json(text)
    except BadInput as err:
        req_id = _request_id(err.parsed) if err.field != "id" else None
        raise ClientError(err.code, err.message, err.field, req_id) from None


def _number(msg, key, lo, hi):
    value = msg.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ClientError(f"bad_{key}", f"{key}: must be a number between {lo:g} and {hi:g}", key)
    if not lo <= value <= hi:
        raise ClientError(f"bad_{key}", f"{key}: must be between {lo:g} and {hi:g}, got {value:g}", key)
    return value


class Session:
    """The state of one live run. `emit(text)` sends one already-serialised message to the client (and room)."""

    def __init__(self, emit, room=None):
        self.emit = emit  # async emit(text, seq=None, broadcast=True)
        self.room = room or secrets.token_urlsafe(9)
        self.sim = None
        self.seq = 0  # last sequence number sent
        self.acked = 0  # highest sequence number the client acknowledged
        self.unacked = collections.deque()  # (seq, bytes) not yet acknowledged
        self.unacked_bytes = 0
        self.playing = False
        self.speed = DEFAULT_SPEED
        self.backlog = []  # events already taken from the engine but not sent yet (single steps)
        self.last_t = None  # simulated time of the last frame
        self.last_frame_wall = 0.0  # when it was sent (time.monotonic)
        self.base_wall = 0.0  # pacing: sim time base_t corresponds to wall time base_wall
        self.base_t = 0.0
        self.lagging = False  # the engine could not keep up with the requested speed
        self.lagging_until = 0.0
        self.chunk = 16  # engine steps between clock checks (adapted to the cost of a step)
        self.blocked = False  # waiting for acknowledgements
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one frame at a time: sequence numbers go out in order
        self.task = None
        self.closed = False
        self.on_task_error = None  # set by the consumer: called with the exception if the loop dies
        self.watch = None  # set by the consumer: async watch(msg) turns this connection into a viewer
        self.client_addr = None  # set by the consumer: the client's IP address (the save rate limit's key)
        self.page_origin = ""  # set by the consumer, e.g. "https://playground.example": makes `saved.url` absolute
        self.stop_at = None  # pause when the run reaches this simulated time (a shared link stops where it was saved)
        self.last_event_t = None  # simulated time of the last event sent to the client (speeds up step_back)
        self.travel = Travel(self)  # saving and time travel: playground/travel.py
        self.hunting = Hunting(self)  # finding a counterexample: playground/hunting.py
        self.write_backlog = lambda: 0  # set by the consumer: bytes waiting in the transport (not read yet)
        self.request_waiting = False  # a request waits for the client to read: no frames meanwhile, its answer first
        self.reader_keeps_up = _always  # set by the consumer: waits until the client reads (False: it gave up)
        self.classroom = None  # set by the consumer: the class this connection teaches (playground/classroom.py)
        self._deferred = None  # task handling the messages that arrived while a request was in progress

    # --- lifecycle ----------------------------------------------------------------------
    def ensure_task(self):
        if self.task is None and not self.closed:
            self.task = asyncio.get_running_loop().create_task(self._run(), name=f"session-{self.room}")
            self.task.add_done_callback(self._task_done)

    def _task_done(self, task):
        if task.cancelled():
            return
        err = task.exception()
        if err is not None:
            log.error("session %s: run loop died", self.room, exc_info=err)
            if self.on_task_error is not None:
                self.on_task_error(err)

    async def close(self):
        """Stop the run loop and wait for it (called on disconnect)."""
        self.closed = True
        _playing.discard(self)
        await self.travel.close()  # a seek in a worker thread stops at its next slice
        await self.hunting.close()  # a hunt stops after its trial or shrinking step in progress
        deferred, self._deferred = self._deferred, None
        if deferred is not None:
            deferred.cancel()
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # already logged by _task_done
                pass

    def release(self):
        """Free the run, its unsent events and its time-travel history (after close, once nothing needs them).

        A session and its connection, travel and hunting objects reference one another: a cycle that only a full
        GC pass frees, and playground/upkeep.py paces those passes. The run is freed apart (Simulation.dispose,
        in a thread) rather than with the cycle: a 2,000-node gossip run is over a million objects, a pass of
        300-570 ms holding every session of the process."""
        sim, self.sim = self.sim, None
        self.travel.drop(sim)
        self.backlog = []
        self.unacked.clear()
        self.unacked_bytes = 0
        self.travel.history = None

    # --- incoming messages ----------------------------------------------------------------
    async def receive(self, text=None, data=None):
        """Handle one client message; answer errors; never raise for anything the client sent."""
        req_id = None
        try:
            if text is None:
                raise ClientError("bad_message", "send JSON text messages, not binary ones")
            msg = parse_message(text)
            if not isinstance(msg, dict):
                raise ClientError("bad_message", "a message must be a JSON object with a `type`")
            req_id = _request_id(msg)
            if req_id is None and msg.get("id") is not None:
                raise ClientError("bad_message", f"id: must be a string of at most {MAX_ID_LENGTH} characters "
                                  "or an integer", "id")
            kind = msg.get("type")
            handler = self.HANDLERS.get(kind) if isinstance(kind, str) else None
            if handler is None:
                known = ", ".join(sorted(self.HANDLERS))
                raise ClientError("unknown_type", f"type: unknown message type {clip(repr(kind))} (known: {known})",
                                  "type")
            if kind not in ("start", "ack", "watch", "reclaim") and self.sim is None:
                raise ClientError("not_started", "send `start` with a scenario first")
            if kind != "ack" and not await self.reader_keeps_up():
                return  # the client does not read its answers: the consumer ended the session
            if kind == "ack":
                await handler(self, msg)  # an ack touches no simulation: never held up by a request
                return
            if self.travel.in_progress() and kind not in CANCELS_REQUEST:
                self._defer(handler, msg, req_id)  # handled once the seek lands; later messages are read meanwhile
                return
            await self.travel.idle(kind)  # a newer seek or step back (or start) cancels the one in progress
            if self._deferred is not None:
                await asyncio.wait([self._deferred])  # what arrived before this message is handled first
            await handler(self, msg)
        except ClientError as err:
            await self.send_error(err.code, err.message, err.field, req_id if req_id is not None else err.req_id)
        except PlaygroundError as err:
            await self.send_error(err.code, err.message, err.field, req_id)

    def _defer(self, handler, msg, req_id):
        """Handle `msg` after the request in progress (and the messages deferred before it), in order, without
        holding up the client's next messages: a `speed` or `pause` sent while a seek re-simulates must not
        cancel it (only a newer seek, step back or start does), nor keep a newer seek from cancelling it."""
        previous = self._deferred

        async def later():
            if previous is not None:
                await asyncio.wait([previous])
            await self.travel.idle()  # the request lands, or fails (its error already answered)
            if self.closed:
                return
            try:
                await handler(self, msg)
            except ClientError as err:
                await self.send_error(err.code, err.message, err.field,
                                      req_id if req_id is not None else err.req_id)
            except PlaygroundError as err:
                await self.send_error(err.code, err.message, err.field, req_id)

        task = asyncio.get_running_loop().create_task(later(), name=f"deferred-{self.room}-{msg.get('type')}")
        task.add_done_callback(self._deferred_done)
        self._deferred = task

    def _deferred_done(self, task):
        if self._deferred is task:
            self._deferred = None
        self._task_done(task)  # a bug in a deferred handler ends the session visibly, as a run-loop death does

    async def send_error(self, code, message, field=None, req_id=None):
        out = {"type": "error", "code": code, "message": message}
        if field is not None:
            out["field"] = field
        if req_id is not None:
            out["id"] = req_id
        await self.emit(dumps(out), broadcast=False)

    # --- handlers -------------------------------------------------------------------------
    async def on_start(self, msg):
        scenario = msg.get("scenario")
        if scenario is None:
            raise ClientError("invalid_scenario", "scenario: required (an object, see docs/scenario.md)",
                              "scenario")
        speed = _number(msg, "speed", SPEED_MIN, SPEED_MAX) if "speed" in msg else self.speed
        paused = msg.get("paused", False)
        if not isinstance(paused, bool):
            raise ClientError("bad_message", "paused: must be true or false", "paused")
        sim, prepared = await build_simulation(scenario)  # ScenarioError -> error with the field
        if self.closed:
            return  # the client left while it was being built
        self.travel.start(msg, sim)  # `pause_at`; too large to be saved
        self.speed = speed
        await self.replace_simulation(sim, playing=not paused, prepared=prepared)

    async def replace_simulation(self, sim, playing, include_events=True, prepared=None):
        """Swap in a new simulation (start, restart; later seek) and send `started`.

        `started.events` lists the events that led to the snapshot (already applied in it), so that a
        client's record of the run is the complete trace; pass include_events=False when they are many
        (a seek far into a run). `prepared`: from build_simulation (the large parts, serialised off the loop).
        """
        async with self._lock:
            if self.sim is not sim:
                self.travel.drop(self.sim)  # a restart: the run it replaces
            self.sim = sim
            self.travel.reset(sim)  # a new TimeMachine (checkpoints) for this run
            self.backlog = []
            self.playing = playing
            self.lagging = False
            self._rebase()
            events = sim.drain()
            self.last_t = sim.now
            message = {
                "type": "started",
                "room": self.room,
                "timeline": self.travel.timeline(),
                "playing": self.playing,
                "speed": self.speed,
            }
            if prepared is None:
                message.update(scenario=sim.scenario, snapshot=sim.snapshot(),
                               events=events if include_events else None)
            elif not include_events:
                prepared = {**prepared, "events": "null"}
            await self._send_seq(message, prepared)
        self._wake.set()
        self.ensure_task()

    async def on_pause(self, msg):
        await self._set_playing(False)

    async def on_resume(self, msg):
        if self.sim.now >= HORIZON:
            raise ClientError("horizon", f"the session reached the longest run ({HORIZON} ms)")
        self.check_scheduled()
        await self._set_playing(True)

    def check_scheduled(self):
        """A live run may hold at most PLAYGROUND_LIVE_MAX_SCHEDULED scheduled engine events (messages in flight,
        timers): each is ~200 bytes and three objects the cyclic GC walks, and a 2,000-node push-pull gossip run
        at fanout 32 reaches a million within 20 simulated ms (190 MB, full GC passes of seconds that stall every
        session of the process). Beyond it: `too_costly`, naming the limit and what to change."""
        limit = getattr(settings, "PLAYGROUND_LIVE_MAX_SCHEDULED", 20_000)
        scheduled = len(self.sim.env._queue)
        if scheduled > limit:
            raise ClientError("too_costly", f"this run holds {scheduled:,} scheduled events (messages in flight, "
                              f"timers), more than the {limit:,} a live run may: it is paused there. Run a lighter "
                              "scenario (fewer nodes, a smaller fanout, a longer interval), or this one from the "
                              "command line (python -m simulator run).")

    async def _set_playing(self, playing):
        if playing != self.playing:
            self.playing = playing
            self._rebase()
            self._wake.set()
        if not playing:
            await self.flush()  # whatever the engine produced so far
        await self.send_status()

    async def on_step(self, msg):
        """Exactly one more event (then the session is paused); with `happening: true`, the rest of the next
        happening (docs/trace.md): its first event and what came with it, up to the next delivery, timer,
        intervention or millisecond (what one engine step produced, at most)."""
        if self.playing:
            self.playing = False
            await self.send_status()
        if not self.backlog:
            await self.flush()  # send anything pending first, so the step frame holds one event
            self.sim.step_events(1)
            self.backlog = self.sim.drain()
            if not self.backlog:
                raise ClientError("idle", "nothing is scheduled: there is no next event")
        async with self._lock:
            n = happening_length(self.backlog) if msg.get("happening") is True else 1
            events = self.backlog[:n]
            del self.backlog[:n]
            await self._send_frame(events, events[-1]["t"])
        self._rebase()

    async def on_speed(self, msg):
        self.speed = _number(msg, "speed", SPEED_MIN, SPEED_MAX)
        self._rebase()
        self._wake.set()
        await self.send_status()

    async def on_intervene(self, msg):
        iv = msg.get("intervention")
        if not isinstance(iv, dict):
            raise ClientError("invalid_intervention", "intervention: required (an object with an `action`)",
                              "intervention")
        await self.travel.intervene(iv)  # InterventionError -> error; nothing changed (forks if behind)
        await self.flush()  # at once: the latency from click to feedback is what people feel

    async def on_ack(self, msg):
        seq = msg.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0 or seq > self.seq:
            raise ClientError("bad_ack", f"seq: must be an integer from 0 to {self.seq} (the last sent)", "seq")
        if seq > self.acked:
            self.acked = seq
            while self.unacked and self.unacked[0][0] <= seq:
                self.unacked_bytes -= self.unacked.popleft()[1]
            if self.blocked and not self.window_full():
                self._wake.set()

    async def on_watch(self, msg):
        if self.watch is None:
            raise ClientError("no_rooms", "watching rooms is not available here")
        await self.watch(msg)

    async def on_save(self, msg):
        """`save` creates a row, so it is limited per client address (playground/ratelimit.py), before the run
        is touched. Over the limit: an `error` with code `rate_limited` and `retry_after` (s); the run goes on."""
        try:
            await asave_rate_check(self.client_addr)
        except RateLimited as err:
            out = {"type": "error", "code": err.code, "message": err.message, "retry_after": err.retry_after}
            if msg.get("id") is not None:
                out["id"] = msg["id"]
            await self.emit(dumps(out), broadcast=False)
            return
        await self.travel.save(msg)

    HANDLERS = {
        "start": on_start,
        "watch": on_watch,
        "pause": on_pause,
        "resume": on_resume,
        "step": on_step,
        "speed": on_speed,
        "intervene": on_intervene,
        "ack": on_ack,
        **TRAVEL_HANDLERS,  # save, export, seek, step_back
        "save": on_save,  # rate-limited, then Travel.save
        **LESSON_HANDLERS,  # play_until, lesson_do (playground/lessons.py)
        **HUNT_HANDLERS,  # hunt, hunt_cancel (playground/hunting.py)
        **CLASS_HANDLERS,  # teach, reclaim, ask, reveal; answer and fork are a student's (playground/classroom.py)
    }

    # --- outgoing ---------------------------------------------------------------------------
    def window_full(self):
        return (len(self.unacked) >= WINDOW or self.unacked_bytes >= WINDOW_BYTES
                or self.request_waiting or self.write_backlog() > WRITE_BUFFER_BYTES)

    async def _send_seq(self, obj, serialised=None):
        """Number and send one flow-controlled message (call with the lock held). `serialised`: more fields,
        {name: JSON text} already serialised (off the event loop), spliced in as they are."""
        self.seq += 1
        obj["seq"] = self.seq
        text = dumps(obj)
        if serialised:
            text = text[:-1] + "".join(f",{json.dumps(key)}:{part}" for key, part in serialised.items()) + "}"
        self.unacked.append((self.seq, len(text)))
        self.unacked_bytes += len(text)
        await self.emit(text, seq=self.seq)

    async def _send_frame(self, events, t):
        self.last_t = t
        if events:
            self.last_event_t = events[-1]["t"]  # for step_back
        self.last_frame_wall = time.monotonic()
        await self._send_seq({"type": "frame", "t": t, "events": events})

    async def flush(self, force=False, idle_ok=False):
        """Send one frame with every event not sent yet (nothing if there is nothing new, unless force).

        A frame with no events only moves the clock; the run loop (idle_ok) sends one at most every
        IDLE_FRAME_SECONDS, since the page interpolates time between frames. While the client is too far
        behind (window full) nothing is sent; the events wait in the engine and go out with the next frame
        after the client catches up.
        """
        async with self._lock:
            if self.sim is None or self.window_full():
                return False
            t = self.sim.now
            if not self.backlog and not self.sim.pending and not force:
                if t == self.last_t:
                    return False
                if idle_ok and time.monotonic() - self.last_frame_wall < IDLE_FRAME_SECONDS:
                    return False
            events = self.backlog + self.sim.drain()
            self.backlog = []
            await self._send_frame(events, t)
            return True

    async def send_status(self):
        out = {"type": "status", "playing": self.playing, "speed": self.speed, "t": self.sim.now}
        if self.lagging:
            out["lagging"] = True
        await self.emit(dumps(out))

    # --- the run loop -------------------------------------------------------------------------
    def _rebase(self):
        self.base_wall = time.monotonic()
        self.base_t = float(self.sim.now) if self.sim is not None else 0.0

    def _advance(self):
        """Advance the engine towards the wall clock, within one slice's budget of wall time and one frame's
        events (FRAME_EVENTS).

        Returns True when the "lagging" state changed (the engine could not keep up with the speed).
        """
        sim = self.sim
        now = time.monotonic()
        # speed: sim ms per wall s; stop_at: a saved run opened from its link pauses where it was saved
        target = min(self.stop_at or HORIZON, int(self.base_t + (now - self.base_wall) * self.speed))
        if target <= sim.now:
            return self._set_lagging(False, now)
        deadline = now + slice_seconds()
        while True:
            chunk = self.chunk
            t0 = time.monotonic()
            steps = sim.advance(target, max_steps=chunk)
            t1 = time.monotonic()
            if steps == chunk:  # adapt: a chunk should take about CHUNK_SECONDS (steps cost 2 us to 1 ms)
                per_step = max(t1 - t0, 1e-6) / steps
                self.chunk = max(4, min(SLICE_STEPS, int(CHUNK_SECONDS / per_step)))
            if steps < chunk or sim.now >= target:
                return self._set_lagging(False, now)
            if t1 >= deadline or len(sim.pending) + len(self.backlog) >= FRAME_EVENTS:
                # The engine cannot keep up with this speed: run as fast as it can instead of piling up a debt.
                self._rebase()
                return self._set_lagging(True, now)

    def _set_lagging(self, lagging, now):
        """Lagging from the first slice that runs out of budget; not lagging after a second without one."""
        if lagging:
            self.lagging_until = now + 1.0
            changed = not self.lagging
            self.lagging = True
            return changed
        if self.lagging and now >= self.lagging_until:
            self.lagging = False
            return True
        return False

    async def _run(self):
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while not self.closed:
            self.blocked = self.window_full()
            if not self.playing or self.blocked or self.sim is None:
                _playing.discard(self)
                self._wake.clear()
                if self.blocked and self.write_backlog() > WRITE_BUFFER_BYTES:
                    try:  # no ack announces that the transport drained: look again soon
                        await asyncio.wait_for(self._wake.wait(), WRITE_BUFFER_POLL)
                    except asyncio.TimeoutError:
                        pass
                else:
                    await self._wake.wait()
                self._rebase()  # do not catch up on the time spent waiting
                next_tick = loop.time()
                continue
            _playing.add(self)
            if self._advance():
                await self.send_status()
            await self.flush(idle_ok=True)
            try:
                self.check_scheduled()
            except ClientError as err:  # too heavy to go on: paused, and the client is told why
                self.playing = False
                await self.flush(force=True)
                await self.send_error(err.code, err.message)
                await self.send_status()
                continue
            await self.travel.observe()  # checkpoints for time travel
            if self.sim.now >= (self.stop_at or HORIZON):
                self.stop_at = None
                self.playing = False
                await self.flush(force=True)  # the clock exactly where it stopped (a shared link's end)
                await self.send_status()
                continue
            next_tick += TICK
            delay = next_tick - loop.time()
            if delay < 0:  # late (busy server): do not burst to catch up
                next_tick = loop.time()
                delay = 0
            await asyncio.sleep(delay)

    # --- rooms ---------------------------------------------------------------------------------
    async def viewer_sync(self):
        """A `started` message for a viewer joining the room now: the snapshot as of frame `seq`.

        Whatever the engine produced and the owner has not been sent yet goes out first as one frame
        (past the window if need be: joins are rare), so the snapshot is exactly "after frame seq".
        """
        await self.travel.idle()
        async with self._lock:
            events = self.backlog + self.sim.drain()
            self.backlog = []
            if events or self.sim.now != self.last_t:
                await self._send_frame(events, self.sim.now)
            return dumps({
                "type": "started",
                "room": self.room,
                "viewer": True,
                "seq": self.seq,
                "scenario": self.sim.scenario,
                "snapshot": self.sim.snapshot(),
                "events": None,
                "timeline": self.travel.timeline(),
                "playing": self.playing,
                "speed": self.speed,
            })

    # --- recording --------------------------------------------------------------------------
    def recorded_scenario(self):
        """The run so far as a scenario that replays exactly (duration raised to the time reached)."""
        sc = self.sim.recorded_scenario()
        sc["duration"] = max(sc["duration"], self.sim.now, 1)
        return sc


class Viewer:
    """Flow control for someone watching another client's room (read-only).

    Frames arrive from the room's owner through the channel layer, already serialised; the viewer's
    consumer forwards them while fewer than WINDOW are unacknowledged. A viewer that falls behind skips
    frames and, once it acknowledges again, asks the owner for a fresh snapshot (resynchronises).
    """

    def __init__(self, room):
        self.room = room
        self.synced_seq = None  # None: waiting for a snapshot
        self.sent = collections.deque()  # owner's seq numbers forwarded and not acknowledged
        self.last_sent = 0  # the highest owner seq number this viewer was sent (in a frame or a snapshot)
        self.expected = None  # the owner seq number the next frame must carry (a gap: a lost message, resync)
        self.acked = 0
        self.stale = False

    def on_sync(self, seq):
        self.synced_seq = seq
        self.expected = seq + 1
        self.last_sent = max(self.last_sent, seq)
        self.stale = False
        self.sent.clear()

    def should_forward(self, seq, write_backlog=0):
        """Forward this owner message (seq None: an unnumbered status message)? `write_backlog`: bytes our
        transport still holds for this viewer (acks are claims; the buffer is what the client really read)."""
        if self.synced_seq is None or self.stale:
            return False
        if seq is None:
            return True
        if seq <= self.synced_seq:
            return False
        if seq != self.expected or len(self.sent) >= WINDOW or write_backlog > WRITE_BUFFER_BYTES:
            self.stale = True  # too far behind: drop frames from now on, resync after the next ack
            return False
        self.sent.append(seq)
        self.last_sent = max(self.last_sent, seq)
        self.expected = seq + 1
        return True

    def resync_now(self):
        """Stale with nothing unacknowledged (a lost frame, not a slow reader): ask for a snapshot at once."""
        if self.stale and not self.sent and self.synced_seq is not None:
            self.synced_seq = None
            return True
        return False

    def on_ack(self, seq, write_backlog=0):
        """Record an acknowledgement; return True if the viewer should ask for a fresh snapshot now."""
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= self.last_sent:
            raise ClientError("bad_ack", f"seq: must be an integer from 0 to {self.last_sent} (the last sent)",
                              "seq")
        self.acked = max(self.acked, seq)
        while self.sent and self.sent[0] <= seq:
            self.sent.popleft()
        if self.stale and not self.sent and write_backlog <= WRITE_BUFFER_BYTES:
            self.synced_seq = None  # waiting for the snapshot
            return True
        return False
