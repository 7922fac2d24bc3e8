"""The hunt over the live WebSocket: `hunt` and `hunt_cancel` (issue 15, web side; docs/hunt.md, docs/websocket.md).

A session composes one `Hunting` (`session.hunting`). `hunt` starts `simulator.hunt.iter_hunt` on the run so far
(the recorded scenario: protocol, params, mutations and every intervention up to now) in a thread of its own, off
the event loop; its trials fan out over the process-wide Dask cluster of simulator/compute.py, started on the
first hunt (or run in the thread itself when PLAYGROUND_HUNT_WORKERS is 1). Its events are streamed to the client
as `hunt_progress`, `hunt_shrink` and, last, `hunt_result` (the shrunk counterexample as an ordinary scenario,
which the page then starts like any other). The live run goes on meanwhile: a hunt never touches the session's
simulation.

Limits (Django settings, docs/websocket.md "Cost limits"): one hunt per session at a time (`hunt_busy`), at most
PLAYGROUND_HUNT_CONCURRENT hunts in the process (`too_busy`), a budget of at most PLAYGROUND_HUNT_MAX_BUDGET
schedules (`bad_budget`), PLAYGROUND_HUNT_MAX_SECONDS of wall time (`too_costly`, the hunt is stopped). A hunt
is cancelled by `hunt_cancel` and when the client leaves.
"""

import asyncio
import logging
import time

from django.conf import settings

from simulator.errors import PlaygroundError

from .compute import BackgroundRun, Slots, dask_client

log = logging.getLogger("playground.hunting")

_slots = Slots()  # hunts in progress in this process


class HuntRefused(PlaygroundError):
    """A `hunt` the server will not run (a limit, a bad budget or seed)."""

    def __init__(self, code, message, field=None):
        super().__init__(message, code=code, field=field)


def _setting(name, default):
    return getattr(settings, name, default)


def running_hunts():
    """How many hunts this process is running now (for tests)."""
    return _slots.count


def _whole(msg, key, lo, hi, default):
    value = msg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise HuntRefused(f"bad_{key}", f"{key}: must be a whole number from {lo} to {hi}", key)
    return value


class Hunting(BackgroundRun):
    """The hunt of one session (`session.hunting`)."""

    def __init__(self, session):
        super().__init__()
        self.session = session

    async def start(self, msg):
        s = self.session
        if self.busy:
            raise HuntRefused("hunt_busy", "a hunt is already running for this run: wait for it or cancel it")
        max_budget = _setting("PLAYGROUND_HUNT_MAX_BUDGET", 2000)
        budget = _whole(msg, "budget", 1, max_budget, min(max_budget, _setting("PLAYGROUND_HUNT_BUDGET", 100)))
        seed = _whole(msg, "seed", 0, 2 ** 31 - 1, 1)
        if not _slots.take(_setting("PLAYGROUND_HUNT_CONCURRENT", 2)):
            raise HuntRefused("too_busy", "the server is running as many hunts as it can: try again in a "
                              "few seconds")
        try:
            await s.travel.idle()
            scenario = s.recorded_scenario()
            scenario.pop("duration", None)  # each trial runs the protocol's horizon (docs/hunt.md)
            for key in ("title", "description", "layout"):
                scenario.pop(key, None)
        except BaseException:
            _slots.give_back()
            raise

        def work(cancelled, put):
            from simulator.hunt import iter_hunt

            try:
                client = dask_client()
                events = iter_hunt(scenario, budget=budget, seed=seed, workers=1 if client is None else None,
                                   client=client)
                try:
                    for event in events:
                        if cancelled.is_set():
                            break
                        put(("event", event))
                finally:
                    events.close()  # cancels the chunks still queued on the cluster
                put(("end", None))
            except PlaygroundError as err:
                put(("refused", err))
            except Exception as err:  # a bug: logged, the client told, the session goes on
                log.error("session %s: hunt failed", s.room, exc_info=err)
                put(("failed", err))

        queue, cancelled = self.launch(_slots, work, f"hunt-{s.room}")
        self.task = asyncio.get_running_loop().create_task(self._relay(queue, cancelled, msg.get("id")),
                                                           name=f"hunt-{s.room}")

    async def _relay(self, queue, cancelled, req_id):
        """Send the hunt's events to the client as they come, within the time limit."""
        s = self.session
        max_seconds = _setting("PLAYGROUND_HUNT_MAX_SECONDS", 60)
        started = time.monotonic()
        try:
            while True:
                left = max_seconds - (time.monotonic() - started)
                try:
                    kind, item = await asyncio.wait_for(queue.get(), max(0.0, left))
                except asyncio.TimeoutError:
                    cancelled.set()
                    await s.send_error("too_costly", f"the hunt ran over its {max_seconds:g} s and was stopped; "
                                       "try a smaller budget", "budget", req_id)
                    return
                if kind == "event":
                    await self._forward(item, req_id)
                    if item["type"] == "hunt":
                        return
                elif kind == "refused":
                    await s.send_error(item.code, item.message, item.field, req_id)
                    return
                elif kind == "failed":
                    await s.send_error("hunt_failed", "the hunt failed on the server (logged there); the run goes "
                                       "on", None, req_id)
                    return
                else:
                    return
        finally:
            cancelled.set()  # the thread stops after the chunk of trials or the shrinking step in progress

    async def _forward(self, event, req_id):
        from .session import dumps

        event = dict(event)
        kind = event.pop("type")
        out = {"type": "hunt_result" if kind == "hunt" else f"hunt_{kind}", **event}
        if req_id is not None:
            out["id"] = req_id
        await self.session.emit(dumps(out), broadcast=False)

    async def notify_cancelled(self):
        if not self.session.closed:
            from .session import dumps

            await self.session.emit(dumps({"type": "hunt_cancelled"}), broadcast=False)


async def _hunt(session, msg):
    await session.hunting.start(msg)


async def _hunt_cancel(session, msg):
    await session.hunting.cancel()


HUNT_HANDLERS = {"hunt": _hunt, "hunt_cancel": _hunt_cancel}
