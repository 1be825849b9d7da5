"""The command line: contract outputs, and every bad-input path exits 2 with no partial output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.analysis.metrics import KPIS
from tests.conftest import ROOT, SCENARIOS

REQUIRED = {
    "clients": "client_id arrival_day in_warmup domain complexity severity_intake severity_last therapist_id "
               "wait_first_session_days sessions_attended sessions_missed ending ending_day early_alliance true_fit "
               "rematched",
    "sessions": "client_id therapist_id day session_number attended severity_observed alliance_measured",
    "therapists": "therapist_id effectiveness sustainable_load hired_day left_day sessions_delivered mean_exhaustion "
                  "over_load_day_share burnout_day_share",
    "weekly": "week waiting active_clients sessions mean_exhaustion burnout_share headcount",
}
ENDINGS = {"planned", "dropout", "pretreatment_dropout", "session_cap", "therapist_left", "waiting_at_end",
           "in_treatment_at_end", "matched_at_end"}


def sim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env={"SIM_NO_PROGRESS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


SHORT = ["--set", "horizon.warmup_weeks=4", "--set", "horizon.measured_weeks=12", "--set", "therapists.count=10",
         "--set", "demand.arrivals_per_week=44"]


def test_run_writes_every_table_with_the_contract_columns(tmp_path: Path):
    out = tmp_path / "run"
    res = sim("run", str(SCENARIOS / "baseline.yaml"), "--reps", "2", "--seed", "11", "--out", str(out), "--tables", "all",
              *SHORT)
    assert res.returncode == 0, res.stderr
    assert "Clients returning after session 1" in res.stdout
    summary = pd.read_csv(out / "summary.csv")  # aggregates over replications: n says how many
    assert {"scenario", "kpi", "mean", "sd", "ci_low", "ci_high", "n"} <= set(summary.columns)
    assert set(summary["n"]) == {2}
    for name in ("replications", "clients", "sessions", "therapists", "weekly"):
        df = pd.read_csv(out / f"{name}.csv")
        assert {"scenario", "replication"} <= set(df.columns), name
        assert set(df["replication"]) == {0, 1}, name
        assert REQUIRED.get(name, "").split() == [] or set(REQUIRED[name].split()) <= set(df.columns), name
    reps = pd.read_csv(out / "replications.csv")
    assert set(KPIS) <= set(reps.columns)
    assert set(pd.read_csv(out / "clients.csv")["ending"]) <= ENDINGS
    assert (out / "scenario.yaml").exists() and (out / "metadata.json").exists()
    meta = (out / "metadata.json").read_text()
    assert '"seed": 11' in meta and "simpy" in meta and "wall_seconds" in meta and '"replications": 2' in meta


def test_compare_writes_paired_differences(tmp_path: Path):
    out = tmp_path / "cmp"
    res = sim("compare", str(SCENARIOS / "baseline.yaml"), str(SCENARIOS / "fit_quota.yaml"), "--reps", "2",
              "--out", str(out), *SHORT)
    assert res.returncode == 0, res.stderr
    comp = pd.read_csv(out / "comparison.csv")
    assert set(comp["scenario"]) == {"fit_quota"} and set(comp["baseline"]) == {"baseline"}
    assert {"difference", "ci_low", "ci_high"} <= set(comp.columns)


@pytest.mark.parametrize("args, fragment", [
    (["run", "scenarios/nope.yaml"], "not found"),
    (["run", "scenarios/baseline.yaml", "--reps", "0"], "--reps"),
    (["run", "scenarios/baseline.yaml", "--reps", "two"], "--reps"),
    (["run", "scenarios/baseline.yaml", "--seed", "-1"], "--seed"),
    (["run", "scenarios/baseline.yaml", "--set", "matching.policy=nearest"], "allowed: earliest, fit, hybrid"),
    (["run", "scenarios/baseline.yaml", "--set", "matching.polcy=fit"], "unknown key matching.polcy"),
    (["run", "scenarios/baseline.yaml", "--set", "demand.arrivals_per_week=-1"], "demand.arrivals_per_week"),
    (["run", "scenarios/baseline.yaml", "--set", "novalue"], "key.path=value"),
    (["compare", "scenarios/baseline.yaml", "scenarios/fit_quota.yaml", "--baseline", "zzz"], "--baseline"),
    (["compare", "scenarios/baseline.yaml", "scenarios/baseline.yaml"], "distinct"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_a_message_and_writes_nothing(tmp_path: Path, args: list[str], fragment: str):
    out = tmp_path / "out"
    res = sim(*args, "--out", str(out)) if args[0] != "frobnicate" else sim(*args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert fragment in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()
    assert not any(tmp_path.iterdir())


def test_bad_scenario_file_exits_2(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("capacity:\n  policy: quota\n")
    res = sim("run", str(bad), "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and "capacity.policy" in res.stderr and "team_quota" in res.stderr
    assert not (tmp_path / "out").exists()
