"""Shared helpers: small scenarios that run in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import Scenario, apply_overrides

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def small(*overrides: str) -> Scenario:
    """A 20-therapist platform over a short horizon, with ``key.path=value`` overrides."""
    base = Scenario(name="small", therapists={"count": 20}, demand={"arrivals_per_week": 88},
                    horizon={"warmup_weeks": 8, "measured_weeks": 26})
    return apply_overrides(base, list(overrides))


@pytest.fixture
def small_scenario() -> Scenario:
    return small()
