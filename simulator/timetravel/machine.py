"""Time travel through one live run: checkpoints, seeking, stepping back one event, forking.

Plain Python on the simulator (no Django, no asyncio), so it is tested and benchmarked headless; the web layer
(playground/travel.py) composes one TimeMachine per live session.

The run is deterministic, so any moment of it can be recomputed from its scenario. Recomputing from t=0 is
slow for long runs (a 10-minute 5-node Raft run takes seconds), so a TimeMachine keeps **checkpoints**:
compact snapshots of the simulation (simulator.timetravel.compact: pickle + zlib, made in short pieces so that the
GIL is never held long; every scheduled callback is a partial of a bound method, so a simulation pickles, and an
unpickled one continues exactly like the original). To show moment t it unpacks the newest checkpoint before t
and re-simulates the rest. A checkpoint costs about 0.6x a `copy.deepcopy(sim)` to make, 0.3x to restore, and
holds 4-20x less memory than a copy would (bench/replay.py prints them side by side). "Copy" below means packing.

Positions. A moment is a simulated time `t` in ms, meaning "everything before t has happened, nothing at t":
exactly where a live intervention at t lands, and where `python -m simulator run` stops for `duration = t`.
Stepping back works on **event positions** instead: position k is the state after the first k events of the
run's trace (the trace is the same however the run is sliced).

The branch. What happens is fixed by the scenario plus the interventions, so the run's "branch" is its list of
interventions (applied so far + still to come, `sim.applied` + `sim.scripted`). After seeking back, the ones
after the new moment are still scheduled: playing on replays the same future. Acting while behind the
**frontier** (the furthest point this branch has reached) **forks**: everything scheduled after that moment is
dropped, the checkpoints past it too, and the branch goes on from there.

Checkpoint policy. A checkpoint is taken at most every INTERVAL_MS of simulated time, and only once the run has
done WORK_RATIO times as much work since the last one as copying it cost (work counted in events, about
EVENT_SECONDS of CPU each; the copy's cost measured in CPU time of the copying thread, so a busy machine does not
distort it), or MAX_RESIM seconds of work if a copy costs at most half of that. Copying thus stays a bounded
fraction of simulating, even when fast-forwarding a large simulation, checkpoints thin out as copies grow (a long
Raft log), and yet re-simulating from one to the next stays short. When more than MAX_CHECKPOINTS are kept, or they hold
more than MEMORY_BUDGET bytes (their compressed sizes), the checkpoint whose loss widens the gaps least goes
(never the first, the newest or the one in use): the widest gap (in events) after thinning is at most about
twice the average one, so the checkpoints stay spread over the whole run and so does the worst seek. Seeking
costs one unpacking plus the re-simulation from the checkpoint before the target.

Two more sources of checkpoints make the common moves cheap: the simulation a seek leaves behind becomes one
(adopt: going back to where you were costs an unpacking, no re-simulation), and stepping back far from a checkpoint
keeps a stepping stone just before the target (the next steps back start there).

Cost. `seek` and `rewind` take an optional Budget (simulator.timetravel.cost): an estimate that cannot fit is
refused before anything changes (`check_seek`, `check_rewind`: events per simulated ms observed so far x
distance), and the re-simulation runs in slices that charge the budget; stopped over budget (TooCostly) or
cancelled, the machine is put back exactly as it was (checkpoints, frontier) and the caller's simulation was never
touched. Without a budget the work is done exactly as before (same slices, same checkpoints).
"""

import copy
import logging
import pickle
import time

from simulator import Simulation
from simulator.view import apply_event

from .compact import pack, unpack
from .cost import run_slices
from .errors import Cancelled, TooCostly, TravelError

log = logging.getLogger(__name__)

INTERVAL_MS = 1000
MAX_CHECKPOINTS = 64  # compact ones: 10 minutes of busy Raft fit ~40 of them in MEMORY_BUDGET
MEMORY_BUDGET = 24 * 1024 * 1024  # bytes of checkpoints per run (their compressed sizes)
BYTES_PER_OBJECT = 350  # only if a simulation cannot be pickled (a deep copy is kept): measured with tracemalloc,
                        # 190-355 bytes per object deepcopy memoises; the high end, to err on the safe side
EVENT_SECONDS = 3e-6  # CPU per emitted event, roughly (bench/engine.py: Raft ~300,000 events/s)
MAX_LIVE_COPY = 0.01  # seconds: longer copies are not made on a live session's event loop (a stall)...
NODE_COPY_SECONDS = 0.0002  # ...expecting at least this per node (measured: Raft 101 nodes 20 ms, gossip 1000 0.19 s)
MAX_THREAD_COPY = 0.25  # ...nor in a worker thread if longer than this (the session waits for it): seeks fill in
NODE_BYTES = 2000  # compressed bytes per node, at least, expected of a first checkpoint (Raft: ~6 KiB)
WORK_RATIO = 2.0  # simulate at least twice as long as the last copy took before taking the next one...
MAX_RESIM = 0.25  # ...or this many CPU seconds of events (x 1-1.5 with the phase), if the copy costs at most half
                  # of that: bounds the re-simulation of a seek where copies are dear (a long, busy run)
FILL_STRETCH = 2.0  # a seek takes checkpoints on its way only across gaps this many times wider than usual: one
                    # over a usual gap would make that seek dearer (a copy) and hardly any later one cheaper
SCAN_CHUNK_MS = 1000  # re-simulate in chunks this long, draining events as we go (bounded memory)
MAX_MARKS = 5000  # timeline marks sent to a client at most
COPY_DUTY = 0.25  # live copies take at most this fraction of a process's wall clock (CopyGate)
RATE_SAMPLE_EVENTS = 20_000  # the run's events per simulated ms are an estimate once it has this many events...
RATE_SAMPLE_MS = 1000  # ...or covers this much simulated time (before: no estimate, only the budget's checks)


class CopyGate:
    """Process-wide pacing of live checkpoint copies (one per server process, shared by all its sessions).

    Sessions started together reach their checkpoints together; their copies would then run at once (in threads
    competing with the event loop for the GIL) and stall every session of the process at the same moment. The
    gate lets one copy run at a time and, after a copy that took d seconds of wall clock, none before
    d * (1 / duty - 1) has passed: copying takes at most `duty` of the process. A session refused simply tries
    again after its next frame (observe is called after every frame); checkpoints never change the trace.
    Only touched from the event loop (begin/end around the copy), so no locking is needed.
    """

    def __init__(self, duty=COPY_DUTY, clock=time.perf_counter):
        self.duty = duty
        self.clock = clock
        self.busy = False
        self.next_at = 0.0
        self.refused = 0  # for benchmarks and tests
        self._t0 = 0.0

    def open(self):
        if self.busy or self.clock() < self.next_at:
            self.refused += 1
            return False
        return True

    def begin(self):
        self.busy = True
        self._t0 = self.clock()

    def end(self):
        now = self.clock()
        self.busy = False
        self.next_at = now + (now - self._t0) * (1.0 / self.duty - 1.0)



def is_clean(sim):
    """True if nothing of the current millisecond has run yet (a moment in the sense above)."""
    if sim.steps_at_now:
        return False
    return not (sim.applied and sim.applied[-1]["at"] == sim.now)


def branch_of(sim):
    """Every intervention of the run's branch, in order: applied so far, then still scheduled."""
    return [dict(iv) for iv in sim.applied] + [dict(iv) for iv in reversed(sim.scripted)]


class Landing:
    """Where a seek or a step back landed.

    sim       the new simulation (its events so far are drained)
    snapshot  what the client should show now
    backlog   events the engine already produced past that point (to send before any new ones)
    last_t    time of the last event before that point, if known (hint for the next step back)
    """

    __slots__ = ("sim", "snapshot", "backlog", "last_t")

    def __init__(self, sim, snapshot, backlog, last_t):
        self.sim, self.snapshot, self.backlog, self.last_t = sim, snapshot, backlog, last_t


class Checkpoint:
    """The run at one position, packed (simulator.timetravel.compact), or (the first one) the scenario it starts from:
    building a simulation is much cheaper than copying one (10,000 gossip nodes: 0.14 s against 2 s)."""

    __slots__ = ("t", "events", "applied", "last_applied", "clean", "blob", "copied", "cost", "size",
                 "scenario")

    def __init__(self, sim, blob, cost, size, scenario=None, copied=None):
        self.t = sim.now
        self.events = sim.event_count
        self.applied = len(sim.applied)
        self.last_applied = dict(sim.applied[-1]) if sim.applied else None
        self.clean = is_clean(sim)
        self.blob = blob  # pack(sim): compressed bytes
        self.copied = copied  # instead, a deep copy, if the simulation could not be pickled
        self.cost = cost  # CPU seconds packing (or copying) took
        self.size = size  # bytes held: len(blob), or estimated for a deep copy
        self.scenario = scenario  # for the genesis checkpoint: rebuild from it

    def simulation(self):
        """A fresh simulation at this checkpoint (the checkpoint itself stays untouched)."""
        if self.blob is not None:
            return unpack(self.blob)
        if self.copied is not None:
            return copy.deepcopy(self.copied)
        return Simulation(copy.deepcopy(self.scenario))

    def before_moment(self, t):
        """Can seeking to moment t start from here?"""
        return self.t < t or (self.t == t and self.clean)


def _packed(sim, warned):
    """A Checkpoint of `sim` (cost not set). Should the simulation ever not pickle (say, a protocol keeps a
    generator or a lambda), a deep copy is kept instead (with an estimated size) and a warning logged (once:
    `warned` is a list the caller keeps)."""
    try:
        blob = pack(sim)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as err:
        if not warned:
            warned.append(err)
            log.warning("time travel: simulation does not pickle (%s: %s); checkpoints fall back to deep copies",
                        type(err).__name__, err)
        memo = {}
        copied = copy.deepcopy(sim, memo)
        return Checkpoint(sim, None, 0.0, len(memo) * BYTES_PER_OBJECT, copied=copied)
    return Checkpoint(sim, blob, 0.0, len(blob))


def _dispose(sim):
    """Free a copy a travel abandoned, at once (Simulation.dispose: not left to the cyclic GC). A TimeMachine's
    `discard`; a server sets its own, which frees it elsewhere, off the request's path."""
    if sim is not None:
        for _ in sim.dispose():
            pass


class TimeMachine:
    """Checkpoints and the frontier of one live run. Call `observe(sim)` whenever the run has moved on."""

    discard = staticmethod(_dispose)  # what becomes of the copies a seek or rewind abandons

    def __init__(self, sim, interval=INTERVAL_MS, max_checkpoints=MAX_CHECKPOINTS, budget=MEMORY_BUDGET,
                 work_ratio=WORK_RATIO, clock=time.thread_time, phase=0.0):
        self.interval = interval
        # phase (0 <= phase < 1): this run waits (1 + phase) times as long between checkpoints (the interval and
        # the work ratio), so that sessions started together (same scenario, same pace) do not all reach their
        # checkpoints at the same moment; their schedules drift apart. Checkpoints never change the trace.
        self.phase = phase
        self.max_checkpoints = max(2, max_checkpoints)
        self.budget = budget
        self.work_ratio = work_ratio
        self.clock = clock
        self.checkpoints = []  # sorted by position (events); the first, at the start of the run, always stays
        self.frontier_events = sim.event_count
        self.frontier_t = sim.now
        self.violations = sim.violations  # those of the furthest run of this branch (may lie ahead of us)
        self.copy_seconds = 0.0  # CPU time spent copying (for benchmarks)
        self.copies = 0
        self._hot = None  # the checkpoint used or made last: thinning spares it (step back again, go back)
        self._last_cost = 0.0  # the last copy's CPU seconds and bytes: what the next one will cost at least
        self._last_size = 0
        self._nodes = len(sim.nodes)
        self._warned = []  # a pickling error, once logged
        self.event_seconds = None  # measured seconds per engine event of budgeted re-simulations (estimates)
        if sim.now == 0 and not sim.steps_at_now and not sim.applied:
            self.checkpoints.append(Checkpoint(sim, None, 0.0, 0, scenario=copy.deepcopy(sim.scenario)))
        else:
            self._add(sim)

    # --- recording ------------------------------------------------------------------------------
    def observe(self, sim, live=False, gate=None, stretch=1.0):
        """The run moved on: move the frontier, and take a checkpoint if one is due.

        live=True when called from the event loop of a live session: a copy expected to take longer than
        MAX_LIVE_COPY is not made here (it would stall every session of the process); the expected CPU seconds
        are returned instead, and the caller may make it in a worker thread with `checkpoint(sim)` while nothing
        touches the simulation (playground/travel.py does, up to MAX_THREAD_COPY). Otherwise returns None.
        gate: a CopyGate; while it is closed no checkpoint is taken (nor expected: None), it stays due.
        stretch: wait this many times longer than usual (seeks fill in only gaps wider than the live run leaves).
        """
        n = sim.event_count
        if n >= self.frontier_events:
            self.frontier_events = n
            self.frontier_t = sim.now
            self.violations = sim.violations
        prev = self._before(n)
        wait = (1.0 + self.phase) * stretch
        cost = max(prev.cost, self._last_cost / 2)
        work = (n - prev.events) * EVENT_SECONDS
        if (n > prev.events and sim.now - prev.t >= self.interval * wait
                and (work >= self.work_ratio * wait * cost
                     or (work >= MAX_RESIM * (1.0 + self.phase / 2) * stretch and cost <= MAX_RESIM / 2))):
            if not self._admits(n):
                return None  # it would be the first to go: do not pay for the copy
            if gate is not None and not gate.open():
                return None
            expected = max(self._last_cost, NODE_COPY_SECONDS * len(sim.nodes))
            if live and expected > MAX_LIVE_COPY:
                return expected
            if gate is None:
                self._add(sim)
            else:
                gate.begin()
                try:
                    self._add(sim)
                finally:
                    gate.end()
        return None

    def _admits(self, events):
        """Would a new checkpoint at this position survive thinning? Always at the end (the newest stays);
        between two others only if its gap is wider than the narrowest one that could go instead."""
        cps = self.checkpoints
        size = self._last_size or NODE_BYTES * self._nodes
        if len(cps) + 1 <= self.max_checkpoints and self.size + size <= self.budget:
            return True
        i = len(cps)
        while i > 0 and cps[i - 1].events > events:
            i -= 1
        if i == len(cps):
            return True
        gap = cps[i].events - cps[i - 1].events
        others = [cps[j + 1].events - cps[j - 1].events for j in range(1, len(cps) - 1) if cps[j] is not self._hot]
        return bool(others) and gap > min(others)

    def checkpoint(self, sim):
        """Take a checkpoint of `sim` now (see observe)."""
        return self._add(sim)

    def _before(self, events):
        cps = self.checkpoints
        i = len(cps) - 1
        while i > 0 and cps[i].events > events:
            i -= 1
        return cps[i]

    def _add(self, sim, hot=False):
        t0 = self.clock()
        cp = _packed(sim, self._warned)
        cost = self.clock() - t0
        cp.cost = cost
        self.copy_seconds += cost
        self.copies += 1
        self._last_cost = cost
        self._last_size = cp.size
        if hot:
            self._hot = cp
        self._insert(cp)
        return cp

    def adopt(self, sim):
        """Keep `sim` as a checkpoint: for a simulation the caller is done with, e.g. the one a seek leaves
        behind, so that going back to where one was costs no re-simulation (only unpacking)."""
        if any(cp.events == sim.event_count for cp in self.checkpoints):
            return
        self._add(sim, hot=True)

    def _insert(self, cp):
        cps = self.checkpoints
        i = len(cps)
        while i > 0 and cps[i - 1].events > cp.events:
            i -= 1
        cps.insert(i, cp)
        self._thin()

    def _thin(self):
        """Over the count or memory budget: drop the checkpoint whose loss widens the gaps least (never the
        first, the last or the hot one), until within budget. What is left stays spread evenly over the run."""
        cps = self.checkpoints
        while len(cps) > 3 and (len(cps) > self.max_checkpoints or self._size(cps) > self.budget):
            candidates = [i for i in range(1, len(cps) - 1) if cps[i] is not self._hot]
            i = min(candidates, key=lambda i: cps[i + 1].events - cps[i - 1].events)
            del cps[i]

    @staticmethod
    def _size(cps):
        return sum(cp.size for cp in cps)

    @property
    def size(self):
        """Estimated bytes held by the checkpoints."""
        return self._size(self.checkpoints)

    # --- where we are ----------------------------------------------------------------------------
    def behind(self, sim):
        """Has this branch already been further than `sim` is (so acting now forks)?"""
        return sim.event_count < self.frontier_events

    def end(self, sim):
        """The furthest moment this branch has reached."""
        return max(self.frontier_t, sim.now)

    def seek_limit(self, sim):
        """The latest moment one may seek to: the frontier, or the scenario's duration if that is later (a
        saved run opened from a link can be entered at any moment it covers)."""
        return max(self.end(sim), sim.duration)

    # --- travelling ----------------------------------------------------------------------------------
    def _restore(self, cp, branch, restored=None):
        self._hot = cp
        if cp.applied and branch[cp.applied - 1] != cp.last_applied:  # (the genesis one has none applied)
            raise AssertionError("checkpoint is not on the current branch")  # a bug, not a user error
        sim = cp.simulation()
        if restored is not None:
            restored.append(sim)
        sim.scripted = [dict(iv) for iv in reversed(branch[cp.applied:])]
        events = sim.drain()  # events up to the checkpoint: already seen
        return sim, (events[-1]["t"] if events else None)

    def _scan_to(self, sim, t, observe=False, budget=None):
        """Advance a restored copy to moment t in chunks, draining as it goes (a long run's events piling up
        in one list would slow everything down through the garbage collector), taking checkpoints past the
        last one if `observe`; within `budget` (slices of bounded work, checked between them). Returns the time
        of the last event drained on the way (None if none was)."""
        last_t = None
        start_t, start_events = sim.now, sim.event_count
        estimated = budget is None
        while sim.now < t:
            for events in run_slices(sim, min(t, sim.now + SCAN_CHUNK_MS), budget):
                if events:
                    last_t = events[-1]["t"]
            if observe:
                self.observe(sim, stretch=FILL_STRETCH)
            done_events, done_ms = sim.event_count - start_events, sim.now - start_t
            if not estimated and (done_events >= RATE_SAMPLE_EVENTS or done_ms >= RATE_SAMPLE_MS) and sim.now < t:
                # A run with no rate yet (a fresh start) could not be refused up front: now that this scan has
                # shown one, a seek that cannot fit stops here, not after its whole budget of engine work (six
                # such seeks to 24 h held both worker turns for a minute, and the event loop's GIL with them).
                estimated = True
                budget.admit(budget.events + int(done_events / max(1, done_ms) * (t - sim.now)))
        return last_t

    # --- what travelling costs -------------------------------------------------------------------------
    def rate(self):
        """Engine events per simulated ms observed so far on this branch (None until there is enough to tell)."""
        if self.frontier_events < RATE_SAMPLE_EVENTS and self.frontier_t < RATE_SAMPLE_MS:
            return None
        return self.frontier_events / (self.frontier_t + 1)

    def _seek_start(self, sim, t):
        """Where a seek to moment t would start from: (simulated ms, engine events) of the nearest checkpoint
        before it, or of `sim` itself (which seek(adopt=True) turns into one)."""
        cp = next(cp for cp in reversed(self.checkpoints) if cp.before_moment(t))
        if cp.t < sim.now and (sim.now < t or (sim.now == t and is_clean(sim))):
            return sim.now, sim.event_count
        return cp.t, cp.events

    def check_seek(self, sim, t, budget):
        """Refuse (TooCostly) a seek to t that cannot fit `budget`, before anything is done."""
        rate = self.rate()
        if budget is None or rate is None:
            return
        start_t, _ = self._seek_start(sim, t)
        budget.admit(int(rate * max(0, t - start_t)), self.event_seconds)

    def check_rewind(self, sim, position, hint, budget):
        """Refuse (TooCostly) a rewind to `position` that cannot fit `budget`, before anything is done."""
        if budget is None or position < self.checkpoints[0].events:
            return
        cp = next(cp for cp in reversed(self.checkpoints) if cp.events <= position)
        budget.admit((position - cp.events) * (1 if hint is not None else 2), self.event_seconds)

    def _saved_state(self):
        return (list(self.checkpoints), self.frontier_events, self.frontier_t, self.violations, self._hot)

    def _put_back(self, state):
        self.checkpoints, self.frontier_events, self.frontier_t, self.violations, self._hot = state

    def _learn(self, budget):
        if budget is not None and budget.event_seconds is not None:
            self.event_seconds = budget.event_seconds

    def seek(self, sim, t, adopt=False, budget=None):
        """Moment t of `sim`'s branch, as a Landing (events before t already drained, nothing at t run yet).

        t may lie beyond the frontier (fast-forward; checkpoints are taken on the way). With adopt=True the
        caller hands `sim` over (it must not touch it again) and it becomes a checkpoint; but if the seek is
        refused, stopped or cancelled (TooCostly, Cancelled), `sim` is still the caller's, untouched, and the
        machine is as it was.
        """
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise TravelError("bad_t", "t: must be a whole number of simulated ms, 0 or more", "t")
        self.check_seek(sim, t, budget)
        saved = self._saved_state()
        new = None
        try:
            branch = branch_of(sim)
            if adopt:
                self.adopt(sim)
            cp = next(cp for cp in reversed(self.checkpoints) if cp.before_moment(t))
            new, last_t = self._restore(cp, branch)
            last = self._scan_to(new, t, observe=True, budget=budget)
        except (TooCostly, Cancelled):
            self._put_back(saved)
            self.discard(new)
            raise
        self._learn(budget)
        return Landing(new, new.snapshot(), [], last if last is not None else last_t)

    def rewind(self, sim, position, hint=None, adopt=False, budget=None):
        """The run as it was after its first `position` events, as a Landing.

        `snapshot` is the state after exactly `position` events. The engine works in whole steps, and one step
        may emit several events, so the returned sim may be a few events further on: those are `backlog`, to be
        sent (in order) before anything the engine produces next.

        `hint`, if given, is the time of event number `position` (0-based: the first one dropped), e.g. the
        time of the last event a client saw when it steps back one. With it this is one re-simulation from the
        nearest checkpoint; without it (or if it is wrong), two. Far from the nearest checkpoint, a copy is kept
        SCAN_CHUNK_MS before the target, so that stepping back again and again stays cheap. `adopt` and
        `budget` as in seek.
        """
        first = self.checkpoints[0]
        if isinstance(position, bool) or not isinstance(position, int) or position < first.events:
            raise TravelError("at_start", "this is the start of the run: there is no earlier event")
        self.check_rewind(sim, position, hint, budget)
        saved = self._saved_state()
        restored = []
        try:
            landing = self._rewind(sim, position, hint, adopt, budget, restored)
        except (TooCostly, Cancelled):
            self._put_back(saved)
            for abandoned in restored:
                self.discard(abandoned)
            raise
        for abandoned in restored:  # copies it started over from (a wrong hint, the two-pass search)
            if abandoned is not landing.sim:
                self.discard(abandoned)
        self._learn(budget)
        return landing

    def _rewind(self, sim, position, hint, adopt, budget, restored):
        """(rewind's work; `restored` collects the copies it makes, for rewind to free if it fails)"""
        branch = branch_of(sim)
        if adopt:
            self.adopt(sim)
        cp = next(cp for cp in reversed(self.checkpoints) if cp.events <= position)
        s, last_t = self._restore(cp, branch, restored)
        if cp.events == position:
            return Landing(s, s.snapshot(), [], last_t)
        if hint is not None and s.now < hint - 2 * SCAN_CHUNK_MS:
            last = self._scan_to(s, hint - SCAN_CHUNK_MS, budget=budget)
            if last is not None:
                last_t = last
            if s.event_count <= position:
                self._add(s, hot=True)  # a stepping stone for the next steps back
        if hint is not None and s.now < hint:
            last = self._scan_to(s, hint, budget=budget)
            if s.event_count > position:  # a wrong hint: start again without it
                s, last_t = self._restore(cp, branch, restored)
                hint = None
            elif last is not None:
                last_t = last
        if hint is None:
            # Pass 1: find the time of the last event to keep; pass 2 below runs everything before it.
            need = position - cp.events
            seen = 0
            t_last = None
            horizon = max(sim.now, self.frontier_t) + SCAN_CHUNK_MS
            while t_last is None:
                for events in run_slices(s, s.now + SCAN_CHUNK_MS, budget):
                    if seen + len(events) >= need:
                        t_last = events[need - seen - 1]["t"]
                        break
                    seen += len(events)
                else:
                    if s.now > horizon:
                        raise TravelError("lost", f"event {position} is not in this run")  # only if called wrongly
            s, _ = self._restore(cp, branch, restored)
            if s.now < t_last:
                last = self._scan_to(s, t_last, budget=budget)
                if last is not None:
                    last_t = last
        base = s.snapshot()
        done = s.event_count
        events = s.drain()
        if events:
            last_t = events[-1]["t"]
        s.step_events(position - done)
        events = s.drain()
        keep = position - done
        shown = events[:keep]
        if shown:
            last_t = shown[-1]["t"]
        for ev in shown:
            apply_event(base, ev)  # base is our own fresh snapshot: no copy needed (simulator.view.replay copies)
        base["t"] = s.now  # the clock: between event position-1 and event position, where an action would land
        return Landing(s, base, events[keep:], last_t)

    def intervene(self, sim, intervention, live=False):
        """Apply a live intervention; fork first if we are behind the frontier.

        Returns (recorded intervention, dropped) where dropped is None if this did not fork, else the list of
        interventions that were scheduled after this moment and are gone now. Raises InterventionError (and
        changes nothing, no fork) if the intervention cannot apply.
        """
        behind = self.behind(sim)
        position = sim.event_count
        recorded = sim.intervene(intervention)
        dropped = None
        if behind:
            dropped = sim.scripted[::-1]
            sim.scripted.clear()
            self.checkpoints = [cp for cp in self.checkpoints if cp.events <= position]
            self.frontier_events = 0  # reset: observe() moves it to here
        self.observe(sim, live)
        return recorded, dropped

    # --- what the page draws ---------------------------------------------------------------------------
    def timeline(self, sim):
        """Marks for the timeline under the view: every intervention and violation of the branch.

        `future` marks lie ahead of the current moment (seen before a seek back, or scheduled by the scenario).
        """
        marks = []
        applied = len(sim.applied)
        for i, iv in enumerate(branch_of(sim)):
            at = iv.pop("at")
            marks.append({"t": at, "kind": "intervention", "iv": iv, "future": i >= applied})
        past = len(sim.violations)
        for i, v in enumerate(self.violations):
            mark = {"t": v["t"], "kind": "violation", "invariant": v["invariant"], "details": v.get("details"),
                    "future": i >= past}
            if "node" in v:
                mark["node"] = v["node"]
            marks.append(mark)
        marks.sort(key=lambda m: m["t"])
        truncated = len(marks) > MAX_MARKS
        out = {
            "t": sim.now,
            "end": self.end(sim),
            "frontier": self.frontier_t,
            "duration": sim.duration,
            "checkpoints": [cp.t for cp in self.checkpoints],
            "marks": marks[:MAX_MARKS],
        }
        if truncated:
            out["truncated"] = True
        return out
