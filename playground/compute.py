"""The process-wide Dask client that hunts and experiments share (simulator/compute.py does the fanning out).

On $DASK_SCHEDULER_ADDRESS when it is set; otherwise a LocalCluster started on first use and kept for the next
runs (starting one costs about a second), closed when the process exits. PLAYGROUND_HUNT_WORKERS (0: one per core)
sizes the local cluster; 1 means no cluster at all: the caller runs its trials in its own thread.
"""

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
