"""Fan work out over worker processes with Dask distributed, results back in order.

`ordered_map(fn, common, items)` yields `fn(common, *item)` for each item, in the items' order, computed on
Dask workers: a `LocalCluster` of worker processes started on demand (one per core unless `workers` says),
or the cluster whose scheduler `DASK_SCHEDULER_ADDRESS` names (start one with `dask scheduler` and
`dask worker ADDRESS` on machines with this project installed). With `workers=1` (and no scheduler address)
it runs in this process: no start-up cost, the same results. `common` is sent to the workers once; each item
is one task, so callers batch short pieces of work into one item (a task costs about 1.7 ms).

Closing the generator early (a hunt found what it wanted, a client went away) cancels what is still queued.
"""

import contextlib
import logging
import os
import warnings
from collections import deque

ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
IN_FLIGHT_PER_WORKER = 3  # tasks queued per worker: enough to keep it busy, few to cancel when done early


def scheduler_address():
    return os.environ.get(ADDRESS_VARIABLE) or None


def default_workers():
    return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def open_client(workers=None, address=None):
    """A Dask `Client`: on `address` (or $DASK_SCHEDULER_ADDRESS), else on a new LocalCluster of `workers`
    single-threaded worker processes, closed on exit."""
    from dask.distributed import Client, LocalCluster

    address = address or scheduler_address()
    if address:
        client = Client(address)
        try:
            yield client
        finally:
            client.close()
        return
    with warnings.catch_warnings():  # "Port 8787 is already in use": the scheduler's HTTP routes, not needed
        warnings.simplefilter("ignore", UserWarning)
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def ordered_map(fn, common, items, workers=None, client=None, address=None):
    """Yield fn(common, *item) for every item of `items`, in order.

    In-process when `workers == 1` and no client or scheduler address is given, or when there is at most one
    item; else on `client`, or on a client opened (and closed) here.
    """
    items = list(items)
    address = address or scheduler_address()
    if client is None and (len(items) <= 1 or (workers == 1 and not address)):
        for item in items:
            yield fn(common, *item)
        return
    if client is not None:
        yield from _on_client(client, fn, common, items)
        return
    with open_client(workers, address) as opened:
        yield from _on_client(opened, fn, common, items)


def _on_client(client, fn, common, items):
    nworkers = max(1, len(client.scheduler_info().get("workers", {})))
    window = nworkers * IN_FLIGHT_PER_WORKER
    [shared] = client.scatter([common], broadcast=True)
    queue = deque()
    pending = iter(items)
    try:
        while True:
            while len(queue) < window:
                item = next(pending, None)
                if item is None:
                    break
                queue.append(client.submit(fn, shared, *item, pure=False))
            if not queue:
                return
            yield queue.popleft().result()
    finally:
        if queue:
            client.cancel(list(queue))
