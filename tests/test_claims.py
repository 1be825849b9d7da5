"""Claims only where they hold: Holm adjustment, verdict words and the smallest difference that matters,
on hand-made paired differences with known answers; group KPIs on a hand-made cohort."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.analysis.metrics import group_kpis
from sim.analysis.stats import paired_differences
from sim.analysis.verdicts import claims, holm, sentence
from sim.views.study import DEFAULT_STUDY


def test_holm_by_hand():
    # sorted 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> kept monotone at 0.06)
    assert holm([0.04, 0.01, 0.03]) == pytest.approx([0.06, 0.03, 0.06])
    assert holm([0.5, math.nan]) == [0.5, None] or math.isnan(holm([0.5, math.nan])[1])


def reps(diffs: dict[str, list[float]], base: float = 0.5) -> pd.DataFrame:
    """Two scenarios whose per-replication differences are exactly ``diffs`` per KPI."""
    n = len(next(iter(diffs.values())))
    rows = []
    for r in range(n):
        rows.append({"scenario": "base", "replication": r, **{k: base for k in diffs}})
        rows.append({"scenario": "policy", "replication": r, **{k: base + v[r] for k, v in diffs.items()}})
    return pd.DataFrame(rows)


def test_verdicts_follow_the_documented_rules():
    diffs = {
        "recovery_rate": [0.05, 0.06, 0.04, 0.05, 0.055],  # clear, 5 points > 2 that matter: better
        "dropout_rate": [0.03, 0.035, 0.025, 0.03, 0.032],  # clear rise in dropout: worse
        "return_after_first_rate": [0.004, 0.005, 0.003, 0.004, 0.0045],  # clear but 0.4 points < 2: negligible
        "margin": [0.02, -0.03, 0.04, -0.01, 0.0],  # noisy around zero with differences that matter: no clear
        "burnout_share": [0.001, -0.002, 0.0015, -0.001, 0.0005],  # noisy but tiny: negligible
    }
    table = paired_differences(reps(diffs), list(diffs), "base")
    v = claims(table, list(diffs)).set_index("kpi")["verdict"].to_dict()
    assert v == {"recovery_rate": "better", "dropout_rate": "worse", "return_after_first_rate": "negligible",
                 "margin": "no clear difference", "burnout_share": "negligible"}


def test_negligible_only_when_the_whole_interval_lies_inside_the_smallest_difference():
    """Recovery +1.6 points, clearly above zero, but its interval reaching past the 2 points that matter: a real
    difference that may matter is "better", not "negligible" (the finding of issue 21)."""
    diffs = {"recovery_rate": [0.006, 0.026, 0.010, 0.022, 0.016]}  # mean 1.6 points, 95% interval about +0.6 to +2.6
    row = claims(paired_differences(reps(diffs), list(diffs), "base"), list(diffs)).iloc[0]
    assert row["difference"] == pytest.approx(0.016) and row["ci_low"] > 0 and row["ci_high"] > 0.02
    assert row["verdict"] == "better"
    tight = {"recovery_rate": [0.015, 0.017, 0.016, 0.0155, 0.0165]}  # the same mean, the whole interval below 2
    assert claims(paired_differences(reps(tight), list(tight), "base"), list(tight)).iloc[0]["verdict"] == "negligible"


def test_holm_turns_a_lone_nominal_result_into_no_clear_difference():
    rng = np.random.default_rng(3)
    diffs = {k: list(rng.normal(0, 0.03, 5)) for k in ("recovery_rate", "dropout_rate", "margin", "burnout_share",
                                                        "therapist_turnover_per_year", "mean_exhaustion")}
    diffs["recovery_rate"] = [0.03, 0.01, 0.05, 0.02, 0.04]  # nominal p about 0.02, one of six tests
    table = paired_differences(reps(diffs), list(diffs), "base")
    row = claims(table, list(diffs)).query("kpi == 'recovery_rate'").iloc[0]
    assert row["p_value"] < 0.05 < row["p_holm"]
    assert row["verdict"] == "no clear difference"
    assert row["ci_low"] < 0 < row["ci_high"]  # the interval at its Holm level agrees with the verdict
    assert "no clear difference in recovery" in sentence(row)


def test_relative_smallest_difference_for_totals():
    diffs = {"revenue": [50_000.0, 60_000.0, 55_000.0, 52_000.0, 58_000.0]}  # 0.2% of 25M: negligible
    table = paired_differences(reps(diffs, base=25e6), list(diffs), "base")
    assert claims(table, ["revenue"]).iloc[0]["verdict"] == "negligible"


def test_group_kpis_by_hand():
    c = pd.DataFrame({
        "in_cohort": [True] * 4 + [False], "in_warmup": [False] * 5,
        "domain": pd.Categorical(["anxiety", "anxiety", "trauma", "trauma", "anxiety"]),
        "sessions_attended": [3, 1, 2, 4, 5], "wait_first_session_days": [10.0, 20.0, 5.0, 7.0, 99.0],
        "severity_intake": [18.0, 12.0, 8.0, 16.0, 20.0], "severity_last": [6.0, 12.0, 7.0, 15.0, 5.0],
        "ending": ["planned", "dropout", "planned", "planned", "planned"], "first_session_day": [1.0] * 5,
        "true_fit": [0.5, -0.5, 1.0, 0.0, 9.0], "anxiety_intake": [0.0] * 5, "anxiety_last": [0.0] * 5,
    })
    g = group_kpis(c, end_day=500.0).set_index(["group_kind", "group", "kpi"])["value"]
    assert g[("domain", "anxiety", "wait_first_session_days_mean")] == 15.0  # the non-cohort client is left out
    assert g[("domain", "trauma", "mean_true_fit")] == 0.5
    assert g[("intake_severity", "severe (15-27)", "recovery_rate")] == 0.5  # 18->6 recovered, 16->15 not
    assert g[("domain", "anxiety", "dropout_rate")] == 0.5


def test_the_default_study_includes_the_productivity_push():
    assert "productivity_push" in DEFAULT_STUDY and DEFAULT_STUDY[0] == "baseline"


def test_the_default_study_runs_the_access_questions_on_a_busy_platform_too():
    """The busy platform's status quo and each access policy on it: the policy's decisions, the platform's demand
    and horizon, and its own name; the busy platform waits longer than the spare one."""
    from sim.views.study import BUSY_POLICIES, busy_scenarios, default_scenarios

    spare, busy = default_scenarios()[0], busy_scenarios()
    assert [s.name for s in busy] == ["busy_platform", *(f"busy_platform:{p}" for p in BUSY_POLICIES)]
    assert all(s.demand == busy[0].demand and s.horizon == busy[0].horizon for s in busy)
    assert busy[0].demand.arrivals_per_week > spare.demand.arrivals_per_week
    quality_first = busy[BUSY_POLICIES.index("fit_individual") + 1]
    assert quality_first.matching.policy == "fit" and quality_first.capacity.policy == "individual"


def test_the_report_names_sessions_kept_past_a_planned_ending_as_a_cost():
    from sim.views.study import _kept_sessions

    summary = pd.DataFrame({"scenario": ["lt", "lt"], "kpi": ["kept_session_share", "revenue"], "mean": [0.05, 2e6]})
    result = SimpleNamespace(summary=summary, scenarios=[SimpleNamespace(money=SimpleNamespace(currency="USD"))])
    line = _kept_sessions(result, "lt")[0]
    assert "5.0% of its attended sessions were kept past a client's planned ending" in line and "100.0k" in line
    none = SimpleNamespace(summary=summary.assign(mean=[0.0, 2e6]), scenarios=result.scenarios)
    assert _kept_sessions(none, "lt") == []


def test_the_report_quotes_a_robustness_run_when_there_is_one():
    from sim.views.study import robustness_lines

    v = pd.DataFrame({"contrast": ["fit vs earliest", "fit vs earliest"], "kpi": ["recovery_rate", "no_show_rate"],
                      "words": ["better in 84% of plausible worlds (±4), worse in 6% (±2)", "x"],
                      "median": [0.031, 0.0], "p5": [-0.004, 0.0], "p95": [0.052, 0.0]})
    lines = robustness_lines(v, "the shipped robustness run")
    assert ("- fit vs earliest, recovery: better in 84% of plausible worlds (±4), worse in 6% (±2); median difference "
            "+3.1 points (5-95% of worlds -0.4 points to +5.2 points).") in lines
    assert not any("no-shows" in line for line in lines)  # only headline measures
    assert robustness_lines(None) == []
    assert "Not yet judged over plausible worlds: no run." in robustness_lines(None, "no run")


def test_intervals_never_wider_than_a_difference_can_be():
    # two replications far apart: the raw Holm interval of a share passes +-100 points
    diffs = {"burnout_share": [0.9, -0.8], "recovery_rate": [0.6, -0.5], "revenue": [5e6, -4e6]}
    table = claims(paired_differences(reps(diffs), list(diffs), "base")).set_index("kpi")
    for kpi in ("burnout_share", "recovery_rate"):
        assert table.loc[kpi, "ci_low"] == -1.0 and table.loc[kpi, "ci_high"] == 1.0
        assert table.loc[kpi, "verdict"] == "no clear difference"
    assert table.loc["revenue", "ci_low"] < -1e7  # money has no bound: left as computed


def test_plain_language_findings_are_generated_from_the_verdicts():
    from sim.views.findings import END, START, findings_block

    row = {"baseline": "baseline", "interval_level": 0.99, "p_value": 0.001, "p_holm": 0.009}
    claims = pd.DataFrame([
        {**row, "scenario": "league_table", "kpi": "burnout_share", "difference": 0.2, "ci_low": 0.1, "ci_high": 0.3,
         "smallest_that_matters": 0.02, "verdict": "worse"},
        {**row, "scenario": "league_table", "kpi": "recovery_rate", "difference": 0.001, "ci_low": -0.01,
         "ci_high": 0.012, "smallest_that_matters": 0.02, "verdict": "negligible"}])
    block = findings_block(claims, claims.assign(scenario="busy_platform:league_table"), {"replications": 5})
    assert block.startswith(START) and block.endswith(END)
    assert ("- **A league table of return rates (feedback plus ranking)**: therapists burned out: worse, +20.0 points "
            "(interval +10.0 points to +30.0 points). Otherwise: a negligible difference in recovery") in block
    assert block.count("A league table of return rates") == 2  # the spare platform, then the busy one


def test_the_shipped_plain_language_findings_are_what_the_shipped_study_says():
    from sim.views.findings import PLAIN_LANGUAGE, findings_block, shipped

    found = shipped()
    assert found is not None, "docs/study/ is missing: run python -m sim, then python -m sim.views.findings"
    assert findings_block(*found) in PLAIN_LANGUAGE.read_text(), "regenerate: python -m sim.views.findings"


def test_a_revenue_gain_from_sessions_clients_did_not_need_is_not_called_better():
    """Revenue up by 60 a replication on a base of about 1,000 (95% interval about 55-65). With 5.5% of the policy's
    sessions kept past a planned ending (about 58 of its 1,062), the gain net of them is about 2 [-3, +7]: no clear
    gain, so the verdict says gaming. With 0.5% kept (about 5), the net gain stays clear: better. Without the KPI: as
    before."""
    def revenue_rows(kept: float) -> pd.DataFrame:
        rows = []
        for r, gain in enumerate([55.0, 62.0, 58.0, 65.0, 60.0]):
            rows.append({"scenario": "base", "replication": r, "revenue": 1000.0 + r, "kept_session_share": 0.0})
            rows.append({"scenario": "policy", "replication": r, "revenue": 1000.0 + r + gain,
                         "kept_session_share": kept})
        return pd.DataFrame(rows)

    def verdict(kept: float, kpis_: list[str]) -> pd.Series:
        table = paired_differences(revenue_rows(kept), kpis_, "base")
        return claims(table, ["revenue"]).iloc[0]

    gamed = verdict(0.055, ["revenue", "kept_session_share"])
    assert gamed["verdict"] == "better only by gaming"
    assert gamed["gamed"] == pytest.approx(0.055 * 1062.0, rel=1e-6)  # the kept share of the policy's mean revenue
    assert "gaming" in sentence(gamed) and "no clear gain" in sentence(gamed)
    assert verdict(0.005, ["revenue", "kept_session_share"])["verdict"] == "better"
    assert verdict(0.05, ["revenue"])["verdict"] == "better"  # no kept-session KPI: nothing to judge it by


def test_the_report_says_how_many_replications_would_settle_an_unclear_answer():
    """Burnout differences of sd about 3.5 points over 5 replications around +1: no clear difference. With its
    threshold of 2 points, an interval of +-1 point at the interval's level needs the n where t(n-1) sd / sqrt(n)
    first falls to 1 point."""
    from scipy import stats as st

    from sim.views.study import _to_settle

    diffs = {"burnout_share": [0.05, -0.03, 0.04, -0.02, 0.01]}
    table = paired_differences(reps(diffs), list(diffs), "base")
    verdicts = claims(table, list(diffs))
    row = verdicts.iloc[0]
    assert row["verdict"] == "no clear difference"
    sd = float(np.std(diffs["burnout_share"], ddof=1))
    q, half = 0.5 + row["interval_level"] / 2, row["smallest_that_matters"] / 2
    expected = next(n for n in range(2, 10_000) if st.t.ppf(q, n - 1) * sd / math.sqrt(n) <= half)
    (line,) = _to_settle(table, verdicts)
    assert f"therapists burned out about {expected:,}" in line
    settled = {"burnout_share": [0.001, 0.002, 0.0015, 0.001, 0.0012]}  # negligible already: nothing to settle
    table = paired_differences(reps(settled), list(settled), "base")
    assert _to_settle(table, claims(table, list(settled))) == []
