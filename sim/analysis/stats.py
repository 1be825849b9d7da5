"""Intervals and paired comparisons over replications (pure functions on tidy tables).

>>> import pandas as pd
>>> reps = pd.DataFrame({"scenario": ["a"] * 3, "replication": [0, 1, 2], "x": [1.0, 2.0, 3.0]})
>>> row = summarise(reps, ["x"]).iloc[0]
>>> float(row["mean"]), int(row["n"]), round(float(row["ci_low"]), 3)
(2.0, 3, -0.484)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float, int]:
    """Mean, sd, and the two-sided t-interval of the mean; NaNs are dropped."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan, 0
    mean = float(v.mean())
    if n == 1:
        return mean, math.nan, math.nan, math.nan, 1
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half, n


def t_test_p(mean: float, sd: float, n: int) -> float:
    """Two-sided p-value of a one-sample t-test of ``mean`` against zero (NaN if it cannot be computed).

    >>> round(t_test_p(1.0, 1.0, 4), 4)
    0.1393
    """
    if n < 2 or math.isnan(sd) or math.isnan(mean):
        return math.nan
    if sd == 0:
        return 1.0 if mean == 0 else 0.0
    return float(2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))


def summarise(replications: pd.DataFrame, kpis: list[str]) -> pd.DataFrame:
    """One row per scenario and KPI: mean, sd, 95% t-interval, n."""
    rows = []
    for scenario, group in replications.groupby("scenario", sort=False):
        for kpi in kpis:
            mean, sd, lo, hi, n = t_interval(group[kpi].to_numpy())
            rows.append({"scenario": scenario, "kpi": kpi, "mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi,
                         "n": n})
    return pd.DataFrame(rows)


def paired_differences(replications: pd.DataFrame, kpis: list[str], baseline: str) -> pd.DataFrame:
    """Per scenario and KPI: mean paired difference against ``baseline`` (same replication numbers,
    hence the same clients under common random numbers), its 95% interval, and the relative change."""
    if baseline not in set(replications["scenario"]):
        raise ValueError(f"baseline {baseline!r} is not among the scenarios: "
                         f"{', '.join(replications['scenario'].unique())}")
    base = replications[replications["scenario"] == baseline].set_index("replication")
    rows = []
    for scenario, group in replications.groupby("scenario", sort=False):
        if scenario == baseline:
            continue
        g = group.set_index("replication")
        common = g.index.intersection(base.index)
        for kpi in kpis:
            diff = (g.loc[common, kpi] - base.loc[common, kpi]).to_numpy(dtype=float)
            mean, sd, lo, hi, n = t_interval(diff)
            base_mean = float(base.loc[common, kpi].mean())
            rows.append({"scenario": scenario, "baseline": baseline, "kpi": kpi, "difference": mean, "sd": sd,
                         "ci_low": lo, "ci_high": hi, "n": n, "baseline_mean": base_mean,
                         "relative": mean / base_mean if base_mean else math.nan,
                         "p_value": t_test_p(mean, sd, n),
                         "significant": bool(n > 1 and (lo > 0 or hi < 0))})
    return pd.DataFrame(rows)
