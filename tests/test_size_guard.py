"""One size guard for every command that runs the model: a run far beyond the plausibility bound is refused
before anything runs (exit 2, naming what to check), from the same estimate (sim.runs.sizing)."""

from __future__ import annotations

import pytest

from sim.runs.sizing import MAX_APPOINTMENTS, check_size, expected_appointments
from sim.scenario import Scenario, apply_overrides
from tests.conftest import ROOT
from tests.test_safety import BASE, run_cli, write

HUGE = "therapists.count: 100000\ndemand: {arrivals_per_week: 390000}\n"


def huge_scenario(tmp_path):
    return write(tmp_path / "huge.yaml", f"name: huge\nextends: {BASE}\ntherapists: {{count: 100000}}\n"
                                         "demand: {arrivals_per_week: 390000}\n")


def test_the_estimate_and_the_bound():
    big = apply_overrides(Scenario(), ["therapists.count=100000", "demand.arrivals_per_week=390000"])
    assert expected_appointments(big) * 1 > MAX_APPOINTMENTS > expected_appointments(Scenario()) * 5
    with pytest.raises(Exception, match="pass --force"):
        check_size([(big, 1)], force=False)
    assert check_size([(big, 1)], force=True) > MAX_APPOINTMENTS


def test_every_command_that_runs_the_model_refuses_a_huge_run(tmp_path, capsys):
    sc = huge_scenario(tmp_path)
    sweep = write(tmp_path / "sw.yaml", f"scenario: {sc}\nreps: 1\ngrid: {{capacity.policy: [team_quota, individual]}}\n")
    big_grid = write(tmp_path / "grid.yaml", f"scenario: {BASE}\nreps: 1\n"
                                             f"grid: {{seed: {list(range(400))}, therapists.count: [3000]}}\n")
    search = write(tmp_path / "sp.yaml", f"setting: us_platform\nscenario: {sc}\nreps: 1\n"
                                         "params: {therapy.no_show_prob: [0.1]}\n")
    robust = write(tmp_path / "rb.yaml", f"contrasts: [{{policy: {ROOT / 'scenarios' / 'fit_individual.yaml'}, "
                                         f"reference: {BASE}}}]\nsampler: lhs\nn: 20000\nreps: 2\n"
                                         "parameters: [therapy.no_show_prob]\n")
    commands = [["warmup", str(sc)], ["sweep", str(sweep)], ["sweep", str(big_grid)],
                ["calibrate", "--search", str(search), "--out", str(tmp_path / "s")],
                ["robustness", str(robust), "--out", str(tmp_path / "r")],
                ["run", str(sc), "--out", str(tmp_path / "o")], ["calibrate", "--reps", "100000"]]
    for argv in commands:
        assert run_cli(*argv) == 2, argv
        err = capsys.readouterr().err
        assert "appointments" in err and "--force" in err, (argv, err)
    assert not any((tmp_path / d).exists() for d in ("s", "r", "o"))
