"""KPIs: pure functions from one replication's recorded tables to numbers.

Definitions follow MODEL.md section 5, with one deliberate change (docs/model.md): client KPIs
count the arrival cohort of the measured period, followed until each client ends or the
follow-up ends (not only those who ended by the end of the measured period, which under-counts
long courses). "Ended" means any ending other than still waiting, matched or in treatment.
Therapist and money KPIs cover the measured period.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.base.kpis import EXTRA, KPI, MAIN
from sim.base.registry import lookup
from sim.base.scales import ANXIETY_CASENESS, ANXIETY_RELIABLE_CHANGE, CASENESS, RELIABLE_CHANGE
from sim.engine.policies.revenue import Activity
from sim.scenario import Scenario

KPIS = MAIN  # the registry's main table (sim/base/kpis.py)
EXTRA_KPIS = EXTRA
OPEN_ENDINGS = ("waiting_at_end", "matched_at_end", "in_treatment_at_end")
DAYS_PER_MONTH = 365.25 / 12


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else math.nan


def window(sc: Scenario) -> tuple[float, float]:
    """First and last day (exclusive) of the measured period (therapist and money measures)."""
    start = sc.horizon.warmup_weeks * 7
    return float(start), float(start + sc.horizon.measured_weeks * 7)


def run_end(sc: Scenario) -> float:
    """The last day of the run: the measured period plus the cohort's follow-up."""
    return window(sc)[1] + sc.horizon.follow_up_weeks * 7.0


def measured_clients(clients: pd.DataFrame) -> pd.DataFrame:
    """The arrival cohort: clients who arrived in the measured period (followed until they end or the run ends)."""
    if "in_cohort" in clients:
        return clients[clients["in_cohort"].astype(bool)]
    return clients[~clients["in_warmup"].astype(bool)]


def ended_starters(clients: pd.DataFrame) -> pd.DataFrame:
    """Clients who attended at least one session and ended."""
    return clients[(clients["sessions_attended"] >= 1) & ~clients["ending"].isin(OPEN_ENDINGS)]


def outcome_group(clients: pd.DataFrame) -> pd.DataFrame:
    """Clients at caseness at intake, with at least two attended sessions, who ended."""
    c = ended_starters(clients)
    return c[(c["severity_intake"] >= CASENESS) & (c["sessions_attended"] >= 2)]


def client_kpis(clients: pd.DataFrame, end_day: float) -> dict[str, float]:
    c = measured_clients(clients)
    started = c[c["sessions_attended"] >= 1]
    not_waiting = c[~c["ending"].isin(("waiting_at_end", "matched_at_end"))]
    done = ended_starters(c)
    waits = started["wait_first_session_days"].to_numpy(dtype=float)
    eligible_return = started[~started["ending"].isin(OPEN_ENDINGS) | (started["first_session_day"] + 14 <= end_day)]
    out = outcome_group(c)
    change = out["severity_intake"] - out["severity_last"]
    return {
        "clients_arrived": float(len(c)),
        "clients_started": float(len(started)),
        "pretreatment_dropout_rate": _ratio((not_waiting["ending"] == "pretreatment_dropout").sum(), len(not_waiting)),
        "wait_first_session_days_mean": float(waits.mean()) if len(waits) else math.nan,
        "wait_first_session_days_p90": float(np.percentile(waits, 90)) if len(waits) else math.nan,
        "return_after_first_rate": _ratio((eligible_return["sessions_attended"] >= 2).sum(), len(eligible_return)),
        "dropout_rate": _ratio((done["ending"] == "dropout").sum(), len(done)),
        "sessions_per_client_mean": float(done["sessions_attended"].mean()) if len(done) else math.nan,
        "single_session_share": _ratio((done["sessions_attended"] == 1).sum(), len(done)),
        "recovery_rate": _ratio((out["severity_last"] < CASENESS).sum(), len(out)),
        "reliable_improvement_rate": _ratio((change >= RELIABLE_CHANGE).sum(), len(out)),
        "reliable_deterioration_rate": _ratio((change <= -RELIABLE_CHANGE).sum(), len(out)),
        "mean_true_fit": float(started["true_fit"].mean()) if len(started) else math.nan,
        **wait_parts(started),
        "kept_session_share": _ratio(c["sessions_kept"].sum(), c["sessions_attended"].sum())
        if "sessions_kept" in c else math.nan,
    }


def wait_parts(started: pd.DataFrame) -> dict[str, float]:
    """The wait to a first session in two parts: waiting for a therapist (queueing, arrival to the first match) and
    from the match to the first session (the matched therapist's next free weekday), means over starters."""
    if "first_matched_day" not in started or not len(started):
        return {"wait_to_match_days_mean": math.nan, "match_to_first_session_days_mean": math.nan}
    matched = started["first_matched_day"].to_numpy(dtype=float)
    return {"wait_to_match_days_mean": float(np.nanmean(matched - started["arrival_day"].to_numpy(dtype=float))),
            "match_to_first_session_days_mean": float(np.nanmean(started["first_session_day"].to_numpy(dtype=float)
                                                                  - matched))}


GROUP_KPIS = ("wait_first_session_days_mean", "mean_true_fit", "recovery_rate", "dropout_rate",
              "return_after_first_rate")
#: Intake severity bands on the depression-like 0-27 scale (fixed, so a client's band does not depend on the policy)
SEVERITY_BANDS = ((0.0, 10.0, "below caseness (0-9)"), (10.0, 15.0, "moderate (10-14)"), (15.0, 28.0, "severe (15-27)"))


def group_kpis(clients: pd.DataFrame, end_day: float) -> pd.DataFrame:
    """Who gains and who pays: GROUP_KPIS of the arrival cohort by problem domain and by intake severity band.

    Rows: group_kind (domain | intake_severity), group, kpi, value. Severity is observed at the first
    session, so the severity groups hold clients who started.
    """
    c = measured_clients(clients)
    rows = []
    subsets = [("domain", str(d), c[c["domain"] == d]) for d in c["domain"].cat.categories] if hasattr(
        c["domain"], "cat") else [("domain", str(d), g) for d, g in c.groupby("domain")]
    subsets += [("intake_severity", name, c[(c["severity_intake"] >= lo) & (c["severity_intake"] < hi)])
                for lo, hi, name in SEVERITY_BANDS]
    for kind, name, subset in subsets:
        values = client_kpis(subset, end_day)
        rows += [{"group_kind": kind, "group": name, "kpi": k, "value": values[k]} for k in GROUP_KPIS]
    return pd.DataFrame(rows)


def paired_outcomes(clients: pd.DataFrame) -> dict[str, float]:
    """NHS Talking Therapies definitions on both scales (depression PHQ-9-like, anxiety GAD-7-like).

    Over clients who finished (two or more sessions, ended) at caseness on either scale at intake:
    recovery = below caseness on both at the last session; reliable improvement = a reliable fall on
    either scale and no reliable rise on either; reliable deterioration = a reliable rise on either.
    """
    c = ended_starters(clients)
    c = c[c["sessions_attended"] >= 2]
    c = c[(c["severity_intake"] >= CASENESS) | (c["anxiety_intake"] >= ANXIETY_CASENESS)]
    dep = c["severity_intake"] - c["severity_last"]
    anx = c["anxiety_intake"] - c["anxiety_last"]
    worse = (dep <= -RELIABLE_CHANGE) | (anx <= -ANXIETY_RELIABLE_CHANGE)
    better = ((dep >= RELIABLE_CHANGE) | (anx >= ANXIETY_RELIABLE_CHANGE)) & ~worse
    recovered = (c["severity_last"] < CASENESS) & (c["anxiety_last"] < ANXIETY_CASENESS)
    return {
        "paired_recovery_rate": _ratio(recovered.sum(), len(c)),
        "paired_reliable_improvement_rate": _ratio(better.sum(), len(c)),
        "paired_reliable_deterioration_rate": _ratio(worse.sum(), len(c)),
    }


def therapist_kpis(therapists: pd.DataFrame, weekly: pd.DataFrame, start: float, end: float,
                   warmup_weeks: int) -> dict[str, float]:
    t = therapists
    working = t["measured_working_days"].sum()
    w = weekly[(weekly["week"] >= warmup_weeks) & (weekly["week"] * 7 < end)]
    leavers = ((t["left_day"] >= start) & (t["left_day"] < end)).sum()
    mean_headcount = w["headcount"].mean() if len(w) else math.nan
    years = (end - start) / 365.0
    weekdays = t["measured_weekdays"].sum()
    return {
        "therapist_sessions_per_day_mean": _ratio(t["measured_sessions"].sum(), working),
        "therapist_over_threshold_day_share": _ratio(t["measured_over_days"].sum(), working),
        "therapist_over_threshold_week_share": _ratio(t["measured_over_weeks"].sum(), t["measured_weeks"].sum()),
        "mean_exhaustion": _ratio(t["weekday_exhaustion_sum"].sum(), weekdays),
        "burnout_share": _ratio(t["weekday_burnout"].sum(), weekdays),
        "burnout_share_cutoff_low": _ratio(t["weekday_burnout_low"].sum(), weekdays),
        "burnout_share_cutoff_high": _ratio(t["weekday_burnout_high"].sum(), weekdays),
        "therapist_turnover_per_year": _ratio(leavers, mean_headcount * years) if mean_headcount else math.nan,
        "waiting_mean": float(w["waiting"].mean()) if len(w) else math.nan,
        "utilisation": float(w["utilisation"].mean()) if len(w) and "utilisation" in w else math.nan,
    }


def subscription_months(arrival: np.ndarray, stop: np.ndarray, start: float, end: float) -> np.ndarray:
    """Monthly bills falling in [start, end) for subscriptions running from ``arrival`` until ``stop``.

    A bill falls on sign-up and every DAYS_PER_MONTH after, while the subscription runs
    (``stop`` = ending day + cancellation lag, NaN while still subscribed).

    >>> subscription_months(np.array([0.0, 10.0]), np.array([1.0, np.nan]), 0.0, 65.0).tolist()
    [1.0, 2.0]
    """
    until = np.minimum(np.where(np.isnan(stop), end, stop), end)
    first = np.maximum(0.0, np.ceil((start - arrival) / DAYS_PER_MONTH))
    last = np.ceil((until - arrival) / DAYS_PER_MONTH) - 1
    return np.clip(last - first + 1, 0, None)


def activity(clients: pd.DataFrame, sessions: pd.DataFrame, start: float, end: float,
             cancel_lag_days: float = 0.0, billing: str = "first_session") -> Activity:
    """Billable activity in the measured period [start, end); subscriptions run from the first attended
    session (``billing="first_session"``; clients who never start are not billed) or from sign-up."""
    in_window = sessions[(sessions["day"] >= start) & (sessions["day"] < end)]
    attended = float(in_window["attended"].sum())
    open_ = clients["ending"].isin(OPEN_ENDINGS).to_numpy()
    stop = np.where(open_, np.nan, clients["ending_day"].to_numpy(dtype=float) + cancel_lag_days)
    begins = clients["first_session_day" if billing == "first_session" else "arrival_day"].to_numpy(dtype=float)
    billed = ~np.isnan(begins)
    months = float(subscription_months(begins[billed], stop[billed], start, end).sum())
    ended_here = clients[(clients["ending_day"] >= start) & (clients["ending_day"] < end)]
    improved = float(((ended_here["sessions_attended"] >= 2)
                      & (ended_here["severity_intake"] - ended_here["severity_last"] >= RELIABLE_CHANGE)).sum())
    return Activity(sessions=attended, subscription_months=months, improved=improved)


def money_kpis(sc: Scenario, clients: pd.DataFrame, sessions: pd.DataFrame, therapists: pd.DataFrame,
               start: float, end: float) -> dict[str, float]:
    m = sc.money
    act = activity(clients, sessions, start, end, m.subscription_cancel_lag_days, m.subscription_billing)
    revenue = lookup("revenue", m.revenue_model)(m).revenue(act)
    hires = ((therapists["hired_day"] >= start) & (therapists["hired_day"] < end)).sum()
    therapist_weeks = therapists["measured_days_employed"].sum() / 7.0
    arrivals = ((clients["arrival_day"] >= start) & (clients["arrival_day"] < end)).sum()
    turnover_cost = float(hires * m.hire_cost)
    cost = (act.sessions * m.therapist_pay_per_session + therapist_weeks * m.therapist_cost_per_week
            + turnover_cost + arrivals * m.acquisition_cost)
    started = ((clients["first_session_day"] >= start) & (clients["first_session_day"] < end)).sum()
    return {
        "revenue": revenue,
        "margin": _ratio(revenue - cost, revenue),
        "profit": revenue - cost,
        "client_lifetime_value": _ratio(revenue, arrivals),
        "revenue_per_started_client": _ratio(revenue, started),
        "therapist_cost_of_turnover": turnover_cost,
    }


def no_show_rate(sessions: pd.DataFrame, start: float, end: float) -> float:
    s = sessions[(sessions["day"] >= start) & (sessions["day"] < end)]
    booked = s["status"].isin(("attended", "no_show"))
    return _ratio((s["status"] == "no_show").sum(), booked.sum())


def replication_kpis(sc: Scenario, clients: pd.DataFrame, sessions: pd.DataFrame, therapists: pd.DataFrame,
                     weekly: pd.DataFrame) -> dict[str, float]:
    """All KPIs of one replication (the contract columns first, then extras)."""
    start, end = window(sc)
    values = client_kpis(clients, run_end(sc))
    values.update(paired_outcomes(measured_clients(clients)))
    values.update(therapist_kpis(therapists, weekly, start, end, sc.horizon.warmup_weeks))
    values.update(money_kpis(sc, clients, sessions, therapists, start, end))
    values["no_show_rate"] = no_show_rate(sessions, start, end)
    unregistered = set(values) - set(KPI)
    if unregistered:  # a KPI computed here must be declared in sim/base/kpis.py, or it would show its raw name
        raise KeyError(f"KPIs computed but not in the registry: {sorted(unregistered)}")
    return {k: values[k] for k in (*KPIS, *EXTRA_KPIS)}
