"""Policy-response checks: the model's paired effect of each lever beside the effect its source reports.

The calibration targets pin the status quo's levels; this table pins what a lever changes
(``calibration/policy_responses.yaml``). Each check runs the status quo and the status quo with one lever
switched on, on the same clients (common random numbers), and reads one paired effect per replication.

>>> round(odds_ratio(0.25, 0.2), 3)  # dropout from 25% to 20%
0.75
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.metrics import measured_clients, outcome_group
from sim.analysis.stats import t_interval
from sim.base.errors import InputError
from sim.base.paths import PROJECT_DIR
from sim.base.yamlio import read_yaml
from sim.runs.runner import run_scenarios
from sim.scenario import Scenario, apply_overrides

RESPONSES_FILE = PROJECT_DIR / "calibration" / "policy_responses.yaml"
FIELDS = {"lever", "overrides", "measure", "what", "published", "band", "source"}


def outcome_d(base: pd.DataFrame, lever: pd.DataFrame) -> float:
    """Standardised difference in last observed depression score between two arms' outcome groups (the
    between-group d of trials: positive when the lever's clients end lower, i.e. better)."""
    a = outcome_group(measured_clients(base))["severity_last"].to_numpy(dtype=float)
    b = outcome_group(measured_clients(lever))["severity_last"].to_numpy(dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    pooled = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else math.nan


def odds_ratio(p_base: float, p_lever: float) -> float:
    """Odds of ``p_lever`` over odds of ``p_base``."""
    if not (0 < p_base < 1 and 0 < p_lever < 1):
        return math.nan
    return (p_lever / (1 - p_lever)) / (p_base / (1 - p_base))


def _dropout_odds_ratio(base_kpis: pd.Series, lever_kpis: pd.Series, base: pd.DataFrame, lever: pd.DataFrame) -> float:
    return odds_ratio(float(base_kpis["dropout_rate"]), float(lever_kpis["dropout_rate"]))


def _outcome_d(base_kpis: pd.Series, lever_kpis: pd.Series, base: pd.DataFrame, lever: pd.DataFrame) -> float:
    return outcome_d(base, lever)


#: measure name -> f(status quo KPIs, lever KPIs, status quo clients, lever clients) for one replication
MEASURES: dict[str, Callable[[pd.Series, pd.Series, pd.DataFrame, pd.DataFrame], float]] = {
    "outcome_d": _outcome_d,
    "dropout_odds_ratio": _dropout_odds_ratio,
}


def load_responses(path: Path = RESPONSES_FILE) -> dict[str, dict]:
    """The checks, validated: every field present, a known measure, a band of two numbers or nulls."""
    data = read_yaml(path, "policy-response checks")
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of checks")
    for name, spec in data.items():
        missing = FIELDS - set(spec or {})
        if missing:
            raise InputError(f"{path}: {name}: missing {', '.join(sorted(missing))}")
        if spec["measure"] not in MEASURES:
            raise InputError(f"{path}: {name}.measure: unknown {spec['measure']!r}; allowed: {', '.join(MEASURES)}")
        band = spec["band"]
        if not (isinstance(band, list) and len(band) == 2
                and all(b is None or isinstance(b, int | float) for b in band)):
            raise InputError(f"{path}: {name}.band: expected [low, high] (numbers or null)")
    return data


def _arm_key(spec: dict) -> str:
    return repr(sorted(spec["overrides"].items()))


def lever_arms(status_quo: Scenario, checks: dict[str, dict] | None = None) -> dict[str, Scenario]:
    """One scenario per distinct set of lever overrides (checks of the same lever share one run)."""
    arms: dict[str, Scenario] = {}
    for spec in (checks if checks is not None else load_responses()).values():
        if _arm_key(spec) not in arms:
            arms[_arm_key(spec)] = apply_overrides(status_quo, spec["overrides"]).model_copy(
                update={"name": f"lever_{len(arms)}"})
    return arms


def run_responses(status_quo: Scenario, reps: int, seed: int | None = None, jobs: int = 1, progress: bool = True,
                  path: Path = RESPONSES_FILE) -> pd.DataFrame:
    """One row per check: the model's mean paired effect with its 95% interval over replications, the published
    effect and band, and whether the model's mean lies inside the band."""
    checks = load_responses(path)
    arms = lever_arms(status_quo, checks)
    scenarios = [status_quo, *arms.values()]
    result = run_scenarios(scenarios, reps=reps, seed=seed, jobs=jobs, keep=("clients",), progress=progress,
                           groups=False)
    kpis = result.replications.set_index(["scenario", "replication"])
    clients = {key: df for key, df in result.tables["clients"].groupby(["scenario", "replication"])}
    rows = []
    for name, spec in checks.items():
        arm = arms[_arm_key(spec)].name
        fn = MEASURES[spec["measure"]]
        values = np.array([fn(kpis.loc[(status_quo.name, r)], kpis.loc[(arm, r)], clients[(status_quo.name, r)],
                              clients[(arm, r)]) for r in range(reps)], dtype=float)
        mean, _, lo, hi, n = t_interval(values[~np.isnan(values)])
        low, high = (math.nan if b is None else float(b) for b in spec["band"])
        inside = bool(n) and (math.isnan(low) or mean >= low) and (math.isnan(high) or mean <= high)
        published = spec["published"]
        rows.append({"check": name, "lever": spec["lever"], "measure": spec["measure"], "what": spec["what"],
                     "mean": mean, "ci_low": lo, "ci_high": hi, "n": n,
                     "published": math.nan if published is None else float(published),
                     "band_low": low, "band_high": high, "inside": inside, "source": spec["source"]})
    return pd.DataFrame(rows)


def format_responses(table: pd.DataFrame) -> pd.DataFrame:
    """The table as people read it: lever, measure, model with interval, published, band, inside."""
    def num(x: float) -> str:
        return "n/a" if math.isnan(x) else f"{x:.3g}"

    def band(lo: float, hi: float) -> str:
        if math.isnan(hi):
            return f"above {num(lo)}"
        return f"below {num(hi)}" if math.isnan(lo) else f"[{num(lo)}, {num(hi)}]"

    return pd.DataFrame({
        "check": table["check"], "measure": table["measure"],
        "model (95% CI)": [f"{num(m)} [{num(a)}, {num(b)}]" for m, a, b in
                           zip(table["mean"], table["ci_low"], table["ci_high"], strict=True)],
        "published": [num(x) if not math.isnan(x) else "direction only" for x in table["published"]],
        "band": [band(lo, hi) for lo, hi in zip(table["band_low"], table["band_high"], strict=True)],
        "inside": ["yes" if x else "NO" for x in table["inside"]],
    })
