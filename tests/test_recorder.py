"""Client rows are written by column name: a missing, extra or misspelt column is an error, never a shifted value."""

from __future__ import annotations

import math

import pytest

from sim.engine.recorder import ClientRows

FIXED = {"arrival_day": 1.5, "domain": 2, "complexity": 3, "engagement": -0.2, "responsiveness": 0.04,
         "has_preference": True, "single_session_need": False}
OUTCOME = {"severity_intake": 15.0, "severity_last": 7.0, "anxiety_intake": 11.0, "anxiety_last": 5.0,
           "therapist_id": 4, "first_session_day": 9.4, "last_session_day": 60.4, "sessions_attended": 7,
           "sessions_missed": 1, "ending": 0, "ending_day": 60.4, "early_alliance": 5.2, "true_fit": 0.3,
           "rematched": False, "therapists_seen": 1, "first_matched_day": 3.0, "sessions_kept": 2}


def test_values_land_in_their_named_columns_whatever_the_order():
    rows = ClientRows()
    rows.add(**dict(reversed(list(FIXED.items()))))
    rows.write(0, **dict(sorted(OUTCOME.items())))
    frame = rows.frame()
    assert frame.loc[0, "arrival_day"] == 1.5 and frame.loc[0, "complexity"] == 3
    assert frame.loc[0, "severity_last"] == 7.0 and frame.loc[0, "therapist_id"] == 4
    assert frame.loc[0, "sessions_missed"] == 1 and bool(frame.loc[0, "has_preference"])
    assert math.isclose(frame.loc[0, "wait_first_session_days"], 9.4 - 1.5)
    assert frame.loc[0, "first_matched_day"] == 3.0 and frame.loc[0, "sessions_kept"] == 2


@pytest.mark.parametrize("broken", [
    {k: v for k, v in FIXED.items() if k != "domain"},  # missing
    {**{k: v for k, v in FIXED.items() if k != "domain"}, "domian": 2},  # misspelt
])
def test_a_missing_or_misspelt_column_is_an_error(broken):
    with pytest.raises(KeyError):
        ClientRows().add(**broken)


def test_an_extra_outcome_column_is_an_error():
    rows = ClientRows()
    rows.add(**FIXED)
    with pytest.raises(KeyError):
        rows.write(0, **OUTCOME, extra=1.0)
