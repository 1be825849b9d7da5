"""A recorded, rerunnable calibration search over candidate parameter values.

The search spec (YAML) names the setting, the scenario file, replications, seed, and for each
parameter path a list of candidate values. A coordinate search (the default) tries every candidate of one
parameter at a time in each pass, keeping the best; ``method: grid`` evaluates every combination (for
parameters that only help together: a coordinate search rejects each alone). Every evaluation is logged
(parameters, loss, statistics).

Loss: for each target, the distance outside its band in band widths, squared, plus a pull toward
the band's centre (``centre_weight`` in the spec: 0.05 by default, so ties favour robust interiors;
1 for a search that aims at the middle of each band, where a band edge costs a quarter of a band width
outside). ``targets`` in the spec limits the loss to the targets a search's parameters move (every target is
still logged, except one read from a probe the search does not target: its probe is not run, its value left empty).

>>> round(band_loss(0.5, (0.4, 0.6)), 4), round(band_loss(0.7, (0.4, 0.6)), 4)
(0.0, 0.3)
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from sim.runs.calibration import PROBES, calibration_runs, evaluate, load_targets
from sim.runs.safe_output import OutputError, prepare, write_folder
from sim.runs.sizing import check_size
from sim.scenario import Scenario, ScenarioError, apply_overrides, load_scenario
from sim.scenario.experiments import SearchSpec, load_search_spec

CENTRE_WEIGHT = 0.05
LOG_FILES = ("log.csv", "metadata.json")


def band_loss(value: float, band: tuple[float, float], centre_weight: float = CENTRE_WEIGHT) -> float:
    lo, hi = band
    width = max(hi - lo, 1e-9)
    if math.isnan(value):
        return 100.0
    outside = max(lo - value, 0.0, value - hi) / width
    centre = (value - (lo + hi) / 2) / width
    return outside**2 + centre_weight * centre**2


def loss(table: pd.DataFrame, centre_weight: float = CENTRE_WEIGHT) -> float:
    bands = zip(table["mean"], table["band_low"], table["band_high"], strict=True)
    return float(sum(band_loss(m, (lo, hi), centre_weight) for m, lo, hi in bands))


def checked_spec(spec_path: Path) -> tuple[SearchSpec, Scenario, dict[str, Any]]:
    """The search spec, its scenario and the targets, every candidate value checked before the first run."""
    spec = load_search_spec(spec_path)
    base = load_scenario((spec_path.parent / spec.scenario).resolve())
    for path, values in spec.params.items():
        for value in values:
            apply_overrides(base, {path: value})
    targets = load_targets()
    if spec.setting not in targets:
        raise ScenarioError(f"search spec {spec_path}: setting: {spec.setting!r} has no targets; allowed: "
                            f"{', '.join(targets)}")
    unknown = [t for t in spec.targets if t not in targets[spec.setting]]
    if unknown:
        raise ScenarioError(f"search spec {spec_path}: targets: {unknown[0]!r} is not a target of {spec.setting}; "
                            f"allowed: {', '.join(targets[spec.setting])}")
    return spec, base, targets


Evaluate = Callable[[dict[str, Any]], float]


def _coordinate(spec: SearchSpec, evaluate_at: Evaluate) -> tuple[float, dict[str, Any]]:
    """From the start (or each parameter's first candidate), each pass tries every candidate of one parameter at a
    time, keeping a trial when it lowers the loss: (best loss, best parameters)."""
    current: dict[str, Any] = {path: spec.start.get(path, values[0]) for path, values in spec.params.items()}
    best = evaluate_at(current)
    for _ in range(spec.passes):
        for path, values in spec.params.items():
            for value in values:
                trial = {**current, path: value}
                score = evaluate_at(trial)
                if score < best:
                    best, current = score, trial
    return best, current


def _grid(spec: SearchSpec, evaluate_at: Evaluate) -> tuple[float, dict[str, Any]]:
    """Every combination of the candidates, in order: (best loss, best parameters; the first of equals)."""
    best, current = math.inf, {}
    for combination in itertools.product(*spec.params.values()):
        trial = dict(zip(spec.params, combination, strict=True))
        score = evaluate_at(trial)
        if score < best:
            best, current = score, trial
    return best, current


def search(spec_path: Path, out: Path, jobs: int = 1, force: bool = False) -> dict[str, Any]:
    """Run the search of ``spec_path``; log every evaluation to ``out/log.csv`` as it is made.

    The log goes through the safe writer (a folder of the tool's own, rewritten whole after each evaluation, with
    ``metadata.json`` saying whether the search finished). An earlier search's log in ``out`` is replaced only
    with ``force``; Ctrl-C keeps the evaluations made so far and says so (exit 130)."""
    spec, base, targets = checked_spec(spec_path)
    evaluations = (math.prod(len(values) for values in spec.params.values()) if spec.method == "grid"
                   else 1 + spec.passes * sum(len(values) for values in spec.params.values()))
    probed = {target: o for (setting, target), o in PROBES.items()  # the probes of the targets searched
              if setting == spec.setting and (not spec.targets or target in spec.targets)}
    unprobed = [target for (setting, target) in PROBES if setting == spec.setting and target not in probed]
    check_size([(sc, spec.reps * evaluations) for sc in (base, *(apply_overrides(base, o) for o in probed.values()))],
               force, f"the search {spec_path}")
    prepare(out, force, writes=LOG_FILES)
    if (out / "log.csv").exists() and not force:
        raise OutputError(f"--out {out}: holds the log of an earlier search; pass --force to replace it, or choose "
                          "another folder with --out")
    cache: dict[str, float] = {}
    rows: list[dict[str, Any]] = []

    def save(finished: bool, best: dict[str, Any] | None = None) -> None:
        meta = {"spec": str(spec_path), "setting": spec.setting, "reps": spec.reps, "seed": spec.seed,
                "centre_weight": spec.centre_weight,
                "evaluations": len(rows), "finished": finished, "best": best}

        def fill(tmp: Path) -> None:
            pd.DataFrame(rows).to_csv(tmp / "log.csv", index=False)
            (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")

        write_folder(out, fill, force=True)  # our own folder by now (checked above)

    def evaluate_at(params: dict[str, Any]) -> float:
        key = json.dumps(params, sort_keys=True)
        if key in cache:
            return cache[key]
        sc = apply_overrides(base, params)
        runs = calibration_runs(sc, spec.reps, seed=spec.seed, jobs=jobs, progress=False)
        probes = {target: calibration_runs(apply_overrides(sc, overrides), spec.reps, seed=spec.seed, jobs=jobs,
                                           progress=False) for target, overrides in probed.items()}
        table = evaluate(spec.setting, runs, targets, probes)
        table.loc[table["target"].isin(unprobed), ["mean", "inside"]] = [math.nan, False]  # its probe was not run
        value = loss(table[table["target"].isin(spec.targets)] if spec.targets else table, spec.centre_weight)
        cache[key] = value
        judged = len(table) - len(unprobed)
        row = {"evaluation": len(rows), **params, "loss": value,
               "inside": int(table["inside"].sum()), "targets": judged,
               **{f"stat:{t}": m for t, m in zip(table["target"], table["mean"], strict=True)}}
        rows.append(row)
        save(finished=False)
        print(f"[{len(rows):3d}] loss {value:8.4f} inside {row['inside']}/{judged}  {params}", flush=True)
        return value

    try:
        best, current = (_grid if spec.method == "grid" else _coordinate)(spec, evaluate_at)
    except KeyboardInterrupt:
        where = f"logged in {out}/log.csv (metadata.json: finished false)" if rows else "nothing was written"
        print(f"\ninterrupted after {len(rows)} evaluations: {where}", file=sys.stderr)
        raise SystemExit(130) from None
    save(finished=True, best={**current, "loss": best})
    print(f"best loss {best:.4f}: {current}; log in {out}/log.csv")
    return {"best": current, "loss": best}
