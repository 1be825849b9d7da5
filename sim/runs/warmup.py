"""Choosing the warm-up: Welch's method with a stated criterion, MSER-5 (White, Cobb & Spratt 2000)
reported beside it, on pilot runs from an empty platform.

The pilots run the scenario with no warm-up for ``PILOT_WEEKS`` and record the weekly series
that must settle: clients in the system (waiting, matched, in treatment), slot utilisation and
mean therapist exhaustion.

- *Welch* (the rule used): average each series over ``PILOT_REPS`` pilots, smooth it with a
  centred moving average of a quarter, and take the first week after which it stays within
  5% of its second-half level. The warm-up is the longest over series and scenarios.
- *MSER-5* (reported): per pilot, batch means of 5 weeks, the truncation minimising the
  standard error of what is left (within the first half); the median over pilots. This
  platform has slow genuine fluctuations (turnover and exhaustion cycles of a year or more),
  which make MSER-5 cut late and erratically in single pilots; hence it is not the rule.

A series that never settles within the pilots (a platform whose demand keeps growing) is reported as such.

>>> import numpy as np
>>> series = np.r_[np.linspace(0, 10, 20), np.full(80, 10.0) + np.sin(np.arange(80))]
>>> mser5(series)
20
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.stats import t_interval
from sim.scenario import Scenario, apply_overrides

BATCH = 5
PILOT_WEEKS = 260
PILOT_REPS = 5
SERIES = ("in_system", "utilisation", "mean_exhaustion")
MIN_WEEKS = 4
WINDOW = 13  # a quarter
TOLERANCE = 0.05


def welch_settle(series: np.ndarray, window: int = WINDOW, tolerance: float = TOLERANCE) -> int | None:
    """Welch's method with a stated criterion: the first week after which the centred moving average
    (``window`` weeks) of the replication-averaged series stays within ``tolerance`` (a share) of the
    level of its second half; None if it never does (the platform does not settle).

    >>> series = np.r_[np.linspace(0, 10, 20), np.full(80, 10.0)]
    >>> welch_settle(series), welch_settle(np.linspace(0, 10, 100))
    (21, None)
    """
    values = np.asarray(series, dtype=float)
    n = len(values)
    level = float(np.nanmean(values[n // 2:]))
    half = window // 2
    moving = np.convolve(values, np.ones(window) / window, mode="valid")  # moving[i] centred on week i + half
    outside = np.abs(moving - level) > tolerance * max(abs(level), 1e-9)
    if outside[-1]:
        return None
    last_out = np.flatnonzero(outside)
    return int(last_out[-1] + 1 + half) if len(last_out) else half


def measured_drift(series: np.ndarray) -> float:
    """How far a (replication-averaged) series still drifts over the measured weeks: the change of its
    least-squares line from the first to the last week, as a share of its mean level. A settled series
    drifts by less than TOLERANCE; a waiting list that keeps growing drifts by much more.

    >>> round(measured_drift(np.full(52, 10.0) + np.sin(np.arange(52))), 3)
    -0.014
    >>> round(measured_drift(np.linspace(100, 130, 52)), 3)
    0.261
    """
    values = np.asarray(series, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return 0.0
    weeks = np.arange(len(values), dtype=float)
    slope = float(np.polyfit(weeks, values, 1)[0])
    level = float(values.mean())
    return slope * (len(values) - 1) / max(abs(level), 1e-9)


@dataclass(frozen=True)
class Drift:
    """A scenario's measured-period drift of clients in the system: the mean over replications and its 95%
    interval (NaN bounds from one replication)."""

    mean: float
    low: float
    high: float

    def clearly_beyond(self, tolerance: float = TOLERANCE) -> bool:
        """The whole interval lies beyond +-tolerance (with one replication: the mean does)."""
        if math.isnan(self.low):
            return abs(self.mean) > tolerance
        return self.low > tolerance or self.high < -tolerance


def measured_drifts(weekly: pd.DataFrame, warmup_weeks: int, measured_weeks: int) -> dict[str, Drift]:
    """Per scenario of a recorded weekly table: the drift (``measured_drift``) of clients in the system (waiting,
    matched, in treatment; the warm-up rule's series) over the measured weeks, one per replication, summarised."""
    measured = weekly[(weekly["week"] >= warmup_weeks) & (weekly["week"] < warmup_weeks + measured_weeks)]
    measured = measured.sort_values(["scenario", "replication", "week"], kind="stable")
    in_system = measured["waiting"] + measured["matched"] + measured["active_clients"]
    per_rep = in_system.groupby([measured["scenario"], measured["replication"]], sort=False).apply(
        lambda s: measured_drift(s.to_numpy(float)))
    out = {}
    for name, drifts in per_rep.groupby(level=0, sort=False):
        mean, _, low, high, _ = t_interval(drifts.to_numpy(float))
        out[str(name)] = Drift(mean, low, high)
    return out


def mser5(series: np.ndarray, batch: int = BATCH) -> int:
    """Truncation point (in observations, a multiple of ``batch``) that minimises the MSER statistic."""
    values = np.asarray(series, dtype=float)
    n = len(values) // batch
    if n < 4:
        return 0
    means = values[: n * batch].reshape(n, batch).mean(axis=1)
    best_d, best = 0, np.inf
    for d in range(n // 2 + 1):
        tail = means[d:]
        stat = float(((tail - tail.mean()) ** 2).sum() / len(tail) ** 2)
        if stat < best - 1e-15:
            best_d, best = d, stat
    return best_d * batch


@dataclass(frozen=True)
class WarmupChoice:
    weeks: int
    method: str
    by_series: dict[str, int]  # Welch settling week per scenario:series
    mser5: dict[str, int]  # MSER-5 median truncation per scenario:series (reported, not used)
    unsettled: list[str]  # series that never settled in the pilots

    def as_metadata(self) -> dict[str, object]:
        return {"warmup_weeks": self.weeks, "method": self.method, "welch_by_series": self.by_series,
                "mser5_by_series": self.mser5, "unsettled": self.unsettled}


def pilot_scenario(sc: Scenario) -> Scenario:
    """``sc`` as a pilot: from an empty platform over PILOT_WEEKS, no warm-up, no follow-up."""
    return apply_overrides(sc, {"horizon.warmup_weeks": 0, "horizon.measured_weeks": PILOT_WEEKS,
                                "horizon.follow_up_weeks": 0})


def pilot_series(sc: Scenario, replication: int, seed: int | None = None) -> dict[str, np.ndarray]:
    """Weekly series of a pilot run from an empty platform (no warm-up, no follow-up)."""
    from sim.engine.model import PlatformModel  # the pilot runs the model; the statistic above needs none of it

    weekly = PlatformModel(pilot_scenario(sc), replication, seed).run().weekly
    return {"in_system": (weekly["waiting"] + weekly["matched"] + weekly["active_clients"]).to_numpy(float),
            "utilisation": weekly["utilisation"].to_numpy(float),
            "mean_exhaustion": weekly["mean_exhaustion"].to_numpy(float)}


def choose_warmup(scenarios: list[Scenario], reps: int = PILOT_REPS, seed: int | None = None) -> WarmupChoice:
    """The warm-up for a set of scenarios compared together: the longest Welch settling point."""
    by_series: dict[str, int] = {}
    mser: dict[str, int] = {}
    unsettled: list[str] = []
    for sc in scenarios:
        runs = [pilot_series(sc, rep, seed) for rep in range(reps)]
        for name in SERIES:
            key = f"{sc.name}:{name}"
            pilots = [r[name][~np.isnan(r[name])] for r in runs]
            shortest = min(len(p) for p in pilots)
            settle = welch_settle(np.mean([p[:shortest] for p in pilots], axis=0))
            if settle is None:
                unsettled.append(key)
                settle = PILOT_WEEKS // 2
            by_series[key] = settle
            mser[key] = int(np.ceil(np.median([mser5(p) for p in pilots])))
    weeks = max([MIN_WEEKS, *by_series.values()])
    method = (f"Welch: moving average ({WINDOW} weeks) of {reps} pilot replications of {PILOT_WEEKS} weeks within "
              f"{TOLERANCE:.0%} of the second-half level; the longest over series")
    return WarmupChoice(weeks=weeks, method=method, by_series=by_series, mser5=mser, unsettled=unsettled)
