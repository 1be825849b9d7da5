"""Claims only where they hold: Holm-adjusted verdicts in words for the declared headline KPIs.

Within one comparison (a policy against its baseline) the headline KPIs of
:data:`sim.base.kpis.HEADLINE` form one family. Each gets a paired-t p-value, Holm's step-down
adjustment, and an interval at its Holm level (so the interval excludes zero exactly when the
step-down test at that rank does), shown no wider than a difference of the KPI can be (a share's
difference within +-100 points; with few replications a Holm interval can pass that). The verdict:

- *negligible*: the whole interval lies inside +- the smallest difference that matters (an
  equivalence test at the Holm level; significant or not, nothing that matters is left);
- *better* / *worse*: otherwise Holm-significant: the interval excludes zero and reaches a difference
  that matters (its point estimate may be smaller: the interval says how large it may be);
- *no clear difference*: otherwise (the interval spans zero and differences that matter);
- *changed*: as better/worse, for a KPI with no better direction;
- *better only by gaming* (revenue): better, but the revenue from sessions kept past clients' planned
  endings (the policy's kept-session share of its revenue, less the baseline's) takes the interval's
  lower end to zero or below: the gain is sessions clients did not need, a cost to them, not a gain.

These are the four outcomes of testing difference and equivalence together (Lakens, Scheel and
Isager 2018, Adv Methods Pract Psychol Sci 1(2)), one rule for every view.

>>> holm([0.01, 0.04, 0.03])
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from scipy import stats

from sim.base.kpis import HEADLINE, KPI, clip_differences, format_difference

ALPHA = 0.05
#: The revenue verdict of a gain that rests on sessions kept past clients' planned endings.
GAMED = "better only by gaming"
#: The verdicts that are an answer (told as a finding); the others say the run cannot tell or nothing matters.
CLEAR = ("better", "worse", "changed", GAMED)


def gamed_revenue(group: pd.DataFrame) -> float:
    """Revenue from sessions kept past a planned ending, policy less baseline (about: the kept share of all
    sessions times revenue), from one comparison's rows of a paired-differences table; NaN without those KPIs.

    >>> rows = pd.DataFrame({"kpi": ["revenue", "kept_session_share"], "baseline_mean": [100.0, 0.0],
    ...                      "difference": [10.0, 0.05]})
    >>> round(gamed_revenue(rows), 2)
    5.5
    """
    g = group.set_index("kpi")
    if "revenue" not in g.index or "kept_session_share" not in g.index:
        return math.nan
    revenue, kept = g.loc["revenue"], g.loc["kept_session_share"]
    policy = (float(kept["baseline_mean"]) + float(kept["difference"])) * (
        float(revenue["baseline_mean"]) + float(revenue["difference"]))
    return policy - float(kept["baseline_mean"]) * float(revenue["baseline_mean"])


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (NaN stays NaN and does not count in the family)."""
    present = [(p, i) for i, p in enumerate(pvalues) if not math.isnan(p)]
    m = len(present)
    adjusted = [math.nan] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = round(running, 12)
    return adjusted


def _verdict(kpi: str, d: float, lo: float, hi: float, rejected: bool, matters: float) -> str:
    if math.isnan(d):
        return "not estimable"
    if not math.isnan(lo) and -matters <= lo and hi <= matters:
        return "negligible"
    if rejected:
        better = KPI[kpi].better(d) if kpi in KPI else None
        return "changed" if better is None else "better" if better else "worse"
    return "no clear difference"


def claims(comparison: pd.DataFrame, kpis: Sequence[str] = HEADLINE, alpha: float = ALPHA) -> pd.DataFrame:
    """Verdicts for ``kpis`` in each comparison of a :func:`sim.analysis.stats.paired_differences` table."""
    rows = []
    for scenario, group in comparison.groupby("scenario", sort=False):
        g = group.set_index("kpi").reindex([k for k in kpis if k in set(group["kpi"])])
        p_holm = holm(list(g["p_value"].astype(float)))
        order = sorted((p, k) for k, p in zip(g.index, g["p_value"].astype(float), strict=True) if not math.isnan(p))
        m = len(order)
        level_of = {k: alpha / (m - rank) for rank, (_, k) in enumerate(order)}
        gamed = gamed_revenue(group)
        for (kpi, row), ph in zip(g.iterrows(), p_holm, strict=True):
            d, sd, n = float(row["difference"]), float(row["sd"]), int(row["n"])
            level = level_of.get(kpi, alpha)
            if n > 1 and not math.isnan(sd):
                half = float(stats.t.ppf(1 - level / 2, n - 1)) * sd / math.sqrt(n)
            else:
                half = math.nan
            lo, hi = d - half, d + half
            matters = KPI[kpi].smallest_that_matters(float(row["baseline_mean"])) if kpi in KPI else 0.0
            rejected = not math.isnan(ph) and ph < alpha
            verdict = _verdict(kpi, d, lo, hi, rejected, matters)
            gaming = gamed if kpi == "revenue" and gamed > 0 else math.nan
            if verdict == "better" and not math.isnan(gaming) and lo - gaming <= 0:
                verdict = GAMED
            rows.append({"scenario": scenario, "baseline": row["baseline"], "kpi": kpi, "difference": d,
                         "ci_low": lo, "ci_high": hi, "interval_level": 1 - level, "p_value": float(row["p_value"]),
                         "p_holm": ph, "smallest_that_matters": matters, "verdict": verdict, "gamed": gaming})
    return clip_differences(pd.DataFrame(rows))  # (after the verdicts: clipping never moves an interval across 0)


def replications_to_settle(sd: float, matters: float, level: float = 1 - ALPHA) -> int | None:
    """The fewest replications after which a paired difference whose replication sd is ``sd`` has a t-interval (at
    ``level``) of at most +-half the smallest difference that matters, so that its verdict is then clear or
    negligible, whatever the difference; None without a positive sd and threshold.

    >>> replications_to_settle(sd=0.05, matters=0.02)  # about (2 * 1.98 * 0.05 / 0.02) ** 2
    99
    """
    if not (sd > 0 and matters > 0):
        return None
    quantile = 0.5 + level / 2
    n = max(2, math.ceil((2 * float(stats.norm.ppf(quantile)) * sd / matters) ** 2))  # the normal answer, a floor
    while float(stats.t.ppf(quantile, n - 1)) * sd / math.sqrt(n) > matters / 2:
        n += 1
    return n


def sentence(row: pd.Series, currency: str = "") -> str:
    """One claim in plain words, e.g. 'recovery: better, +2.7 points (interval +1.1 points to +4.3 points)'."""
    kpi = row["kpi"]
    name = KPI[kpi].label.lower() if kpi in KPI else kpi
    d = format_difference(kpi, row["difference"], currency)
    interval = (f"{format_difference(kpi, row['ci_low'], currency)} to {format_difference(kpi, row['ci_high'], currency)}"
                if not math.isnan(row["ci_low"]) else "no interval")
    verdict = row["verdict"]
    if verdict == "no clear difference":
        return f"no clear difference in {name} ({d}; interval {interval})"
    if verdict == "negligible":
        small = format_difference(kpi, row["smallest_that_matters"], currency).lstrip("+")
        return f"a negligible difference in {name} ({d}; the whole interval within the {small} that matters)"
    if verdict == "not estimable":
        return f"{name}: not estimable"
    if verdict == GAMED:
        return (f"{name}: up {d} (interval {interval}), but about {format_difference(kpi, row['gamed'], currency).lstrip('+')}"
                " of it is sessions kept past clients' planned endings (gaming): net of them no clear gain, and a cost "
                "to clients")
    return f"{name}: {verdict}, {d} (interval {interval})"
