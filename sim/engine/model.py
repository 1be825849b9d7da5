"""The SimPy processes: when things happen on the platform.

Time is in days; therapists work Monday to Friday (weekdays 0-4); sessions sit at 0.4 of a
day, the therapists' end-of-day update at 0.9 and the weekly record at 0.95.

Randomness: arrivals come from the ``arrivals`` stream; client ``n`` draws its attributes and
then, at every appointment, a fixed set of numbers from its own stream, so session ``k`` of
client ``n`` gets the same luck under every policy (common random numbers). Therapists draw
the same fixed set every day from theirs.
"""

from __future__ import annotations

import gc
import math
import time
from array import array
from collections import deque
from collections.abc import Callable, Generator
from itertools import accumulate
from typing import NamedTuple

import simpy

from sim.base.registry import lookup
from sim.base.scales import ANXIETY_MAX, DEPRESSION_MAX
from sim.base.streams import PairNormals, stream
from sim.engine import rules
from sim.engine.availability import RoomIndex, WaitingQueue
from sim.engine.entities import BOOKED, CUTOFF_STEP, ENDED, IN_TREATMENT, WAITING, WEEKDAYS, Client, Therapist, logit
from sim.engine.policies.capacity import CapacityPolicy
from sim.engine.policies.hiring import HiringPolicy
from sim.engine.policies.information import Information
from sim.engine.policies.league import RankingResponse, below_median
from sim.engine.policies.load_estimate import LoadEstimate
from sim.engine.policies.matching import MatchingPolicy
from sim.engine.policies.rematch import RematchPolicy
from sim.engine.population import APPOINTMENTS, DRAWS, ClientFactory, draw_therapist
from sim.engine.recorder import (
    SESSION_COLUMNS,
    SESSION_STATUSES,
    WEEKLY_COLUMNS,
    ClientRows,
    Tables,
    sessions_frame,
    therapists_frame,
    typed_columns,
    weekly_frame,
)
from sim.scenario import DOMAINS, Scenario

SESSION_TIME = 0.4
DAY_END = 0.9
WEEK_RECORD = 0.95
MIDWEEK = 2  # Wednesday: the weekly exhaustion snapshot is taken at its end of day
ALLIANCE_CENTRE, ALLIANCE_SCALE = rules.ALLIANCE_CENTRE, rules.ALLIANCE_SCALE
ATTENDED, NO_SHOW, ABSENT = (SESSION_STATUSES.index(s) for s in ("attended", "no_show", "therapist_absent"))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class CourseConstants(NamedTuple):
    """What every course needs, built once per replication by keyword."""

    cap: int
    meas_sd: float
    noise_sd: float
    drift: float
    half_life: float
    anx_sd: float
    measured_endings: bool
    w_alliance: float
    memory: float
    exh_effect: float
    q_sd: float
    a_sd: float
    change_effect: float
    plateau_n: int
    plateau_pts: float
    friction_p: float
    luck: Callable[[Client], array]
    chances: rules.EndingChances
    dropout: rules.DropoutEffects
    loss_prob: float
    first_logit0: float
    ln_wait_or: float
    max_missed: int
    assessment_wait: float
    fb_from: int  # feedback: first session with an off-track check (never, when feedback is off)
    fb_points: float
    fb_boost: float
    motivation: float  # ranking: added quality for therapists ranked below the median


class PlatformModel:
    """One replication of one scenario. ``run()`` returns the recorded tables."""

    def __init__(self, scenario: Scenario, replication: int = 0, seed: int | None = None):
        self.sc = sc = scenario
        self.rep = replication
        self.seed = sc.seed if seed is None else seed
        self.env = simpy.Environment()
        self.n_domains = len(DOMAINS)
        self.warmup_day = sc.horizon.warmup_weeks * 7
        self.measure_end = self.warmup_day + sc.horizon.measured_weeks * 7  # therapist and money measures stop
        self.end_day = self.measure_end + sc.horizon.follow_up_weeks * 7  # the arrival cohort is followed to here
        weights = sc.clients.domain_prevalence.weights()
        total = sum(weights)
        self.factory = ClientFactory(sc, self.seed, replication, list(accumulate(w / total for w in weights)))

        # the plug-ins, typed by their Protocols so that mypy checks every use (tests/test_policies.py checks
        # that each registered class follows its Protocol)
        self.matching: MatchingPolicy = lookup("matching", sc.matching.policy)(sc.matching)
        self.info: Information = lookup("information", sc.matching.information)(sc.matching.measured_prior_cases)
        self.capacity: CapacityPolicy = lookup("capacity", sc.capacity.policy)(sc.capacity)
        self.load_estimate: LoadEstimate = lookup("load_estimate", sc.capacity.load_estimate)(sc.capacity)
        self.rooms = RoomIndex(self.n_domains, sc.therapists.style_categories, self.info.estimate,
                               sc.therapists.preference_match_effect, self.matching.uses_fit)
        self.queue = WaitingQueue(self.n_domains)

        cl, tp = sc.clients, sc.therapy
        self.first_logit0 = logit(cl.first_attendance_prob)
        self.ln_wait_or = math.log(cl.waiting_odds_ratio_per_week)
        self.no_show_logit = logit(tp.no_show_prob)
        self.no_show_factor = 1.0 - (sc.platform.reminder_no_show_reduction if sc.platform.reminders else 0.0)
        self.friction_p = sc.platform.booking_friction_days / 7.0
        self.ranking_response = RankingResponse(sc.performance.ranking)
        self.rematch_on = sc.rematch.enabled  # (the loop skips policies that cannot act)
        self.gaming_on = self.ranking_response.gaming_extra > 0
        self.ending_code = {name: code for code, name in enumerate(rules.endings())}
        self.extra_endings = list(rules.EXTRA_ENDINGS.items())
        self.rematch: RematchPolicy = lookup("rematch", sc.rematch.rule if sc.rematch.enabled else "none")(sc.rematch)
        self.hiring: HiringPolicy = lookup("hiring", sc.hiring.policy)(sc.hiring)

        self.rows = ClientRows()  # one row per client, written when the client ends
        self.open: dict[int, Client] = {}  # clients not yet ended (waiting or in treatment)
        self.agenda: dict[int, list[Client]] = {}  # booked appointments by day
        self.holds: deque[Client] = deque()  # fit with holds: held clients, in the order their holds run out
        self.holds_watched = False  # whether the process that ends holds is running
        self.therapists: list[Therapist] = []
        self.active: list[Therapist] = []
        self.ramping: list[Therapist] = []
        self.pending_hires = 0
        # one definition of where each open client is (clients.csv endings and weekly.csv use the same):
        # waiting = on the list, or assessed and waiting for treatment; matched = booked with a therapist,
        # not yet seen by them; in treatment = seen at least once by their current therapist
        self.matched = 0
        self.treating = 0
        self.assessed_waiting = 0
        self.week_hires = 0
        self.week_leavers = 0
        self.sessions = typed_columns(SESSION_COLUMNS)
        self._session_appends = tuple(self.sessions[name].append for name in SESSION_COLUMNS)  # in _record's order
        fb = sc.performance.feedback
        self._course_constants = CourseConstants(
            cap=tp.session_cap or 1 << 30, meas_sd=cl.measurement_sd,
            noise_sd=cl.symptom_noise_sd, drift=cl.deterioration_drift, half_life=cl.transient_half_life_weeks * 7.0,
            anx_sd=cl.anxiety_measurement_sd, measured_endings=tp.measurement_based_endings,
            w_alliance=tp.alliance_quality_weight, memory=tp.alliance_memory, exh_effect=tp.exhaustion_quality_effect,
            q_sd=tp.quality_noise_sd, a_sd=tp.alliance_measurement_sd, change_effect=tp.quality_change_effect,
            plateau_n=tp.plateau_sessions, plateau_pts=tp.plateau_points,
            friction_p=self.friction_p, luck=self.factory.luck,
            chances=rules.EndingChances(single=tp.single_session_end_prob, satisfied=tp.satisfied_end_prob,
                                        plateau=tp.plateau_end_prob, background=tp.background_end_prob),
            dropout=rules.DropoutEffects(quality=tp.dropout_quality_effect, gap=tp.dropout_gap_effect,
                                         session1=tp.dropout_session1_extra, session2=tp.dropout_session2_extra,
                                         off_track=math.log(fb.dropout_odds_ratio)),
            loss_prob=sc.therapists.leaver_client_loss_prob, first_logit0=self.first_logit0,
            ln_wait_or=self.ln_wait_or, max_missed=tp.max_consecutive_no_shows,
            assessment_wait=tp.assessment_wait_weeks * 7.0,
            fb_from=fb.check_from_session if fb.enabled else 1 << 30, fb_points=fb.off_track_points,
            fb_boost=fb.quality_boost, motivation=self.ranking_response.effort)
        self.weekly: dict[str, list] = {name: [] for name in WEEKLY_COLUMNS}
        self._chemistry = PairNormals(self.seed, self.rep, "chemistry")
        self._midweek = (math.nan, math.nan)  # mean exhaustion and burnout share on the last Wednesday evening
        cutoff = sc.exhaustion.burnout_cutoff
        self._cutoffs = (cutoff, cutoff - CUTOFF_STEP, cutoff + CUTOFF_STEP)

    # -- set-up --------------------------------------------------------------------
    def _hire(self, ramp: bool) -> Therapist:
        tid = len(self.therapists)
        rng = stream(self.seed, self.rep, "therapist", tid)
        t = Therapist(tid, self.env.now, rng, draw_therapist(rng, self.sc, self.n_domains), self.n_domains)
        t.availability = self.rooms
        t.load_estimate = self.load_estimate.initial(t.load, stream(self.seed, self.rep, "load_report", tid))
        t.target_slots = self.capacity.weekly_slots(t.load_estimate)
        ramp_weeks = self.sc.hiring.ramp_weeks
        if ramp and ramp_weeks > 0:
            t.set_capacity(math.ceil(t.target_slots / (ramp_weeks + 1)))
            self.ramping.append(t)
        else:
            t.set_capacity(t.target_slots)
        self.therapists.append(t)
        self.active.append(t)
        self.week_hires += 1
        self._fill(t)
        return t

    def run(self) -> Tables:
        """Simulate the warm-up and the measured period; return the tables."""
        started = time.perf_counter()
        for _ in range(self.sc.therapists.count):
            self._hire(ramp=False)
        self.week_hires = 0
        self.rooms.refresh_best(self.active)
        env = self.env
        env.process(self._arrivals())
        if not self.sc.queue_mode.enabled:  # queue mode books no appointments
            env.process(self._sessions())
        if self._days_can_change_anything():
            env.process(self._days())
        else:
            self._midweek = self._snapshot(self.active)
        env.process(self._weeks())
        thresholds = gc.get_threshold()
        gc.set_threshold(100_000, 50, 100)  # millions of short-lived events: collect cycles rarely
        try:
            env.run(until=self.end_day)
        finally:
            gc.set_threshold(*thresholds)
        simulated = time.perf_counter()
        tables = self._tables()
        tables.meta["wall_seconds"] = time.perf_counter() - started
        tables.meta["table_seconds"] = time.perf_counter() - simulated
        return tables

    # -- arrivals and matching -----------------------------------------------------
    def _rate(self, day: float) -> float:
        d = self.sc.demand
        rate = d.arrivals_per_week / 7.0 * math.exp(math.log1p(d.growth_per_year) * day / 365.0)
        return rate * (1.0 + d.seasonality_amplitude * math.sin(2 * math.pi * day / 365.0))

    def _arrivals(self) -> Generator[simpy.Event, None, None]:
        d = self.sc.demand
        peak = d.arrivals_per_week / 7.0 * max(1.0, (1.0 + d.growth_per_year) ** (self.end_day / 365.0))
        peak *= 1.0 + d.seasonality_amplitude
        if peak <= 0:
            return
        rng = stream(self.seed, self.rep, "arrivals")
        thinning = d.growth_per_year != 0 or d.seasonality_amplitude != 0
        day = 0.0
        while True:
            day += rng.expovariate(peak)
            u = rng.random()
            if day >= self.end_day:
                return
            if thinning and u * peak > self._rate(day):
                continue
            yield self.env.timeout(day - self.env.now)
            self._arrive(day)

    def _arrive(self, day: float) -> None:
        cid = len(self.rows)
        c = self.factory.make(cid, day)
        self.rows.add_values((day, c.domain, c.complexity, c.engagement, c.responsiveness, c.preference >= 0,
                              c.single_need))  # ClientRows.FIXED
        self.open[cid] = c
        tp = self.sc.therapy
        c.no_show_p = _sigmoid(self.no_show_logit - tp.no_show_engagement_effect * c.engagement) * self.no_show_factor
        c.dropout_logit0 = tp.dropout_base_logit - tp.dropout_engagement_effect * c.engagement
        self._seek(c)

    def _seek(self, c: Client) -> bool:
        """Match ``c`` now if the policy finds a therapist with room, else put them on the waiting list.

        ``c.queued_day`` stays the arrival day, so a client who comes back to the list keeps their place.
        """
        t = self.matching.for_client(c, self.rooms, int(self.env.now))
        if t is not None:
            self._assign(c, t)
            return True
        self.queue.push(c)
        if c.hold_until > self.env.now and not c.therapists_seen:  # a hold just made (one comes back already listed)
            self.holds.append(c)  # (a hold lasts a fixed time: holds run out in the order they were made)
            if not self.holds_watched:
                self.holds_watched = True
                self.env.process(self._end_holds())
        return False

    def _end_holds(self) -> Generator[simpy.Event, None, None]:
        """When a held client's hold runs out, the matching policy may give them a therapist with room at once.
        One process for all holds (not one per held client), asleep until the next hold runs out."""
        env, holds = self.env, self.holds
        while holds:
            yield env.timeout(holds[0].hold_until - env.now)
            while holds and holds[0].hold_until <= env.now:
                c = holds.popleft()
                if c.state == WAITING and c.id in self.open and c.arrival + c.abandon_after > env.now:
                    t = self.matching.on_hold_expired(c, self.rooms)
                    if t is not None:
                        self.queue.take(c)
                        self._assign(c, t)
        self.holds_watched = False

    def _expire(self, everyone: bool = False) -> None:
        """Close waiting clients whose patience ran out (lazily: at the head of a line, or everyone weekly).

        A new client leaves the waiting list ``abandon_after`` days after arriving if still unmatched;
        the ending is dated then, whenever it is noticed.
        """
        now = self.env.now
        for line in self.queue.lines:
            if everyone:
                keep: deque[Client] = deque()
                for c in line:
                    if c.state == WAITING and c.therapists_seen == 0 and c.arrival + c.abandon_after <= now:
                        self._abandon(c)
                    elif c.state == WAITING:
                        keep.append(c)
                line.clear()
                line.extend(keep)
                continue
            while line and (line[0].state != WAITING or (
                    line[0].therapists_seen == 0 and line[0].arrival + line[0].abandon_after <= now)):
                c = line.popleft()
                if c.state == WAITING:
                    self._abandon(c)

    def _abandon(self, c: Client) -> None:
        self.queue.count -= 1
        self._close(c, "pretreatment_dropout", c.arrival + c.abandon_after)

    def _fill(self, t: Therapist) -> None:
        """Offer ``t``'s free slots to waiting clients, as the matching policy decides."""
        now = self.env.now
        while t.active and t.room > 0 and self.queue.count:
            self._expire()
            if not self.queue.count:
                return
            c = self.matching.for_slot(t, self.queue, self.rooms, now)
            if c is None:
                return
            self.queue.take(c)
            self._assign(c, t)

    def _assign(self, c: Client, t: Therapist) -> None:
        today = int(self.env.now)
        offset = 1
        wd = (today + 1) % 7
        while wd >= WEEKDAYS or t.occupied[wd] >= t.slots[wd]:
            offset += 1
            wd = (today + offset) % 7
        t.book(wd)
        t.clients += 1
        c.state = BOOKED
        self.matched += 1
        c.therapist = t
        c.weekday = wd
        c.booked_day = today + offset
        if c.therapists_seen == 0:
            c.first_matched_day = self.env.now
        c.therapists_seen += 1
        c.course_sessions = 0
        c.course_alliance_sum = 0.0
        c.alliance = 0.0
        th = self.sc.therapists
        chemistry = th.chemistry_sd * self._chemistry(c.id, t.id)
        preference = th.preference_match_effect if c.preference >= 0 and c.preference == t.style else 0.0
        c.true_fit = t.domain_true[c.domain] + preference + chemistry
        if self.sc.queue_mode.enabled:
            self.env.process(self._served(c, t))
        else:
            c.gap, c.missed_run = 1, 0
            self._book(c, c.booked_day)

    def _release(self, c: Client) -> None:
        """Free ``c``'s weekly slot with their therapist (if still employed) and refill it."""
        t = c.therapist
        if t is not None and t.active:
            t.unbook(c.weekday)
            if c.course_sessions:
                mean_alliance = c.course_alliance_sum / c.course_sessions
                if self.info.observe(t, c.domain, (mean_alliance - ALLIANCE_CENTRE) / ALLIANCE_SCALE):
                    self.rooms.refresh(t, c.domain)
            self._fill(t)

    def _close(self, c: Client, ending: str, day: float | None = None) -> None:
        day = self.env.now if day is None else day
        c.state = ENDED
        self._write_row(c, ending, day)
        del self.open[c.id]

    def _write_row(self, c: Client, ending: str, ending_day: float) -> None:
        self.rows.write_values(c.id, (  # ClientRows.OUTCOME
            c.obs_intake, c.obs_last, c.anx_intake, c.anx_last, c.therapist.id if c.therapist is not None else -1,
            c.first_session_day, c.last_session_day, c.sessions_attended, c.sessions_missed, self.ending_code[ending],
            ending_day, c.early_alliance_sum / c.early_alliance_n if c.early_alliance_n else math.nan, c.true_fit,
            c.rematched, c.therapists_seen, c.first_matched_day, c.kept_extra))

    def _detach(self, c: Client) -> None:
        """``c`` is about to lose their therapist: count them out of matched or in treatment."""
        if c.state == BOOKED:
            self.matched -= 1
        elif c.state == IN_TREATMENT:
            self.treating -= 1

    def _treated(self, c: Client) -> None:
        """``c`` attended a session: in treatment from now on (counted in once per therapist)."""
        if c.state == BOOKED:
            self.matched -= 1
            self.treating += 1
            c.state = IN_TREATMENT

    def _end(self, c: Client, ending: str) -> None:
        self._detach(c)
        self._close(c, ending)
        self._release(c)

    def _rematch(self, c: Client) -> None:
        c.previous_therapist = c.therapist
        c.rematched = True
        self._detach(c)
        self._release(c)
        c.therapist = None
        self._seek(c)

    # -- therapy -------------------------------------------------------------------
    def _served(self, c: Client, t: Therapist) -> Generator[simpy.Event, None, None]:
        """Queue mode: service starts at matching and lasts an exponential time."""
        self._treated(c)
        c.first_session_day = c.last_session_day = self.env.now
        c.sessions_attended = c.course_sessions = 1
        u = c.luck[0]
        c.luck_used += 1
        yield self.env.timeout(-math.log(1.0 - u) * self.sc.queue_mode.service_days_mean)
        self._end(c, "planned")

    def _book(self, c: Client, day: int) -> None:
        """Put ``c``'s next appointment in the day's agenda (a client has at most one booked appointment)."""
        todays = self.agenda.get(day)
        if todays is None:
            self.agenda[day] = [c]
        else:
            todays.append(c)

    def _sessions(self) -> Generator[simpy.Event, None, None]:
        """Every day at session time: the day's appointments, in the order they were booked."""
        env, agenda = self.env, self.agenda
        day = 0
        while True:
            yield env.timeout(day + SESSION_TIME - env.now)
            todays = agenda.pop(day, None)
            if todays:
                for c in todays:
                    self._appointment(c, day)
            day += 1

    def _appointment(self, c: Client, day: int) -> None:
        """One booked appointment of ``c``: attended or missed, then an ending, a rematch or the next booking
        (the rules: :mod:`sim.engine.rules`)."""
        cc, t = self._course_constants, c.therapist
        assert t is not None  # booked clients have a therapist
        i = c.luck_used % APPOINTMENTS
        if i == 0 and c.luck_used:
            c.luck = cc.luck(c)
        c.luck_used += 1
        u_ns, u_plan, u_drop, u_fric, u_alt, z_q, z_a, z_s, z_m, z_x = c.luck[i * DRAWS:(i + 1) * DRAWS]
        if not t.active:  # the therapist has left: rematch, or lose the client
            if u_alt < cc.loss_prob:
                self._end(c, "therapist_left")
            else:
                self._rematch(c)
            return
        k = c.sessions_attended + 1
        status = self._attendance(c, t, day, k, u_ns)
        if status is None:
            return
        if status != ATTENDED:
            c.missed_run += status == NO_SHOW
            if c.missed_run >= cc.max_missed:
                self._end(c, "dropout")
                return
            c.gap += 1
        else:
            c.missed_run = 0
            quality, measured = self._session(c, t, day, k, z_q, z_a, z_s, z_m, z_x)
            if self._ends_after_session(c, t, k, quality, c.gap, u_plan, u_drop):
                return
            if self.rematch_on and self.rematch.wants(c.course_sessions, c.rematched, measured, u_alt):
                self._rematch(c)
                return
            if k == 1 and cc.assessment_wait > 0:  # assessed: wait for treatment, then a (new) therapist
                self._assessed(c)
                return
        step = 14 if u_fric < cc.friction_p else 7
        if status == ATTENDED:
            c.gap = step // 7  # weeks since the last attended session, counting the next one
        self._book(c, day + step)

    def _record(self, cid: int, tid: int, day: int, number: int, status: int, obs: float = math.nan,
                alliance: float = math.nan, anx: float = math.nan) -> None:
        """One row of the sessions table (a booked appointment)."""
        a_cid, a_tid, a_day, a_number, a_status, a_obs, a_alliance, a_anx = self._session_appends
        a_cid(cid)
        a_tid(tid)
        a_day(day)
        a_number(number)
        a_status(status)
        a_obs(obs)
        a_alliance(alliance)
        a_anx(anx)

    def _attendance(self, c: Client, t: Therapist, day: int, k: int, u_ns: float) -> int | None:
        """Status of appointment ``k`` (attended, no-show, therapist absent); None when the client
        never came to their first session and has ended. Misses are recorded here."""
        cc = self._course_constants
        if t.sick_day == day:
            self._record(c.id, t.id, day, k, ABSENT)
            return ABSENT
        if k == 1:
            if not rules.shows_for_first(c.first_attendance_logit, cc.first_logit0, (day - c.arrival) / 7.0,
                                         cc.ln_wait_or):
                self._record(c.id, t.id, day, k, NO_SHOW)
                self._end(c, "pretreatment_dropout")
                return None
        elif u_ns < c.no_show_p:
            c.sessions_missed += 1
            self._record(c.id, t.id, day, k, NO_SHOW)
            return NO_SHOW
        return ATTENDED

    def _session(self, c: Client, t: Therapist, day: int, k: int, z_q: float, z_a: float, z_s: float, z_m: float,
                 z_x: float) -> tuple[float, float]:
        """An attended session: measure, experience, change; returns its quality and the measured alliance."""
        cc = self._course_constants
        if c.state == BOOKED:
            self._treated(c)
        c.sessions_attended = k
        c.course_sessions += 1
        total = c.severity + c.transient * 0.5 ** ((day - c.arrival) / cc.half_life)
        obs = rules.observed_score(total, cc.meas_sd * z_m, DEPRESSION_MAX)
        anx = rules.observed_score(c.anxiety_ratio * total, cc.anx_sd * z_x, ANXIETY_MAX)
        if k == 1:
            c.first_session_day = day
            c.obs_intake = obs
            c.anx_intake = anx
        c.last_session_day = day
        c.obs_last = obs
        c.anx_last = anx
        c.obs_history.append(obs)
        c.off_track = k >= cc.fb_from and c.obs_intake - obs < cc.fb_points  # feedback: progress against expected change
        quality = rules.session_quality(c.true_fit, cc.w_alliance, c.alliance, cc.exh_effect, t.exhaustion, cc.q_sd * z_q,
                                        cc.fb_boost if c.off_track else 0.0, cc.motivation if t.pressured else 0.0)
        alliance = c.alliance = rules.alliance_step(c.alliance, cc.memory, quality)
        measured = rules.measured_alliance(alliance, cc.a_sd * z_a)
        self._record(c.id, t.id, day, k, ATTENDED, obs, measured, anx)
        t.sessions_today += 1
        if k <= 3:
            c.early_alliance_sum += measured
            c.early_alliance_n += 1
        c.course_alliance_sum += measured
        if c.course_sessions == 1:
            t.firsts += 1
        elif c.course_sessions == 2:
            t.returns += 1
        c.severity = rules.symptom_step(c.severity, c.deterioration_prone, cc.drift, c.responsiveness,
                                        cc.change_effect, quality, cc.noise_sd * z_s)
        return quality, measured

    def _ends_after_session(self, c: Client, t: Therapist, k: int, quality: float, gap: int, u_plan: float,
                            u_drop: float) -> bool:
        """After attended session ``k``: the cap, a planned ending or a dropout (True: the client has ended)."""
        cc = self._course_constants
        if k >= cc.cap:
            self._end(c, "session_cap")
            return True
        obs, history = c.obs_last, c.obs_history
        satisfied = rules.good_enough(c.obs_intake, obs, c.goal, cc.measured_endings, c.anx_last)
        plateaued = k > cc.plateau_n and history[-1 - cc.plateau_n] - obs < cc.plateau_pts
        if u_plan < rules.planned_end_probability(k, c.single_need, satisfied, plateaued, cc.chances):
            if self.gaming_on and self.ranking_response.keeps_longer(satisfied, t.pressured, c.kept_extra):
                c.kept_extra += 1  # gaming: an improved client is kept a little longer
                return False
            self._end(c, "planned")
            return True
        x = rules.dropout_logit(c.dropout_logit0, quality, gap - 1, k, c.off_track, cc.dropout)
        if rules.happens(u_drop, x):
            self._end(c, "dropout")
            return True
        for name, chance in self.extra_endings:  # none unless an extra ending is registered in sim.engine.rules
            if stream(self.seed, self.rep, f"ending:{name}", (c.id << 12) | k).random() < chance(c, k, self.sc):
                self._end(c, name)
                return True
        return False

    def _assessed(self, c: Client) -> None:
        """Stepped care: after the assessment session the client gives up the slot, waits for treatment, then
        seeks a therapist."""
        self._detach(c)
        self._release(c)
        c.therapist = None
        c.state = WAITING
        self.assessed_waiting += 1
        self.env.process(self._after_assessment(c))

    def _after_assessment(self, c: Client) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(self._course_constants.assessment_wait)
        self.assessed_waiting -= 1
        self._seek(c)

    # -- therapists' days and weeks ------------------------------------------------
    def _strain_parameters(self) -> rules.StrainParameters:
        sc, ex = self.sc, self.sc.exhaustion
        return rules.StrainParameters(
            keep=1.0 - ex.recovery_rate, daily_strain=ex.daily_strain,
            feedback_strain=sc.performance.feedback.daily_strain if sc.performance.feedback.enabled else 0.0,
            admin_recovery=sc.capacity.admin_recovery * sc.capacity.admin_share, noise_sd=ex.noise_sd,
            ranking_stress=self.ranking_response.stress, overload_gain=ex.overload_gain,
            light_day_recovery=ex.light_day_recovery, own_share=1.0 - ex.absolute_share,
            absolute_share=ex.absolute_share, mean_load=sc.therapists.sustainable_load_mean)

    def _days_can_change_anything(self) -> bool:
        """False only in queue mode with no sickness, no leaving and no learned thresholds: there therapists hold
        no sessions, so their days change nobody's service and the evening round is skipped (exhaustion stays at
        its starting value, and the measured-day counters stay at zero)."""
        ex = self.sc.exhaustion
        return not self.sc.queue_mode.enabled or self.load_estimate.learns or any(
            (ex.sick_base, ex.sick_exhaustion, ex.leave_base_per_year, ex.leave_exhaustion_per_year))

    def _days(self) -> Generator[simpy.Event, None, None]:
        """Every evening: each active therapist's exhaustion, the day's measures, tomorrow's sickness, leaving."""
        ex = self.sc.exhaustion
        strain = self._strain_parameters()
        learns = self.load_estimate.learns
        day = 0
        while True:
            yield self.env.timeout(day + DAY_END - self.env.now)
            weekday = day % 7
            working = weekday < WEEKDAYS
            tomorrow_working = (day + 1) % 7 < WEEKDAYS
            measuring = self.warmup_day <= day < self.measure_end
            stayers = []
            for t in self.active:
                rng = t.rng
                z, u_sick, u_leave = rng.gauss(0.0, 1.0), rng.random(), rng.random()
                worked = working and t.sick_day != day
                e = t.exhaustion = rules.exhaustion_step(t.exhaustion, worked, t.sessions_today, t.load, t.pressured,
                                                         z, strain, t.susceptibility)
                if worked:
                    t.week_sessions += t.sessions_today
                if learns and working:
                    t.recent_exhaustion += e
                    t.recent_days += 1
                if measuring:
                    self._measure_day(t, day, working, worked)
                t.sessions_today = 0
                if weekday == WEEKDAYS - 1:
                    self._end_week(t, day, measuring)
                if tomorrow_working and u_sick < ex.sick_base + ex.sick_exhaustion * e:
                    t.sick_day = day + 1
                    if self.warmup_day <= day + 1 < self.measure_end:
                        t.sick_days += 1
                if u_leave < (ex.leave_base_per_year + ex.leave_exhaustion_per_year * e) / 365.0:
                    self._leave(t)
                else:
                    stayers.append(t)
            self.active = stayers
            if weekday == MIDWEEK:
                self._midweek = self._snapshot(stayers)
            day += 1

    def _measure_day(self, t: Therapist, day: int, working: bool, worked: bool) -> None:
        """A measured day's counters (exhaustion read at the end of each working day, never after a weekend)."""
        e, cutoff = t.exhaustion, self._cutoffs[0]
        if worked:
            t.measured_working_days += 1
            t.measured_sessions += t.sessions_today
            if t.sessions_today - t.load >= 1.0:  # a whole session above one's own load: rounding cannot create it
                t.measured_over_days += 1
        t.days_employed += 1
        t.exhaustion_sum += e
        if e > cutoff:
            t.burnout_days += 1
        if working:
            t.measured_weekdays += 1
            t.weekday_exhaustion_sum += e
            t.weekday_burnout += e > cutoff
            t.weekday_burnout_low += e > self._cutoffs[1]
            t.weekday_burnout_high += e > self._cutoffs[2]

    def _end_week(self, t: Therapist, day: int, measuring: bool) -> None:
        """Friday evening: count a measured week employed throughout, and whether it went over one's own load."""
        if measuring and day - t.hired_day >= WEEKDAYS - 1:
            t.measured_weeks += 1
            if t.week_sessions - WEEKDAYS * t.load >= 1.0:
                t.measured_over_weeks += 1
        t.week_sessions = 0

    def _snapshot(self, therapists: list[Therapist]) -> tuple[float, float]:
        """Mean exhaustion and burnout share of ``therapists`` now."""
        n = len(therapists)
        if not n:
            return math.nan, math.nan
        cutoff = self._cutoffs[0]
        return sum(t.exhaustion for t in therapists) / n, sum(t.exhaustion > cutoff for t in therapists) / n

    def _leave(self, t: Therapist) -> None:
        t.leave(self.env.now)
        self.week_leavers += 1
        if t in self.ramping:
            self.ramping.remove(t)
        self.pending_hires += 1
        self.env.process(self._recruit())

    def _recruit(self) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(self.sc.hiring.recruitment_lag_weeks * 7)
        self.pending_hires -= 1
        self._hire(ramp=True)

    def _weeks(self) -> Generator[simpy.Event, None, None]:
        sc, w = self.sc, self.weekly
        lt = sc.performance.ranking
        week = 0
        while True:
            yield self.env.timeout(7 * (week + 1) - 1 + WEEK_RECORD - self.env.now)
            if self.queue.count:
                self._expire(everyone=True)
            self._ramp(week + 1)
            for _ in range(self.hiring.posts_to_open(self.queue.count, len(self.active), self.pending_hires)):
                self.pending_hires += 1
                self.env.process(self._recruit())
            if lt.enabled and (week + 1) % lt.review_weeks == 0:
                self._review_league()
            if self.load_estimate.learns and (week + 1) % sc.capacity.learn_weeks == 0:
                self._revise_thresholds()
            if self.matching.uses_fit:
                self.rooms.refresh_best(self.active)
            n = len(self.active)  # the record is a snapshot after the week's last decisions
            w["week"].append(week)
            w["waiting"].append(self.queue.count + self.assessed_waiting)
            w["matched"].append(self.matched)
            w["active_clients"].append(self.treating)
            w["sessions"].append(0)  # filled from the sessions table at the end
            mean_exhaustion, burnout_share = self._midweek  # read on Wednesday evening, a working day
            w["mean_exhaustion"].append(mean_exhaustion)
            w["burnout_share"].append(burnout_share)
            w["headcount"].append(n)
            booked = sum(sum(t.occupied) for t in self.active)
            bookable = sum(sum(t.slots) for t in self.active)
            w["utilisation"].append(booked / bookable if bookable else math.nan)
            w["hires"].append(self.week_hires)
            w["leavers"].append(self.week_leavers)
            self.week_hires = self.week_leavers = 0
            week += 1

    def _ramp(self, week: int) -> None:
        ramp_weeks = self.sc.hiring.ramp_weeks
        still = []
        for t in self.ramping:
            share = min(1.0, (self.env.now - t.hired_day) / 7.0 / ramp_weeks + 1.0 / (ramp_weeks + 1))
            t.set_capacity(min(t.target_slots, math.ceil(t.target_slots * share)))
            self._fill(t)
            if sum(t.slots) < t.target_slots:
                still.append(t)
        self.ramping = still

    def _revise_thresholds(self) -> None:
        """Learned load estimates: revise each therapist's threshold from their recent exhaustion."""
        for t in self.active:
            if not t.recent_days:
                continue
            revised = self.load_estimate.update(t.load_estimate, t.recent_exhaustion / t.recent_days)
            t.recent_exhaustion, t.recent_days = 0.0, 0
            if revised is None:
                continue
            th = self.sc.therapists
            t.load_estimate = min(th.sustainable_load_max * 1.5, max(th.sustainable_load_min * 0.5, revised))
            t.target_slots = self.capacity.weekly_slots(t.load_estimate)
            if t not in self.ramping:
                t.set_capacity(t.target_slots)
                self._fill(t)

    def _review_league(self) -> None:
        rk = self.sc.performance.ranking
        records = {t.id: (t.firsts, t.returns) for t in self.active}
        below = below_median(records, rk.min_cases)
        for t in self.active:
            t.pressured = t.id in below
            # selection: a share of the pressured decline complex referrals (each therapist's own stream)
            if t.pressured and t.selection_rng is None:
                t.selection_rng = stream(self.seed, self.rep, "selection", t.id)
            t.declines_complex = self.ranking_response.declines_complex(t.pressured, t.selection_rng)
            if t.pressured and self.ranking_response.learning:  # learning from the peers ranked above
                t.learn(self.ranking_response.learning)
                for domain in range(len(t.domain_true)):  # (an estimate read from true skill has changed)
                    self.rooms.refresh(t, domain)
            t.firsts *= 0.5  # older results fade: the table reflects recent months
            t.returns *= 0.5

    # -- tables --------------------------------------------------------------------
    def _tables(self) -> Tables:
        for c in self.open.values():  # still waiting or in treatment at the horizon
            ending = {IN_TREATMENT: "in_treatment_at_end", BOOKED: "matched_at_end"}.get(c.state, "waiting_at_end")
            self._write_row(c, ending, math.nan)
        clients = self.rows.frame()
        clients["in_warmup"] = clients["arrival_day"] < self.warmup_day
        clients["in_cohort"] = ~clients["in_warmup"] & (clients["arrival_day"] < self.measure_end)
        sessions = sessions_frame(self.sessions)
        self.sessions = typed_columns(SESSION_COLUMNS)  # release the raw columns
        weekly = weekly_frame(self.weekly, sessions)
        therapists = therapists_frame(self.therapists, sessions)
        return Tables(
            clients=clients,
            sessions=sessions,
            therapists=therapists,
            weekly=weekly,
            meta={"seed": self.seed, "replication": self.rep},
            scenario=self.sc,
        )
