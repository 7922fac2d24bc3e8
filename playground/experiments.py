"""Experiments on the web (issue 14; docs/experiments.md "On the page"): the catalogue of built-in experiments
(docs/experiments/*.json) and one run per WebSocket connection, streamed as it progresses.

A run is a built-in experiment cut to what the page asked for (`experiment_spec`: trials, seed, a subset of its
rows), so a saved link (/experiments/<slug>/?trials=..&seed=..&rows=..) names everything the numbers depend on
and reruns to the same numbers as `python -m simulator experiment` on the same spec. The trials run in a thread
of their own, off the event loop, fanned out over the process-wide Dask cluster the hunts use
(playground/hunting.py, simulator/compute.py).

Limits (Django settings): one run per connection (`experiment_busy`), at most PLAYGROUND_EXPERIMENT_CONCURRENT
runs in the process (`too_busy`), at most PLAYGROUND_EXPERIMENT_MAX_TRIALS trials a run, rows times trials
(`too_many_trials`), PLAYGROUND_EXPERIMENT_MAX_SECONDS of wall time (`too_costly`, the run is stopped). A run is
cancelled by `cancel` and when the connection closes.
"""

import asyncio
import json
import logging
import os
import time
from pathlib import Path

from django.conf import settings

from simulator.errors import PlaygroundError
from simulator.experiments import csv_lines, normalize_experiment, run_experiment, spread_over

from .compute import BackgroundRun, Slots, dask_client

log = logging.getLogger("playground.experiments")

EXPERIMENTS_DIR = Path(__file__).resolve().parent.parent / "docs" / "experiments"

_slots = Slots()  # experiment runs in progress in this process


class ExperimentRefused(PlaygroundError):
    """A run the server will not start: a limit, an unknown experiment, a bad trials/seed/rows value."""

    def __init__(self, code, message, field=None):
        super().__init__(message, code=code, field=field)


class _Cancelled(Exception):
    pass


def _setting(name, default):
    """A Django setting, else the environment variable of that name (a number), else `default`."""
    if hasattr(settings, name):
        return getattr(settings, name)
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return type(default)(value)
    except ValueError:
        log.warning("%s=%r is not a number: using %s", name, value, default)
        return default


def max_trials():
    return _setting("PLAYGROUND_EXPERIMENT_MAX_TRIALS", 2000)


def experiment_slugs():
    return sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.json"))


def experiment_raw(slug):
    """The built-in experiment file `slug` as parsed JSON; ExperimentRefused("no_experiment") if there is none."""
    if slug not in experiment_slugs():
        raise ExperimentRefused("no_experiment", f"no experiment named {str(slug)[:40]!r}", "experiment")
    return json.loads((EXPERIMENTS_DIR / f"{slug}.json").read_text())


def experiment_summary(slug):
    """What the list and the page show of an experiment before it runs."""
    raw = experiment_raw(slug)
    return {"slug": slug, "title": raw.get("title", slug), "source": raw.get("source", ""),
            "notes": raw.get("notes", ""), "protocol": raw["scenario"]["protocol"],
            "rows": [v["label"] for v in raw["sweep"]], "trials": raw.get("trials", 100), "seed": raw.get("seed", 1),
            "metrics": raw.get("metrics", []), "reference": raw.get("reference", {}), "chart": raw.get("chart"),
            "max_trials": max_trials()}


def experiment_catalog():
    return [experiment_summary(slug) for slug in experiment_slugs()]


def _whole(value, name, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ExperimentRefused(f"bad_{name}", f"{name}: must be a whole number from {lo} to {hi}", name)
    return value


def experiment_spec(slug, *, trials=None, seed=None, rows=None):
    """The built-in experiment `slug` with `trials` per row, `seed`, and only the rows whose indices `rows` lists
    (all by default), checked as any experiment file is (normalize_experiment). Trial i of a row has seed
    seed + i whichever other rows run, so a row's numbers do not depend on the rows chosen with it."""
    raw = experiment_raw(slug)
    sweep = raw["sweep"]
    if rows is not None:
        if not isinstance(rows, list) or not rows or len(set(map(repr, rows))) != len(rows):
            raise ExperimentRefused("bad_rows", "rows: a list of distinct row numbers, at least one", "rows")
        for r in rows:
            _whole(r, "rows", 0, len(sweep) - 1)
        raw["sweep"] = [sweep[r] for r in sorted(rows)]
    if trials is not None:
        raw["trials"] = _whole(trials, "trials", 1, max_trials())
    if seed is not None:
        raw["seed"] = _whole(seed, "seed", 0, 2 ** 31 - 1)
    total = len(raw["sweep"]) * raw.get("trials", 100)
    if total > max_trials():
        raise ExperimentRefused("too_many_trials", f"{total} trials ({len(raw['sweep'])} rows x "
                                f"{raw.get('trials', 100)}): a run may have at most {max_trials()}; choose fewer "
                                "trials or rows", "trials")
    return normalize_experiment(raw)


def experiment_result_json(result):
    """The result as the page receives it and downloads it: the experiment, per-row summaries, every trial."""
    return {"experiment": result["experiment"], "variants": result["variants"], "rows": result["rows"],
            "csv": "\n".join(csv_lines(result)) + "\n"}


RESULT_PART_CHARS = 400_000  # Daphne refuses outgoing messages over 1 MiB (escaped JSON text grows a little)


def result_messages(result):
    """The `result` message, or, when its JSON would be too long for one WebSocket message (thousands of trials
    with several metrics), `result_part` messages whose `text`s joined are that JSON."""
    message = {"type": "result", **result}
    text = json.dumps(message, separators=(",", ":"))
    if len(text) <= RESULT_PART_CHARS:
        return [message]
    chunks = [text[i:i + RESULT_PART_CHARS] for i in range(0, len(text), RESULT_PART_CHARS)]
    return [{"type": "result_part", "part": i, "parts": len(chunks), "text": chunk} for i, chunk in enumerate(chunks)]


class ExperimentRun(BackgroundRun):
    """The experiment run of one connection. `send(dict)` is an async callable that delivers to the client."""

    def __init__(self, send, name="experiment"):
        super().__init__()
        self.send = send
        self.name = name

    async def start(self, msg):
        if self.busy:
            raise ExperimentRefused("experiment_busy", "an experiment is already running here: wait for it or "
                                    "cancel it")
        # checking builds every row's simulation once (normalize_experiment): 0.3 s for 1,000 gossip nodes
        exp = await asyncio.to_thread(experiment_spec, msg.get("experiment"), trials=msg.get("trials"),
                                      seed=msg.get("seed"), rows=msg.get("rows"))
        if not _slots.take(_setting("PLAYGROUND_EXPERIMENT_CONCURRENT", 2)):
            raise ExperimentRefused("too_busy", "the server is running as many experiments as it can: try "
                                    "again in a minute")

        def work(cancelled, put):
            done_per_row = [0] * len(exp["sweep"])

            def on_rows(rows, done, total):
                if cancelled.is_set():
                    raise _Cancelled()  # closes the map: what is still queued on the cluster is cancelled
                for row in rows:
                    done_per_row[row["variant"]] += 1
                put(("progress", {"done": done, "total": total, "per_row": list(done_per_row)}))

            try:
                client = dask_client()
                map_batches = spread_over(workers=1) if client is None else spread_over(client=client)
                result = run_experiment(exp, map_batches=map_batches, on_rows=on_rows)
                put(("result", experiment_result_json(result)))
            except _Cancelled:
                put(("end", None))
            except PlaygroundError as err:
                put(("refused", err))
            except Exception as err:  # a bug: logged, the client told
                log.error("%s: experiment failed", self.name, exc_info=err)
                put(("failed", err))

        queue, cancelled = self.launch(_slots, work, f"experiment-{self.name}")
        await self.send({"type": "started", "total": len(exp["sweep"]) * exp["trials"],
                         "rows": [v["label"] for v in exp["sweep"]], "experiment": exp})
        self.task = asyncio.get_running_loop().create_task(self._relay(queue, cancelled),
                                                           name=f"experiment-{self.name}")

    async def _relay(self, queue, cancelled):
        max_seconds = _setting("PLAYGROUND_EXPERIMENT_MAX_SECONDS", 300)
        started = time.monotonic()
        try:
            while True:
                left = max_seconds - (time.monotonic() - started)
                try:
                    kind, item = await asyncio.wait_for(queue.get(), max(0.0, left))
                except asyncio.TimeoutError:
                    await self.send({"type": "error", "code": "too_costly", "field": "trials",
                                     "message": f"the experiment ran over {max_seconds:g} s and was stopped; "
                                                "choose fewer trials or rows"})
                    return
                if kind == "progress":
                    await self.send({"type": "progress", **item})
                elif kind == "result":
                    for part in result_messages(item):
                        await self.send(part)
                    return
                elif kind == "refused":
                    await self.send({"type": "error", **item.as_dict()})
                    return
                elif kind == "failed":
                    await self.send({"type": "error", "code": "experiment_failed",
                                     "message": "the experiment failed on the server (logged there)"})
                    return
                else:
                    return
        finally:
            cancelled.set()  # the thread stops after the batch of trials in progress

    async def notify_cancelled(self):
        await self.send({"type": "cancelled"})


def running_experiments():
    """How many experiment runs this process has going (for tests)."""
    return _slots.count
