"""Sweeps: a grid of overrides times replications, run in parallel worker processes.

One-way sensitivity (tornado) uses each parameter's plausible range from the assumptions
register; a two-way map crosses two parameters. Every point reuses the same replication
numbers, hence the same clients (common random numbers), so differences between points are
paired.

>>> from sim.scenario import Scenario
>>> rows = sweep(Scenario(therapists={"count": 5}, demand={"arrivals_per_week": 20},
...                       horizon={"warmup_weeks": 1, "measured_weeks": 4}),
...              [{"capacity.policy": "team_quota"}, {"capacity.policy": "individual"}], reps=1, progress=False)
>>> list(rows["point"]), list(rows["capacity.policy"])
([0, 1], ['team_quota', 'individual'])
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.runner import run_scenarios
from sim.scenario import Scenario, ScenarioError, apply_overrides, load_scenario, parameter_table

SENSITIVITY_KPIS = ["return_after_first_rate", "recovery_rate", "wait_first_session_days_mean", "burnout_share",
                    "therapist_turnover_per_year", "margin"]


def sweep(base: Scenario, points: Sequence[dict[str, Any]], reps: int = 3, seed: int | None = None, jobs: int = 1,
          progress: bool = True, on_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """KPIs per (point, replication): one row each, with the point's overrides as columns."""
    scenarios = []
    for i, overrides in enumerate(points):
        sc = apply_overrides(base, [f"{k}={v}" for k, v in overrides.items()])
        scenarios.append(sc.model_copy(update={"name": f"point_{i}"}))
    result = run_scenarios(scenarios, reps=reps, seed=seed, jobs=jobs, keep=(), progress=progress,
                           on_progress=on_progress)
    reps_table = result.replications.copy()
    reps_table.insert(0, "point", reps_table["scenario"].str.removeprefix("point_").astype(int))
    for key in sorted({k for p in points for k in p}):
        reps_table.insert(1, key, [points[i].get(key) for i in reps_table["point"]])
    return reps_table.drop(columns="scenario")


def register_range(path: str) -> tuple[float, float]:
    row = next((r for r in parameter_table() if r["path"] == path), None)
    if row is None:
        raise ScenarioError(f"unknown parameter {path!r}")
    if not row["range"]:
        raise ScenarioError(f"{path} has no sensitivity range in the register")
    return tuple(row["range"])  # type: ignore[return-value]


def one_way(base: Scenario, params: Sequence[str], reps: int = 3, seed: int | None = None, jobs: int = 1,
            kpis: Sequence[str] = SENSITIVITY_KPIS, progress: bool = True,
            on_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Each parameter at the low and high end of its register range, others at base: KPI means.

    Returns rows (parameter, kpi, low_value, high_value, at_low, at_high, base) for a tornado chart.
    """
    points: list[dict[str, Any]] = [{}]
    for path in params:
        lo, hi = register_range(path)
        points += [{path: lo}, {path: hi}]
    table = sweep(base, points, reps, seed, jobs, progress, on_progress)
    means = table.groupby("point")[list(kpis)].mean()
    rows = []
    for i, path in enumerate(params):
        lo, hi = register_range(path)
        for kpi in kpis:
            rows.append({"parameter": path, "kpi": kpi, "low_value": lo, "high_value": hi,
                         "at_low": means.loc[1 + 2 * i, kpi], "at_high": means.loc[2 + 2 * i, kpi],
                         "base": means.loc[0, kpi]})
    return pd.DataFrame(rows)


def two_way(base: Scenario, x: str, x_values: Sequence[Any], y: str, y_values: Sequence[Any], reps: int = 3,
            seed: int | None = None, jobs: int = 1, kpis: Sequence[str] = SENSITIVITY_KPIS, progress: bool = True,
            on_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """KPI means over a grid of two parameters (one row per grid cell)."""
    points = [{x: a, y: b} for a, b in itertools.product(x_values, y_values)]
    table = sweep(base, points, reps, seed, jobs, progress, on_progress)
    return table.groupby([x, y], sort=False)[list(kpis)].mean().reset_index()


def run_experiment(path: Path, jobs: int = 1, progress: bool = True) -> tuple[str, pd.DataFrame]:
    """Run an experiment file: ``scenario``, ``reps``, and one of ``grid`` (path: values), ``one_way``
    (list of paths) or ``two_way`` ({x: {path: values}, y: {path: values}})."""
    spec = yaml.safe_load(path.read_text()) or {}
    if not isinstance(spec, dict) or "scenario" not in spec:
        raise ScenarioError(f"experiment {path}: needs a 'scenario' file and one of grid, one_way, two_way")
    base = load_scenario(path.parent / spec["scenario"], spec.get("set", []))
    reps, seed = int(spec.get("reps", 3)), spec.get("seed")
    if "grid" in spec:
        keys = list(spec["grid"])
        points = [dict(zip(keys, combo)) for combo in itertools.product(*(spec["grid"][k] for k in keys))]
        return "grid", sweep(base, points, reps, seed, jobs, progress)
    if "one_way" in spec:
        return "one_way", one_way(base, spec["one_way"], reps, seed, jobs, progress=progress)
    if "two_way" in spec:
        (xp, xv), (yp, yv) = next(iter(spec["two_way"]["x"].items())), next(iter(spec["two_way"]["y"].items()))
        return "two_way", two_way(base, xp, xv, yp, yv, reps, seed, jobs, progress=progress)
    raise ScenarioError(f"experiment {path}: expected one of 'grid', 'one_way', 'two_way'")
