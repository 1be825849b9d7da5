"""Robustness: SALib through the project's wrapper on a known function, verdict and flip arithmetic on
hand-made differences, identical tables from every backend, and resuming a killed run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.base.errors import InputError
from sim.runs import robustness as rb
from tests.conftest import ROOT

SMOKE = ROOT / "experiments" / "robustness_smoke.yaml"
ENV = {"SIM_NO_PROGRESS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}


def test_sobol_indices_of_the_ishigami_function():
    from SALib.sample import sobol
    from SALib.test_functions import Ishigami

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    X = sobol.sample(problem, 2048, calc_second_order=False, seed=3)
    s = rb.sobol_indices(problem, Ishigami.evaluate(X)).set_index("parameter")
    # analytic values (a = 7, b = 0.1): S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    assert s["S1"].to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.05)
    assert s["ST"].to_numpy() == pytest.approx([0.558, 0.442, 0.244], abs=0.05)


def test_verdict_words_and_shares_by_hand():
    holds = rb.verdict(pd.Series([0.03] * 19 + [-0.01]), "recovery_rate")
    assert holds["share_better"] == 0.95 and holds["verdict"] == "holds in 95% of plausible worlds"
    worse = rb.verdict(pd.Series([2.0] * 10), "wait_first_session_days_mean")  # longer waits are worse
    assert worse["verdict"] == "worse in 100% of plausible worlds"
    tiny = rb.verdict(pd.Series(np.linspace(-0.004, 0.004, 11)), "recovery_rate")  # within 2 points that matter
    assert tiny["verdict"].startswith("no clear difference (negligible in 100%")
    split = rb.verdict(pd.Series([0.03] * 6 + [-0.03] * 4), "recovery_rate")
    assert split["verdict"] == "depends on assumptions (better in 60%, worse in 40%)"
    assert (split["p5"], split["median"], split["p95"]) == pytest.approx((-0.03, 0.03, 0.03))


def test_flip_point_by_hand():
    x = np.linspace(0, 1, 201)
    assert rb.flip_point(x, 0.5 - x) == pytest.approx(0.5, abs=0.03)
    assert np.isnan(rb.flip_point(x, x + 1.0))  # never crosses zero
    rng = np.random.default_rng(0)
    noisy = 2 * (x - 0.7) + rng.normal(0, 0.05, x.size)
    assert rb.flip_point(x, noisy) == pytest.approx(0.7, abs=0.06)


def test_default_parameters_are_the_uncertain_ones():
    names = rb.uncertain_parameters()
    assert "matching.profile_validity" in names and "exhaustion.absolute_share" in names
    assert "capacity.quota_per_day" not in names and "matching.profile_clarity" not in names  # levers
    assert not any(p.startswith("horizon.") for p in names)
    spec = rb.load_experiment(ROOT / "experiments" / "robustness.yaml")
    fixed = rb.defining(spec, ROOT / "experiments")
    assert {"capacity.quota_per_day", "matching.policy", "performance.ranking.enabled"} <= fixed
    design = rb.make_design(rb.RobustnessExperiment(**{**spec.model_dump(), "n": 1}), ROOT / "experiments")
    assert not set(design.names) & fixed and len(design.names) > 40
    # the platform's size is the experiment's (50 therapists for 175 clients a week), never a 200-therapist idle one;
    # demand varies around the platform's value, scaled to its size
    assert "therapists.count" in spec.platform and "therapists.count" in names
    assert "therapists.count" not in design.names
    low, high = design.bounds[design.names.index("demand.arrivals_per_week")]
    assert low <= spec.platform["demand.arrivals_per_week"] <= high < 2 * spec.platform["demand.arrivals_per_week"]
    with pytest.raises(InputError, match=r"therapists\.count is set by the experiment's platform"):
        rb.make_design(rb.RobustnessExperiment(**{**spec.model_dump(), "n": 1, "parameters": ["therapists.count"]}),
                       ROOT / "experiments")


def run_cli(*args: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", "robustness", str(SMOKE), "--out", str(out), "--quiet", *args],
                          env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_serial_local_workers_and_a_dask_cluster_give_identical_tables(tmp_path: Path):
    outs = {}
    for name, args in (("serial", ["--jobs", "1"]), ("jobs2", ["--jobs", "2"]), ("dask", ["--dask", "local:2"])):
        res = run_cli(*args, out=tmp_path / name)
        assert res.returncode == 0, res.stderr[-2000:]
        outs[name] = tmp_path / name
    for table in ("draws.parquet", "differences.parquet"):
        base = pd.read_parquet(outs["serial"] / table)
        for name in ("jobs2", "dask"):
            pd.testing.assert_frame_equal(base, pd.read_parquet(outs[name] / table))
    verdicts = pd.read_csv(outs["serial"] / "verdicts.csv")
    assert set(verdicts["contrast"]) >= {"fit vs earliest", "individual vs quota", "league table vs none"}
    assert (outs["serial"] / "drivers.csv").exists() and (outs["serial"] / "verdicts.png").exists()
    again = run_cli("--jobs", "2", out=outs["serial"])
    assert again.returncode == 0 and "(0 run now" in again.stdout  # a rerun does no new work


@pytest.mark.slow
def test_a_killed_run_resumes_without_duplicates_and_gives_the_same_tables(tmp_path: Path):
    whole = tmp_path / "whole"
    assert run_cli("--jobs", "1", out=whole).returncode == 0
    part = tmp_path / "part"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "robustness", str(SMOKE), "--out", str(part), "--quiet",
                             "--jobs", "1"], env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((part / "store").glob("draw-*.parquet"))) < 4:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list((part / "store").glob("draw-*.parquet")))
    assert 4 <= done_before < 12
    res = run_cli("--jobs", "2", out=part)
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"({12 - done_before} run now" in res.stdout
    draws = pd.read_parquet(part / "draws.parquet")
    assert not draws.duplicated(["draw", "scenario", "replication"]).any()
    pd.testing.assert_frame_equal(draws, pd.read_parquet(whole / "draws.parquet"))
