"""Calibration statistics on hand-made tables, and the seeded calibration of the default scenario."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.apps.register import DOC, render
from sim.runs import calibration as cal
from sim.scenario import parameter_table


def ended(sessions: list[int], endings: list[str], **extra: list) -> pd.DataFrame:
    df = pd.DataFrame({"sessions_attended": sessions, "ending": endings, "in_warmup": False, **extra})
    df["client_id"] = range(len(df))
    return df


def test_early_dropout_share_mode_and_top20():
    c = ended([1, 1, 2, 5, 1, 3, 8, 1, 1, 10], ["dropout", "planned", "dropout", "dropout", "planned", "planned",
                                                "planned", "planned", "dropout", "planned"])
    assert cal.early_dropout_share(c) == pytest.approx(3 / 4)
    assert cal.sessions_mode(c) == 1
    # top 20% = 2 clients with 10 and 8 sessions, of 33 sessions
    assert cal.top20_session_share(c) == pytest.approx(18 / 33)


def test_prepost_d_and_alliance_outcome_r():
    intake = np.array([10.0, 14.0, 18.0, 22.0])
    last = intake - np.array([2.0, 4.0, 6.0, 8.0])
    c = ended([4] * 4, ["planned"] * 4, severity_intake=intake, severity_last=last,
              early_alliance=[4.0, 4.5, 5.0, 5.5])
    assert cal.prepost_d(c) == pytest.approx(5.0 / np.std(intake, ddof=1))
    assert cal.alliance_outcome_r(c) == pytest.approx(1.0)


def test_anova_icc_recovers_a_known_between_share():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(400), 25)
    values = rng.normal(0, math.sqrt(0.05), 400)[groups] + rng.normal(0, math.sqrt(0.95), len(groups))
    assert cal.anova_icc(values, groups) == pytest.approx(0.05, abs=0.015)
    assert cal.anova_icc(rng.normal(size=1000), np.repeat(np.arange(100), 10)) < 0.03


def test_kaplan_meier_improvement_by_hand():
    # client 0 improves at session 3; client 1 never (censored after 2); client 2 improves at session 2
    rows = [(0, 1, 20), (0, 2, 17), (0, 3, 13), (1, 1, 15), (1, 2, 14), (2, 1, 18), (2, 2, 11), (2, 3, 10)]
    s = pd.DataFrame(rows, columns=["client_id", "session_number", "severity_observed"])
    s["attended"] = True
    curve = cal.improvement_curve(s, np.array([0, 1, 2]), max_session=3)
    assert curve[1] == 0
    assert curve[2] == pytest.approx(1 / 3)  # 3 at risk, 1 event
    assert curve[3] == pytest.approx(1 - (2 / 3) * (1 - 1 / 1))  # client 0 is the only one at risk


def test_wait_attendance_odds_ratio_recovers_the_input():
    rng = np.random.default_rng(3)
    n = 20000
    weeks = rng.uniform(0, 10, n)
    p = 1 / (1 + np.exp(-(2.0 + math.log(0.95) * weeks)))
    clients = pd.DataFrame({"client_id": range(n), "arrival_day": 0.0, "in_warmup": False})
    sessions = pd.DataFrame({"client_id": range(n), "session_number": 1, "status": "attended",
                             "day": weeks * 7, "attended": rng.random(n) < p})
    assert cal.wait_attendance_odds_per_week(sessions, clients) == pytest.approx(0.95, abs=0.01)


def test_talking_therapies_statistics():
    c = ended([1, 2, 6, 10, 0, 0], ["planned", "dropout", "planned", "session_cap", "pretreatment_dropout",
                                    "waiting_at_end"], wait_first_session_days=[10, 50, 20, 30, np.nan, np.nan])
    assert cal.sessions_per_finisher_mean(c) == pytest.approx(6.0)
    assert cal.started_within_6_weeks(c) == pytest.approx(3 / 4)
    assert cal.referral_to_finished_share(c) == pytest.approx(3 / 5)


def test_register_is_generated_from_the_schema():
    assert DOC.read_text() == render(), "docs/assumptions.md is stale: run python -m sim register"


def test_every_model_parameter_has_a_source_and_a_sensitivity_range():
    for row in parameter_table():
        if "." not in row["path"]:
            continue
        assert row["source"], f"{row['path']} has no source"
        lever_or_fixed = row["source"] in ("lever", "verification", "platform setting") or row["unit"] in (
            "name", "on/off") or "clip" in row["description"]
        assert row["range"] or lever_or_fixed, f"{row['path']} has no sensitivity range"


HEADLINE = ["dropout_rate", "early_dropout_share", "sessions_per_client_mean", "sessions_mode",
            "improved_by_session_8", "therapist_icc", "burnout_share", "therapist_turnover_per_year"]


@pytest.mark.slow
def test_default_scenario_reproduces_the_headline_targets():
    from sim.scenario import load_scenario, scenario_path

    runs = cal.calibration_runs(load_scenario(scenario_path("baseline")), reps=5, jobs=2, progress=False)
    table = cal.evaluate("us_platform", runs).set_index("target")
    outside = table.loc[HEADLINE][~table.loc[HEADLINE, "inside"]]
    assert outside.empty, outside[["band_low", "band_high", "mean"]].to_string()


def test_the_register_is_a_command(capsys):
    from sim.apps import cli

    assert cli.main(["register", "--check"]) == 0
    assert "is current" in capsys.readouterr().out


def test_a_search_can_aim_at_the_middle_of_each_band_and_name_its_targets(tmp_path):
    from sim.base.errors import InputError
    from sim.runs.calibration_search import band_loss, checked_spec

    assert band_loss(0.5, (0.4, 0.6), 1.0) == 0.0
    assert band_loss(0.6, (0.4, 0.6), 1.0) == pytest.approx(0.25)  # the edge costs a quarter with centre weight 1
    assert band_loss(0.6, (0.4, 0.6)) == pytest.approx(0.0125)  # the default's small pull
    spec = tmp_path / "s.yaml"
    spec.write_text(f"setting: us_platform\nscenario: {cal.PROJECT_DIR / 'scenarios' / 'baseline.yaml'}\nreps: 1\n"
                    "targets: [burnout_share, burnout]\nparams:\n  exhaustion.daily_strain: [0.02]\n")
    with pytest.raises(InputError, match="targets: 'burnout' is not a target of us_platform"):
        checked_spec(spec)


def test_a_search_runs_a_probe_only_for_a_target_it_searches(tmp_path, monkeypatch):
    """The wait-attendance probe (a second platform) is run only when that target is in the search's loss;
    unprobed, its value is left empty in the log instead of read from the status quo's runs."""
    from sim.runs import calibration_search
    from tests.conftest import small

    runs = cal.calibration_runs(small("therapists.count=10", "demand.arrivals_per_week=44"), 1, seed=1,
                                progress=False)
    arrivals: list[float] = []

    def counted(sc, *a, **k):
        arrivals.append(sc.demand.arrivals_per_week)
        return runs

    monkeypatch.setattr(calibration_search, "calibration_runs", counted)
    base = cal.PROJECT_DIR / "scenarios" / "baseline.yaml"
    for target, probed in (("burnout_share", False), ("wait_attendance_odds_per_week", True)):
        arrivals.clear()
        spec = tmp_path / f"{target}.yaml"
        spec.write_text(f"setting: us_platform\nscenario: {base}\nreps: 1\ntargets: [{target}]\n"
                        "params:\n  exhaustion.daily_strain: [0.02]\n")
        calibration_search.search(spec, tmp_path / target)
        assert (390.0 in arrivals) is probed
        log = pd.read_csv(tmp_path / target / "log.csv")
        assert bool(log["stat:wait_attendance_odds_per_week"].notna().all()) is probed
        assert log["stat:burnout_share"].notna().all()
        assert int(log["targets"].iloc[0]) == len(cal.load_targets()["us_platform"]) - (not probed)  # judged ones


def test_the_calibration_commands_help_names_its_real_default_replications(capsys):
    from sim.apps import cli
    from sim.views.calibration_report import REPS

    with pytest.raises(SystemExit):
        cli.main(["calibrate", "--help"])
    assert f"default {REPS}," in " ".join(capsys.readouterr().out.split())
