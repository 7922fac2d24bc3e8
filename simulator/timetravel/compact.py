"""Compact snapshots of a simulation for time-travel checkpoints: pickle (protocol 5) + zlib, made and read in
short pieces so that a big one never holds the GIL (i.e. every other session of the process) for long.

    blob = pack(sim)    # bytes: ~4-20x smaller than the objects (measured: bench/replay.py prints it)
    sim2 = unpack(blob) # a new, independent simulation that continues exactly like `sim` (same trace)

Why not `pickle.dumps(sim)`: it works (once bound methods pickle, below) and costs a third of `copy.deepcopy`,
but the C pickler holds the GIL from start to end: a 10-minute busy Raft run is ~40 ms and 1000 gossip nodes
~55 ms in one go, a stall of every session in the process (deepcopy, being Python code, yields every 5 ms). So
the graph is written as a sequence of `Pickler.dump` calls on one Pickler, whose memo (and the Unpickler's)
lives across calls, so the pieces share objects exactly as the original does:

1. a header: the classes of the "shells", plain instances (the simulation, its nodes, protocol, network, SimPy
   environment and events...). A shell is written as a reference `_shell(i)`; its state separately;
2. big plain-data containers (a Raft log, the invariant checker's history), in slices of SLICE items first;
3. the shells' states, BATCH at a time.

Reading creates the shells empty, loads the pieces and then sets each shell's state (its `__setstate__` if its
class has one, e.g. Simulation's; else its `__dict__`). Between pieces the GIL can go to another thread;
zlib releases it while it works. Objects that are not shells are pickled the usual way, inside whichever piece
reaches them first: the result is the same, only the pieces' sizes differ.

Bound methods: `types.MethodType` pickles as `getattr(obj, method.__func__.__name__)`, which fails for SimPy's
`BoundClass` attributes (`env.process` is `MethodType(Process, env)`, and `env.Process` does not exist:
"'Environment' object has no attribute 'Process'"). They are pickled as `MethodType(func, obj)` instead,
exactly what `copy.deepcopy` does with them.
"""

import copyreg
import functools
import gc
import io
import itertools
import pickle
import sys
import threading
import types
import zlib

LEVEL = 1  # zlib level: 1 compresses a Raft checkpoint to ~23% in ~0.5x the pickling time; 6 gains 1% for 5x
SLICE = 4096  # items of a big list per piece
BIG = 1024  # lists and dicts at least this long (of plain data) are pieces of their own (not walked into)
BATCH = 64  # shells' states per piece
PROTOCOL = 5

_ATOMS = frozenset((str, int, float, bool, type(None), bytes, complex))
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined in Python
_local = threading.local()


def _bound(func, obj):
    return types.MethodType(func, obj)


def _reduce_method(m):
    return _bound, (m.__func__, m.__self__)


def _shell(i):
    return _local.shells[i]


_DISPATCH = copyreg.dispatch_table.copy()
_DISPATCH[types.MethodType] = _reduce_method

_shell_classes = {}  # class -> may its instances be shells? (cached)


def _shell_class(cls):
    ok = _shell_classes.get(cls)
    if ok is None:
        ok = bool(
            cls.__flags__ & _HEAPTYPE
            and cls.__dictoffset__
            and not any("__slots__" in vars(c) for c in cls.__mro__[:-1])
            and cls.__reduce_ex__ is object.__reduce_ex__
            and cls.__reduce__ is object.__reduce__
            and not hasattr(cls, "__getnewargs_ex__")
            and not hasattr(cls, "__getnewargs__")
            and cls.__hash__ in (object.__hash__, None)  # an empty shell may be hashed (a dict key) before filled
            and not issubclass(cls, (list, dict, set, tuple, BaseException))
        )
        _shell_classes[cls] = ok
    return ok


def _plain(obj, depth=3):
    """Plain data (atoms in lists, tuples and dicts), judged by the first and last items: such a container
    cannot reach back into the simulation, so it can be a piece of its own."""
    t = type(obj)
    if t in _ATOMS:
        return True
    if depth == 0:
        return False
    if t is list or t is tuple:
        return not obj or (_plain(obj[0], depth - 1) and _plain(obj[-1], depth - 1))
    if t is dict:
        if not obj:
            return True
        k = next(iter(obj))
        return type(k) in _ATOMS and _plain(obj[k], depth - 1)
    if t.__module__ == "array" and t.__name__ == "array":
        return True
    return False


def _plan(root):
    """Walk the object graph from `root` down to (not into) big plain containers: returns (shells, their
    states, big containers). Objects reachable only through sets or dict keys are not walked (see above)."""
    shells, states, big = [], [], []
    index = {}
    seen = {id(root)}
    stack = [root]
    while stack:
        obj = stack.pop()
        t = type(obj)
        if t is dict:
            kids = obj.values()
        elif t is list or t is tuple:
            kids = obj
        elif t is types.MethodType:
            kids = (obj.__self__,)
        elif t is functools.partial:
            kids = (obj.func, *obj.args, *obj.keywords.values())
        elif _shell_class(t):
            state = obj.__getstate__()
            if state is None:
                state = {}
            if type(state) is not dict:
                continue  # an unusual __getstate__: pickled the usual way
            index[id(obj)] = len(shells)
            shells.append(obj)
            states.append(state)
            kids = state.values()
        elif t.__flags__ & _HEAPTYPE:  # slotted (e.g. the engine's _Wake, _Timer), or a custom pickling
            kids = [getattr(obj, s) for c in t.__mro__ for s in vars(c).get("__slots__", ()) if hasattr(obj, s)]
            if t.__dictoffset__:
                kids += list(vars(obj).values())
        else:
            continue
        for kid in kids:
            tk = type(kid)
            if tk in _ATOMS or id(kid) in seen:
                continue
            seen.add(id(kid))
            if (tk is list or tk is dict) and len(kid) >= BIG and _plain(kid):
                big.append(kid)
            else:
                stack.append(kid)
    return shells, states, big, index


def pack(sim, level=LEVEL):
    """`sim` as compressed bytes (see the module's doc). Nothing may change `sim` meanwhile."""
    shells, states, big, index = _plan(sim)
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=PROTOCOL)
    table = dict(_DISPATCH)

    def reduce_shell(obj):
        i = index.get(id(obj))
        if i is None:
            return obj.__reduce_ex__(PROTOCOL)
        return _shell, (i,)

    for cls in {type(s) for s in shells}:
        table[cls] = reduce_shell
    pickler.dispatch_table = table
    dump = pickler.dump
    dump([type(s) for s in shells])
    for obj in big:
        if type(obj) is list and len(obj) > SLICE:
            for i in range(0, len(obj), SLICE):
                dump(("x", obj[i:i + SLICE]))  # the items, memoised: the whole list below is references
        elif type(obj) is dict and len(obj) > SLICE and type(next(iter(obj))) is not int:
            items = iter(obj.items())  # (int keys are not memoised: slicing would not shorten the last piece)
            while piece := list(itertools.islice(items, SLICE)):
                dump(("x", piece))
        dump(("x", obj))
    for i in range(0, len(states), BATCH):
        dump(("s", states[i:i + BATCH]))
    if not shells:
        dump(("r", sim))
    dump(("end", None))
    return zlib.compress(buf.getbuffer(), level)


def unpack(blob):
    """A new simulation from `pack`'s bytes.

    The garbage collector is off meanwhile: unpickling creates a few hundred thousand containers at once, which
    would trigger full collections of the whole process (measured: up to 4x the unpacking time in a process
    holding a few big simulations). Nothing here creates garbage cycles."""
    unpickler = pickle.Unpickler(io.BytesIO(zlib.decompress(blob)))
    load = unpickler.load
    classes = load()
    shells = [cls.__new__(cls) for cls in classes]
    states = []
    root = None
    previous = getattr(_local, "shells", None)
    _local.shells = shells
    collect = gc.isenabled()  # (threads: only one that saw it on turns it on again, so it never stays off)
    gc.disable()
    try:
        while True:
            kind, payload = load()
            if kind == "s":
                states.extend(payload)
            elif kind == "r":
                root = payload
            elif kind == "end":
                break
        for obj, state in zip(shells, states):
            # attribute names interned, as the unpickler and setattr do: attribute lookups stay fast
            state = {sys.intern(k) if type(k) is str else k: v for k, v in state.items()}
            setstate = getattr(obj, "__setstate__", None)
            if setstate is not None:
                setstate(state)
            else:
                obj.__dict__.update(state)
    finally:
        _local.shells = previous
        if collect:
            gc.enable()
    return shells[0] if shells else root
