"""KPIs on tiny hand-made tables with answers worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sim.analysis.metrics import KPIS, activity, client_kpis, money_kpis, no_show_rate, replication_kpis, therapist_kpis
from sim.scenario import Scenario

END = 100.0


def clients() -> pd.DataFrame:
    rows = [
        # id, warmup, intake, last, sessions, ending, wait, first_day, ending_day
        (0, True, 20, 5, 5, "planned", 3.0, 5.0, 40.0),  # warm-up: ignored
        (1, False, 20, 8, 6, "planned", 7.0, 20.0, 60.0),  # recovered, RI
        (2, False, 15, 12, 2, "dropout", 14.0, 30.0, 37.0),  # no recovery, not RI
        (3, False, 12, 19, 3, "dropout", 7.0, 25.0, 39.0),  # deteriorated
        (4, False, 18, 18, 1, "planned", 21.0, 40.0, 40.0),  # single session
        (5, False, 9, 3, 4, "planned", 7.0, 35.0, 56.0),  # not at caseness at intake
        (6, False, 16, 16, 0, "pretreatment_dropout", math.nan, math.nan, 50.0),
        (7, False, 14, 14, 0, "waiting_at_end", math.nan, math.nan, math.nan),
        (8, False, 22, 20, 2, "in_treatment_at_end", 7.0, 90.0, math.nan),  # too late for a 2nd? no: 90+14>100
    ]
    df = pd.DataFrame(rows, columns=["client_id", "in_warmup", "severity_intake", "severity_last", "sessions_attended",
                                     "ending", "wait_first_session_days", "first_session_day", "ending_day"])
    df["arrival_day"] = df["first_session_day"].fillna(60.0) - df["wait_first_session_days"].fillna(0.0)
    df["true_fit"] = 0.0
    return df


def test_client_kpis_by_hand():
    k = client_kpis(clients(), END)
    assert k["clients_arrived"] == 8
    assert k["clients_started"] == 6  # 1,2,3,4,5,8
    # not waiting at end: 7 clients (1-6, 8); one pretreatment dropout
    assert k["pretreatment_dropout_rate"] == pytest.approx(1 / 7)
    assert k["wait_first_session_days_mean"] == pytest.approx((7 + 14 + 7 + 21 + 7 + 7) / 6)
    # ended starters: 1,2,3,4,5 -> 2 dropouts
    assert k["dropout_rate"] == pytest.approx(2 / 5)
    assert k["sessions_per_client_mean"] == pytest.approx((6 + 2 + 3 + 1 + 4) / 5)
    assert k["single_session_share"] == pytest.approx(1 / 5)
    # return: eligible = ended starters (1-5) + client 8 (in treatment, 90+14 > 100 -> not eligible)
    assert k["return_after_first_rate"] == pytest.approx(4 / 5)
    # outcome group: caseness, >=2 sessions, ended: 1, 2, 3
    assert k["recovery_rate"] == pytest.approx(1 / 3)
    assert k["reliable_improvement_rate"] == pytest.approx(1 / 3)
    assert k["reliable_deterioration_rate"] == pytest.approx(1 / 3)


def test_therapist_kpis_by_hand():
    therapists = pd.DataFrame({
        "measured_working_days": [100, 50], "measured_sessions": [500, 200], "measured_over_days": [20, 0],
        "left_day": [math.nan, 300.0], "hired_day": [0.0, 0.0], "measured_days_employed": [140, 70],
        "measured_weeks": [20, 10], "measured_over_weeks": [3, 0], "measured_weekdays": [100, 60],
        "weekday_exhaustion_sum": [40.0, 36.0], "weekday_burnout": [30, 10], "weekday_burnout_low": [60, 20],
        "weekday_burnout_high": [5, 0],
    })
    weekly = pd.DataFrame({"week": [0, 1, 2, 3], "burnout_share": [1.0, 0.5, 0.25, 0.75], "headcount": [2, 2, 2, 2],
                           "waiting": [0, 1, 2, 3]})
    k = therapist_kpis(therapists, weekly, start=14.0, end=14.0 + 365.0, warmup_weeks=2)
    assert k["therapist_sessions_per_day_mean"] == pytest.approx(700 / 150)
    assert k["therapist_over_threshold_day_share"] == pytest.approx(20 / 150)
    assert k["therapist_over_threshold_week_share"] == pytest.approx(3 / 30)
    assert k["mean_exhaustion"] == pytest.approx(76 / 160)  # exhaustion at the end of working days
    assert k["burnout_share"] == pytest.approx(40 / 160)  # working days above the cut-off, not Sunday snapshots
    assert (k["burnout_share_cutoff_low"], k["burnout_share_cutoff_high"]) == pytest.approx((80 / 160, 5 / 160))
    assert k["therapist_turnover_per_year"] == pytest.approx(1 / 2)
    assert k["waiting_mean"] == pytest.approx(2.5)


def test_activity_counts_only_the_measured_window():
    c = pd.DataFrame({"arrival_day": [0.0, 40.0, 5.0], "first_session_day": [0.0, 50.0, math.nan],
                      "ending_day": [60.0, math.nan, 10.0],
                      "ending": ["planned", "in_treatment_at_end", "pretreatment_dropout"],
                      "sessions_attended": [6, 3, 0], "severity_intake": [20, 20, 20], "severity_last": [10, 19, 20]})
    s = pd.DataFrame({"day": [5, 20, 40, 99, 120], "attended": [True, True, False, True, True]})
    a = activity(c, s, start=30.0, end=100.0, billing="sign_up")
    assert a.sessions == 1  # day 99 only (day 40 missed, 120 after the end)
    # bills on sign-up and every 30.44 days while subscribed, counted in [30, 100): client 0 at 30.4 (ends 60);
    # client 1 (still subscribed) at 40 and 70.4; client 2 signed up at 5 and left at 10: none in the window
    assert a.subscription_months == 3
    assert a.improved == 1
    # a cancellation lag of 45 days keeps client 2 billed at 35.4 too, and client 0 at 60.9 and 91.3
    assert activity(c, s, start=30.0, end=100.0, cancel_lag_days=45.0, billing="sign_up").subscription_months == 6


def test_subscriptions_bill_from_the_first_session_so_waiting_earns_nothing():
    """Billing from the first attended session (the default): a client still waiting at the end pays nothing, and
    a starter's months count from their first session, not from sign-up."""
    c = pd.DataFrame({"arrival_day": [0.0, 35.0, 35.0], "first_session_day": [40.0, math.nan, 36.0],
                      "ending_day": [math.nan, math.nan, math.nan],
                      "ending": ["in_treatment_at_end", "waiting_at_end", "in_treatment_at_end"],
                      "sessions_attended": [3, 0, 2], "severity_intake": [20, 20, 20], "severity_last": [18, 20, 19]})
    s = pd.DataFrame({"day": [40], "attended": [True]})
    # first session: client 0 at 40, 70.4 (2); client 2 at 36, 66.4, 96.9 (3); the waiting client none
    assert activity(c, s, start=30.0, end=100.0).subscription_months == 5
    # sign-up: client 0 at 30.4, 60.9, 91.3 (3); the waiting client and client 2 at 35, 65.4, 95.9 (3 each)
    assert activity(c, s, start=30.0, end=100.0, billing="sign_up").subscription_months == 9


def test_a_single_session_subscriber_pays_a_whole_month():
    c = pd.DataFrame({"arrival_day": [100.0], "first_session_day": [103.0], "ending_day": [103.0],
                      "ending": ["planned"], "sessions_attended": [1], "severity_intake": [12], "severity_last": [9]})
    a = activity(c, pd.DataFrame({"day": [103], "attended": [True]}), start=0.0, end=400.0, cancel_lag_days=14)
    assert a.subscription_months == 1


def test_lifetime_value_is_per_arriving_client_and_revenue_per_starter_is_separate():
    sc = Scenario(money={"price_per_session": 100.0, "acquisition_cost": 0.0})
    clients = pd.DataFrame({"arrival_day": [10.0, 20.0, 30.0, 40.0], "first_session_day": [12.0, 25.0, math.nan, math.nan],
                            "ending_day": [40.0, 60.0, 50.0, math.nan],
                            "ending": ["planned", "dropout", "pretreatment_dropout", "waiting_at_end"],
                            "sessions_attended": [3, 1, 0, 0], "severity_intake": [15, 15, 15, 15],
                            "severity_last": [8, 14, 15, 15]})
    sessions = pd.DataFrame({"day": [12, 19, 26, 25], "attended": [True, True, True, True]})
    therapists = pd.DataFrame({"hired_day": [0.0], "measured_days_employed": [0]})
    k = money_kpis(sc, clients, sessions, therapists, start=0.0, end=100.0)
    assert k["revenue"] == 400
    assert k["client_lifetime_value"] == 100  # 400 over 4 arrivals: falls when access falls
    assert k["revenue_per_started_client"] == 200  # 400 over 2 who started


def test_no_show_rate_ignores_therapist_absences():
    s = pd.DataFrame({"day": [1, 2, 3, 4, 5], "status": ["attended", "no_show", "therapist_absent", "attended", "no_show"]})
    assert no_show_rate(s, 0, 10) == pytest.approx(2 / 4)


def test_replication_kpis_has_every_contract_column(small_scenario: Scenario):
    from sim.engine.model import PlatformModel

    t = PlatformModel(small_scenario, 0).run()
    k = replication_kpis(small_scenario, t.clients, t.sessions, t.therapists, t.weekly)
    assert list(k)[: len(KPIS)] == list(KPIS)
    assert all(not math.isnan(k[name]) for name in KPIS)
    # one list: what a replication computes is exactly the registry, main table first, and the
    # contract of MODEL.md section 5 leads it
    from sim.base.kpis import KPI

    assert sorted(k) == sorted(KPI)
    contract = ["clients_arrived", "clients_started", "pretreatment_dropout_rate", "wait_first_session_days_mean",
                "wait_first_session_days_p90", "return_after_first_rate", "dropout_rate", "sessions_per_client_mean",
                "single_session_share", "recovery_rate", "reliable_improvement_rate", "reliable_deterioration_rate",
                "therapist_sessions_per_day_mean", "therapist_over_threshold_day_share", "burnout_share",
                "therapist_turnover_per_year", "revenue", "margin"]
    assert list(KPIS)[: len(contract)] == contract


def test_an_unregistered_kpi_is_refused(monkeypatch, small_scenario: Scenario):
    from sim.analysis import metrics
    from sim.engine.model import PlatformModel

    t = PlatformModel(small_scenario, 0).run()
    monkeypatch.setattr(metrics, "no_show_rate", lambda *a: 0.0)
    real = metrics.money_kpis
    monkeypatch.setattr(metrics, "money_kpis", lambda *a: {**real(*a), "shiny_new_kpi": 1.0})
    with pytest.raises(KeyError, match="shiny_new_kpi"):
        metrics.replication_kpis(small_scenario, t.clients, t.sessions, t.therapists, t.weekly)


def test_one_colour_per_policy_in_every_chart():
    """The same policy has the same colour whatever else a chart shows and however it is named (scenario file,
    explorer preset, brief title); a name no studied policy has keeps one colour too, never a studied one's."""
    from sim.views.charts import POLICY_COLOURS, colours

    alone = colours(["quality first"])["quality first"]
    assert colours(["status quo", "league table", "quality first"])["quality first"] == alone
    assert colours(["fit_individual"])["fit_individual"] == colours(["Quality first"])["Quality first"] == alone
    assert colours(["Status quo"])["Status quo"] == POLICY_COLOURS["baseline"]
    assert colours(["your policy"])["your policy"] == colours(["status quo", "your policy"])["your policy"]
    assert colours(["your policy"])["your policy"] not in POLICY_COLOURS.values()
    assert len(set(POLICY_COLOURS.values())) == len(POLICY_COLOURS)


def test_wait_parts_and_kept_sessions_by_hand():
    from sim.analysis.metrics import wait_parts
    started = pd.DataFrame({"arrival_day": [0.0, 10.0], "first_matched_day": [4.0, 10.0],
                            "first_session_day": [6.0, 13.0]})
    parts = wait_parts(started)
    assert parts == {"wait_to_match_days_mean": 2.0, "match_to_first_session_days_mean": 2.5}  # (4+0)/2, (2+3)/2
