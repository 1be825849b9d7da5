"""Clients and therapists: plain state holders.

Client ``n``'s attributes and in-therapy luck come from client-tied streams
(:mod:`sim.engine.population`); therapist ``n`` draws its attributes, in a fixed order, and its daily
luck from its own stream. Either way the same person appears under every policy.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    pass

WAITING, BOOKED, IN_TREATMENT, ENDED = 0, 1, 2, 3
WEEKDAYS = 5
CUTOFF_STEP = 0.1  # burnout share is also reported at the cut-off -/+ this (sensitivity of a threshold KPI)


def logit(p: float) -> float:
    """Log-odds of ``p``, with the extremes mapped to +-inf."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


class SlotWatcher(Protocol):
    """What a therapist tells of a change of their free slots (:class:`sim.engine.availability.RoomIndex`)."""

    def update(self, t: Therapist, weekday: int | None = None) -> None: ...


class TherapistTraits(NamedTuple):
    """What a therapist brings (drawn by :func:`sim.engine.population.draw_therapist`)."""

    general: float  # general effectiveness (the therapist effect)
    domain_true: list[float]  # true effectiveness per problem domain
    declared: list[float]  # 1 for a declared specialty
    legible: bool  # whether the matcher can read the profile
    style: int
    load: float  # own sustainable load, sessions per working day
    susceptibility: float = 1.0  # multiplier of the day's strain (mean 1; unknown to the platform)


class Client:
    """One person seeking therapy. Attributes come from :class:`sim.engine.population.ClientFactory`;
    their in-therapy random numbers are read per appointment through ``ClientFactory.luck``."""

    __slots__ = (
        "abandon_after",
        "alliance",
        "anx_intake",
        "anx_last",
        "anxiety_ratio",
        "arrival",
        "booked_day",
        "complexity",
        "course_alliance_sum",
        "course_sessions",
        "deterioration_prone",
        "domain",
        "dropout_logit0",
        "early_alliance_n",
        "early_alliance_sum",
        "engagement",
        "first_attendance_logit",
        "first_matched_day",
        "first_session_day",
        "gap",
        "goal",
        "hold_threshold",
        "hold_until",
        "id",
        "kept_extra",
        "last_session_day",
        "luck",
        "luck_used",
        "missed_run",
        "no_show_p",
        "obs_history",
        "obs_intake",
        "obs_last",
        "off_track",
        "preference",
        "previous_therapist",
        "queued_day",
        "rematched",
        "responsiveness",
        "sessions_attended",
        "sessions_missed",
        "severity",
        "single_need",
        "state",
        "therapist",
        "therapists_seen",
        "transient",
        "true_fit",
        "weekday",
    )

    DRAWN = ("domain", "complexity", "severity", "transient", "responsiveness", "deterioration_prone", "engagement",
             "preference", "single_need", "goal", "first_attendance_logit", "abandon_after", "obs_intake",
             "anxiety_ratio", "anx_intake")

    def __init__(self, cid: int, arrival: float, drawn: tuple):
        self.id = cid
        self.arrival = arrival
        self.luck: Any = ()  # random numbers for the current chunk of appointments (array of floats)
        self.luck_used = 0  # appointments drawn so far
        (self.domain, self.complexity, self.severity, self.transient, self.responsiveness, self.deterioration_prone,
         self.engagement, self.preference, self.single_need, self.goal, self.first_attendance_logit,
         self.abandon_after, self.obs_intake, self.anxiety_ratio, self.anx_intake) = drawn
        self.obs_last = self.obs_intake
        self.anx_last = self.anx_intake
        self.state = WAITING
        self.therapist: Therapist | None = None
        self.previous_therapist: Therapist | None = None
        self.weekday = -1
        self.booked_day = -1
        self.hold_until = -1.0  # fit with holds: waiting for a better-fitting therapist until this day
        self.hold_threshold = math.inf  # ... and accepting any whose estimated fit is at least this
        self.true_fit = math.nan
        self.alliance = 0.0
        self.sessions_attended = 0
        self.sessions_missed = 0
        self.course_sessions = 0
        self.first_session_day = math.nan
        self.first_matched_day = math.nan  # the day the first therapist was found (the wait before any booking)
        self.last_session_day = math.nan
        self.early_alliance_sum = 0.0
        self.early_alliance_n = 0
        self.course_alliance_sum = 0.0
        self.rematched = False
        self.therapists_seen = 0
        self.obs_history: list[float] = []
        self.kept_extra = 0
        self.off_track = False
        self.gap = 1  # weeks since the last attended session, counting the next appointment
        self.missed_run = 0  # appointments missed in a row
        self.queued_day = arrival
        self.no_show_p = 0.0  # set by the model from the scenario and engagement
        self.dropout_logit0 = 0.0


class Therapist:
    """One therapist: true effectiveness, what the profile says, own load, and daily state."""

    __slots__ = (
        "active",
        "availability",
        "burnout_days",
        "clients",
        "days_employed",
        "declared",
        "declines_complex",
        "domain_true",
        "exhaustion",
        "exhaustion_sum",
        "firsts",
        "general",
        "hired_day",
        "id",
        "left_day",
        "legible",
        "listed",
        "load",
        "load_estimate",
        "measured_over_days",
        "measured_over_weeks",
        "measured_sessions",
        "measured_weekdays",
        "measured_weeks",
        "measured_working_days",
        "occupied",
        "pressured",
        "recent_days",
        "recent_exhaustion",
        "returns",
        "rng",
        "room",
        "selection_rng",
        "sessions_today",
        "sick_day",
        "sick_days",
        "slots",
        "style",
        "susceptibility",
        "target_slots",
        "track_n",
        "track_sum",
        "versions",
        "week_sessions",
        "weekday_burnout",
        "weekday_burnout_high",
        "weekday_burnout_low",
        "weekday_exhaustion_sum",
    )

    def __init__(self, tid: int, hired_day: float, rng: random.Random, traits: TherapistTraits, n_domains: int):
        self.id = tid
        self.rng = rng
        self.general = traits.general
        self.domain_true = traits.domain_true
        self.declared = traits.declared
        self.legible = traits.legible
        self.style = traits.style
        self.load = traits.load
        self.susceptibility = traits.susceptibility
        self.load_estimate = self.load  # what the platform believes (set by the load-estimate policy at hiring)
        self.recent_exhaustion = 0.0  # exhaustion summed over working days since the last threshold revision
        self.recent_days = 0
        self.hired_day = hired_day
        self.left_day = math.nan
        self.active = True
        self.exhaustion = 0.0
        self.slots = [0] * WEEKDAYS
        self.occupied = [0] * WEEKDAYS
        self.room = 0  # free new-client slots: sum(max(0, slots - occupied)) while active, 0 after leaving
        self.availability: SlotWatcher | None = None  # told of every change of free slots (the room index)
        self.target_slots = 0
        self.sessions_today = 0
        self.burnout_days = 0
        self.exhaustion_sum = 0.0
        self.days_employed = 0
        self.sick_day = -1
        self.sick_days = 0
        self.pressured = False
        self.declines_complex = False
        self.selection_rng: random.Random | None = None  # league-table selection decisions (own stream, made when needed)
        self.versions = [0] * n_domains  # per domain: heap entries of older versions are stale (sim.engine.availability)
        self.listed: set[tuple[int, int]] = set()
        self.firsts = 0.0
        self.returns = 0.0
        self.track_sum = [0.0] * n_domains
        self.track_n = [0] * n_domains
        self.measured_working_days = 0
        self.measured_over_days = 0
        self.measured_sessions = 0
        self.week_sessions = 0
        self.measured_weeks = 0
        self.measured_over_weeks = 0
        self.measured_weekdays = 0  # weekdays employed in the measured period (sick days included)
        self.weekday_exhaustion_sum = 0.0  # exhaustion at the end of each of those weekdays
        self.weekday_burnout = 0
        self.weekday_burnout_low = 0  # above the cut-off less CUTOFF_STEP (sensitivity)
        self.weekday_burnout_high = 0  # above the cut-off plus CUTOFF_STEP
        self.clients = 0

    # Free slots change only here, and each change is passed on to ``availability``.
    def set_capacity(self, weekly_slots: int) -> None:
        """Spread ``weekly_slots`` over the five weekdays as evenly as possible."""
        base, extra = divmod(max(0, weekly_slots), WEEKDAYS)
        self.slots = [base + (1 if i < extra else 0) for i in range(WEEKDAYS)]
        self.room = sum(max(0, s - o) for s, o in zip(self.slots, self.occupied, strict=True))
        if self.availability is not None:
            self.availability.update(self)

    def book(self, weekday: int) -> None:
        """Take one of ``weekday``'s free slots for a new client."""
        self.occupied[weekday] += 1
        self.room -= 1
        if self.availability is not None:
            self.availability.update(self, weekday)

    def unbook(self, weekday: int) -> None:
        """Give back a client's slot on ``weekday`` (it is free again unless a lowered threshold left the day full)."""
        self.occupied[weekday] -= 1
        if self.occupied[weekday] < self.slots[weekday]:
            self.room += 1
        if self.availability is not None:
            self.availability.update(self, weekday)

    def learn(self, step: float) -> None:
        """Effectiveness gained (learning from peers): the same step with every problem."""
        self.general += step
        self.domain_true = [v + step for v in self.domain_true]

    def leave(self, day: float) -> None:
        """Leave the platform on ``day``: no slot is free any more."""
        self.active = False
        self.left_day = day
        self.room = 0
        if self.availability is not None:
            self.availability.update(self)

    def free(self, weekday: int) -> bool:
        return self.occupied[weekday] < self.slots[weekday]

    def accepts(self, client: Client) -> bool:
        """Whether this therapist takes ``client`` now (gaming and rematch exclusions)."""
        if self.declines_complex and client.complexity >= 3:
            return False
        return client.previous_therapist is not self
