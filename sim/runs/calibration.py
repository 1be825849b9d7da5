"""Calibration statistics: the published figures of ``calibration/targets.yaml``, computed from run tables.

Every statistic is a pure function of one replication's tables (clients, sessions,
therapists, weekly) restricted to clients who arrived after the warm-up; the report averages
them over replications with 95% t-intervals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.analysis.metrics import (
    CASENESS,
    OPEN_ENDINGS,
    RELIABLE_CHANGE,
    client_kpis,
    ended_starters,
    measured_clients,
    no_show_rate,
    paired_outcomes,
    run_end,
    therapist_kpis,
    window,
)
from sim.analysis.stats import t_interval
from sim.base.paths import PROJECT_DIR
from sim.engine.population import draw_therapist
from sim.engine.recorder import Tables
from sim.runs.runner import run_scenarios
from sim.scenario import DOMAINS, Scenario, apply_overrides

TARGETS_FILE = PROJECT_DIR / "calibration" / "targets.yaml"
SETTINGS = {"us_platform": "baseline", "talking_therapies_like": "talking_therapies_like"}
# NHS Talking Therapies report recovery and reliable change on two scales (PHQ-9 and GAD-7):
# their targets are compared with the same definitions (see sim.analysis.metrics.paired_outcomes).
STATISTIC_FOR = {"talking_therapies_like": {"recovery_rate": "paired_recovery_rate",
                                            "reliable_improvement_rate": "paired_reliable_improvement_rate",
                                            "reliable_deterioration_rate": "paired_reliable_deterioration_rate"}}


RunTables = Tables  # one replication's tables with the scenario that made them (Tables.made_by)


# -- statistics on hand-checkable inputs -------------------------------------------------

def early_dropout_share(clients: pd.DataFrame) -> float:
    """Share of dropouts that happen after session 1 or 2."""
    d = ended_starters(clients)
    d = d[d["ending"] == "dropout"]
    return float(d["sessions_attended"].isin([1, 2]).mean()) if len(d) else math.nan


def sessions_mode(clients: pd.DataFrame) -> float:
    """Most common number of attended sessions among clients who started and ended."""
    s = ended_starters(clients)["sessions_attended"]
    return float(s.value_counts().sort_index().idxmax()) if len(s) else math.nan


def top20_session_share(clients: pd.DataFrame) -> float:
    """Share of all sessions used by the 20% of clients with the most sessions."""
    s = np.sort(ended_starters(clients)["sessions_attended"].to_numpy())[::-1]
    if not len(s) or s.sum() == 0:
        return math.nan
    k = max(1, round(0.2 * len(s)))
    return float(s[:k].sum() / s.sum())


def prepost_d(clients: pd.DataFrame) -> float:
    """Pre-post standardised mean change: mean(intake - last) / sd(intake), ended clients with 2+ scores."""
    c = ended_starters(clients)
    c = c[c["sessions_attended"] >= 2]
    sd = c["severity_intake"].std(ddof=1)
    return float((c["severity_intake"] - c["severity_last"]).mean() / sd) if len(c) > 1 and sd > 0 else math.nan


def anova_icc(values: np.ndarray, groups: np.ndarray) -> float:
    """One-way random-effects ANOVA estimate of the between-group share of variance (unbalanced groups).

    >>> round(anova_icc(np.array([1., 2., 3., 11., 12., 13.]), np.array([0, 0, 0, 1, 1, 1])), 3)
    0.98
    """
    df = pd.DataFrame({"y": values, "g": groups})
    stats = df.groupby("g")["y"].agg(["size", "mean"])
    stats = stats[stats["size"] > 0]
    k, n = len(stats), len(df)
    if k < 2 or n <= k:
        return math.nan
    grand = df["y"].mean()
    ssb = float((stats["size"] * (stats["mean"] - grand) ** 2).sum())
    ssw = float(((df["y"] - df["g"].map(stats["mean"])) ** 2).sum())
    msb, msw = ssb / (k - 1), ssw / (n - k)
    n0 = (n - float((stats["size"] ** 2).sum()) / n) / (k - 1)
    between = max(0.0, (msb - msw) / n0)
    return between / (between + msw) if between + msw > 0 else math.nan


def therapist_icc(clients: pd.DataFrame) -> float:
    """Therapist share of variance in the last score adjusted for the intake score.

    Residuals of an ordinary least-squares fit of last on intake score, then the one-way ANOVA
    estimator over therapists (a two-level random-intercept model's variance share).
    """
    c = ended_starters(clients)
    c = c[(c["sessions_attended"] >= 2) & (c["therapist_id"] >= 0)]
    if len(c) < 10:
        return math.nan
    x, y = c["severity_intake"].to_numpy(float), c["severity_last"].to_numpy(float)
    slope, intercept = np.polyfit(x, y, 1)
    return anova_icc(y - (intercept + slope * x), c["therapist_id"].to_numpy())


def alliance_outcome_r(clients: pd.DataFrame) -> float:
    """Correlation across clients of early measured alliance (sessions 1-3) with improvement."""
    c = ended_starters(clients)
    c = c[c["sessions_attended"] >= 3]
    if len(c) < 3:
        return math.nan
    return float(np.corrcoef(c["early_alliance"], c["severity_intake"] - c["severity_last"])[0, 1])


def improvement_curve(sessions: pd.DataFrame, client_ids: pd.Index | np.ndarray, max_session: int = 40) -> pd.Series:
    """Kaplan-Meier share of starters reliably improved (6+ points below their first score) by session n.

    The event is the first attended session whose observed score is at least 6 below the score
    at session 1; clients who never improve are censored at their last attended session.
    """
    s = sessions[sessions["attended"] & sessions["client_id"].isin(client_ids)]
    s = s.sort_values(["client_id", "session_number"])
    first = s.groupby("client_id")["severity_observed"].transform("first")
    improved = s["severity_observed"] <= first - RELIABLE_CHANGE
    event_at = s[improved].groupby("client_id")["session_number"].min()
    last = s.groupby("client_id")["session_number"].max()
    time = last.copy()
    time.loc[event_at.index] = event_at
    event = pd.Series(False, index=last.index)
    event.loc[event_at.index] = True
    t, e = time.to_numpy(), event.to_numpy()
    survival, out = 1.0, {}
    for n in range(1, max_session + 1):
        at_risk = int((t >= n).sum())
        events = int(((t == n) & e).sum())
        if at_risk:
            survival *= 1 - events / at_risk
        out[n] = 1 - survival
    return pd.Series(out, name="improved")


def improved_by_session(sessions: pd.DataFrame, clients: pd.DataFrame, n: int) -> float:
    starters = measured_clients(clients)
    starters = starters[starters["sessions_attended"] >= 1]
    return float(improvement_curve(sessions, starters["client_id"].to_numpy(), n).loc[n])


def logistic_slope(x: np.ndarray, y: np.ndarray, iterations: int = 50) -> float:
    """Slope of a two-parameter logistic regression of binary ``y`` on ``x`` (Newton-Raphson).

    >>> x = np.repeat([0.0, 1.0], 200); y = np.r_[np.repeat([1, 0], [150, 50]), np.repeat([1, 0], [100, 100])]
    >>> round(float(np.exp(logistic_slope(x, y))), 3)   # odds 3 -> 1: odds ratio 1/3
    0.333
    """
    X = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-X @ beta))
        w = p * (1 - p)
        hessian = X.T @ (X * w[:, None])
        step = np.linalg.solve(hessian + 1e-9 * np.eye(2), X.T @ (y - p))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return float(beta[1])


def wait_attendance_odds_per_week(sessions: pd.DataFrame, clients: pd.DataFrame) -> float:
    """Odds ratio of attending the first session per extra week waited (clients offered one)."""
    c = measured_clients(clients).set_index("client_id")
    first = sessions[(sessions["session_number"] == 1) & (sessions["status"] != "therapist_absent")
                     & sessions["client_id"].isin(c.index)]
    first = first.drop_duplicates("client_id", keep="last")
    if len(first) < 20:
        return math.nan
    weeks = (first["day"].to_numpy(float) - c.loc[first["client_id"], "arrival_day"].to_numpy(float)) / 7
    if np.ptp(weeks) == 0:
        return math.nan
    return math.exp(logistic_slope(weeks, first["attended"].to_numpy(float)))


def sessions_per_finisher_mean(clients: pd.DataFrame) -> float:
    c = ended_starters(clients)
    c = c[c["sessions_attended"] >= 2]
    return float(c["sessions_attended"].mean()) if len(c) else math.nan


def started_within_6_weeks(clients: pd.DataFrame) -> float:
    c = measured_clients(clients)
    c = c[c["sessions_attended"] >= 1]
    return float((c["wait_first_session_days"] <= 42).mean()) if len(c) else math.nan


def referral_to_finished_share(clients: pd.DataFrame) -> float:
    """Share of referrals (arrived and ended) who finished a course: two or more sessions."""
    c = measured_clients(clients)
    c = c[~c["ending"].isin(OPEN_ENDINGS)]
    return float((c["sessions_attended"] >= 2).mean()) if len(c) else math.nan


STATISTICS: dict[str, Callable[[RunTables], float]] = {
    "dropout_rate": lambda r: client_kpis(r.clients, run_end(r.made_by))["dropout_rate"],
    "early_dropout_share": lambda r: early_dropout_share(measured_clients(r.clients)),
    "sessions_per_client_mean": lambda r: client_kpis(r.clients, run_end(r.made_by))["sessions_per_client_mean"],
    "sessions_mode": lambda r: sessions_mode(measured_clients(r.clients)),
    "single_session_share": lambda r: client_kpis(r.clients, run_end(r.made_by))["single_session_share"],
    "top20_session_share": lambda r: top20_session_share(measured_clients(r.clients)),
    "prepost_d": lambda r: prepost_d(measured_clients(r.clients)),
    "therapist_icc": lambda r: therapist_icc(measured_clients(r.clients)),
    "alliance_outcome_r": lambda r: alliance_outcome_r(measured_clients(r.clients)),
    "improved_by_session_8": lambda r: improved_by_session(r.sessions, r.clients, 8),
    "improved_by_session_26": lambda r: improved_by_session(r.sessions, r.clients, 26),
    "burnout_share": lambda r: therapist_kpis(r.therapists, r.weekly, *window(r.made_by),
                                              r.made_by.horizon.warmup_weeks)["burnout_share"],
    "therapist_turnover_per_year": lambda r: therapist_kpis(r.therapists, r.weekly, *window(r.made_by),
                                                            r.made_by.horizon.warmup_weeks)["therapist_turnover_per_year"],
    "no_show_rate": lambda r: no_show_rate(r.sessions, *window(r.made_by)),
    "wait_attendance_odds_per_week": lambda r: wait_attendance_odds_per_week(r.sessions, r.clients),
    "paired_recovery_rate": lambda r: paired_outcomes(measured_clients(r.clients))["paired_recovery_rate"],
    "paired_reliable_improvement_rate": lambda r: paired_outcomes(measured_clients(r.clients))[
        "paired_reliable_improvement_rate"],
    "paired_reliable_deterioration_rate": lambda r: paired_outcomes(measured_clients(r.clients))[
        "paired_reliable_deterioration_rate"],
    "recovery_rate": lambda r: client_kpis(r.clients, run_end(r.made_by))["recovery_rate"],
    "reliable_improvement_rate": lambda r: client_kpis(r.clients, run_end(r.made_by))["reliable_improvement_rate"],
    "reliable_deterioration_rate": lambda r: client_kpis(r.clients, run_end(r.made_by))["reliable_deterioration_rate"],
    "sessions_per_finisher_mean": lambda r: sessions_per_finisher_mean(measured_clients(r.clients)),
    "started_within_6_weeks": lambda r: started_within_6_weeks(r.clients),
    "referral_to_finished_share": lambda r: referral_to_finished_share(r.clients),
}


def load_targets(path: Path = TARGETS_FILE) -> dict[str, dict[str, dict]]:
    return yaml.safe_load(path.read_text())


#: Targets about clients' behaviour that the status quo cannot show precisely are read from a probe: the
#: same scenario and clients with these overrides. The steady status quo books first sessions 1-7 days out,
#: too uniform a wait to estimate a per-week effect (its estimate wanders 0.89-1.03 between settings); the
#: overloaded variant's waits run to weeks.
PROBES: dict[tuple[str, str], dict[str, float]] = {
    ("us_platform", "wait_attendance_odds_per_week"): {"demand.arrivals_per_week": 390.0},
}


def probe_runs(setting: str, scenario: Scenario, reps: int, seed: int | None = None, jobs: int = 1,
               progress: bool = True) -> dict[str, list[RunTables]]:
    """Runs of each probe of ``setting`` (target name -> runs)."""
    return {target: calibration_runs(apply_overrides(scenario, overrides), reps, seed, jobs, progress)
            for (s, target), overrides in PROBES.items() if s == setting}


def band_position(value: float, low: float, high: float) -> float:
    """Where ``value`` sits in the band: 0 at its low edge, 0.5 in the middle, 1 at its high edge (outside: below 0
    or above 1; NaN for a band of one value).

    >>> band_position(0.314, 0.30, 0.50), band_position(0.40, 0.30, 0.50)
    (0.07, 0.5)
    """
    return round((value - low) / (high - low), 12) if high > low else math.nan


def evaluate(setting: str, runs: list[RunTables], targets: dict[str, dict[str, dict]] | None = None,
             probes: dict[str, list[RunTables]] | None = None) -> pd.DataFrame:
    """One row per target of ``setting``: band, simulated mean with 95% interval, inside or not, source.

    ``probes`` (target -> runs, see PROBES) replace ``runs`` for the targets they name."""
    targets = targets or load_targets()
    probes = probes or {}
    rows = []
    for name, spec in targets[setting].items():
        statistic = STATISTIC_FOR.get(setting, {}).get(name, name)
        fn = STATISTICS.get(statistic)
        values = np.array([fn(r) for r in probes.get(name, runs)], dtype=float) if fn else np.array([])
        mean, _, lo, hi, n = t_interval(values)
        lo_band, hi_band = spec["band"]
        rows.append({
            "setting": setting, "target": name, "statistic": statistic, "band_low": lo_band, "band_high": hi_band,
            "point": spec.get("point", math.nan), "mean": mean, "ci_low": lo, "ci_high": hi, "n": n,
            "inside": bool(n and lo_band <= mean <= hi_band), "band_position": band_position(mean, lo_band, hi_band),
            "what": spec.get("what", ""), "source": spec["source"],
            "probe": ", ".join(f"{k}={v}" for k, v in PROBES.get((setting, name), {}).items()) if name in probes else "",
        })
    return pd.DataFrame(rows)


# -- declared specialties against a therapist directory ------------------------------------

#: Share of therapist profiles that name each problem among their (up to three) specialties, for the four of the
#: model's domains the directory names: 7,657 Psychology Today profiles sampled over the 50 US states (S. Felix,
#: 2017, "Who are today's mental health practitioners in private practice?", chart "Top 10 specialties", read to
#: the nearest half point; data and code: github.com/stevenfelix/PsychologyToday).
DIRECTORY_SPECIALTY_SHARES = {"anxiety": 0.37, "depression": 0.32, "relationships": 0.285, "trauma": 0.25}


def declared_shares(sc: Scenario, therapists: int = 20_000, seed: int = 0) -> pd.Series:
    """Share of ``therapists`` newly drawn therapists (the model's own draw) who declare each domain."""
    rng, counts = random.Random(seed), np.zeros(len(DOMAINS))
    for _ in range(therapists):
        counts += draw_therapist(rng, sc, len(DOMAINS)).declared
    return pd.Series(counts / therapists, index=list(DOMAINS), name="declared_share")


def specialty_weight_fit(sc: Scenario, weights: np.ndarray | None = None, therapists: int = 20_000,
                         seed: int = 0) -> pd.DataFrame:
    """How well each ``therapists.specialty_prevalence_weight`` reproduces the directory's pattern of declared
    specialties (:data:`DIRECTORY_SPECIALTY_SHARES`): per weight, the squared distance between the model's and
    the directory's shares over the four named domains, each set scaled to sum to one (profiles declare different
    numbers of specialties), and the ratio of the most to the least often declared of them (directory 1.48). The
    best weight is the row with the smallest distance; the fit leans on the scenario's (assumed) prevalences."""
    weights = np.round(np.linspace(0.0, 1.0, 21), 2) if weights is None else weights
    named = list(DIRECTORY_SPECIALTY_SHARES)
    observed = np.array([DIRECTORY_SPECIALTY_SHARES[d] for d in named])
    rows = []
    for w in weights:
        shares = declared_shares(apply_overrides(sc, {"therapists.specialty_prevalence_weight": float(w)}),
                                 therapists, seed)[named].to_numpy()
        rows.append({"weight": float(w),
                     "distance": float(((shares / shares.sum() - observed / observed.sum()) ** 2).sum()),
                     "ratio": float(shares.max() / shares.min()),
                     **{f"declared_{d}": float(v) for d, v in zip(named, shares, strict=True)}})
    return pd.DataFrame(rows)


def sessions_histogram(clients: pd.DataFrame, max_sessions: int = 30) -> pd.Series:
    s = ended_starters(measured_clients(clients))["sessions_attended"].clip(upper=max_sessions)
    return s.value_counts(normalize=True).sort_index()


def dropout_by_session(clients: pd.DataFrame, max_sessions: int = 20) -> pd.Series:
    """Share of all dropouts that happen after each session number."""
    d = ended_starters(measured_clients(clients))
    d = d[d["ending"] == "dropout"]["sessions_attended"].clip(upper=max_sessions)
    return d.value_counts(normalize=True).sort_index()


__all__ = ["CASENESS", "STATISTICS", "evaluate", "load_targets"]


def calibration_runs(scenario: Scenario, reps: int, seed: int | None = None, jobs: int = 1,
                     progress: bool = True) -> list[RunTables]:
    """Run ``reps`` replications of ``scenario`` and return each replication's tables."""
    res = run_scenarios([scenario], reps=reps, seed=seed, jobs=jobs, progress=progress)
    out = []
    for rep in range(reps):
        parts = {name: df[df["replication"] == rep].reset_index(drop=True) for name, df in res.tables.items()}
        out.append(Tables(parts["clients"], parts["sessions"], parts["therapists"], parts["weekly"], {"replication": rep},
                          scenario))
    return out


def format_table(result: pd.DataFrame) -> pd.DataFrame:
    def num(x: float) -> str:
        return "n/a" if isinstance(x, float) and math.isnan(x) else f"{x:.3g}"

    return pd.DataFrame({
        "setting": result["setting"], "target": result["target"],
        "band": [f"[{num(a)}, {num(b)}]" for a, b in zip(result["band_low"], result["band_high"], strict=True)],
        "simulated (95% CI)": [f"{num(m)} [{num(a)}, {num(b)}]" for m, a, b in
                               zip(result["mean"], result["ci_low"], result["ci_high"], strict=True)],
        "inside": ["yes" if x else "NO" for x in result["inside"]],
        "where in band": [_where(x) for x in result["band_position"]],
        "source": result["source"],
    })


def _where(position: float) -> str:
    """'middle', 'low third', 'high edge' ... for a band position (see :func:`band_position`)."""
    if math.isnan(position):
        return "-"
    if position < 0 or position > 1:
        return "outside"
    if position < 0.1 or position > 0.9:
        return f"{position:.2f} ({'low' if position < 0.5 else 'high'} edge)"
    if 1 / 3 <= position <= 2 / 3:
        return f"{position:.2f} (middle)"
    return f"{position:.2f} ({'low' if position < 0.5 else 'high'} third)"


def calibration_markdown(result: pd.DataFrame, reps: int) -> str:
    n_in, n = int(result["inside"].sum()), len(result)
    return "\n".join([
        "# Calibration report", "",
        f"{n_in} of {n} targets inside their bands ({reps} replications per setting; mean and 95% t-interval "
        "over replications). Targets: `calibration/targets.yaml` (published figures widened to plausible bands).", "",
        format_table(result).to_markdown(index=False), "",
        "Charts: `dropout_by_session.png`, `dose_effect.png`, `sessions_histogram.png`, `alliance_outcome.png`, "
        "`burnout_over_time.png`.", ""])
