"""Behaviour rules of one appointment and one therapist day: pure functions, scalars in, a result out.

The SimPy processes in :mod:`sim.engine.model` decide *when* things happen and call these to decide
*what* happens; each rule is unit-tested on its own (``tests/test_rules.py``). Symbols follow
docs/model.md; every parameter is a scenario field documented in the assumptions register.

>>> round(alliance_step(0.0, 0.5, 1.0), 2)
0.5
>>> observed_score(12.4, 0.0, 27.0)
12.0
>>> planned_end_probability(1, True, False, False, EndingChances(0.5, 0.3, 0.2, 0.05))
0.5
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from sim.base.scales import ANXIETY_CASENESS, CASENESS, DEPRESSION_MAX

ALLIANCE_CENTRE, ALLIANCE_SCALE = 5.0, 0.8  # measured alliance on a 1-7 scale


class EndingChances(NamedTuple):
    """Chance per attended session that the client and therapist agree to stop, by situation."""

    single: float  # the client needed one session, after session 1
    satisfied: float  # improved enough (their goal, or below caseness when endings are measured)
    plateau: float  # no reliable change over the last few sessions
    background: float  # otherwise


def shows_for_first(first_attendance_logit: float, first_logit0: float, wait_weeks: float,
                    ln_wait_or: float) -> bool:
    """Does a client come to their first session after waiting ``wait_weeks``?

    Each client carries a logistic draw; the odds of attending fall by the waiting odds ratio
    per week (``ln_wait_or`` is its log).
    """
    return first_attendance_logit < first_logit0 + wait_weeks * ln_wait_or


def observed_score(true_score: float, noise: float, top: float) -> float:
    """A questionnaire total: the true score plus measurement noise, rounded and kept in 0..top."""
    obs = round(true_score + noise)
    return 0.0 if obs < 0 else top if obs > top else float(obs)


def session_quality(true_fit: float, alliance_weight: float, alliance: float, exhaustion_effect: float,
                    exhaustion: float, noise: float, feedback_boost: float, ranking_effort: float) -> float:
    """How helpful this session is: pair fit, the alliance so far, the therapist's exhaustion, luck,
    then the boosts (feedback on an off-track client, a ranked therapist's extra effort; 0 when off)."""
    quality = true_fit + alliance_weight * alliance - exhaustion_effect * exhaustion + noise
    quality += feedback_boost
    return quality + ranking_effort


def alliance_step(alliance: float, memory: float, quality: float) -> float:
    """The alliance moves towards this session's quality, with memory ``memory`` (0..1)."""
    return alliance + memory * (quality - alliance)


def measured_alliance(alliance: float, noise: float) -> float:
    """The alliance as a client rates it on a 1-7 scale (``noise`` in latent units)."""
    measured = ALLIANCE_CENTRE + ALLIANCE_SCALE * (alliance + noise)
    return 1.0 if measured < 1.0 else 7.0 if measured > 7.0 else measured


def symptom_step(severity: float, deterioration_prone: bool, drift: float, responsiveness: float,
                 change_effect: float, quality: float, noise: float) -> float:
    """Severity after an attended session: proportional improvement scaled by quality (or drift
    towards the top for the deterioration-prone), plus noise, kept on the depression scale."""
    if deterioration_prone:
        severity += drift * (DEPRESSION_MAX - severity)
    else:
        severity -= responsiveness * math.exp(change_effect * quality) * severity
    severity += noise
    return 0.0 if severity < 0.0 else DEPRESSION_MAX if severity > DEPRESSION_MAX else severity


def good_enough(intake: float, observed: float, goal: float, measured_endings: bool, anxiety: float) -> bool:
    """Improved enough to stop: the client's own goal (share of intake score) reached, or, with
    measurement-based endings, below caseness on both scales."""
    return (intake > 0 and intake - observed >= goal * intake) or (
        measured_endings and observed < CASENESS and anxiety < ANXIETY_CASENESS)


def planned_end_probability(session: int, single_need: bool, satisfied: bool, plateaued: bool,
                            chances: EndingChances) -> float:
    """The chance of a planned ending after attended session ``session``."""
    if session == 1 and single_need:
        return chances.single
    if satisfied:
        return chances.satisfied
    if plateaued:
        return chances.plateau
    return chances.background


class DropoutEffects(NamedTuple):
    """Log-odds shifts of dropping out after an attended session."""

    quality: float  # per unit of session quality (subtracted)
    gap: float  # per week missed since the last attended session
    session1: float  # extra after the first session
    session2: float  # extra after the second
    off_track: float  # when feedback flagged the client off track (log odds ratio)


def dropout_logit(base: float, quality: float, weeks_missed: int, session: int, off_track: bool,
                  effects: DropoutEffects) -> float:
    """Log-odds that the client stops coming (unplanned) after attended session ``session``."""
    x = base - effects.quality * quality + effects.gap * weeks_missed
    if off_track:
        x += effects.off_track
    if session == 1:
        x += effects.session1
    elif session == 2:
        x += effects.session2
    return x


def happens(u: float, logit_value: float) -> bool:
    """``u`` (uniform) falls below the logistic of ``logit_value``: an event with that log-odds."""
    return u * (1.0 + math.exp(-logit_value)) < 1.0


class StrainParameters(NamedTuple):
    """The day's exhaustion inputs that do not change during a run."""

    keep: float  # 1 - recovery rate
    daily_strain: float  # strain of a working day
    feedback_strain: float  # extra daily strain of session-by-session feedback (0 when off)
    admin_recovery: float  # recovery from protected admin time
    noise_sd: float
    ranking_stress: float  # extra strain for a therapist ranked below the median
    overload_gain: float
    light_day_recovery: float
    own_share: float  # weight of sessions compared with one's own sustainable load (1 - absolute_share)
    absolute_share: float  # weight of sessions compared with the platform's mean sustainable load
    mean_load: float


def exhaustion_step(exhaustion: float, worked: bool, sessions: int, own_load: float, pressured: bool,
                    z: float, p: StrainParameters, susceptibility: float = 1.0) -> float:
    """Exhaustion at the end of a day (0..1): recovery, then on a working day strain (the day's strain scaled by
    the therapist's own susceptibility), noise, and overload (or light-day recovery) against one's own and the
    platform's mean load."""
    e = exhaustion * p.keep
    if worked:
        e += p.daily_strain * susceptibility + p.feedback_strain + p.noise_sd * z - p.admin_recovery
        if pressured:
            e += p.ranking_stress
        own, absolute = p.own_share, p.absolute_share
        if own:
            e += _load_pressure(own, sessions, own_load, p)
        if absolute:
            e += _load_pressure(absolute, sessions, p.mean_load, p)
    return 0.0 if e < 0.0 else 1.0 if e > 1.0 else e


def _load_pressure(weight: float, sessions: int, load: float, p: StrainParameters) -> float:
    """Overload strain (positive) or light-day recovery (negative) against ``load``."""
    if sessions > load:
        return weight * p.overload_gain * (sessions - load) / load
    return -(weight * p.light_day_recovery * (load - sessions) / load)


# -- endings ---------------------------------------------------------------------------------------

#: The endings the model itself produces, in the code order of the clients table (append only).
BUILT_IN_ENDINGS = ("planned", "dropout", "pretreatment_dropout", "session_cap", "therapist_left", "waiting_at_end",
                    "in_treatment_at_end", "matched_at_end")
#: Further endings, each a rule giving its chance after an attended session: ``chance(client, session, scenario)``.
#: Add one with :func:`extra_ending` (here, beside the other rules) and its parameter in the scenario schema: two
#: files; the model calls every rule registered here and the clients table knows the name.
EXTRA_ENDINGS: dict[str, Callable[[Any, int, Any], float]] = {}


def extra_ending(name: str) -> Callable[[Callable[[Any, int, Any], float]], Callable[[Any, int, Any], float]]:
    """Register ``chance(client, session, scenario) -> probability`` as the rule of the ending ``name``."""
    def register(rule: Callable[[Any, int, Any], float]) -> Callable[[Any, int, Any], float]:
        if name in BUILT_IN_ENDINGS:
            raise ValueError(f"ending {name!r} is built in")
        EXTRA_ENDINGS[name] = rule
        return rule

    return register


def endings() -> tuple[str, ...]:
    """Every ending name, in the code order of the clients table."""
    return BUILT_IN_ENDINGS + tuple(EXTRA_ENDINGS)
