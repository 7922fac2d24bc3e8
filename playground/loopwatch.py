"""A stall finder for the event loop, for benchmarks (bench/attack.py --watch): off unless
PLAYGROUND_LOOP_WATCH_MS is set.

A heartbeat callback on the loop stamps the time every few ms; a watchdog thread looks at the stamp, and when the
loop is late by more than the threshold it samples the main thread's stack (every few ms while the stall lasts),
so the log says which code held the loop, not only that it was held. Cyclic GC passes that take long are logged
too (gc.callbacks): they stall the loop without any of our frames on the stack.
"""

import asyncio
import collections
import gc
import logging
import sys
import threading
import time
import traceback

log = logging.getLogger("playground.loopwatch")

BEAT_SECONDS = 0.005
SAMPLE_SECONDS = 0.005
GC_LOG_SECONDS = 0.010
HEAP_LOG_SECONDS = 0.2  # a full pass this long: log what the heap holds (at most HEAP_LOGS times)
HEAP_LOGS = 3

_started = False


def threshold_ms():
    from django.conf import settings

    return getattr(settings, "PLAYGROUND_LOOP_WATCH_MS", 0)


def start_if_asked():
    """Start the watch on the running loop once per process, if the setting asks for it."""
    global _started
    if _started or not threshold_ms():
        return
    _started = True
    LoopWatch(asyncio.get_running_loop(), threshold_ms() / 1000).start()


class LoopWatch:
    def __init__(self, loop, threshold):
        self.loop = loop
        self.threshold = threshold
        self.beat = time.monotonic()
        self.main_ident = threading.get_ident()
        self.gc_start = None
        self.heap_logs = 0

    def start(self):
        self.loop.call_soon(self._heartbeat)
        gc.callbacks.append(self._on_gc)
        threading.Thread(target=self._watch, name="loopwatch", daemon=True).start()
        log.warning("loop watch on: stalls over %.0f ms are sampled", self.threshold * 1000)

    def _heartbeat(self):
        self.beat = time.monotonic()
        self.loop.call_later(BEAT_SECONDS, self._heartbeat)

    def _on_gc(self, phase, info):
        if threading.get_ident() != self.main_ident:
            return
        if phase == "start":
            self.gc_start = time.perf_counter()
        elif self.gc_start is not None:
            took = time.perf_counter() - self.gc_start
            if took > GC_LOG_SECONDS:
                log.warning("gc generation %d took %.0f ms (%d collected)", info["generation"], took * 1000,
                            info["collected"])
                if info["generation"] == 2 and took > HEAP_LOG_SECONDS and self.heap_logs < HEAP_LOGS:
                    self.heap_logs += 1
                    self.loop.call_soon(self._log_heap)

    def _log_heap(self):
        """What the full passes walk: the tracked objects by type (an O(heap) look: a few times per run)."""
        counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
        log.warning("gc heap: %d tracked objects; %s", sum(counts.values()),
                    ", ".join(f"{k} {n}" for k, n in counts.most_common(8)))

    def _watch(self):
        while True:
            time.sleep(SAMPLE_SECONDS)
            late = time.monotonic() - self.beat
            if late < self.threshold:
                continue
            stalled_from = self.beat
            samples = collections.Counter()
            others = collections.Counter()  # what the other threads run meanwhile (who holds the GIL?)
            names = {t.ident: t.name for t in threading.enumerate()}
            while self.beat == stalled_from:
                frames = sys._current_frames()
                frame = frames.get(self.main_ident)
                if frame is not None:
                    stack = traceback.extract_stack(frame)[-12:]
                    samples["".join(f"\n    {f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}"
                                    for f in stack)] += 1
                for ident, other in frames.items():
                    if ident in (self.main_ident, threading.get_ident()):
                        continue
                    code = other.f_code
                    others[f"{names.get(ident, ident)} {code.co_filename.rsplit('/', 1)[-1]}:{code.co_name}"] += 1
                time.sleep(SAMPLE_SECONDS)
            took = (time.monotonic() - stalled_from) * 1000
            top = samples.most_common(3)
            log.warning("loop stall %.0f ms; %d samples; other threads: %s; top stacks:%s", took,
                        sum(samples.values()), ", ".join(f"{k} [{n}]" for k, n in others.most_common(4)),
                        "".join(f"\n  [{n}]{stack}" for stack, n in top))
