"""The behaviour rules of sim.engine.rules, each on its own, with answers worked out by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine import rules
from sim.engine.rules import DropoutEffects, EndingChances, StrainParameters

CHANCES = EndingChances(single=0.6, satisfied=0.4, plateau=0.2, background=0.05)
EFFECTS = DropoutEffects(quality=1.0, gap=0.5, session1=0.3, session2=0.1, off_track=-0.4)
STRAIN = StrainParameters(keep=0.9, daily_strain=0.05, feedback_strain=0.0, admin_recovery=0.0, noise_sd=0.0,
                          ranking_stress=0.02, overload_gain=0.2, light_day_recovery=0.1, own_share=1.0,
                          absolute_share=0.0, mean_load=5.0)


def test_first_session_attendance_falls_with_the_wait():
    # a client with a draw just below the intercept comes after no wait but not after four weeks
    assert rules.shows_for_first(-0.1, 0.0, 0.0, math.log(0.9))
    assert not rules.shows_for_first(-0.1, 0.0, 4.0, math.log(0.9))  # 4 x ln 0.9 = -0.42 < -0.1


@pytest.mark.parametrize(("true", "noise", "top", "expected"), [
    (12.4, 0.0, 27.0, 12.0), (12.6, 0.0, 27.0, 13.0), (1.0, -3.0, 27.0, 0.0), (25.0, 4.0, 27.0, 27.0),
    (20.0, 2.0, 21.0, 21.0)])
def test_observed_scores_are_whole_and_on_the_scale(true, noise, top, expected):
    assert rules.observed_score(true, noise, top) == expected


def test_session_quality_adds_fit_alliance_and_boosts_and_subtracts_exhaustion():
    q = rules.session_quality(true_fit=0.5, alliance_weight=0.5, alliance=0.4, exhaustion_effect=1.0,
                              exhaustion=0.3, noise=0.1, feedback_boost=0.2, ranking_effort=0.05)
    assert q == pytest.approx(0.5 + 0.2 - 0.3 + 0.1 + 0.2 + 0.05)


def test_alliance_moves_part_of_the_way_to_quality():
    assert rules.alliance_step(0.0, 0.25, 1.0) == 0.25
    assert rules.alliance_step(1.0, 1.0, -1.0) == -1.0  # no memory: the last session alone
    assert rules.alliance_step(0.3, 0.0, 5.0) == 0.3  # full memory: unchanged


def test_measured_alliance_is_on_the_one_to_seven_scale():
    assert rules.measured_alliance(0.0, 0.0) == rules.ALLIANCE_CENTRE
    assert rules.measured_alliance(10.0, 0.0) == 7.0
    assert rules.measured_alliance(-10.0, 0.0) == 1.0


def test_symptoms_improve_in_proportion_and_drift_up_when_prone():
    # 10% of severity per session at quality 0; better quality, larger change
    assert rules.symptom_step(20.0, False, 0.05, 0.1, 0.5, 0.0, 0.0) == pytest.approx(18.0)
    assert rules.symptom_step(20.0, False, 0.05, 0.1, 0.5, 1.0, 0.0) < 18.0
    assert rules.symptom_step(20.0, True, 0.05, 0.1, 0.5, 1.0, 0.0) == pytest.approx(20.35)
    assert rules.symptom_step(0.5, False, 0.05, 0.1, 0.5, 0.0, -3.0) == 0.0


def test_good_enough_by_goal_or_by_caseness_on_both_scales():
    assert rules.good_enough(20.0, 10.0, 0.5, False, 15.0)  # halved: the goal
    assert not rules.good_enough(20.0, 11.0, 0.5, False, 0.0)
    assert rules.good_enough(20.0, 9.0, 0.9, True, 7.0)  # below caseness on both
    assert not rules.good_enough(20.0, 9.0, 0.9, True, 8.0)  # anxiety still a case
    assert not rules.good_enough(0.0, 0.0, 0.5, False, 0.0)  # nothing to improve


@pytest.mark.parametrize(("session", "single", "satisfied", "plateaued", "expected"), [
    (1, True, True, True, 0.6), (2, True, True, True, 0.4), (3, False, False, True, 0.2),
    (3, False, False, False, 0.05)])
def test_planned_endings_take_the_first_situation_that_applies(session, single, satisfied, plateaued, expected):
    assert rules.planned_end_probability(session, single, satisfied, plateaued, CHANCES) == expected


def test_dropout_log_odds():
    assert rules.dropout_logit(-2.0, 0.5, 0, 3, False, EFFECTS) == pytest.approx(-2.5)
    assert rules.dropout_logit(-2.0, 0.5, 2, 1, True, EFFECTS) == pytest.approx(-2.5 + 1.0 + 0.3 - 0.4)
    assert rules.dropout_logit(-2.0, 0.5, 0, 2, False, EFFECTS) == pytest.approx(-2.4)


@settings(max_examples=200, derandomize=True)
@given(st.floats(0.0, 0.999), st.floats(-8.0, 8.0))
def test_happens_is_a_logistic_threshold(u, x):
    assert rules.happens(u, x) == (u < 1.0 / (1.0 + math.exp(-x))) or abs(u - 1.0 / (1.0 + math.exp(-x))) < 1e-12


def test_exhaustion_over_and_under_ones_own_load():
    rest = rules.exhaustion_step(0.5, False, 0, 5.0, False, 0.0, STRAIN)
    assert rest == pytest.approx(0.45)  # a day off: recovery only
    at_load = rules.exhaustion_step(0.5, True, 5, 5.0, False, 0.0, STRAIN)
    assert at_load == pytest.approx(0.5)  # 0.45 + 0.05
    over = rules.exhaustion_step(0.5, True, 7, 5.0, False, 0.0, STRAIN)
    assert over == pytest.approx(0.5 + 0.2 * 2 / 5)
    light = rules.exhaustion_step(0.5, True, 3, 5.0, False, 0.0, STRAIN)
    assert light == pytest.approx(0.5 - 0.1 * 2 / 5)
    ranked = rules.exhaustion_step(0.5, True, 5, 5.0, True, 0.0, STRAIN)
    assert ranked == pytest.approx(0.52)
    assert rules.exhaustion_step(0.99, True, 20, 5.0, True, 3.0, STRAIN) == 1.0


def test_exhaustion_against_the_mean_load_ignores_ones_own():
    absolute = STRAIN._replace(own_share=0.0, absolute_share=1.0)
    # seven sessions hurt a therapist whose own load is 7 as much as one whose load is 3: only the mean counts
    assert rules.exhaustion_step(0.5, True, 7, 7.0, False, 0.0, absolute) == pytest.approx(
        rules.exhaustion_step(0.5, True, 7, 3.0, False, 0.0, absolute))
    assert rules.exhaustion_step(0.5, True, 7, 7.0, False, 0.0, absolute) == pytest.approx(0.5 + 0.2 * 2 / 5)


def test_a_new_ending_needs_only_its_rule(monkeypatch):
    """An ending registered beside the rules is called by the model and named in the clients table (with its
    parameter in the scenario schema, that is the whole change: docs/model.md, 'How to extend')."""
    from sim.engine.model import PlatformModel
    from sim.scenario import Scenario

    monkeypatch.setitem(rules.EXTRA_ENDINGS, "moved_away", lambda client, session, scenario: 0.1)
    sc = Scenario(name="tiny", therapists={"count": 8}, demand={"arrivals_per_week": 28},
                  horizon={"warmup_weeks": 4, "measured_weeks": 20})
    clients = PlatformModel(sc, 0).run().clients
    assert "moved_away" in clients["ending"].cat.categories
    moved = clients[clients["ending"] == "moved_away"]
    assert len(moved) > 20 and (moved["sessions_attended"] >= 1).all()
    # about a tenth of those still coming after each attended session move away
    share = len(moved) / len(clients[clients["sessions_attended"] >= 1])
    assert 0.1 < share < 0.5


def test_an_extra_ending_cannot_take_a_built_in_name():
    with pytest.raises(ValueError, match="built in"):
        rules.extra_ending("dropout")(lambda client, session, scenario: 0.0)
