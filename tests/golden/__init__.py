"""The back-test: a golden table of short seeded runs, compared exactly.

Every change of model results must be deliberate. When one is, regenerate with

    python -m tests.golden

and say why in the commit message (the test prints which case and which table moved).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from sim.metrics import replication_kpis
from sim.model import PlatformModel
from sim.scenario import Scenario, apply_overrides, load_scenario

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parent.parent / "scenarios"
GOLDEN = HERE / "golden.json"
SHRINK = {"therapists.count": 20, "demand.arrivals_per_week": 88.0, "horizon.warmup_weeks": 8,
          "horizon.measured_weeks": 26}

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


def _digest(frame: Any) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16]


def fingerprint(name: str, seed: int = 7) -> dict[str, Any]:
    """KPIs (rounded to 12 significant digits) and a hash of each table of one seeded replication."""
    sc = case_scenario(name)
    tables = PlatformModel(sc, 0, seed).run()
    kpis = replication_kpis(sc, tables.clients, tables.sessions, tables.therapists, tables.weekly)
    return {
        "kpis": {k: (None if isinstance(v, float) and math.isnan(v) else float(f"{v:.12g}")) for k, v in kpis.items()},
        "tables": {t: _digest(getattr(tables, t)) for t in ("clients", "sessions", "therapists", "weekly")},
    }


def regenerate() -> None:
    GOLDEN.write_text(json.dumps({name: fingerprint(name) for name in CASES}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")


