"""Time travel through one run: checkpoints, seeking, stepping back, forking, and what a re-simulation may cost.

Plain Python on the simulator (no Django, no asyncio), so it is tested and benchmarked headless:

    machine.py  TimeMachine (checkpoints of one run, seek, rewind, fork), Checkpoint, CopyGate (pacing copies)
    compact.py  pack/unpack: a simulation as compressed bytes, made in short pieces (the GIL is never held long)
    cost.py     Budget (engine events, seconds, memory; cancellable) and Turns (fair share of the workers):
                every re-simulation runs in bounded slices and checks its budget between them

The web layer (playground/travel.py) keeps its per-process policy (limits from settings, the shared CopyGate, the
worker threads) and composes one TimeMachine per live run.
"""

from .compact import pack, unpack
from .cost import Budget, Cancelled, TooCostly, Turns, resident_bytes
from .errors import TravelError
from .machine import (MAX_THREAD_COPY, MEMORY_BUDGET, Checkpoint, CopyGate, Landing, TimeMachine, branch_of,
                      is_clean)

__all__ = ["MAX_THREAD_COPY", "MEMORY_BUDGET", "Budget", "Cancelled", "Checkpoint", "CopyGate", "Landing",
           "TimeMachine", "TooCostly", "TravelError", "Turns", "branch_of", "is_clean", "pack", "resident_bytes",
           "unpack"]
