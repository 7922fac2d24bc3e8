"""Saving, exporting and time travel over the live WebSocket: `save`, `export`, `seek`, `step_back`.

A session composes one `Travel` (`session.travel`); the session owns the run loop, pacing, flow control and the
message dispatch (`Session.HANDLERS`, which takes TRAVEL_HANDLERS from here). The time-travel logic itself is
plain Python in simulator.timetravel (TimeMachine, Budget, Turns); the database work is in playground.services.
What stays here is this process's policy: the limits (Django settings, docs/websocket.md "Cost limits"), the
worker threads that re-simulate, the CopyGate shared by the live sessions.

Every request that re-simulates (seek, step back, finishing the current millisecond for save/export) runs as a
task of the session, its engine work in the travel worker threads under a Budget: refused up front when an
estimate cannot fit, stopped (`too_costly`) when it runs over, cancelled by the client's next seek, step back or
`start` (other messages wait until it lands) or its disconnect; in every one of those cases the session is left
as it was. Meanwhile the consumer goes on receiving (the disconnect, the next request).

Hooks the Session calls: `reset(sim)` when a run starts, `await observe()` after the run loop advanced,
`await idle(kind)` before handling a message of type `kind` (or touching the simulation otherwise),
`await intervene(iv)` instead of `sim.intervene(iv)`, `start(msg, sim)` when `start` arrives, `timeline()` for
the `started` payloads, `await close()` on disconnect. The session keeps `stop_at` (pause there: a shared link's
end) and `last_event_t` (time of the last event sent, set by the session when a frame goes out).
"""

import asyncio
import functools
import json
import logging
import math
import os
import threading
import traceback
import zlib
from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async
from django.conf import settings

from simulator.errors import PlaygroundError, ScenarioError
from simulator.scenario import MAX_SCENARIO_BYTES
from simulator.timetravel import (MAX_THREAD_COPY, Budget, Cancelled, CopyGate, TimeMachine, TooCostly, TravelError,
                                  Turns, is_clean)
from simulator.timetravel.cost import finish_millisecond
from simulator.trace import canonical

log = logging.getLogger("playground.travel")

MAX_TEXT = {"title": 200, "description": 4000}
MAX_THREADS = 32  # worker threads at most; only PLAYGROUND_TRAVEL_WORKERS of them simulate at once (Turns)
SETTLE_FRAME_EVENTS = 500  # events per frame while save/export finish a millisecond (~6 ms to serialise)...
SETTLE_SLICE_SECONDS = 0.003  # ...and engine work between two frames (on the event loop: see Travel._settle)
WINDOW_POLL = 0.02  # seconds between looks at the flow-control window while those frames wait for acks

# Messages that cancel the request in progress (a newer seek or step back replaces it; `start` replaces the run);
# any other waits until it lands (Session._defer). Leaving the page cancels it too.
CANCELS_REQUEST = frozenset({"seek", "step_back", "start"})

LIVE_GATE = CopyGate()  # paces the live checkpoint copies of every session of this process

_pool = None  # (executor, turns) of this process, made on first use (settings are read then, not at import)
_pool_lock = threading.Lock()
_running = [0]  # jobs in a worker thread right now (running or waiting for a turn): for tests and benchmarks
_running_lock = threading.Lock()


def _workers():
    global _pool
    with _pool_lock:
        if _pool is None:
            slots = getattr(settings, "PLAYGROUND_TRAVEL_WORKERS", 2)
            _pool = (ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="playground-travel"),
                     Turns(slots))
        return _pool


_disposer = None  # one thread freeing the runs sessions are done with


def dispose_later(sim):
    """Free a run nothing uses any more, in a thread of its own and in pieces (Simulation.dispose): else it waits,
    as cyclic garbage, for a full GC pass that holds every session of the process while it walks it."""
    global _disposer
    if sim is None:
        return
    with _pool_lock:
        if _disposer is None:
            _disposer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playground-dispose")
        _disposer.submit(_exhaust, sim.dispose())


def _exhaust(pieces):
    try:
        for _ in pieces:
            pass
    except Exception:  # a bug: the run is left to the GC, nothing else is affected
        log.exception("disposing of a run failed")


def _forget_workers():
    """In a forked child (a test's live server, a pre-forking server): none of the parent's threads exist
    there, so its pool would take jobs and never run them. The child makes its own on first use."""
    global _pool, _pool_lock, _disposer
    _pool = None
    _disposer = None
    _pool_lock = threading.Lock()
    _running[0] = 0


os.register_at_fork(after_in_child=_forget_workers)


def running_jobs():
    """How many re-simulations are in a worker thread now (running or waiting for their turn)."""
    return _running[0]


def _work(budget, fn, *args):
    """In a worker thread: take a turn, run fn, give the turn back."""
    with _running_lock:
        _running[0] += 1
    try:
        budget.begin()
        try:
            return fn(*args)
        except BaseException as err:
            # its traceback's frames hold the re-simulation it abandoned (a 2,000-node gossip run: 500,000 objects),
            # and the future holding it is in a reference cycle: without this only a full GC pass frees them
            traceback.clear_frames(err.__traceback__)
            raise
        finally:
            budget.end()
    finally:
        with _running_lock:
            _running[0] -= 1


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _moment(msg, key, lo, hi):
    value = msg.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value):
        raise TravelError(f"bad_{key}", f"{key}: must be a whole number of simulated ms", key)
    value = int(value)
    if not lo <= value <= hi:
        raise TravelError(f"bad_{key}", f"{key}: must be between {lo} and {hi} ms, got {value}", key)
    return value


def _texts(msg):
    out = {}
    for key, limit in MAX_TEXT.items():
        value = msg.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > limit:
            raise TravelError("invalid_scenario", f"{key}: must be text of at most {limit} characters", key)
        out[key] = value.strip()
    layout = msg.get("layout")
    if layout is not None:
        if not isinstance(layout, dict):
            raise TravelError("invalid_scenario", "layout: must be an object of node id -> [x, y]", "layout")
        out["layout"] = {k: [round(v, 4) if isinstance(v, float) else v for v in xy] if isinstance(xy, list)
                         else xy for k, xy in layout.items()}  # checked by normalize_scenario
    return out


class Travel:
    """Time travel, saving and exporting for one session (`session.travel`)."""

    def __init__(self, session):
        self.session = session
        self.history = None  # TimeMachine of the current run
        self._busy = False  # a worker thread is using the simulation (a request's job, a checkpoint copy)
        self._done = asyncio.Event()  # set when it is done
        self._dropping = set()  # tasks waiting to free a run a worker thread still uses (drop)
        self._request = None  # (task, budget) of the request in progress (seek, step back, save, export)

    # --- hooks -------------------------------------------------------------------------------------
    def start(self, msg, sim):
        """`start`: its `pause_at` (ms: the run pauses there, the end of a saved run); and what cannot be saved
        is refused now: the normalised scenario must fit MAX_SCENARIO_BYTES (defaults filled in, it can be much
        larger than what was sent)."""
        size = len(canonical(sim.scenario).encode())
        if size > MAX_SCENARIO_BYTES:
            raise TravelError("too_large", f"scenario: {size:,} bytes once normalised (every default filled in), "
                              f"more than the {MAX_SCENARIO_BYTES:,} (256 KiB) a run may have to be saved or shared;"
                              f" send fewer interventions or shorter texts", "scenario")
        pause_at = msg.get("pause_at")
        self.session.stop_at = None if pause_at is None else _moment(msg, "pause_at", 1, 24 * 3600 * 1000)

    def reset(self, sim):
        """A new run: a new TimeMachine. Its checkpoint memory is PLAYGROUND_CHECKPOINT_MB (docs/sharing.md); a
        phase from the room's name (deterministic per session) makes sessions started together checkpoint at
        different moments (see TimeMachine); checkpoints never change the trace."""
        budget = getattr(settings, "PLAYGROUND_CHECKPOINT_MB", 24) * 1024 * 1024
        phase = (zlib.crc32(str(self.session.room).encode()) % 1000) / 1000
        self.history = TimeMachine(sim, budget=budget, phase=phase)
        self.history.discard = dispose_later  # abandoned copies: freed in the dispose thread, not on the request
        self.session.last_event_t = None

    async def observe(self):
        """The run loop moved on: a cheap checkpoint is taken at once; a dear one in a worker thread, while this
        session waits (its run loop here, its messages in idle), so that other sessions do not. Either way only
        when the process-wide LIVE_GATE is open: one copy at a time, spaced out (else it stays due)."""
        sim = self.session.sim
        if self.history is None or sim is None or self._busy:
            return
        expected = self.history.observe(sim, live=True, gate=LIVE_GATE)
        if expected is not None and expected <= MAX_THREAD_COPY:
            LIVE_GATE.begin()
            self._busy = True
            self._done.clear()
            try:
                await asyncio.to_thread(self.history.checkpoint, sim)  # bounded (MAX_THREAD_COPY), paced
            finally:
                self._busy = False
                self._done.set()
                LIVE_GATE.end()

    def in_progress(self):
        """Is a request (seek, step back, save, export) running?"""
        return self._request is not None

    async def idle(self, kind=None):
        """Wait until nothing else uses the simulation (call before touching it). A message of type `kind` from
        the client that replaces the request in progress (CANCELS_REQUEST: a newer seek or step back, a `start`)
        first cancels it; the session defers the others until it lands."""
        if kind == "ack":
            return  # acks do not touch the simulation; a request in progress goes on
        request = self._request
        if request is not None:
            task, budget = request
            if kind in CANCELS_REQUEST:
                budget.cancel()
            await asyncio.wait([task])
        while self._busy:
            await self._done.wait()

    def drop(self, sim):
        """This session is done with `sim`: free it (dispose_later) once no worker thread uses it."""
        if sim is None:
            return
        if not self._busy:
            dispose_later(sim)
            return

        async def when_idle():
            while self._busy:
                await self._done.wait()
            dispose_later(sim)

        task = asyncio.get_running_loop().create_task(when_idle())
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    async def close(self):
        """The client left: cancel the request in progress and wait until its worker thread let go (the next
        slice boundary: milliseconds)."""
        request = self._request
        if request is not None:
            request[1].cancel()
            await asyncio.wait([request[0]])
        while self._busy:
            await self._done.wait()

    async def intervene(self, intervention):
        """Apply a live intervention; when the session is behind its frontier this forks (the recorded future
        is dropped) and the client gets a `timeline` message saying so."""
        s = self.session
        recorded, dropped = self.history.intervene(s.sim, intervention, live=True)
        if dropped is not None:
            s.stop_at = None
            timeline = self.timeline()
            timeline["forked"] = {"t": recorded["at"], "dropped": len(dropped)}
            await s.emit(_dumps({"type": "timeline", **timeline}))
        return recorded

    def timeline(self):
        if self.history is None or self.session.sim is None:
            return None
        return self.history.timeline(self.session.sim)

    # --- requests in the worker threads ----------------------------------------------------------------
    def _budget(self, what, advice, field=None):
        """A seek's or step back's budget. Its run may hold twice what a live run may (a live run stops a slice
        past the limit: its own past stays reachable), no more: a landing that could not be played is not worth
        the memory, nor the full GC passes over its objects that stall every session."""
        live = getattr(settings, "PLAYGROUND_LIVE_MAX_SCHEDULED", 0)
        return Budget(what, advice=advice, field=field, turns=_workers()[1],
                      max_events=getattr(settings, "PLAYGROUND_TRAVEL_MAX_EVENTS", None),
                      max_seconds=getattr(settings, "PLAYGROUND_TRAVEL_MAX_SECONDS", None),
                      max_memory=getattr(settings, "PLAYGROUND_TRAVEL_MAX_MB", 0) * 1024 * 1024 or None,
                      max_scheduled=2 * live or None)

    def _begin(self, msg, budget, work):
        """Run coroutine `work` as this session's request in progress; its errors are answered to the client
        (echoing the message's id), a bug ends the session as a run-loop death does."""
        s = self.session

        async def request():
            try:
                await work
            except PlaygroundError as err:
                if not s.closed:
                    await s.send_error(err.code, err.message, err.field, msg.get("id"))
            except Exception as err:
                log.error("session %s: %s failed", s.room, msg.get("type"), exc_info=err)
                if s.on_task_error is not None:
                    s.on_task_error(err)
            finally:
                if self._request is not None and self._request[1] is budget:
                    self._request = None

        task = asyncio.get_running_loop().create_task(request(), name=f"travel-{s.room}-{msg.get('type')}")
        self._request = (task, budget)

    async def _in_worker(self, budget, fn, *args):
        """Run fn in a travel worker thread under `budget`. Nothing else may touch the simulation meanwhile
        (see idle). If this task is cancelled, the worker is told to stop and waited for (a slice or two)."""
        self._busy = True
        self._done.clear()
        pool, _ = _workers()
        future = asyncio.get_running_loop().run_in_executor(
            pool, functools.partial(_work, budget, fn, *args))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            budget.cancel()
            await asyncio.wait([future])
            raise
        finally:
            self._busy = False
            self._done.set()

    # --- save and export -----------------------------------------------------------------------------
    async def _settle(self, budget):
        """Finish the current millisecond (so the run so far is exactly 'everything before now') and send the
        client every event up to now. On the event loop, in slices of SETTLE_SLICE_SECONDS of engine work, each
        followed by a frame of what it produced (sent as flow control lets it go) and a yield to the other
        sessions: no stall, however heavy the millisecond (a worker thread would do no better: it contends for
        the GIL with the event loop). Within `budget`, cancelled by the client's next seek or step back. Returns
        the recorded scenario with duration = now. Over budget: TooCostly, and the run goes on from where it got to
        (nothing is lost: the events produced so far go out with the next frames)."""
        s = self.session
        sim = s.sim
        if not is_clean(sim) or sim.now == 0:
            playing, s.playing = s.playing, False  # the run loop does not advance meanwhile
            try:
                done = False
                while not done:
                    budget.begin()
                    try:
                        done = finish_millisecond(sim, budget, SETTLE_FRAME_EVENTS, SETTLE_SLICE_SECONDS)
                    finally:
                        budget.end()
                    await self._send_when_read(budget)
                    await asyncio.sleep(0)
            finally:
                if playing and s.sim is sim:
                    s.playing = True
                    s._rebase()
                    s._wake.set()
            self.history.observe(sim, live=True)
        await s.flush()
        sc = sim.recorded_scenario()
        sc["duration"] = sim.now
        return sc

    async def _send_when_read(self, budget):
        """Send the events produced so far as one frame, once the client has read enough of the earlier ones
        (flow control); a client that stops reading ends the request after the budget's seconds (TooCostly)."""
        s = self.session
        waited = 0.0
        while s.window_full():
            if budget.cancelled.is_set():
                raise Cancelled(field=budget.field)
            if budget.max_seconds is not None and waited > budget.max_seconds:
                raise TooCostly(f"{budget.what}: the client has not read the events sent so far for "
                                f"{waited:.0f} s; nothing was lost, acknowledge them and try again", budget.field)
            await asyncio.sleep(WINDOW_POLL)
            waited += WINDOW_POLL
        await s.flush()

    def _settle_budget(self, what):
        budget = self._budget(f"{what} (finishing the current simulated millisecond)",
                              "Save a lighter scenario (fewer nodes, a longer interval), or save it from the "
                              "command line (python -m simulator run).")
        budget.turns = None  # done on the event loop, in slices (see _settle)
        budget.max_scheduled = None  # a run paused at the live limit can still be saved (memory still bounds it)
        return budget

    async def save(self, msg):
        """Save the run so far (the branch we are on, up to the current moment) as a share link. The session
        checks the save rate first (playground/session.py)."""
        texts = _texts(msg)
        forked_from = msg.get("forked_from")
        if forked_from is not None and not isinstance(forked_from, str):
            raise TravelError("invalid_scenario", "forked_from: must be the slug of a saved scenario",
                              "forked_from")
        budget = self._settle_budget("save")
        self._begin(msg, budget, self._save(msg, texts, forked_from, budget))

    async def _save(self, msg, texts, forked_from, budget):
        from .services import scenario_create

        s = self.session
        sc = dict(await self._settle(budget), speed=float(s.speed))  # the link opens at the sharer's speed
        create = database_sync_to_async(scenario_create)
        try:
            row = await create(scenario=sc, forked_from=forked_from or None, **texts)
        except ScenarioError as err:
            if err.field != "forked_from":
                raise
            row = await create(scenario=sc, **texts)  # the parent is gone (deleted): save without it
        out = {"type": "saved", "slug": row.slug, "path": row.get_absolute_url(),
               "url": f"{s.page_origin}{row.get_absolute_url()}", "t": sc["duration"],
               "title": row.title, "forked_from": forked_from if row.forked_from_id else None}
        if msg.get("id") is not None:
            out["id"] = msg["id"]
        await s.emit(_dumps(out), broadcast=False)

    async def export(self, msg):
        """The run so far as a scenario file (what `python -m simulator run` accepts); nothing is saved."""
        texts = _texts(msg)
        budget = self._settle_budget("export")
        self._begin(msg, budget, self._export(msg, texts, budget))

    async def _export(self, msg, texts, budget):
        from .services import scenario_prepare

        sc = scenario_prepare(await self._settle(budget), **texts)
        out = {"type": "exported", "scenario": sc,
               "filename": f"{sc['protocol']}-seed{sc['seed']}-{sc['duration']}ms.json"}
        if msg.get("id") is not None:
            out["id"] = msg["id"]
        await self.session.emit(_dumps(out), broadcast=False)

    # --- time travel -------------------------------------------------------------------------------------
    async def seek(self, msg):
        """Jump to moment `t` (ms) of this run: re-simulated from the nearest checkpoint; answered by `seeked`."""
        s = self.session
        t = _moment(msg, "t", 0, self.history.seek_limit(s.sim))
        budget = self._budget(f"seek to {t} ms", "Seek to a nearer moment (or, for a run this heavy, replay a "
                              "lighter scenario: fewer nodes, a longer interval).", "t")
        self.history.check_seek(s.sim, t, budget)  # up front: refused before anything changes
        self._begin(msg, budget, self._travel(budget, "seek", msg, self.history.seek, s.sim, t, True))

    async def step_back(self, msg):
        """Back to the state before the last event the client was sent; answered by `seeked`."""
        s = self.session
        sim = s.sim
        shown = sim.event_count - len(sim.pending) - len(s.backlog)
        budget = self._budget("step back", "Seek to a moment instead (it costs one re-simulation from the "
                              "nearest checkpoint).")
        self.history.check_rewind(sim, shown - 1, s.last_event_t, budget)
        self._begin(msg, budget, self._travel(budget, "step_back", msg, self.history.rewind, sim, shown - 1,
                                              s.last_event_t, True))

    async def _travel(self, budget, reason, msg, fn, *args):
        """Pause, run the seek or step back in a worker thread, install where it landed. If it does not land
        (refused, over budget, cancelled), the session is put back as it was, playing again if it was."""
        s = self.session
        playing, stop_at = s.playing, s.stop_at
        if s.playing:
            s.playing = False
            s._wake.set()
        s.stop_at = None
        try:
            landing = await self._in_worker(budget, functools.partial(fn, budget=budget), *args)
        except BaseException:
            if not s.closed:
                s.stop_at = stop_at
                if playing:
                    s.playing = True
                    s._rebase()
                    s._wake.set()
            raise
        await self._install(landing, reason, msg)

    async def _install(self, landing, reason, msg):
        s = self.session
        async with s._lock:
            if s.sim is not landing.sim:
                self.drop(s.sim)  # the run it left, kept by the seek as a checkpoint (packed): the objects can go
            s.sim = landing.sim
            s.backlog = list(landing.backlog)
            s.playing = False
            s.lagging = False
            s._rebase()
            s.last_t = landing.sim.now
            s.last_event_t = landing.last_t
            out = {
                "type": "seeked",
                "reason": reason,
                "t": landing.snapshot["t"],
                "snapshot": landing.snapshot,
                "playing": False,
                "speed": s.speed,
                "timeline": self.timeline(),
            }
            if msg.get("id") is not None:
                out["id"] = msg["id"]
            await s._send_seq(out)
        s._wake.set()


async def _save(session, msg):
    await session.travel.save(msg)


async def _export(session, msg):
    await session.travel.export(msg)


async def _seek(session, msg):
    await session.travel.seek(msg)


async def _step_back(session, msg):
    await session.travel.step_back(msg)


TRAVEL_HANDLERS = {"save": _save, "export": _export, "seek": _seek, "step_back": _step_back}
