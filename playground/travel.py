"""Saving, exporting and time travel over the live WebSocket: `save`, `export`, `seek`, `step_back`.

A mixin of playground.session.Session, which owns the run loop, pacing, flow control and the message dispatch
(`Session.HANDLERS`). The time-travel logic itself is plain Python in playground.timetravel (TimeMachine); the
database work is in playground.services. docs/websocket.md and docs/sharing.md document the messages.

Hooks the Session calls: `travel_reset(sim)` when a run starts, `await travel_observe()` after the run loop
advanced, `await travel_idle()` before handling a message or touching the simulation otherwise,
`travel_intervene(iv)` instead of `sim.intervene(iv)`, `travel_start(msg)` when `start` arrives, `timeline()` for
the `started` payloads; `last_event_t` is set when a frame goes out.
"""

import asyncio
import json
import math
import os
import zlib

from channels.db import database_sync_to_async

from simulator.errors import ScenarioError

from .timetravel import LIVE_GATE, MAX_THREAD_COPY, MEMORY_BUDGET, TimeMachine, TravelError, is_clean

MAX_TEXT = {"title": 200, "description": 4000}


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


class TravelMixin:
    history = None  # TimeMachine of the current run
    last_event_t = None  # simulated time of the last event sent to the client (speeds up step_back)
    stop_at = None  # pause when the run reaches this simulated time (a shared link stops where it was saved)
    page_origin = ""  # e.g. "https://playground.example" (the WebSocket's Origin): makes `saved.url` absolute
    _travelling = False  # a worker thread is using the simulation (seek, step back, checkpoint): wait
    _travel_done = None  # asyncio.Event, set when it is done

    # --- hooks ---------------------------------------------------------------------------------
    def travel_start(self, msg):
        """`start` may carry `pause_at` (ms): the run pauses there (the end of a saved run)."""
        pause_at = msg.get("pause_at")
        self.stop_at = None if pause_at is None else _moment(msg, "pause_at", 1, 24 * 3600 * 1000)

    def travel_reset(self, sim):
        # PLAYGROUND_CHECKPOINT_MB: memory for one run's checkpoints (default 24); more makes seeks in long, busy
        # runs faster (docs/sharing.md)
        try:
            budget = max(1, int(os.environ.get("PLAYGROUND_CHECKPOINT_MB", "24"))) * 1024 * 1024
        except ValueError:
            budget = MEMORY_BUDGET
        # a phase from the room's name (deterministic per session): sessions started together checkpoint at
        # different moments (see TimeMachine); checkpoints never change the trace
        phase = (zlib.crc32(str(getattr(self, "room", "")).encode()) % 1000) / 1000
        self.history = TimeMachine(sim, budget=budget, phase=phase)
        self.last_event_t = None

    async def travel_observe(self):
        """The run loop moved on: a cheap checkpoint is taken at once; a dear one in a worker thread, while this
        session waits (its run loop here, its messages in travel_idle), so that other sessions do not. Either
        way only when the process-wide LIVE_GATE is open: one copy at a time, spaced out (else it stays due)."""
        if self.history is None or self.sim is None or self._travelling:
            return
        expected = self.history.observe(self.sim, live=True, gate=LIVE_GATE)
        if expected is not None and expected <= MAX_THREAD_COPY:
            LIVE_GATE.begin()
            try:
                await self._travel(self.history.checkpoint, self.sim)
            finally:
                LIVE_GATE.end()

    async def travel_idle(self):
        """Wait until no worker thread is using the simulation (call before touching it)."""
        while self._travelling:
            await self._travel_done.wait()

    async def travel_intervene(self, intervention):
        """Apply a live intervention; when the session is behind its frontier this forks (the recorded future
        is dropped) and the client gets a `timeline` message saying so."""
        recorded, dropped = self.history.intervene(self.sim, intervention, live=True)
        if dropped is not None:
            self.stop_at = None
            timeline = self.timeline()
            timeline["forked"] = {"t": recorded["at"], "dropped": len(dropped)}
            await self.emit(_dumps({"type": "timeline", **timeline}))
        return recorded

    def timeline(self):
        if self.history is None or self.sim is None:
            return None
        return self.history.timeline(self.sim)

    # --- save and export --------------------------------------------------------------------------
    async def _settle(self):
        """Finish the current millisecond (so the run so far is exactly 'everything before now') and send the
        client every event up to now. Returns the recorded scenario with duration = now."""
        sim = self.sim
        if not is_clean(sim) or sim.now == 0:
            sim.advance(sim.now + 1)
            self.history.observe(sim, live=True)
        await self.flush()
        sc = sim.recorded_scenario()
        sc["duration"] = sim.now
        return sc

    @staticmethod
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

    async def on_save(self, msg):
        """Save the run so far (the branch we are on, up to the current moment) as a share link."""
        from .services import scenario_create

        texts = self._texts(msg)
        forked_from = msg.get("forked_from")
        if forked_from is not None and not isinstance(forked_from, str):
            raise TravelError("invalid_scenario", "forked_from: must be the slug of a saved scenario",
                              "forked_from")
        sc = await self._settle()
        create = database_sync_to_async(scenario_create)
        try:
            row = await create(scenario=sc, forked_from=forked_from or None, **texts)
        except ScenarioError as err:
            if err.field != "forked_from":
                raise
            row = await create(scenario=sc, **texts)  # the parent is gone (deleted): save without it
        out = {"type": "saved", "slug": row.slug, "path": row.get_absolute_url(),
               "url": f"{self.page_origin}{row.get_absolute_url()}", "t": sc["duration"],
               "title": row.title, "forked_from": forked_from if row.forked_from_id else None}
        if msg.get("id") is not None:
            out["id"] = msg["id"]
        await self.emit(_dumps(out), broadcast=False)

    async def on_export(self, msg):
        """The run so far as a scenario file (what `python -m simulator run` accepts); nothing is saved."""
        from .services import scenario_prepare

        texts = self._texts(msg)
        sc = scenario_prepare(await self._settle(), **texts)
        out = {"type": "exported", "scenario": sc, "filename": f"{sc['protocol']}-seed{sc['seed']}-{sc['duration']}ms.json"}
        if msg.get("id") is not None:
            out["id"] = msg["id"]
        await self.emit(_dumps(out), broadcast=False)

    # --- time travel ------------------------------------------------------------------------------------
    async def _stop(self):
        if self.playing:
            self.playing = False
            self._wake.set()
        self.stop_at = None

    async def on_seek(self, msg):
        """Jump to moment `t` (ms) of this run: re-simulated from the nearest checkpoint; answered by `seeked`."""
        t = _moment(msg, "t", 0, self.history.seek_limit(self.sim))
        await self._stop()
        travel = await self._travel(self.history.seek, self.sim, t, True)  # hands the sim over: a checkpoint
        await self._install(travel, "seek", msg)

    async def on_step_back(self, msg):
        """Back to the state before the last event the client was sent; answered by `seeked`."""
        await self._stop()
        sim = self.sim
        shown = sim.event_count - len(sim.pending) - len(self.backlog)
        travel = await self._travel(self.history.rewind, sim, shown - 1, self.last_event_t, True)
        await self._install(travel, "step_back", msg)

    async def _travel(self, fn, *args):
        """Run `fn` (a seek, a step back, a checkpoint) in a worker thread: a long one must not stall the other
        sessions of this process. Nothing else may touch the simulation meanwhile (see travel_idle)."""
        if getattr(self, "_travel_done", None) is None:
            self._travel_done = asyncio.Event()
        self._travelling = True
        self._travel_done.clear()
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            self._travelling = False
            self._travel_done.set()

    async def _install(self, travel, reason, msg):
        async with self._lock:
            self.sim = travel.sim
            self.backlog = list(travel.backlog)
            self.playing = False
            self.lagging = False
            self._rebase()
            self.last_t = travel.sim.now
            self.last_event_t = travel.last_t
            out = {
                "type": "seeked",
                "reason": reason,
                "t": travel.snapshot["t"],
                "snapshot": travel.snapshot,
                "playing": False,
                "speed": self.speed,
                "timeline": self.timeline(),
            }
            if msg.get("id") is not None:
                out["id"] = msg["id"]
            await self._send_seq(out)
        self._wake.set()


TRAVEL_HANDLERS = {
    "save": TravelMixin.on_save,
    "export": TravelMixin.on_export,
    "seek": TravelMixin.on_seek,
    "step_back": TravelMixin.on_step_back,
}
