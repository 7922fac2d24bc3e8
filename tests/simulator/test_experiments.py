"""Experiments: seeded trials over a sweep, metrics read from the trace, summaries, the CLI."""

import json
import random
import statistics
import subprocess
import sys

import pytest

from simulator.errors import ScenarioError
from simulator.experiments import (batches, csv_lines, normalize_experiment, run_batch, run_experiment, run_trial,
                                   spread_over, trial_scenario)
from simulator.experiments.stats import quantile, summarize

from simhelpers import ROOT

ROOT_PATH = __import__("pathlib").Path(ROOT)

CRASH = {"title": "leader crash", "scenario": {"protocol": "raft", "network": {"latency": [7, 8]}},
         "sweep": [{"label": "150-300"},
                   {"label": "12-24", "params": {"election_timeout_min": 12, "election_timeout_max": 24,
                                                 "heartbeat_interval": 6}}],
         "trials": 6, "setup": {"kind": "crash_leader", "stable_ms": 500, "limit_ms": 5000},
         "metrics": ["downtime_ms", "elections"]}


def test_same_experiment_same_numbers_however_the_work_is_spread():
    exp = normalize_experiment(CRASH)
    first = run_experiment(exp)

    def shuffled(func, exp, units):  # workers finishing in any order, in smaller pieces
        units = [(v, [t]) for v, trials in units for t in trials]
        random.Random(5).shuffle(units)
        return (func(exp, v, trials) for v, trials in units)

    second = run_experiment(exp, map_batches=shuffled)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert [r["seed"] for r in first["rows"][:6]] == [1, 2, 3, 4, 5, 6]


def test_the_distributed_path_gives_the_same_numbers():
    from dask.distributed import Client, LocalCluster

    exp = normalize_experiment(dict(CRASH, trials=8))
    local = run_experiment(exp)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        spread = run_experiment(exp, map_batches=spread_over(client=client))
    assert json.dumps(local, sort_keys=True) == json.dumps(spread, sort_keys=True)


def test_a_leader_crash_trial_measures_the_time_until_a_new_leader():
    exp = normalize_experiment(CRASH)
    for trial in range(4):
        row = run_trial(exp, 0, trial)
        # followers wait at least election_timeout_min minus the time since the last heartbeat (< 50 ms), and
        # a vote takes a round trip: no new leader in under 100 ms; and within a few timeouts
        assert 100 <= row["downtime_ms"] <= 2000, row
        assert row["elections"] >= 1


def test_shorter_timeouts_give_shorter_downtime():
    result = run_experiment(normalize_experiment(dict(CRASH, trials=10)))
    slow, fast = (v["metrics"]["downtime_ms"]["mean"] for v in result["variants"])
    assert fast < slow


def test_trials_of_a_variant_use_consecutive_seeds_and_the_variant_params():
    exp = normalize_experiment(dict(CRASH, seed=40))
    sc = trial_scenario(exp, 1, 3)
    assert sc["seed"] == 43
    assert sc["params"]["election_timeout_min"] == 12
    assert sc["network"] == {"latency": [7, 8]}


def test_batches_cover_every_trial_once():
    exp = normalize_experiment(dict(CRASH, trials=60))
    units = batches(exp, size=25)
    covered = sorted((v, t) for v, trials in units for t in trials)
    assert covered == [(v, t) for v in range(2) for t in range(60)]


def test_a_run_experiment_measures_leaderless_time_under_a_partition():
    exp = normalize_experiment({"scenario": {"protocol": "raft", "duration": 6000,
                                             "params": {"check_quorum": True}, "interventions": [
        {"at": 2000, "action": "partition", "groups": [["n1", "n2"], ["n3", "n4"], ["n5"]]},
        {"at": 4000, "action": "heal_all"}]}, "trials": 2, "metrics": ["leaderless_ms", "elections"]})
    rows = run_batch(exp, 0, [0, 1])
    for row in rows:
        # no island has a majority from 2000 to 4000 ms; with check-quorum the old leader steps down after an
        # election timeout without a majority, so the cluster is leaderless for most of the split
        assert 1500 <= row["leaderless_ms"] <= 2600, row
        assert row["elections"] >= 2


@pytest.mark.parametrize("raw, field", [
    ([], "experiment"),
    ({"scenario": {"protocol": "raft"}, "trials": 0}, "trials"),
    ({"scenario": {"protocol": "raft"}, "trials": 10 ** 6}, "trials"),
    ({"scenario": {"protocol": "raft"}, "sweep": [{"params": {}}]}, "sweep[0]"),
    ({"scenario": {"protocol": "raft"}, "sweep": [{"label": "x", "colour": 1}]}, "sweep[0]"),
    ({"scenario": {"protocol": "raft"}, "setup": {"kind": "explode"}}, "setup.kind"),
    ({"scenario": {"protocol": "raft"}, "metrics": ["happiness"]}, "metrics"),
    ({"scenario": {"protocol": "raft"}, "sweep": [{"label": "x", "params": {"heartbeat_interval": -3}}]},
     "params.heartbeat_interval"),
    ({"scenario": {"protocol": "raft"}, "bogus": 1}, "bogus"),
    ({"scenario": {"protocol": "raft"}, "sweep": [{"label": "x", "value": "high"}]}, "sweep[0]"),
    ({"scenario": {"protocol": "raft"}, "sweep": [{"label": "x", "interventions": {}}]}, "sweep[0]"),
    ({"scenario": {"protocol": "raft"}, "chart": {"kind": "pie", "metric": "elections"}}, "chart.kind"),
    ({"scenario": {"protocol": "raft"}, "chart": {"kind": "cdf", "metric": "happiness"}}, "chart.metric"),
    ({"scenario": {"protocol": "raft"}, "chart": {"kind": "means", "metric": "elections"}}, "chart.x"),
    ({"scenario": {"protocol": "raft"}, "chart": {"kind": "cdf", "metric": "elections", "colour": 1}},
     "chart.colour"),
])
def test_a_bad_experiment_is_refused_naming_the_field(raw, field):
    with pytest.raises(ScenarioError) as err:
        normalize_experiment(raw)
    assert err.value.field == field, err.value.message


def test_summary_matches_the_textbook_formulas():
    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, None]
    s = summarize(values)
    got = [v for v in values if v is not None]
    assert s["trials"] == 12 and s["n"] == 11 and s["missing"] == 1
    assert s["mean"] == pytest.approx(statistics.mean(got))
    assert s["sd"] == pytest.approx(statistics.stdev(got))
    half = 2.228 * statistics.stdev(got) / len(got) ** 0.5  # t(0.975, 10)
    assert s["ci95"] == pytest.approx([statistics.mean(got) - half, statistics.mean(got) + half])
    assert s["median"] == statistics.median(got)
    assert s["cdf"][-1] == [9, 11 / 12]  # the missing trial never reaches the top
    assert quantile(sorted(got), 0.9) == pytest.approx(6.0)


def test_csv_has_a_row_per_trial():
    result = run_experiment(normalize_experiment(dict(CRASH, trials=2)))
    lines = csv_lines(result)
    assert lines[0] == "variant,trial,seed,downtime_ms,elections"
    assert len(lines) == 1 + 4
    assert lines[1].startswith('"150-300",0,1,')


def test_cli_prints_progress_then_the_results(tmp_path):
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(dict(CRASH, trials=3)))
    out = subprocess.run([sys.executable, "-m", "simulator", "experiment", str(path), "--csv",
                          str(tmp_path / "rows.csv")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    assert [l["type"] for l in lines[:-1]] == ["progress"] * (len(lines) - 1)
    assert lines[-2]["done"] == lines[-2]["total"] == 6
    final = lines[-1]
    assert final["type"] == "experiment"
    assert [v["label"] for v in final["variants"]] == ["150-300", "12-24"]
    assert len((tmp_path / "rows.csv").read_text().splitlines()) == 7


def test_cli_names_the_bad_field(tmp_path):
    path = tmp_path / "exp.json"
    path.write_text(json.dumps({"scenario": {"protocol": "raft"}, "trials": -1}))
    out = subprocess.run([sys.executable, "-m", "simulator", "experiment", str(path)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert json.loads(out.stdout)["field"] == "trials"


def example_experiment(name, metrics, trials=4, **params):
    sc = load_example(name)
    sc.setdefault("params", {}).update(params)
    return normalize_experiment({"scenario": sc, "trials": trials, "metrics": metrics})


def load_example(name):
    sc = json.loads((ROOT_PATH / "docs" / "examples" / name).read_text())
    for key in ("seed", "title", "description"):
        sc.pop(key, None)
    return sc


def test_gossip_push_spreads_in_about_log2_n_plus_ln_n_rounds():
    import math

    exp = example_experiment("gossip-push.json", ["spread_ms", "rounds", "residue"], trials=6,
                             stop="counter", stop_k=50)  # practically never stops: full spread
    n = exp["scenario"]["nodes"]
    theory = math.log2(n) + math.log(n)
    rows = run_batch(exp, 0, list(range(6)))
    mean = sum(r["rounds"] for r in rows) / len(rows)
    assert theory * 0.7 <= mean <= theory * 1.5, (mean, theory)
    assert all(r["residue"] == 0 for r in rows)


def test_gossip_residue_is_near_demers_formula():
    # push, feedback, coin with k = 1: s = e^-(k+1)(1-s) gives s ~ 0.203
    exp = example_experiment("gossip-residue.json", ["residue"], trials=8, stop="coin", stop_k=1)
    rows = run_batch(exp, 0, list(range(8)))
    mean = sum(r["residue"] for r in rows) / len(rows)
    assert 0.12 <= mean <= 0.28, mean


def test_swim_detects_a_crash_and_declares_it_dead_one_suspicion_timeout_later():
    exp = example_experiment("gossip-swim-crash.json", ["detection_ms", "dead_ms", "false_positives"])
    for row in run_batch(exp, 0, [0, 1, 2, 3]):
        assert 0 < row["detection_ms"] <= 4000, row  # a probe period or few
        # memberlist's suspicion timeout: 4 x 1 s x log10(16) = 4.8 s after the first suspicion
        assert 4700 <= row["dead_ms"] - row["detection_ms"] <= 5000, row
        assert row["false_positives"] == 0


# --- the built-in reproductions in docs/experiments/ (a small run of each lands near its published figure) ---
def builtin(name, labels=None, trials=4):
    """docs/experiments/<name>, cut to the variants in `labels` and to `trials` trials."""
    raw = json.loads((ROOT_PATH / "docs" / "experiments" / name).read_text())
    if labels is not None:
        raw["sweep"] = [v for v in raw["sweep"] if v["label"] in labels]
        assert len(raw["sweep"]) == len(labels)
    raw["trials"] = trials
    return normalize_experiment(raw)


def test_every_builtin_experiment_is_valid_and_cites_its_source():
    for path in sorted((ROOT_PATH / "docs" / "experiments").glob("*.json")):
        exp = normalize_experiment(json.loads(path.read_text()))
        assert exp["source"] and exp["reference"], path.name
        assert set(exp["reference"]) <= {v["label"] for v in exp["sweep"]}, path.name


def test_raft_figure16_with_a_disk_lands_near_the_paper():
    exp = builtin("raft-figure16.json", ["150-200 ms", "12-24 ms"], trials=30)
    result = {v["label"]: v["metrics"]["downtime_ms"] for v in run_experiment(exp)["variants"]}
    slow, fast = result["150-200 ms"], result["12-24 ms"]
    assert slow["missing"] == 0 and 100 <= slow["median"] <= 200 and slow["max"] <= 513, slow  # paper: worst 513
    assert fast["missing"] == 0 and 25 <= fast["mean"] <= 50 and fast["max"] <= 152, fast  # paper: mean 35, max 152


def test_raft_figure16_identical_timeouts_never_elect_in_lock_step():
    exp = builtin("raft-figure16.json", ["150-150 ms"], trials=2)
    rows = run_batch(exp, 0, [0, 1])
    assert all(r["downtime_ms"] is None and r["elections"] > 100 for r in rows), rows


def test_lockstep_gossip_spread_builtin_matches_theory():
    labels = ["push N=100", "pull N=100", "push_pull N=100"]
    exp = builtin("gossip-spread.json", labels, trials=6)
    for v in run_experiment(exp)["variants"]:
        theory = v["reference"]["rounds"]["mean"]
        assert 0.75 * theory <= v["metrics"]["rounds"]["mean"] <= 1.25 * theory, (v["label"], v["metrics"]["rounds"])


def test_residue_builtin_matches_demers():
    exp = builtin("gossip-residue.json", trials=6)
    for v in run_experiment(exp)["variants"]:
        s = v["reference"]["residue"]["mean"]
        assert abs(v["metrics"]["residue"]["mean"] - s) <= 0.06, (v["label"], v["metrics"]["residue"])


def test_swim_detection_builtin_detects_every_crash_without_false_positives():
    exp = builtin("swim-detection.json", ["N = 8", "N = 32"], trials=3)
    for v in run_experiment(exp)["variants"]:
        m = v["metrics"]
        assert m["detection_ms"]["missing"] == 0 and 500 <= m["detection_ms"]["mean"] <= 5000, m
        assert m["dead_ms"]["missing"] == 0 and m["dead_ms"]["mean"] > m["detection_ms"]["mean"], m
        assert m["false_positives"]["max"] == 0, m


def test_twophase_blocking_builtin_2pc_blocks_with_the_coordinator_3pc_does_not():
    """Coordinator crashed after the votes, back at 1 s or 4 s: 2PC participants stay uncertain until their first
    inquiry after it is back (the file's reference, plus a round trip), blocked most of it, and abort (presumed
    abort); cooperative termination does not help (every peer is uncertain); 3PC terminates in ~900 ms whenever
    the coordinator returns, never blocked."""
    with open(f"{ROOT}/docs/experiments/twophase-blocking.json") as fh:
        raw = json.load(fh)
    labels = [v["label"] for v in raw["sweep"]]
    keep = ["2pc, back at 1 s", "2pc, back at 4 s", "2pc cooperative, back at 4 s", "3pc, back at 1 s",
            "3pc, back at 4 s"]
    raw["sweep"] = [raw["sweep"][labels.index(label)] for label in keep]
    raw["trials"] = 3
    result = run_experiment(normalize_experiment(raw))
    by = {v["label"]: v for v in result["variants"]}
    for label in keep:
        m = by[label]["metrics"]
        ref = raw["reference"][label]["uncertain_ms"]["mean"]
        assert m["uncertain_ms"]["missing"] == 0 and m["committed"]["mean"] == 0
        assert ref - 20 <= m["uncertain_ms"]["mean"] <= ref + 60, (label, m["uncertain_ms"]["mean"], ref)
    assert by["2pc, back at 4 s"]["metrics"]["blocked_ms"]["mean"] > 3000
    assert by["3pc, back at 4 s"]["metrics"]["blocked_ms"]["max"] == 0
    assert by["3pc, back at 1 s"]["metrics"]["uncertain_ms"]["mean"] == by["3pc, back at 4 s"]["metrics"][
        "uncertain_ms"]["mean"]


def test_kafka_rebalance_builtin_eager_stops_every_partition_cooperative_and_kip848_only_the_moving_one():
    """A 4th consumer joins 3 on 6 partitions: eager leaves all 6 without an owner for a while, cooperative-sticky
    and KIP-848 only the one that moves; the partition-ms match bench/kafka.py's (from the coordinator's log)."""
    with open(f"{ROOT}/docs/experiments/kafka-rebalance.json") as fh:
        raw = json.load(fh)
    raw["trials"] = 6
    by = {v["label"]: v["metrics"] for v in run_experiment(normalize_experiment(raw))["variants"]}
    assert by["eager range"]["partitions_unowned"]["min"] == 6
    assert by["cooperative-sticky"]["partitions_unowned"]["max"] == 1
    assert by["KIP-848 uniform"]["partitions_unowned"]["max"] == 1
    for label in by:
        assert 300 <= by[label]["unowned_partition_ms"]["median"] <= 700, (label, by[label])
    assert by["eager range"]["unowned_partition_ms"]["median"] > by["cooperative-sticky"]["unowned_partition_ms"][
        "median"]
