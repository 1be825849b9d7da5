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

from sim.analysis.stats import paired_differences, t_interval
from sim.analysis.verdicts import CLEAR, claims
from sim.base.kpis import HEADLINE, KPI, format_difference
from sim.runs.runner import run_scenarios
from sim.scenario import Scenario, ScenarioError, apply_overrides, load_scenario, parameter_table
from sim.scenario.experiments import SweepExperiment, load_sweep

SENSITIVITY_KPIS = list(HEADLINE)  # the declared headline measures of the KPI registry


def sweep(base: Scenario, points: Sequence[dict[str, Any]], reps: int = 3, seed: int | None = None, jobs: int = 1,
          progress: bool = True, on_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """KPIs per (point, replication): one row each, with the point's overrides as columns."""
    scenarios = []
    for i, overrides in enumerate(points):
        sc = apply_overrides(base, overrides)
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
    at_base = table[table["point"] == 0]
    noise = {kpi: _half_width(at_base[kpi].to_numpy(float)) for kpi in kpis}
    rows = []
    for i, path in enumerate(params):
        lo, hi = register_range(path)
        for kpi in kpis:
            rows.append({"parameter": path, "kpi": kpi, "low_value": lo, "high_value": hi,
                         "at_low": means.loc[1 + 2 * i, kpi], "at_high": means.loc[2 + 2 * i, kpi],
                         "base": means.loc[0, kpi], "base_half_width": noise[kpi]})
    return pd.DataFrame(rows)


def one_way_contrast(policy: Scenario, reference: Scenario, params: Sequence[str], reps: int = 3,
                     seed: int | None = None, jobs: int = 1, kpis: Sequence[str] = SENSITIVITY_KPIS,
                     progress: bool = True, on_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """What a policy's answer depends on: each parameter at the low and the high end of its register range (the
    others at their defaults), set alike under ``policy`` and ``reference``, which see the same clients.

    Returns one row per (parameter, end, kpi): the paired difference policy - reference with its Holm interval and
    verdict (:func:`sim.analysis.verdicts.claims`, one family per point), ``end`` being "default", "low" or "high", and
    ``answer_changes`` where the answer is not the one at the defaults (:func:`answer_changes`).
    """
    points: list[tuple[str, str, Any]] = [("", "default", None)]
    for path in params:
        lo, hi = register_range(path)
        points += [(path, "low", lo), (path, "high", hi)]
    scenarios = []
    for i, (path, _, value) in enumerate(points):
        overrides = {path: value} if path else {}
        scenarios += [apply_overrides(policy, overrides).model_copy(update={"name": f"policy_{i}"}),
                      apply_overrides(reference, overrides).model_copy(update={"name": f"reference_{i}"})]
    seed = reference.seed if seed is None else seed  # one seed for both: the same clients (common random numbers)
    result = run_scenarios(scenarios, reps=reps, seed=seed, jobs=jobs, keep=(), progress=progress,
                           on_progress=on_progress, groups=False)
    by_point = result.replications["scenario"].str.split("_").str[-1].astype(int)
    frames = []
    for i, (path, end, value) in enumerate(points):
        pair = result.replications[by_point == i]
        verdicts = claims(paired_differences(pair, list(kpis), f"reference_{i}"), kpis)
        frames.append(verdicts.drop(columns=["scenario", "baseline"]).assign(parameter=path or "(defaults)", end=end,
                                                                             value=value))
    table = with_answer_changes(pd.concat(frames, ignore_index=True))
    first = ["parameter", "end", "value", "kpi", "difference", "ci_low", "ci_high", "verdict", "answer_changes"]
    return table[first + [c for c in table.columns if c not in first]]


def answer_changes(at_default: str, elsewhere: str) -> bool:
    """Whether a verdict away from the defaults is a different answer: a clear one lost or reversed, or a clear one
    where the defaults had none. 'negligible' against 'no clear difference' is not (neither is an answer either way).

    >>> answer_changes("better", "no clear difference"), answer_changes("negligible", "worse")
    (True, True)
    >>> answer_changes("negligible", "no clear difference"), answer_changes("worse", "worse")
    (False, False)
    """
    return elsewhere != at_default and (at_default in CLEAR or elsewhere in CLEAR)


def with_answer_changes(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (parameter, end, kpi, verdict, ...) with ``answer_changes``: each row's verdict against the one at
    the defaults for its KPI (:func:`answer_changes`)."""
    at_default = table["kpi"].map(table[table["end"] == "default"].set_index("kpi")["verdict"])
    changes = [answer_changes(d, v) for d, v in zip(at_default, table["verdict"], strict=True)]
    return table.assign(answer_changes=changes)


def reference_scenario(spec: SweepExperiment, path: Path) -> Scenario | None:
    """The experiment's ``compare_to`` scenario with its ``set`` overrides, or None."""
    return None if spec.compare_to is None else load_scenario(path.parent / spec.compare_to, spec.set)


def contrast_findings(table: pd.DataFrame, currency: str = "") -> list[str]:
    """Each headline answer in words, with the ends of the parameters' ranges where it changes
    (:func:`answer_changes`), e.g. 'therapists burned out: better at the defaults (-14.7 points); no clear difference
    with exhaustion.light_day_recovery at 0.01 (+1.7 points)'. Answers that never change say so."""
    lines = []
    for kpi, rows in table.groupby("kpi", sort=False):
        base = rows[rows["end"] == "default"].iloc[0]
        name = KPI[kpi].label.lower() if kpi in KPI else kpi
        said = f"{name}: {base['verdict']} at the defaults ({format_difference(kpi, base['difference'], currency)})"
        changed = rows[rows["answer_changes"]]
        if changed.empty:
            lines.append(f"{said}; " + ("holds at both ends of every parameter's range" if base["verdict"] in CLEAR
                                        else "no clear effect at either end of any parameter's range"))
            continue
        ends = [f"{r['verdict']} with {r['parameter']} at {r['value']:g} "
                f"({format_difference(kpi, r['difference'], currency)})" for _, r in changed.iterrows()]
        lines.append(f"{said}; " + "; ".join(ends))
    return lines


def _half_width(values: Any) -> float:
    """Half the 95% interval of a mean: the replication noise of one point."""
    mean, _, _, high, _ = t_interval(values)
    return high - mean


def two_way(base: Scenario, x: str, x_values: Sequence[Any], y: str, y_values: Sequence[Any], reps: int = 3,
            seed: int | None = None, jobs: int = 1, kpis: Sequence[str] = SENSITIVITY_KPIS, progress: bool = True,
            on_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """KPI means over a grid of two parameters (one row per grid cell)."""
    points = [{x: a, y: b} for a, b in itertools.product(x_values, y_values)]
    table = sweep(base, points, reps, seed, jobs, progress, on_progress)
    return table.groupby([x, y], sort=False)[list(kpis)].mean().reset_index()


def check_parameters(paths: Sequence[str]) -> None:
    """Raise ScenarioError unless every dotted path names a scenario field."""
    known = {row["path"] for row in parameter_table()}
    unknown = [p for p in paths if p not in known]
    if unknown:
        raise ScenarioError(f"unknown parameter {unknown[0]!r}; see docs/assumptions.md for the parameter paths")


def prepare_experiment(path: Path) -> tuple[SweepExperiment, Scenario]:
    """Read and validate an experiment file and its scenario (and reference scenario), before anything runs."""
    spec = load_sweep(path)
    base = load_scenario(path.parent / spec.scenario, spec.set)
    reference_scenario(spec, path)  # (a missing or bad reference fails here, before anything runs)
    if spec.grid is not None:
        check_parameters(list(spec.grid))
        for key, values in spec.grid.items():  # validate every value now, not after hours of runs
            for value in values:
                apply_overrides(base, {key: value})
    elif spec.one_way is not None:
        check_parameters(spec.one_way)
        for param in spec.one_way:
            register_range(param)
    elif spec.two_way is not None:
        check_parameters([spec.two_way.x.path, spec.two_way.y.path])
        for axis in (spec.two_way.x, spec.two_way.y):
            for value in axis.values:
                apply_overrides(base, {axis.path: value})
    return spec, base


def planned_runs(spec: SweepExperiment, base: Scenario, path: Path) -> list[tuple[Scenario, int]]:
    """Every scenario an experiment will run, with its replications (for the size guard, before anything runs)."""
    if spec.grid is not None:
        keys = list(spec.grid)
        points = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(spec.grid[k] for k in keys))]
    elif spec.one_way is not None:
        points = [{}] + [{param: end} for param in spec.one_way for end in register_range(param)]
    else:
        assert spec.two_way is not None
        x, y = spec.two_way.x, spec.two_way.y
        points = [{x.path: a, y.path: b} for a, b in itertools.product(x.values, y.values)]
    reference = reference_scenario(spec, path)
    bases = [base] if reference is None else [base, reference]
    return [(apply_overrides(sc, point), spec.reps) for point in points for sc in bases]


def run_experiment(path: Path, jobs: int = 1, progress: bool = True) -> tuple[str, pd.DataFrame]:
    """Run an experiment file: ``scenario``, ``reps``, and one of ``grid`` (path: values), ``one_way``
    (list of paths; with ``compare_to``, of the difference from that scenario) or ``two_way``
    ({x: {path: values}, y: {path: values}}); see :mod:`sim.scenario.experiments`."""
    spec, base = prepare_experiment(path)
    reps, seed = spec.reps, spec.seed
    if spec.grid is not None:
        keys = list(spec.grid)
        points = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(spec.grid[k] for k in keys))]
        return "grid", sweep(base, points, reps, seed, jobs, progress)
    reference = reference_scenario(spec, path)
    if spec.one_way is not None and reference is not None:
        return spec.kind, one_way_contrast(base, reference, spec.one_way, reps, seed, jobs, progress=progress)
    if spec.one_way is not None:
        return "one_way", one_way(base, spec.one_way, reps, seed, jobs, progress=progress)
    assert spec.two_way is not None
    x, y = spec.two_way.x, spec.two_way.y
    return "two_way", two_way(base, x.path, x.values, y.path, y.values, reps, seed, jobs, progress=progress)
