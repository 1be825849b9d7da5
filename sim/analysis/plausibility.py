"""Plausible worlds: which parameter draws reproduce the published figures, and what the answers are in them.

History matching (Craig et al. 1997; Vernon, Goldstein & Bower 2010; Andrianakis et al. 2015): a world is
ruled out when, for some calibration target, its simulated status quo lies too far from the published
figure, measured against every source of uncertainty at once. Here a target's band ``[lo, hi]`` is read as
the observation's 95% range (centre ``c``, sd ``(hi - lo) / 4``), and a world's value is the mean over its
replications, whose noise (sd ``s``) is measured from repeated worlds. The implausibility is

    I = |m - c| / sqrt(((hi - lo) / 4)^2 + s^2)

and a world is plausible when I <= CUTOFF (3, Pukelsheim's three-sigma rule) for every target it can be
judged on (a statistic that cannot be computed in a world, such as a correlation with no variance, does not
rule it out). A value at a band's edge has I = 2; half a band beyond it, I = 4.

>>> round(implausibility(0.40, (0.30, 0.50), 0.0), 6), round(implausibility(0.70, (0.30, 0.50), 0.0), 6)
(0.0, 6.0)
>>> round(implausibility(0.55, (0.30, 0.50), 0.05), 3)
2.121

Verdicts over worlds (:func:`verdict_shares`): in each world the policy is *clearly better* when its paired
difference from the reference is beyond both the smallest difference that matters (``sim/base/kpis.py``)
and twice the difference's replication noise, *clearly worse* likewise the other way, and *neither*
otherwise. The shares carry binomial standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.base.kpis import KPI

CUTOFF = 3.0
#: a world's difference must exceed this many replication-noise sds to count as clearly better or worse
NOISE_SDS = 2.0


def implausibility(mean: float, band: tuple[float, float], noise_sd: float) -> float:
    """Distance of a world's mean from the band's centre, in sds of the observation and the replication noise."""
    lo, hi = float(band[0]), float(band[1])
    if math.isnan(mean):
        return math.nan
    spread = math.hypot((hi - lo) / 4.0, noise_sd if not math.isnan(noise_sd) else 0.0)
    distance = abs(mean - (lo + hi) / 2.0)
    if spread == 0.0:
        return 0.0 if distance == 0.0 else math.inf
    return distance / spread


def noise_from_repeats(first: pd.DataFrame, second: pd.DataFrame) -> pd.Series:
    """The replication noise (sd) of a world's mean, per column, from worlds run twice with different random
    numbers: sd(first - second) / sqrt(2). ``first`` and ``second`` are indexed by world.

    >>> a = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}); b = pd.DataFrame({"x": [1.2, 1.8, 3.2, 3.8]})
    >>> round(float(noise_from_repeats(a, b)["x"]), 4)
    0.1633
    """
    common = first.index.intersection(second.index)
    if len(common) < 2:
        return pd.Series(np.nan, index=first.columns)
    gap = first.loc[common] - second.loc[common]
    return gap.std(ddof=1) / math.sqrt(2.0)


def judge_worlds(means: pd.DataFrame, targets: Mapping[str, tuple[float, float]], noise: Mapping[str, float],
                 cutoff: float = CUTOFF) -> pd.DataFrame:
    """One row per world (the index of ``means``): the implausibility for each target (``I:<target>``), the
    largest, the targets that rule the world out, and whether it is plausible."""
    table = pd.DataFrame(index=means.index)
    for name, band in targets.items():
        values = means[name] if name in means else pd.Series(np.nan, index=means.index)
        table[f"I:{name}"] = [implausibility(float(v), band, float(noise.get(name, math.nan))) for v in values]
    scores = table[[f"I:{n}" for n in targets]]
    table["max_implausibility"] = scores.max(axis=1, skipna=True)
    table["ruled_out_by"] = [", ".join(n for n in targets if row[f"I:{n}"] > cutoff) for _, row in scores.iterrows()]
    table["plausible"] = table["ruled_out_by"] == ""
    return table


def target_summary(judged: pd.DataFrame, targets: Mapping[str, tuple[float, float]], means: pd.DataFrame,
                   cutoff: float = CUTOFF) -> pd.DataFrame:
    """Per target: its band, how many worlds it rules out, how many it alone rules out, and the spread of the
    simulated values over all worlds."""
    rows = []
    for name, (lo, hi) in targets.items():
        out = judged[f"I:{name}"] > cutoff
        alone = out & (judged["ruled_out_by"] == name)
        values = means[name] if name in means else pd.Series(dtype=float)
        rows.append({"target": name, "band_low": lo, "band_high": hi, "worlds": len(judged),
                     "ruled_out": int(out.sum()), "ruled_out_share": float(out.mean()) if len(judged) else math.nan,
                     "ruled_out_alone": int(alone.sum()),
                     "judged": int(judged[f"I:{name}"].notna().sum()),
                     "p5": float(values.quantile(0.05)) if len(values) else math.nan,
                     "median": float(values.median()) if len(values) else math.nan,
                     "p95": float(values.quantile(0.95)) if len(values) else math.nan})
    return pd.DataFrame(rows).sort_values("ruled_out", ascending=False, kind="stable", ignore_index=True)


def posterior_ranges(X: np.ndarray, names: Sequence[str], bounds: Sequence[tuple[float, float]],
                     plausible: np.ndarray) -> pd.DataFrame:
    """Each parameter's prior range beside the 5-95% range of its values in the plausible worlds, and how much of
    the prior range that is (a small share: the data pin the parameter down)."""
    keep = np.asarray(plausible, bool)
    rows = []
    for j, (name, (lo, hi)) in enumerate(zip(names, bounds, strict=True)):
        x = X[keep, j]
        p5, p50, p95 = (float(np.percentile(x, q)) for q in (5, 50, 95)) if len(x) else (math.nan,) * 3
        rows.append({"parameter": name, "prior_low": lo, "prior_high": hi, "plausible_p5": p5,
                     "plausible_median": p50, "plausible_p95": p95,
                     "share_of_prior": (p95 - p5) / (hi - lo) if hi > lo and len(x) else math.nan})
    return pd.DataFrame(rows).sort_values("share_of_prior", kind="stable", ignore_index=True)


def verdict_shares(diffs: Sequence[float] | pd.Series, kpi: str, noise_sd: float = 0.0,
                   worlds_name: str = "plausible worlds") -> dict[str, Any]:
    """Over worlds: shares clearly better / clearly worse / neither (with standard errors), the median difference
    and its 5-95% range, and the verdict in words.

    >>> v = verdict_shares([0.05] * 84 + [-0.05] * 6 + [0.0] * 10, "recovery_rate", noise_sd=0.01)
    >>> v["share_better"], round(v["se_better"], 3), v["words"]
    (0.84, 0.037, 'better in 84% of plausible worlds (±4), worse in 6% (±2)')
    """
    d = np.asarray(pd.Series(diffs, dtype=float).dropna(), float)
    n = len(d)
    info = KPI.get(kpi)
    if not n:
        return {"worlds": 0, "share_better": math.nan, "se_better": math.nan, "share_worse": math.nan,
                "se_worse": math.nan, "share_neither": math.nan, "se_neither": math.nan, "median": math.nan,
                "p5": math.nan, "p95": math.nan, "threshold": math.nan, "words": "no worlds to judge"}
    matters = info.smallest_that_matters() if info else 0.0
    threshold = max(matters, NOISE_SDS * (noise_sd if not math.isnan(noise_sd) else 0.0))
    direction = info.direction if info and info.direction else 1
    signed = d * direction
    shares = {"better": float(np.mean(signed > threshold)), "worse": float(np.mean(signed < -threshold))}
    shares["neither"] = 1.0 - shares["better"] - shares["worse"]
    se = {k: math.sqrt(p * (1 - p) / n) for k, p in shares.items()}
    if info is not None and not info.direction:
        words = (f"changed in {shares['better'] + shares['worse']:.0%} of {worlds_name} "
                 f"(±{100 * math.sqrt((1 - shares['neither']) * shares['neither'] / n):.0f})")
    elif shares["neither"] == 1.0:
        words = f"neither clearly better nor clearly worse in any of {n} {worlds_name}"
    else:
        words = (f"better in {shares['better']:.0%} of {worlds_name} (±{100 * se['better']:.0f}), "
                 f"worse in {shares['worse']:.0%} (±{100 * se['worse']:.0f})")
    return {"worlds": n, "share_better": shares["better"], "se_better": se["better"], "share_worse": shares["worse"],
            "se_worse": se["worse"], "share_neither": shares["neither"], "se_neither": se["neither"],
            "median": float(np.median(d)), "p5": float(np.percentile(d, 5)), "p95": float(np.percentile(d, 95)),
            "threshold": threshold, "words": words}
