"""A recorded, rerunnable calibration search: coordinate search over candidate parameter values.

The search spec (YAML) names the setting, the scenario file, replications, seed, and for each
parameter path a list of candidate values. Each pass tries every candidate of one parameter
at a time, keeping the best; every evaluation is logged (parameters, loss, statistics).

Loss: for each target, the distance outside its band in band widths, squared, plus a small
pull toward the band's centre (so ties favour robust interiors).

>>> round(band_loss(0.5, (0.4, 0.6)), 4), round(band_loss(0.7, (0.4, 0.6)), 4)
(0.0, 0.3)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from sim.runs.calibration import calibration_runs, evaluate, load_targets, probe_runs
from sim.scenario import ScenarioError, apply_overrides, load_scenario
from sim.scenario.experiments import load_search_spec

CENTRE_WEIGHT = 0.05


def band_loss(value: float, band: tuple[float, float]) -> float:
    lo, hi = band
    width = max(hi - lo, 1e-9)
    if math.isnan(value):
        return 100.0
    outside = max(lo - value, 0.0, value - hi) / width
    centre = (value - (lo + hi) / 2) / width
    return outside**2 + CENTRE_WEIGHT * centre**2


def loss(table: pd.DataFrame) -> float:
    bands = zip(table["mean"], table["band_low"], table["band_high"], strict=True)
    return float(sum(band_loss(m, (lo, hi)) for m, lo, hi in bands))


def search(spec_path: Path, log_path: Path, jobs: int = 1) -> dict[str, Any]:
    """Run the coordinate search of ``spec_path``; append every evaluation to ``log_path`` (CSV)."""
    spec = load_search_spec(spec_path)
    scenario_file = (spec_path.parent / spec.scenario).resolve()
    base = load_scenario(scenario_file)
    for path, values in spec.params.items():  # every candidate valid before the first run
        for value in values:
            apply_overrides(base, {path: value})
    targets = load_targets()
    if spec.setting not in targets:
        raise ScenarioError(f"search spec {spec_path}: setting: {spec.setting!r} has no targets; allowed: "
                            f"{', '.join(targets)}")
    current: dict[str, Any] = {path: spec.start.get(path, values[0]) for path, values in spec.params.items()}
    cache: dict[str, float] = {}
    rows: list[dict[str, Any]] = []

    def evaluate_at(params: dict[str, Any]) -> float:
        key = json.dumps(params, sort_keys=True)
        if key in cache:
            return cache[key]
        sc = apply_overrides(base, params)
        runs = calibration_runs(sc, spec.reps, seed=spec.seed, jobs=jobs, progress=False)
        probes = probe_runs(spec.setting, sc, spec.reps, seed=spec.seed, jobs=jobs, progress=False)
        table = evaluate(spec.setting, runs, targets, probes)
        value = loss(table)
        cache[key] = value
        row = {"evaluation": len(rows), **params, "loss": value,
               "inside": int(table["inside"].sum()), "targets": len(table),
               **{f"stat:{t}": m for t, m in zip(table["target"], table["mean"], strict=True)}}
        rows.append(row)
        pd.DataFrame(rows).to_csv(log_path, index=False)
        print(f"[{len(rows):3d}] loss {value:8.4f} inside {row['inside']}/{len(table)}  {params}", flush=True)
        return value

    best = evaluate_at(current)
    for _ in range(spec.passes):
        for path, values in spec.params.items():
            for value in values:
                trial = {**current, path: value}
                score = evaluate_at(trial)
                if score < best:
                    best, current = score, trial
    print(f"best loss {best:.4f}: {current}")
    return {"best": current, "loss": best}
