"""Keep the event loop answering while other threads simulate: the GIL's switch interval, and paced full GC passes.

bench/attack.py --watch found two causes of event-loop stalls of 80-250 ms once heavy runs were off the loop:

1. The GIL convoy. A thread that simulates (a seek, a build, a checkpoint) holds the GIL and gives it up only
   when asked, after the switch interval (5 ms by default). The event loop gives it up at every system call (a
   socket read or write, a selector change) and waits up to an interval to get it back: a loop turn that writes
   to twenty sockets waited 100 ms. At 0.5 ms (and with GC off, to see this cause alone) the loop's longest
   stall under the same attacks fell from 118 to 17 ms.
2. Full cyclic GC passes. A full pass walks every GC-tracked object of the process, in whichever thread it
   happens, holding the GIL: a 10,000-node push-pull gossip run 3 ms in holds 3 million of them (a 540 ms
   pass), and a run a session dropped (a seek's abandoned copy, a closed connection's run) is cyclic garbage that
   waits for one. So the runs we drop are freed apart, in pieces, in a thread (Simulation.dispose,
   playground.travel.dispose_later); automatic full passes are off (the two younger generations collect as
   usual); and a task on the event loop runs a full pass every FULL_GC_SECONDS when the heap has grown since the
   last and is small enough for the pass to be short, or whatever it costs once it has grown by FORCE_BLOCKS
   (memory comes before latency).

Started by the first ASGI call of a process (the server's loop), when settings.PLAYGROUND_GC_PACING is on.
"""

import asyncio
import gc
import logging
import sys
import time

from django.conf import settings

log = logging.getLogger("playground.upkeep")

SWITCH_INTERVAL = 0.0005  # seconds: sys.setswitchinterval (CPython's default is 0.005)
FULL_GC_SECONDS = 10.0  # how often to consider a full pass
MIN_GROWTH_BLOCKS = 20_000  # ... and not unless the heap grew this much (allocated blocks) since the last one
CHEAP_BLOCKS = 400_000  # heap size past the startup freeze under which a pass is short (20-30 ms measured)
FORCE_BLOCKS = 1_500_000  # growth since the last full pass after which one runs however long it takes
NEVER = 1 << 30  # a gen-2 threshold no process reaches: no automatic full passes

_task = None


def start():
    """Tune this process and start the pacing task on the running loop (once per process)."""
    global _task
    if _task is not None or not getattr(settings, "PLAYGROUND_GC_PACING", True):
        return
    _task = asyncio.get_running_loop().create_task(FullCollections().run())


class FullCollections:
    def __init__(self):
        self.base = sys.getallocatedblocks()  # what startup left (frozen by asgi.py: never walked)
        self.after_last = self.base

    def due(self, blocks):
        grown = blocks - self.after_last
        return grown > MIN_GROWTH_BLOCKS and (blocks - self.base < CHEAP_BLOCKS or grown > FORCE_BLOCKS)

    def collect(self):
        started = time.perf_counter()
        gc.collect()
        took = time.perf_counter() - started
        self.after_last = sys.getallocatedblocks()
        if took > 0.05:
            log.info("full GC pass took %.0f ms (heap %d blocks past startup)", took * 1000,
                     self.after_last - self.base)

    async def run(self):
        previous = gc.get_threshold(), sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        gc.set_threshold(previous[0][0], previous[0][1], NEVER)
        try:
            while True:
                await asyncio.sleep(FULL_GC_SECONDS)
                if self.due(sys.getallocatedblocks()):
                    self.collect()
        finally:  # the loop ends (a test's loop, or the server stopping): automatic passes again
            gc.set_threshold(*previous[0])
            sys.setswitchinterval(previous[1])
