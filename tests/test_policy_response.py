"""Policy-response checks: the effect measures by hand, the checks file validated, and (slow) each lever's
paired effect inside the band its source reports."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.base.errors import InputError
from sim.runs.calibration import band_position
from sim.runs.policy_response import format_responses, load_responses, odds_ratio, outcome_d, run_responses
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS


def arm(last: list[float], intake: float = 15.0) -> pd.DataFrame:
    n = len(last)
    return pd.DataFrame({"in_cohort": [True] * n, "sessions_attended": [4] * n, "ending": ["planned"] * n,
                         "severity_intake": [intake] * n, "severity_last": last})


def test_outcome_d_is_the_between_arm_standardised_difference_by_hand():
    base, lever = [10.0, 12.0, 14.0], [8.0, 10.0, 12.0]  # means 12 and 10, both sd 2
    assert outcome_d(arm(base), arm(lever)) == pytest.approx(1.0)
    assert outcome_d(arm(lever), arm(base)) == pytest.approx(-1.0)  # the lever worse: negative
    below_caseness = arm(lever, intake=5.0)  # not in the outcome group: nothing to compare
    assert math.isnan(outcome_d(arm(base), below_caseness))


def test_odds_ratio_by_hand():
    assert odds_ratio(0.5, 0.5) == 1.0
    assert odds_ratio(0.2, 1 / 3) == pytest.approx(2.0)  # odds 0.25 to 0.5
    assert math.isnan(odds_ratio(0.0, 0.2))


def test_band_position_says_where_in_the_band():
    assert band_position(0.30, 0.30, 0.50) == 0.0 and band_position(0.50, 0.30, 0.50) == 1.0
    assert band_position(0.25, 0.30, 0.50) < 0 and math.isnan(band_position(1.0, 1.0, 1.0))


def test_the_checks_file_is_validated(tmp_path: Path):
    assert set(load_responses()) >= {"feedback_outcomes", "feedback_dropout"}
    bad = tmp_path / "checks.yaml"
    bad.write_text("x:\n  lever: a\n  overrides: {}\n  measure: magic\n  what: w\n  published: 1\n  band: [0, 1]\n"
                   "  source: s\n")
    with pytest.raises(InputError, match=r"x\.measure: unknown 'magic'; allowed: outcome_d, dropout_odds_ratio"):
        load_responses(bad)
    bad.write_text("x:\n  lever: a\n  measure: outcome_d\n")
    with pytest.raises(InputError, match="x: missing band, overrides, published, source, what"):
        load_responses(bad)


@pytest.mark.slow
def test_each_lever_with_a_published_effect_lands_inside_its_band():
    """Feedback's d about 0.15 and dropout odds ratio about 0.8 (de Jong et al. 2021), matching better than
    earliest availability (Constantino et al. 2021): a regression in a lever's mechanism moves it out."""
    table = run_responses(load_scenario(SCENARIOS / "baseline.yaml"), reps=3, seed=2024, jobs=2, progress=False)
    assert table["inside"].all(), format_responses(table).to_string()
    d = table.set_index("check").loc["feedback_outcomes"]
    assert 0.10 < d["mean"] < 0.20 and np.isfinite(d["ci_low"])
