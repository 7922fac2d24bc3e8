"""What one request that re-simulates may cost, and the fair sharing of the threads that do it.

A seek to 24 h of a 10,000-node gossip run would re-simulate for hours and fill the memory; six of them on a
small Raft held every worker thread of a server for minutes. So every re-simulation runs under a `Budget`:

- up front, an estimate (events per simulated ms observed so far x distance) that cannot fit is refused
  (`TooCostly`, before anything changes);
- while it runs, it advances the engine in slices of bounded work (about SLICE_SECONDS each) and, between
  slices, charges the budget: engine events, seconds spent simulating, growth of the process's resident memory,
  events the engine holds scheduled (messages in flight: each one several objects the garbage collector walks);
  and checks the cancellation flag (a newer request from the same client, or the client left). Over budget it
  raises `TooCostly`, cancelled `Cancelled`; the caller leaves everything as it was;
- `Turns` lets at most N budgeted jobs simulate at once (N worker threads' worth of CPU), first come first
  served, and a job that has simulated for a QUANTUM while others wait hands its turn to the next one: a short
  seek is answered promptly however many long ones are running, and one client's job holds at most one turn.

Plain Python and threads (no asyncio, no Django): the web layer (playground/travel.py) runs jobs in its own
worker threads and sets the limits from settings; slicing never changes the trace.
"""

import collections
import threading
import time

from .errors import Cancelled, TooCostly

SLICE_SECONDS = 0.001  # aim: a budget check every 1 ms of engine work (cancelled within a slice or two)
MAX_SLICE_STEPS = 4096
QUANTUM = 0.05  # seconds a job simulates before handing its turn to a waiting one
WAIT_POLL = 0.01  # seconds between looks at the cancellation flag while waiting for a turn
MEMORY_POLL = 0.01  # seconds between looks at the resident memory (a read of /proc costs ~30 us)

_PAGE = 4096
try:
    import os

    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (ImportError, ValueError, OSError, AttributeError):
    pass


def resident_bytes():
    """This process's resident memory now (Linux /proc), or None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class Turns:
    """At most `slots` jobs simulate at once; the others wait, first come first served (see the module's doc)."""

    def __init__(self, slots=2, quantum=QUANTUM):
        self.slots = max(1, slots)
        self.quantum = quantum
        self._cond = threading.Condition()
        self._queue = collections.deque()  # waiting jobs' tickets, in arrival order
        self._running = 0

    def waiting(self):
        return bool(self._queue)

    def take(self, cancelled=None):
        """Wait for a turn (raises Cancelled if `cancelled`, a threading.Event, is set meanwhile)."""
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            try:
                while self._queue[0] is not ticket or self._running >= self.slots:
                    if cancelled is not None and cancelled.is_set():
                        raise Cancelled()
                    self._cond.wait(WAIT_POLL)
            except BaseException:
                self._queue.remove(ticket)
                self._cond.notify_all()
                raise
            self._queue.popleft()
            self._running += 1
            self._cond.notify_all()  # the next in line may go too if a slot is free

    def give_back(self):
        with self._cond:
            self._running -= 1
            self._cond.notify_all()


class Budget:
    """The limits of one request, checked between slices of engine work (see the module's doc).

    what     what the request is, for the messages ("seek to 86400000 ms")
    advice   what to change when it does not fit ("seek to a nearer moment")
    field    the message field at fault, if any ("t")
    None for a limit: no limit. `cancel()` may be called from any thread.
    """

    def __init__(self, what, *, max_events=None, max_seconds=None, max_memory=None, max_scheduled=None, advice="",
                 field=None, turns=None, clock=time.monotonic, memory=resident_bytes):
        self.what = what
        self.max_scheduled = max_scheduled
        self.max_events = max_events
        self.max_seconds = max_seconds
        self.max_memory = max_memory
        self.advice = advice
        self.field = field
        self.turns = turns
        self.clock = clock
        self.memory = memory
        self.cancelled = threading.Event()
        self.events = 0  # engine events charged so far
        self.seconds = 0.0  # seconds spent simulating (waiting for a turn not counted)
        self._turn_at = None  # when the current turn began (None: not holding one)
        self._memory0 = None
        self._memory_at = 0.0  # when the memory was last looked at

    # --- up front ---------------------------------------------------------------------------------
    def admit(self, events, event_seconds=None):
        """Refuse now if an estimate of `events` engine events (each about `event_seconds`) cannot fit."""
        if self.max_events is not None and events > self.max_events:
            raise TooCostly(f"{self.what}: about {events:,} engine events to re-simulate, more than the "
                            f"{self.max_events:,} one request may take (PLAYGROUND_TRAVEL_MAX_EVENTS). "
                            f"{self.advice}", self.field)
        if self.max_seconds is not None and event_seconds and events * event_seconds > self.max_seconds:
            raise TooCostly(f"{self.what}: about {events * event_seconds:.0f} s of re-simulation "
                            f"({events:,} engine events), more than the {self.max_seconds:g} s one request may take "
                            f"(PLAYGROUND_TRAVEL_MAX_SECONDS). {self.advice}", self.field)

    # --- while running ----------------------------------------------------------------------------
    def begin(self):
        """The job starts: take a turn (waiting for one if need be)."""
        if self._memory0 is None and self.max_memory is not None:
            self._memory0 = self.memory()  # (a job may come back for more work: measured from its first start)
        self._take_turn()

    def end(self):
        """The job is over (done, refused or cancelled): give the turn back."""
        if self._turn_at is not None:
            self.seconds += self.clock() - self._turn_at
            self._turn_at = None
            if self.turns is not None:
                self.turns.give_back()

    def _take_turn(self):
        if self.cancelled.is_set():
            raise Cancelled(field=self.field)
        if self.turns is not None:
            self.turns.take(self.cancelled)
        self._turn_at = self.clock()

    def cancel(self):
        self.cancelled.set()

    def charge(self, events, scheduled=None):
        """Count `events` more engine events (`scheduled`: how many the engine now holds scheduled); raise
        Cancelled or TooCostly if the job must stop now."""
        self.events += events
        if self.cancelled.is_set():
            raise Cancelled(field=self.field)
        if self.max_scheduled is not None and scheduled is not None and scheduled > self.max_scheduled:
            raise TooCostly(f"{self.what}: stopped where the run held {scheduled:,} scheduled events (messages in "
                            f"flight, timers), more than the {self.max_scheduled:,} a re-simulation may "
                            f"(twice PLAYGROUND_LIVE_MAX_SCHEDULED); nothing changed. {self.advice}", self.field)
        if self._turn_at is None:
            return  # not begun: only events are counted (a caller running in line, e.g. a test)
        now = self.clock()
        spent = self.seconds + now - self._turn_at
        if self.max_events is not None and self.events > self.max_events:
            raise TooCostly(f"{self.what}: stopped after {self.events:,} engine events, over the {self.max_events:,}"
                            f" one request may take (PLAYGROUND_TRAVEL_MAX_EVENTS); nothing changed. {self.advice}",
                            self.field)
        if self.max_seconds is not None and spent > self.max_seconds:
            raise TooCostly(f"{self.what}: stopped after {spent:.1f} s of re-simulation ({self.events:,} engine "
                            f"events), over the {self.max_seconds:g} s one request may take "
                            f"(PLAYGROUND_TRAVEL_MAX_SECONDS); nothing changed. {self.advice}", self.field)
        if self._memory0 is not None and now - self._memory_at >= MEMORY_POLL:
            self._memory_at = now
            grown = (self.memory() or self._memory0) - self._memory0
            if grown > self.max_memory:
                raise TooCostly(f"{self.what}: stopped when the server's memory had grown by {grown >> 20} MiB, "
                                f"more than one request may take ({self.max_memory >> 20} MiB, "
                                f"PLAYGROUND_TRAVEL_MAX_MB); nothing changed. {self.advice}", self.field)
        turns = self.turns
        if turns is not None and now - self._turn_at >= turns.quantum and turns.waiting():
            self.end()  # let the next job in line simulate for a while
            self._take_turn()

    @property
    def event_seconds(self):
        """Measured seconds per engine event (None before enough work to tell)."""
        if self.events < 10_000:
            return None
        spent = self.seconds + (self.clock() - self._turn_at if self._turn_at is not None else 0.0)
        return spent / self.events


def run_slices(sim, until, budget, drain=True):
    """Advance `sim` to moment `until` in slices of bounded work, charging `budget` between slices.

    A generator: yields each slice's drained events (drain=False: leaves them in the engine, yields [] each
    slice). With budget None it is one `sim.advance(until)`: exactly what the engine does unsliced (the trace is
    the same however a run is sliced).
    """
    if budget is None:
        sim.advance(until)
        yield sim.drain() if drain else []
        return
    chunk = 16
    clock = time.perf_counter
    while True:
        asked = chunk
        before = sim.event_count
        t0 = clock()
        steps = sim.advance(until, max_steps=asked)
        spent = clock() - t0
        if steps == asked:  # adapt: a slice should take about SLICE_SECONDS
            chunk = max(1, min(MAX_SLICE_STEPS, int(SLICE_SECONDS * steps / max(spent, 1e-6))))
        budget.charge(sim.event_count - before, len(sim.env._queue))
        yield sim.drain() if drain else []
        if steps < asked:  # everything before `until` has run: the clock is at `until`
            return


def finish_millisecond(sim, budget=None, max_events=None, max_seconds=None, clock=time.perf_counter):
    """Run what is left of the current millisecond, within `budget`; its events stay in the engine, to be sent.

    Returns True when the millisecond is done (the clock moved on), False when `max_events` events are waiting
    to be sent first, or after about `max_seconds` of work: call again (a whole millisecond of a heavy run can be
    66,000 events, a second of engine work and one frame the event loop would take most of a second to
    serialise; in pieces, an event loop can do it between its other work).
    """
    deadline = None if max_seconds is None else clock() + max_seconds
    for _ in run_slices(sim, sim.now + 1, budget, drain=False):
        if max_events is not None and len(sim.pending) >= max_events:
            return False
        if deadline is not None and clock() >= deadline:
            return False
    return True
