"""The process-wide Dask client that hunts and experiments share (simulator/compute.py does the fanning out).

On $DASK_SCHEDULER_ADDRESS when it is set; otherwise a LocalCluster started on first use and kept for the next
runs (starting one costs about a second), closed when the process exits. PLAYGROUND_HUNT_WORKERS (0: one per core)
sizes the local cluster; 1 means no cluster at all: the caller runs its trials in its own thread.
"""

import asyncio
import atexit
import logging
import multiprocessing
import threading

from django.conf import settings

from simulator.compute import open_client, scheduler_address

log = logging.getLogger("playground.compute")

_client = {"cm": None, "client": None}
_client_lock = threading.Lock()


def dask_client():
    """The shared client, or None when trials should run in the caller's thread."""
    workers = getattr(settings, "PLAYGROUND_HUNT_WORKERS", 0)
    if workers == 1 and not scheduler_address():
        return None
    if multiprocessing.current_process().daemon and not scheduler_address():
        # a daemonic process may not start worker processes (the browser tests' forked Daphne): run in the thread
        log.info("this process is daemonic, so no local Dask cluster; trials run in the caller's thread")
        return None
    with _client_lock:
        if _client["client"] is None:
            cm = open_client(workers or None)
            _client["client"] = cm.__enter__()
            _client["cm"] = cm
            atexit.register(_close_client)
        return _client["client"]


def _close_client():
    with _client_lock:
        cm, _client["cm"], _client["client"] = _client["cm"], None, None
    if cm is not None:
        try:
            cm.__exit__(None, None, None)
        except Exception:  # shutting down anyway
            log.debug("closing the shared Dask cluster failed", exc_info=True)


class Slots:
    """A process-wide count of background runs of one kind (hunts, experiments), capped when one is taken."""

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()

    def take(self, cap):
        with self._lock:
            if self.count >= cap:
                return False
            self.count += 1
            return True

    def give_back(self):
        with self._lock:
            self.count -= 1


class BackgroundRun:
    """One connection's run in a thread of its own (a hunt, an experiment). `launch` starts `work(cancelled,
    put)` in the thread, whose `put((kind, item))` reaches the returned queue on the event loop; the subclass
    relays that queue to its client as `self.task`. The slot is given back when the thread really ends (a
    cancelled run ends after the step in progress)."""

    def __init__(self):
        self.task = None
        self.cancelled = None  # threading.Event of the run in progress

    @property
    def busy(self):
        return self.task is not None and not self.task.done()

    def launch(self, slots, work, name):
        cancelled = self.cancelled = threading.Event()
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue()

        def put(item):
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed (a server stopping, a test's loop): nobody waits for this
                cancelled.set()

        def run():
            try:
                work(cancelled, put)
            finally:
                slots.give_back()

        try:
            threading.Thread(target=run, name=name, daemon=True).start()
        except BaseException:
            slots.give_back()
            raise
        return queue, cancelled

    async def cancel(self, notify=True):
        task = self.task
        if task is None or task.done():
            return False
        self.cancelled.set()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        if notify:
            await self.notify_cancelled()
        return True

    async def notify_cancelled(self):
        """Tell the client its run was cancelled (a subclass says how)."""

    async def close(self):
        await self.cancel(notify=False)
