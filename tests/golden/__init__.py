"""The back-test: short seeded runs of several scenarios, kept as the tables themselves.

Each case's recorded tables (clients, sessions, therapists, weekly) and its KPIs are stored as
Parquet files under ``tests/golden/<case>/``. The test compares them column by column:
integers, booleans and categories exactly, floating-point columns to a relative 1e-9 (float32
columns to 1e-6, their own precision), so last-bit differences of libm or numpy between machines
pass and a real change of results fails, naming the case, table, column and first differing row.

Every change of model results must be deliberate. When one is, regenerate with

    python -m tests.golden

and say why in the commit message.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.metrics import replication_kpis
from sim.engine.model import PlatformModel
from sim.scenario import Scenario, apply_overrides, load_scenario

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parent.parent / "scenarios"
TABLES = ("clients", "sessions", "therapists", "weekly")
SEED = 7
SHRINK = {"therapists.count": 20, "demand.arrivals_per_week": 88.0, "horizon.warmup_weeks": 8,
          "horizon.measured_weeks": 26}
#: relative tolerance by floating-point width: machines differ in the last bits of libm and numpy
RTOL = {8: 1e-9, 4: 1e-6}

#: case name -> (scenario file, overrides on top of SHRINK)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "baseline": ("baseline", {}),
    "fit_individual": ("fit_individual", {}),
    "league_table": ("league_table", {"performance.ranking.review_weeks": 2}),
    "rematch": ("baseline", {"rematch.enabled": True}),
    "hiring_to_demand": ("baseline", {"hiring.policy": "to_demand", "demand.arrivals_per_week": 120.0,
                                      "hiring.waitlist_per_hire": 10.0}),
    "talking_therapies": ("talking_therapies_like", {"demand.arrivals_per_week": 90.0}),
    "productivity_push": ("productivity_push", {}),
}


def case_scenario(name: str) -> Scenario:
    file, extra = CASES[name]
    return apply_overrides(load_scenario(SCENARIOS / f"{file}.yaml"), {**SHRINK, **extra})


def case_tables(name: str) -> dict[str, pd.DataFrame]:
    """The four recorded tables of one seeded replication of a case, and its KPIs as a one-column table."""
    sc = case_scenario(name)
    tables = PlatformModel(sc, 0, SEED).run()
    kpis = replication_kpis(sc, tables.clients, tables.sessions, tables.therapists, tables.weekly)
    out = {t: getattr(tables, t).reset_index(drop=True) for t in TABLES}
    out["kpis"] = pd.DataFrame({"kpi": list(kpis), "value": [float(v) for v in kpis.values()]})
    return out


def golden_path(case: str, table: str) -> Path:
    return HERE / case / f"{table}.parquet"


def read_golden(case: str, table: str) -> pd.DataFrame:
    return pd.read_parquet(golden_path(case, table))


def differences(expected: pd.DataFrame, actual: pd.DataFrame, where: str) -> list[str]:
    """What differs between two tables, in words: missing or extra columns, a different length, and for
    each differing column its first differing row with both values (empty when they agree)."""
    found = []
    if list(expected.columns) != list(actual.columns):
        found.append(f"{where}: columns (golden, now): {list(expected.columns)} vs {list(actual.columns)}")
    if len(expected) != len(actual):
        found.append(f"{where}: {len(expected)} rows in the golden table, {len(actual)} now")
    rows = min(len(expected), len(actual))
    key = expected.columns[0]
    for column in (c for c in expected.columns if c in actual.columns):
        message = _column_difference(expected[column].iloc[:rows], actual[column].iloc[:rows], expected[key])
        if message:
            found.append(f"{where}.{column}: {message}")
    return found


def _column_difference(expected: pd.Series, actual: pd.Series, key: pd.Series) -> str:
    """The first differing row of one column in words (named by the table's first column too), or ''
    (floats to RTOL, everything else exactly)."""
    if isinstance(expected.dtype, pd.CategoricalDtype) or isinstance(actual.dtype, pd.CategoricalDtype):
        e, a = expected.astype(object).to_numpy(), actual.astype(object).to_numpy()
        e_cats = list(getattr(expected.dtype, "categories", []))
        a_cats = list(getattr(actual.dtype, "categories", []))
        if e_cats != a_cats:
            return f"categories (golden, now): {e_cats} vs {a_cats}"
        same = (e == a) | (pd.isna(e) & pd.isna(a))
    elif expected.dtype.kind == "f" or actual.dtype.kind == "f":
        if expected.dtype != actual.dtype:
            return f"dtype (golden, now): {expected.dtype} vs {actual.dtype}"
        e, a = expected.to_numpy(dtype=np.float64), actual.to_numpy(dtype=np.float64)
        same = np.isclose(a, e, rtol=RTOL[expected.dtype.itemsize], atol=0.0, equal_nan=True)
    else:
        if expected.dtype != actual.dtype:
            return f"dtype (golden, now): {expected.dtype} vs {actual.dtype}"
        e, a = expected.to_numpy(), actual.to_numpy()
        same = e == a
    if bool(np.all(same)):
        return ""
    bad = np.flatnonzero(~np.asarray(same, dtype=bool))
    row = int(bad[0])
    return (f"{len(bad)} rows differ, first at row {row} ({key.name} {_plain(key.iloc[row])}): "
            f"golden {_plain(e[row])}, now {_plain(a[row])}")


def _plain(value: Any) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)


def regenerate(cases: list[str] | None = None) -> None:
    """Write the golden tables of the given cases (all by default), replacing the old ones."""
    for case in cases or list(CASES):
        folder = HERE / case
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        for table, frame in case_tables(case).items():
            frame.to_parquet(golden_path(case, table), compression="zstd", index=False)
        print(f"wrote {folder}")
