"""The experiments pages and their WebSocket (playground/experiments.py, experiment_pages.py): a run streams
progress and ends with the numbers a headless run of the same spec gives; typed limits; cancel and leaving stop it."""

import asyncio
import json
import subprocess
import sys

import pytest

from playground import experiments
from simulator.experiments import run_experiment

from .conftest import Client
from .test_hardening_http import http  # noqa: F401  (a Django test client with a secret key)

FAST_ROWS = [4, 6]  # Figure 16's 150-200 ms and 12-24 ms rows: a few ms a trial


async def _no_runs_left(seconds=10):
    for _ in range(int(seconds * 20)):
        if experiments.running_experiments() == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def _until_end(client, timeout=60):
    out = []
    while not out or out[-1]["type"] not in ("result", "cancelled", "error"):
        out.append(await client.recv(timeout=timeout, ack=False))
    return out


async def _connect():
    return await Client(path="/ws/experiments/").connect()


def _headless(slug, trials, seed, rows):
    exp = experiments.experiment_spec(slug, trials=trials, seed=seed, rows=rows)
    return json.loads(json.dumps(run_experiment(exp)["variants"]))


@pytest.mark.asyncio
@pytest.mark.parametrize("workers", [1, 0])  # in the run's thread; on the Dask cluster (one worker per core)
async def test_a_run_streams_progress_per_row_and_gives_the_headless_numbers(settings, workers):
    """started (total, rows), progress with per-row counts that only grow, then the result: its summaries equal
    run_experiment's on the same spec, and its CSV has a line per trial."""
    settings.PLAYGROUND_HUNT_WORKERS = workers
    client = await _connect()
    try:
        await client.send({"type": "run", "experiment": "raft-figure16", "trials": 30, "seed": 5, "rows": FAST_ROWS})
        msgs = await _until_end(client)
    finally:
        await client.comm.disconnect()
    started, *progress, result = msgs
    assert started["type"] == "started" and started["total"] == 60
    assert started["rows"] == ["150-200 ms", "12-24 ms"]
    assert progress and all(m["type"] == "progress" for m in progress)
    for before, after in zip(progress, progress[1:]):
        assert after["done"] > before["done"]
        assert all(b <= a for b, a in zip(before["per_row"], after["per_row"]))
    assert progress[-1]["per_row"] == [30, 30] and progress[-1]["done"] == 60
    assert result["type"] == "result"
    assert result["variants"] == _headless("raft-figure16", 30, 5, FAST_ROWS)
    lines = result["csv"].strip().split("\n")
    assert lines[0] == "variant,trial,seed,downtime_ms,elections" and len(lines) == 61
    assert lines[1].startswith('"150-200 ms",0,5,')
    assert await _no_runs_left()


def test_a_row_gives_the_same_numbers_whichever_rows_run_with_it():
    both = _headless("raft-figure16", 6, 2, FAST_ROWS)
    alone = _headless("raft-figure16", 6, 2, [6])
    assert both[1] == alone[0] and both[1]["label"] == "12-24 ms"


def test_the_saved_spec_run_headless_by_the_cli_gives_the_same_numbers(tmp_path):
    exp = experiments.experiment_spec("raft-figure16", trials=5, seed=3, rows=[6])
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(exp))
    out = subprocess.run([sys.executable, "-m", "simulator", "experiment", str(path), "--quiet"],
                         capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().split("\n")[-1])["variants"] == _headless("raft-figure16", 5, 3, [6])


@pytest.mark.asyncio
@pytest.mark.parametrize("msg, code, field", [
    ({"trials": 1000}, "too_many_trials", "trials"),  # 7 rows x 1,000 > 2,000
    ({"trials": 0}, "bad_trials", "trials"),
    ({"trials": "40"}, "bad_trials", "trials"),
    ({"seed": -1}, "bad_seed", "seed"),
    ({"rows": []}, "bad_rows", "rows"),
    ({"rows": [9]}, "bad_rows", "rows"),
    ({"rows": [1, 1]}, "bad_rows", "rows"),
    ({"experiment": "../settings"}, "no_experiment", "experiment"),
    ({"type": "go"}, "unknown_type", "type"),
])
async def test_bad_requests_and_limits_get_typed_errors(settings, msg, code, field):
    settings.PLAYGROUND_HUNT_WORKERS = 1
    client = await _connect()
    try:
        await client.send({"type": "run", "experiment": "raft-figure16", **msg})
        err = await client.recv(timeout=5, ack=False)
        assert (err["type"], err["code"], err.get("field")) == ("error", code, field)
    finally:
        await client.comm.disconnect()
    assert experiments.running_experiments() == 0


@pytest.mark.asyncio
async def test_the_trials_cap_is_a_setting(settings):
    settings.PLAYGROUND_HUNT_WORKERS = 1
    settings.PLAYGROUND_EXPERIMENT_MAX_TRIALS = 10
    client = await _connect()
    try:
        await client.send({"type": "run", "experiment": "raft-figure16", "trials": 6, "rows": FAST_ROWS})
        err = await client.recv(timeout=5, ack=False)
        assert err["code"] == "too_many_trials" and "at most 10" in err["message"]
    finally:
        await client.comm.disconnect()


@pytest.mark.asyncio
async def test_one_run_per_client_and_cancel(settings):
    """A second run while one runs is refused (experiment_busy); cancel stops it and frees the server."""
    settings.PLAYGROUND_HUNT_WORKERS = 1
    client = await _connect()
    try:
        await client.send({"type": "run", "experiment": "raft-figure16", "trials": 250, "rows": [0, 1]})
        assert (await client.recv(timeout=5, ack=False))["type"] == "started"
        await client.send({"type": "run", "experiment": "raft-figure16", "trials": 2, "rows": [6]})
        msgs = []
        while not msgs or msgs[-1]["type"] == "progress":
            msgs.append(await client.recv(timeout=10, ack=False))
        assert msgs[-1]["code"] == "experiment_busy"
        await client.send({"type": "cancel"})
        end = await _until_end(client, timeout=30)
        assert end[-1]["type"] == "cancelled"
        assert await _no_runs_left()
    finally:
        await client.comm.disconnect()


@pytest.mark.asyncio
async def test_leaving_cancels_the_run(settings):
    settings.PLAYGROUND_HUNT_WORKERS = 1
    client = await _connect()
    await client.send({"type": "run", "experiment": "raft-figure16", "trials": 250, "rows": [0, 1]})
    assert (await client.recv(timeout=5, ack=False))["type"] == "started"
    assert experiments.running_experiments() == 1
    await client.comm.disconnect()
    assert await _no_runs_left()


@pytest.mark.asyncio
async def test_too_many_runs_in_the_process_are_refused(settings):
    settings.PLAYGROUND_HUNT_WORKERS = 1
    settings.PLAYGROUND_EXPERIMENT_CONCURRENT = 1
    first, second = await _connect(), await _connect()
    try:
        await first.send({"type": "run", "experiment": "raft-figure16", "trials": 250, "rows": [0, 1]})
        assert (await first.recv(timeout=5, ack=False))["type"] == "started"
        await second.send({"type": "run", "experiment": "raft-figure16", "trials": 2, "rows": [6]})
        assert (await second.recv(timeout=5, ack=False))["code"] == "too_busy"
    finally:
        await first.comm.disconnect()
        await second.comm.disconnect()
    assert await _no_runs_left()


def test_the_pages_list_every_experiment_and_404_an_unknown_one(http):
    client = http
    index = client.get("/experiments/")
    assert index.status_code == 200
    for slug in experiments.experiment_slugs():
        assert f'href="/experiments/{slug}/"' in index.content.decode()
    page = client.get("/experiments/raft-figure16/?trials=40&rows=0,6")
    assert page.status_code == 200 and b"Ongaro" in page.content and b'"trials": "40"' in page.content
    assert client.get("/experiments/no-such/").status_code == 404
    assert 'href="/experiments/"' in client.get("/").content.decode()  # the home page links to them


@pytest.mark.asyncio
async def test_the_time_limit_stops_a_run(settings):
    settings.PLAYGROUND_HUNT_WORKERS = 1
    settings.PLAYGROUND_EXPERIMENT_MAX_SECONDS = 0.5
    client = await _connect()
    try:
        await client.send({"type": "run", "experiment": "raft-figure16", "trials": 250, "rows": [0, 1]})
        end = await _until_end(client, timeout=10)
        assert end[0]["type"] == "started"
        assert (end[-1]["type"], end[-1]["code"]) == ("error", "too_costly")
    finally:
        await client.comm.disconnect()
    assert await _no_runs_left()


def test_limits_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_EXPERIMENT_MAX_TRIALS", "10")
    with pytest.raises(experiments.ExperimentRefused) as err:
        experiments.experiment_spec("raft-figure16", trials=6, rows=FAST_ROWS)
    assert err.value.code == "too_many_trials"
    assert len(experiments.experiment_spec("raft-figure16", trials=5, rows=FAST_ROWS)["sweep"]) == 2


def test_a_long_result_comes_in_parts_that_join_into_it(monkeypatch):
    monkeypatch.setattr(experiments, "RESULT_PART_CHARS", 1000)
    exp = experiments.experiment_spec("raft-figure16", trials=20, rows=FAST_ROWS)
    result = experiments.experiment_result_json(run_experiment(exp))
    parts = experiments.result_messages(result)
    assert len(parts) > 3 and [p["part"] for p in parts] == list(range(len(parts)))
    assert all(p["type"] == "result_part" and p["parts"] == len(parts) for p in parts)
    assert json.loads("".join(p["text"] for p in parts)) == json.loads(json.dumps({"type": "result", **result}))
    monkeypatch.setattr(experiments, "RESULT_PART_CHARS", 10 ** 6)
    assert [m["type"] for m in experiments.result_messages(result)] == ["result"]
