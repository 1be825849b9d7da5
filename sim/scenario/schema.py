"""Scenario: what we assume. A validated, documented tree of parameters.

Every field carries its unit, a plausible range for sensitivity analysis, a one-line
description, a source (or "assumption: ..." with the reasoning) and an evidence grade, so
the assumptions register and the notebook controls are generated from this one schema.

Reading files, ``extends:`` and overrides are :mod:`sim.scenario.loading`.

>>> s = Scenario()
>>> s.capacity.policy, s.matching.policy
('team_quota', 'earliest')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from sim.base.errors import InputError
from sim.base.paths import PROJECT_DIR
from sim.base.registry import names

SCENARIO_DIR = PROJECT_DIR / "scenarios"
Evidence = Literal["strong", "moderate", "weak", "assumption"]
DOMAINS = ("anxiety", "depression", "trauma", "relationships", "work_stress", "other")


Overrides = Mapping[str, Any] | Sequence[str]
NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$"
MAX_EXTENDS = 16
#: Old parameter paths that still work in overrides (the section performance.league_table is now performance.ranking).
RENAMED = {"performance.ranking.gaming_decline_complex": "performance.ranking.selection_share",
           "performance.league_table.gaming_decline_complex": "performance.ranking.selection_share"}


class ScenarioError(InputError):
    """Bad scenario input; the message names the field and what is allowed."""


def p(
    default: Any,
    *,
    unit: str,
    desc: str,
    source: str,
    evidence: Evidence,
    range: tuple[float, float] | None = None,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    registry: str | None = None,
) -> Any:
    """A documented parameter: a pydantic Field with register metadata."""
    extra: dict[str, Any] = {"unit": unit, "source": source, "evidence": evidence}
    if range is not None:
        extra["range"] = list(range)
    if registry is not None:
        extra["registry"] = registry  # a choice among the policies registered for this lever kind
    return Field(default, description=desc, ge=ge, le=le, gt=gt, lt=lt, json_schema_extra=extra)


def _choice(kind: str, value: str) -> str:
    allowed = names(kind)
    if value not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; allowed: {', '.join(allowed)}")
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _registered_choice(cls, value: Any, info: ValidationInfo) -> Any:
        """A field declared with ``registry=`` takes only the names registered for that lever kind."""
        extra = cls.model_fields[info.field_name].json_schema_extra if info.field_name else None
        kind = extra.get("registry") if isinstance(extra, dict) else None
        return _choice(str(kind), value) if kind else value


class Horizon(Section):
    warmup_auto: bool = p(
        False, unit="on/off", desc=("Choose the warm-up by MSER-5 on pilot runs before running (write "
                                    "`warmup_weeks: auto`); the choice and its statistic go to metadata.json."),
        source="White, Cobb & Spratt (2000) MSER-5 truncation rule", evidence="moderate")
    warmup_weeks: int = p(
        26, unit="weeks", ge=0, le=520, range=(13, 52),
        desc="Simulated time before measurement starts (caseloads and exhaustion settle).",
        source="assumption: caseloads fill and exhaustion settles within about 4-6 months in pilot runs",
        evidence="assumption")
    measured_weeks: int = p(
        104, unit="weeks", ge=1, le=2600, range=(52, 156),
        desc="Measured period after the warm-up.",
        source="design brief (MODEL.md): years of simulated clients; two years by default",
        evidence="assumption")
    follow_up_weeks: int = p(
        26, unit="weeks", ge=0, le=520, range=(13, 52),
        desc=("Client measures follow the arrival cohort of the measured period until each client ends or this "
              "long after the measured period (the platform keeps running; therapist and money measures stop)."),
        source="assumption: long enough that at least 99% of the cohort has ended (tested)", evidence="assumption")

    @model_validator(mode="before")
    @classmethod
    def _auto_warmup(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("warmup_weeks") == "auto":
            data = {**data, "warmup_auto": True}
            data.pop("warmup_weeks")
        return data


class Demand(Section):
    arrivals_per_week: float = p(
        350.0, unit="clients/week", ge=0, le=1e6, range=(320, 380),
        desc="Mean rate of new clients (Poisson).",
        source=("derived from capacity: at 350 a week the 100-therapist status quo books about 90% of its slots with a "
                "waiting list that does not trend (docs/model.md, 'A steady platform'); 390 overloads it (overloaded.yaml)"),
        evidence="assumption")
    growth_per_year: float = p(
        0.0, unit="fraction/year", ge=-0.9, le=5, range=(0, 0.3),
        desc="Exponential growth of the arrival rate.",
        source="assumption: stationary demand by default", evidence="assumption")
    seasonality_amplitude: float = p(
        0.0, unit="fraction", ge=0, le=0.9, range=(0, 0.2),
        desc="Relative amplitude of a yearly sinusoidal cycle in arrivals.",
        source="assumption: none by default", evidence="assumption")


class DomainPrevalence(Section):
    anxiety: float = p(0.30, unit="share", ge=0, le=1, range=(0.2, 0.4),
                       desc="Share of clients whose primary problem is anxiety.",
                       source="assumption informed by NHS Talking Therapies referral mix (anxiety and depression dominate)",
                       evidence="weak")
    depression: float = p(0.28, unit="share", ge=0, le=1, range=(0.2, 0.4),
                          desc="Share with depression as primary problem.",
                          source="assumption informed by NHS Talking Therapies referral mix", evidence="weak")
    trauma: float = p(0.10, unit="share", ge=0, le=1, range=(0.05, 0.15),
                      desc="Share with trauma as primary problem.", source="assumption", evidence="assumption")
    relationships: float = p(0.12, unit="share", ge=0, le=1, range=(0.08, 0.2),
                             desc="Share with relationship problems as primary problem.",
                             source="assumption", evidence="assumption")
    work_stress: float = p(0.12, unit="share", ge=0, le=1, range=(0.08, 0.2),
                           desc="Share with work stress as primary problem.", source="assumption",
                           evidence="assumption")
    other: float = p(0.08, unit="share", ge=0, le=1, range=(0.04, 0.12),
                     desc="Share with another primary problem.", source="assumption", evidence="assumption")

    @model_validator(mode="after")
    def _positive_total(self) -> DomainPrevalence:
        if sum(self.weights()) <= 0:
            raise ValueError("domain prevalences must not all be zero")
        return self

    def weights(self) -> list[float]:
        return [getattr(self, d) for d in DOMAINS]


class Clients(Section):
    domain_prevalence: DomainPrevalence = Field(default_factory=DomainPrevalence,
                                                description="Primary problem mix (normalised to sum 1).")
    complexity_2_share: float = p(
        0.30, unit="share", ge=0, le=1, range=(0.2, 0.4),
        desc="Share of clients with two elevated problem domains.",
        source="assumption: comorbidity is common in routine care", evidence="assumption")
    complexity_3_share: float = p(
        0.15, unit="share", ge=0, le=1, range=(0.1, 0.25),
        desc="Share with three or more elevated domains.", source="assumption", evidence="assumption")
    complexity_responsiveness_factor: float = p(
        0.85, unit="multiplier per extra domain", gt=0, le=1, range=(0.7, 1.0),
        desc="Responsiveness multiplier for each elevated domain beyond the first.",
        source="assumption: comorbidity predicts slower change (direction from routine-outcome studies)",
        evidence="weak")
    severity_mean: float = p(
        15.0, unit="PHQ-9 points", ge=0, le=27, range=(13, 17),
        desc="Mean intake severity on a PHQ-9-like 0-27 scale.",
        source="design brief (MODEL.md); NHS Talking Therapies intake means around 15", evidence="moderate")
    severity_sd: float = p(
        5.0, unit="PHQ-9 points", gt=0, le=15, range=(4, 6),
        desc="Standard deviation of intake severity.", source="design brief (MODEL.md)", evidence="moderate")
    responsiveness_median: float = p(
        0.03, unit="fraction of remaining symptoms per session", gt=0, le=1, range=(0.02, 0.045),
        desc="Median share of remaining symptoms removed by an average-quality session.",
        source="calibrated: dose-effect (Howard et al. 1986: ~50% improved by session 8, ~75% by 26)",
        evidence="moderate")
    responsiveness_log_sd: float = p(
        1.35, unit="log units", ge=0, le=3, range=(1.0, 1.6),
        desc="Spread of individual responsiveness (lognormal).",
        source="assumption: wide individual differences in rate of change (calibration search: 1.35)",
        evidence="assumption")
    deterioration_prone_share: float = p(
        0.06, unit="share", ge=0, le=1, range=(0.03, 0.09),
        desc="Share of clients whose symptoms drift upward whatever the sessions.",
        source="calibrated: reliable deterioration 4-8% (Gyani et al. 2013: 6.6%)", evidence="moderate")
    deterioration_drift: float = p(
        0.12, unit="fraction of severity per session", ge=0, le=1, range=(0.08, 0.16),
        desc="Upward drift per session for deterioration-prone clients.",
        source="assumption", evidence="assumption")
    symptom_noise_sd: float = p(
        0.4, unit="PHQ-9 points per session", ge=0, le=10, range=(0.2, 0.8),
        desc="Random week-to-week fluctuation of true severity (life events).",
        source="assumption", evidence="assumption")
    measurement_sd: float = p(
        2.0, unit="PHQ-9 points", ge=0, le=10, range=(1.5, 3.0),
        desc="Measurement noise of an observed severity score.",
        source="assumption consistent with PHQ-9 reliability (reliable change index about 6 points)",
        evidence="moderate")
    anxiety_ratio_mean: float = p(
        0.65, unit="GAD-7 points per PHQ-9 point", gt=0, le=2, range=(0.55, 0.8),
        desc="Typical ratio of a client's anxiety score (GAD-7-like, 0-21) to their depression score.",
        source="calibrated (talking-therapies outcomes); NHS Talking Therapies intakes: PHQ-9 about 15-16, GAD-7 about 13",
        evidence="moderate")
    anxiety_ratio_log_sd: float = p(
        0.25, unit="log units", ge=0, le=2, range=(0.15, 0.4),
        desc="Spread of that ratio across clients (some are mostly anxious, some mostly depressed).",
        source="assumption", evidence="assumption")
    anxiety_measurement_sd: float = p(
        2.2, unit="GAD-7 points", ge=0, le=10, range=(1.6, 2.6),
        desc="Measurement noise of an observed anxiety score.",
        source="calibrated; consistent with a GAD-7 reliable change index of 4 points", evidence="moderate")
    transient_share: float = p(
        0.15, unit="fraction of intake severity", ge=0, lt=1, range=(0.1, 0.3),
        desc="Share of intake severity that is a transient crisis component fading on its own (people seek help at a peak).",
        source="calibrated; assumption of regression to the mean and remission after help-seeking (waitlists improve)",
        evidence="weak")
    transient_half_life_weeks: float = p(
        6.0, unit="weeks", gt=0, le=520, range=(3, 12),
        desc="Half-life of the transient component (the spontaneous change while waiting and beyond).",
        source="assumption", evidence="assumption")
    engagement_sd: float = p(
        1.0, unit="logit units", ge=0, le=5, range=(0.5, 1.5),
        desc="Spread of engagement propensity (drives no-shows and dropout).",
        source="assumption", evidence="assumption")
    preference_share: float = p(
        0.3, unit="share", ge=0, le=1, range=(0.1, 0.5),
        desc="Share of clients with a stated preference about therapist characteristics.",
        source="assumption", evidence="assumption")
    single_session_need_share: float = p(
        0.30, unit="share", ge=0, le=1, range=(0.2, 0.4),
        desc="Share of clients who came for one conversation and end after it if it helped.",
        source="calibrated: mode of one session, single sessions in 20-50% of cases (CCMH 2017; Hoyt & Talmon 2014)",
        evidence="moderate")
    goal_improvement_min: float = p(
        0.35, unit="fraction of intake severity", ge=0, le=1, range=(0.25, 0.45),
        desc="Lower end of the improvement that makes a client feel 'good enough' (uniform between min and max).",
        source="assumption: clients end when they feel good enough (good-enough level model, Barkham et al. 2006)",
        evidence="weak")
    goal_improvement_max: float = p(
        0.75, unit="fraction of intake severity", ge=0, le=1, range=(0.6, 0.9),
        desc="Upper end of the 'good enough' improvement.", source="assumption (as above)", evidence="weak")
    first_attendance_prob: float = p(
        0.92, unit="probability", ge=0, le=1, range=(0.85, 0.97),
        desc="Probability of attending the first session when it comes without waiting.",
        source="assumption: some referrals never attend even without a wait", evidence="weak")
    waiting_odds_ratio_per_week: float = p(
        0.95, unit="odds ratio/week", gt=0, le=1, range=(0.93, 0.97),
        desc="Odds ratio of attending the first session per extra week waited.",
        source="Psychol Serv 2023; 20(4):983-987: each extra week lowers odds of attendance by 5%",
        evidence="moderate")
    queue_abandon_per_week: float = p(
        0.02, unit="hazard/week", ge=0, le=1, range=(0.0, 0.05),
        desc="Weekly hazard of leaving the waiting list before being matched.",
        source="assumption: waiting mainly acts through first-session attendance (design brief); small abandonment",
        evidence="assumption")

    @model_validator(mode="after")
    def _consistent(self) -> Clients:
        if self.complexity_2_share + self.complexity_3_share > 1:
            raise ValueError("clients.complexity_2_share + clients.complexity_3_share must be at most 1")
        if self.goal_improvement_min > self.goal_improvement_max:
            raise ValueError("clients.goal_improvement_min must not exceed clients.goal_improvement_max")
        return self


class Therapy(Section):
    no_show_prob: float = p(
        0.08, unit="probability", ge=0, le=1, range=(0.05, 0.12),
        desc="Probability that an average-engagement client misses a booked appointment.",
        source="Binnie & Boden 2016: DNA rate 8.9%", evidence="moderate")
    max_consecutive_no_shows: int = p(
        3, unit="appointments", ge=1, le=52, range=(2, 4),
        desc="Consecutive missed appointments after which the client is discharged (counted as dropout).",
        source="assumption: services commonly discharge after two or three unexplained missed appointments",
        evidence="weak")
    no_show_engagement_effect: float = p(
        0.5, unit="logit per engagement sd", ge=0, le=5, range=(0.3, 0.8),
        desc="How strongly low engagement raises no-shows.", source="assumption", evidence="assumption")
    quality_noise_sd: float = p(
        1.0, unit="quality sd", ge=0, le=5, range=(0.7, 1.3),
        desc="Session-to-session noise in experienced session quality.",
        source="assumption: sets the scale of session quality", evidence="assumption")
    alliance_memory: float = p(
        0.4, unit="weight of newest session", gt=0, le=1, range=(0.25, 0.6),
        desc="How fast the alliance follows session experiences (exponential memory).",
        source="assumption", evidence="assumption")
    alliance_quality_weight: float = p(
        0.4, unit="quality per alliance unit", ge=0, lt=1, range=(0.1, 0.5),
        desc="How much the alliance built so far lifts the next session.",
        source=("assumption: alliance is both product and driver of good sessions (Fluckiger et al. 2018); "
                "calibrated: 0.3 left the alliance-outcome r at 0.219-0.222, on the band's lower edge, once the "
                "appointment draws were keyed by name; 0.4 gives 0.236"),
        evidence="weak")
    alliance_measurement_sd: float = p(
        0.08, unit="quality sd", ge=0, le=5, range=(0.04, 0.2),
        desc="Noise of the measured (self-reported) alliance.",
        source=("calibrated: alliance-outcome r about .28 (Fluckiger et al. 2018); since the cohort measurement the "
                "simulated r sits at 0.22, the band's lower edge, almost whatever this noise (0.08-0.2 tried)"),
        evidence="moderate")
    quality_change_effect: float = p(
        0.75, unit="log change per quality sd", ge=0, le=3, range=(0.55, 0.95),
        desc="How strongly session quality speeds symptom change.",
        source="calibrated: alliance-outcome correlation and therapist effect", evidence="weak")
    exhaustion_quality_effect: float = p(
        0.6, unit="quality sd at full exhaustion", ge=0, le=5, range=(0.3, 1.0),
        desc="Loss of session quality at exhaustion 1.",
        source="assumption: burnout lowers care quality (Salyers et al. 2017 meta-analysis, small-moderate)",
        evidence="weak")
    dropout_base_logit: float = p(
        -4.7, unit="logit", ge=-15, le=5, range=(-5.2, -4.2),
        desc="Log-odds of dropping out after an average later session.",
        source=("calibrated to the middle of the dropout band (Swift & Greenberg 2012: 19.7%; band 15-25%) by "
                "calibration/search_us_middle_clients.yaml: -4.7 gives 21% (-4.5: 23.5%)"), evidence="moderate")
    dropout_session1_extra: float = p(
        2.3, unit="logit", ge=0, le=10, range=(1.8, 2.8),
        desc="Extra log-odds of dropping out after the first session.",
        source="calibrated: over 70% of dropout after visit 1 or 2 (Olfson et al. 2009)", evidence="moderate")
    dropout_session2_extra: float = p(
        1.8, unit="logit", ge=0, le=10, range=(1.3, 2.3),
        desc="Extra log-odds of dropping out after the second session.",
        source=("calibrated: over 70% of dropout after visit 1 or 2 (Olfson et al. 2009) by a recorded grid search "
                "(calibration/search_us_middle_courses.yaml): 1.8 moves early dropout from 63% to 65% of 60-80% "
                "(1.5 before); the range is centred on it"), evidence="moderate")
    dropout_quality_effect: float = p(
        0.6, unit="logit per quality sd", ge=0, le=5, range=(0.3, 0.9),
        desc="How much a session that felt like progress lowers dropout.",
        source="assumption from the design brief: clients return when they feel they moved forward",
        evidence="weak")
    dropout_engagement_effect: float = p(
        0.5, unit="logit per engagement sd", ge=0, le=5, range=(0.3, 0.8),
        desc="How much engagement lowers dropout.", source="assumption", evidence="assumption")
    dropout_gap_effect: float = p(
        0.25, unit="logit per extra week of gap", ge=0, le=5, range=(0.1, 0.4),
        desc="How much a longer gap since the previous session raises dropout.",
        source="assumption: continuity matters; small effect", evidence="assumption")
    single_session_end_prob: float = p(
        0.9, unit="probability", ge=0, le=1, range=(0.8, 0.95),
        desc="Probability that a single-session-need client ends (planned) after session 1.",
        source="assumption: most one-session clients got what they wanted (Hoyt & Talmon 2014)",
        evidence="weak")
    satisfied_end_prob: float = p(
        0.45, unit="probability/session", ge=0, le=1, range=(0.3, 0.6),
        desc="Per-session probability of a planned ending once a client feels good enough.",
        source="assumption", evidence="assumption")
    plateau_end_prob: float = p(
        0.12, unit="probability/session", ge=0, le=1, range=(0.05, 0.2),
        desc="Per-session probability of a planned ending when progress has plateaued.",
        source="assumption", evidence="assumption")
    plateau_sessions: int = p(
        4, unit="sessions", ge=2, le=20, range=(3, 6),
        desc="Window over which progress is judged for a plateau.", source="assumption",
        evidence="assumption")
    plateau_points: float = p(
        1.5, unit="PHQ-9 points", ge=0, le=27, range=(1, 3),
        desc="Observed improvement over the window below which progress counts as plateaued.",
        source="assumption", evidence="assumption")
    background_end_prob: float = p(
        0.015, unit="probability/session", ge=0, le=1, range=(0.005, 0.03),
        desc="Per-session probability of an agreed ending for other reasons (moves, life changes).",
        source="assumption", evidence="assumption")
    measurement_based_endings: bool = p(
        False, unit="on/off",
        desc="Measurement-based care: a client whose scores fall below caseness on both scales counts as 'good enough'.",
        source="platform setting (NHS Talking Therapies monitor outcomes every session and end at recovery)",
        evidence="assumption")
    assessment_wait_weeks: float = p(
        0.0, unit="weeks", ge=0, le=104, range=(0, 8),
        desc="Wait between the first (assessment) session and treatment: the client gives up the slot and is "
             "re-matched after this many weeks (0 = treatment continues with the same therapist).",
        source="platform setting (NHS Talking Therapies report 'hidden waits' between first and second appointments)",
        evidence="weak")
    session_cap: int | None = p(
        None, unit="sessions", ge=1, le=500, range=None,
        desc="Maximum sessions per course (none = open-ended).",
        source="platform setting", evidence="assumption")


class Therapists(Section):
    count: int = p(
        100, unit="therapists", ge=0, le=100_000, range=(50, 200),
        desc="Therapist headcount at the start (and target for replacement hiring).",
        source="design brief: about 100 therapists", evidence="assumption")
    general_effectiveness_sd: float = p(
        0.6, unit="quality sd", ge=0, le=5, range=(0.45, 0.75),
        desc="Spread of therapists' general effectiveness (the therapist effect).",
        source=("calibrated: therapist share of outcome variance about 5% (Johns et al. 2019; band 3-8%) by "
                "calibration/search_us_middle_clients.yaml: 0.6 gives 4.5% (0.5: 3.5%, at the band's low edge)"),
        evidence="moderate")
    domain_effectiveness_sd: float = p(
        0.35, unit="quality sd", ge=0, le=5, range=(0.2, 0.5),
        desc="Spread of domain-specific effectiveness (therapists are good at different things).",
        source="assumption: domain-specific effectiveness exists and is weakly correlated across domains (Kraus et al. 2011)",
        evidence="weak")
    chemistry_sd: float = p(
        0.5, unit="quality sd", ge=0, le=5, range=(0.3, 0.7),
        desc="Spread of unobservable client-therapist chemistry.", source="assumption", evidence="assumption")
    preference_match_effect: float = p(
        0.25, unit="quality sd", ge=0, le=5, range=(0.1, 0.4),
        desc="Quality gain when a stated client preference is met.",
        source="Swift et al. 2018 meta-analysis: preference accommodation has a small effect (d about .15-.28)",
        evidence="moderate")
    style_categories: int = p(
        3, unit="categories", ge=1, le=20, range=(2, 5),
        desc="Number of therapist characteristic categories clients may prefer.",
        source="assumption", evidence="assumption")
    declared_specialties: int = p(
        2, unit="domains", ge=0, le=6, range=(1, 3),
        desc="Number of specialties a profile declares.", source="assumption", evidence="assumption")
    specialty_prevalence_weight: float = p(
        0.25, unit="weight", ge=0, le=1, range=(0.0, 0.5),
        desc=("How declared specialties follow how common each problem is: 0 ignores prevalence (specialties spread "
              "evenly over problems), 1 follows it strongly (common problems declared more often)."),
        source=("fitted to a therapist directory: in 7,657 Psychology Today profiles (Felix 2017) anxiety, "
                "depression, relationships and trauma are declared by 37%, 32%, 28.5% and 25% (most to least 1.48); "
                "0.25 reproduces that pattern best given the assumed prevalences (1.35; "
                "sim.runs.calibration.specialty_weight_fit). The range runs to 0.5, where the ratio is 1.8 "
                "(0.5 was the default until 2026-12-03, evening, the centre of an unsourced 0-1)"),
        evidence="weak")
    leaver_client_loss_prob: float = p(
        0.3, unit="probability", ge=0, le=1, range=(0.15, 0.5),
        desc="Probability that a client of a leaving therapist ends rather than accepting a new therapist.",
        source="assumption: therapist turnover disrupts care and loses some clients", evidence="weak")
    sustainable_load_mean: float = p(
        5.0, unit="sessions/working day", gt=0, le=12, range=(4.5, 5.5),
        desc="Mean of each therapist's own sustainable sessions per working day.",
        source="design brief (MODEL.md): about 25 sessions a week", evidence="weak")
    sustainable_load_sd: float = p(
        1.0, unit="sessions/working day", ge=0, le=5, range=(0.5, 1.5),
        desc="Spread of sustainable load across therapists.", source="design brief (MODEL.md)",
        evidence="assumption")
    sustainable_load_min: float = p(
        3.0, unit="sessions/working day", gt=0, le=12, range=None,
        desc="Lower clip of sustainable load.", source="design brief (MODEL.md)", evidence="assumption")
    sustainable_load_max: float = p(
        8.0, unit="sessions/working day", gt=0, le=16, range=None,
        desc="Upper clip of sustainable load.", source="design brief (MODEL.md)", evidence="assumption")

    @model_validator(mode="after")
    def _clip_order(self) -> Therapists:
        if self.sustainable_load_min > self.sustainable_load_max:
            raise ValueError("therapists.sustainable_load_min must not exceed therapists.sustainable_load_max")
        return self


class Exhaustion(Section):
    overload_gain: float = p(
        0.08, unit="exhaustion per relative overload-day", ge=0, le=5, range=(0.04, 0.12),
        desc="Exhaustion added per day per unit of sessions beyond the reference load (relative to it).",
        source="assumption: exhaustion rises with workload beyond capacity (O'Connor et al. 2018)",
        evidence="weak")
    absolute_share: float = p(
        0.5, unit="weight (0-1)", ge=0, le=1, range=(0.0, 1.0),
        desc=("How much of the workload effect on exhaustion depends on absolute session volume (against the mean "
              "sustainable load) rather than on sessions beyond one's own load: 0 = only one's own load matters, "
              "1 = only the absolute number of sessions."),
        source=("assumption: both channels are documented (hours of direct client contact predict exhaustion, "
                "Rupert & Morgan 2005, Prof Psychol Res Pract 36(5); person-job fit, Maslach & Leiter 2016) but not "
                "their weights: the default sits at the centre, 0.5 (until 2026-12-03 it was 0, the end of the range most "
                "favourable to individual thresholds); the whole range is explored by the robustness analysis"),
        evidence="assumption")
    susceptibility_sd: float = p(
        0.3, unit="log-sd", ge=0, le=2, range=(0.15, 0.45),
        desc=("Spread of therapists' susceptibility to a day's strain (a lognormal multiplier of daily_strain with "
              "mean 1, drawn per therapist, unknown to the platform): with the same sessions, some tire faster."),
        source=("Alarcon, Eschleman & Bowling 2009, Work & Stress 23(3), meta-analysis: personality (emotional "
                "stability, extraversion, conscientiousness) is substantially related to emotional exhaustion, so "
                "equal workloads do not give equal exhaustion; the size of the spread here is an assumption (0.3: "
                "the middle third of therapists within about +-13% of the mean strain)"),
        evidence="weak")
    daily_strain: float = p(
        0.020, unit="exhaustion/working day", ge=0, le=1, range=(0.018, 0.022),
        desc="Baseline emotional strain of a working day.",
        source=("calibrated to the middle of the burnout band (40% of 30-50%; O'Connor et al. 2018) by recorded "
                "searches (calibration/search_us_middle*.yaml, logs beside them): pooled over 16 replications at two "
                "seeds (the calibration's and the last search's), 0.019 gave 35% burnout (a quarter into the band; "
                "the 5-replication search had read 37%), 0.0195 38%, and 0.020 with the later-dropout extra of "
                "1.8 gives 38% burnout and 32% turnover; burnout's replication sd is about 5 points; the range, "
                "centred on the default, covers the band"),
        evidence="weak")
    recovery_rate: float = p(
        0.025, unit="fraction/day", ge=0, le=1, range=(0.015, 0.04),
        desc="Share of exhaustion shed per day (working or not).", source="assumption", evidence="assumption")
    light_day_recovery: float = p(
        0.03, unit="exhaustion per relative spare-day", ge=0, le=5, range=(0.01, 0.05),
        desc="Extra recovery per unit of spare capacity on a light day.", source="assumption",
        evidence="assumption")
    noise_sd: float = p(
        0.02, unit="exhaustion/day", ge=0, le=1, range=(0.01, 0.04),
        desc="Day-to-day noise in strain (difficult sessions, life).", source="assumption",
        evidence="assumption")
    burnout_cutoff: float = p(
        0.5, unit="exhaustion (0-1)", gt=0, lt=1, range=(0.45, 0.55),
        desc="Exhaustion above which a therapist counts as burned out (high emotional exhaustion).",
        source="assumption: maps high MBI emotional exhaustion onto the 0-1 scale", evidence="assumption")
    sick_base: float = p(
        0.015, unit="probability/working day", ge=0, le=1, range=(0.01, 0.025),
        desc="Probability of a sick day at zero exhaustion.",
        source="assumption: about 4 sick days a year (UK public-sector averages are 4-10)", evidence="weak")
    sick_exhaustion: float = p(
        0.03, unit="probability/working day at exhaustion 1", ge=0, le=1, range=(0.01, 0.05),
        desc="Extra sick-day probability at full exhaustion.", source="assumption", evidence="assumption")
    leave_base_per_year: float = p(
        0.15, unit="hazard/year", ge=0, le=10, range=(0.1, 0.2),
        desc="Yearly hazard of leaving at zero exhaustion.",
        source="calibrated: turnover about 30%/yr (Brabson et al. 2020)", evidence="moderate")
    leave_exhaustion_per_year: float = p(
        0.35, unit="hazard/year at exhaustion 1", ge=0, le=10, range=(0.2, 0.5),
        desc="Extra yearly leaving hazard at full exhaustion.",
        source="assumption: burnout predicts turnover intention (Scanlan & Still 2019)", evidence="weak")


class Matching(Section):
    profile_validity: float = p(
        0.1, unit="correlation", ge=-0.5, le=1, range=(-0.2, 0.4),
        desc=("How well declared specialties track true domain-specific effectiveness: the correlation of the "
              "self-view that chooses them with the truth (0 = chance, negative = misleading)."),
        source=("Constantino et al. 2023, J Consult Clin Psychol 91(8): therapists predicted their measured "
                "problem-specific effectiveness no better than chance in 11 of 12 domains; Walfish et al. 2012: "
                "self-assessment is biased. 0.1: close to chance"),
        evidence="moderate")
    policy: str = p(
        "earliest", unit="name", range=None, registry="matching",
        desc="How new clients are paired: earliest availability, best estimated fit, or a weighted hybrid.",
        source="lever", evidence="assumption")
    information: str = p(
        "declared", unit="name", range=None, registry="information",
        desc="What the matcher sees of therapist effectiveness: declared profile, measured track record, or the truth.",
        source="lever", evidence="assumption")
    profile_clarity: float = p(
        1.0, unit="multiplier", ge=0, le=1, range=(0.0, 1.0),
        desc="How much of the declared specialty signal reaches the matcher (0 = profiles say nothing).",
        source="lever (visible specialties)", evidence="assumption")
    measured_prior_cases: float = p(
        5.0, unit="cases", ge=0, le=1000, range=(2, 10),
        desc="Shrinkage of the measured track record toward the average (in pseudo-cases).",
        source="assumption", evidence="assumption")
    fit_weight: float = p(
        0.7, unit="weight", ge=0, le=1, range=(0.3, 0.9),
        desc="Hybrid matching: weight on estimated fit against waiting time.", source="lever",
        evidence="assumption")
    max_wait_weeks: float = p(
        4.0, unit="weeks", ge=0, le=520, range=(2, 8),
        desc="Fit matching: a waiting client who has waited this long takes the next free slot.",
        source="lever", evidence="assumption")
    hold_weeks: float = p(
        1.0, unit="weeks", ge=0, le=52, range=(0, 4),
        desc=("Fit matching: a new client may wait this long for a clearly better-fitting therapist who has no free "
              "slot now (the brief's 'best fit within a maximum wait'), then takes the best available."),
        source="assumption: platforms hold a client for a specialist for days to a couple of weeks", evidence="assumption")
    hold_min_gain: float = p(
        0.5, unit="estimate units", gt=0, le=10, range=(0.25, 1.0),
        desc=("Fit matching: hold only if the best therapist overall is estimated this much better than the best "
              "with room; while held, any therapist within this of the best is accepted."),
        source="assumption: half a declared specialty (declared) or about two sd of domain skill (oracle)",
        evidence="assumption")
    @field_validator("information")
    @classmethod
    def check_information(cls, v: str) -> str:
        return _choice("information", v)


class Capacity(Section):
    policy: str = p(
        "team_quota", unit="name", range=None, registry="capacity",
        desc="team_quota: everyone booked to the same sessions/day; individual: each to their own sustainable load.",
        source="lever", evidence="assumption")
    quota_per_day: float = p(
        5.0, unit="sessions/working day", gt=0, le=16, range=(4, 6.5),
        desc="Team quota of booked sessions per working day.",
        source="lever; default equals the mean sustainable load (equal nominal capacity)", evidence="assumption")
    safety_margin: float = p(
        0.0, unit="fraction", ge=0, lt=1, range=(0, 0.2),
        desc="Individual thresholds: book this fraction below each therapist's own load.", source="lever",
        evidence="assumption")
    load_estimate: str = p(
        "exact", unit="name", range=None, registry="load_estimate",
        desc=("What individual thresholds are set from: exact (the true sustainable load), self_report (with bias "
              "and error), learned (self-report adjusted from each therapist's recent exhaustion)."),
        source="lever", evidence="assumption")
    self_report_bias: float = p(
        0.1, unit="log ratio", ge=-1, le=1, range=(-0.1, 0.3),
        desc="self_report: mean log over-statement of one's own sustainable load (0.1 = 10% too high).",
        source=("assumption, after Walfish et al. 2012, Psychol Rep 110(2): a quarter of clinicians rated themselves "
                "at the 90th percentile of peers (over-confidence)"),
        evidence="assumption")
    self_report_sd: float = p(
        0.2, unit="log sd", ge=0, le=2, range=(0.05, 0.4),
        desc="self_report: spread of the error in a therapist's stated load.",
        source="assumption: self-assessment is a weak signal (Walfish et al. 2012)", evidence="assumption")
    learn_weeks: int = p(
        8, unit="weeks", ge=1, le=52, range=(4, 16),
        desc="learned: weeks of exhaustion signal between revisions of a therapist's threshold (the lag).",
        source="assumption: a supervision or review cycle of about two months", evidence="assumption")
    learn_step: float = p(
        0.05, unit="fraction", ge=0, le=0.5, range=(0.02, 0.1),
        desc="learned: relative change of the estimate at each revision.", source="assumption",
        evidence="assumption")
    learn_target_exhaustion: float = p(
        0.4, unit="exhaustion (0-1)", ge=0, le=1, range=(0.3, 0.5),
        desc="learned: recent mean exhaustion the revisions aim for.", source="assumption",
        evidence="assumption")
    admin_share: float = p(
        0.0, unit="fraction", ge=0, lt=1, range=(0, 0.2),
        desc="Protected non-session time as a share of bookable slots.", source="lever", evidence="assumption")
    admin_recovery: float = p(
        0.02, unit="exhaustion/day at admin share 1", ge=0, le=1, range=(0.0, 0.04),
        desc="Extra daily recovery from protected non-session time (scaled by admin share).",
        source="assumption", evidence="assumption")



class Feedback(Section):
    """Routine outcome monitoring: therapists see their own clients' progress against expected change."""

    enabled: bool = p(False, unit="on/off", desc="Therapists see each client's progress and an off-track signal.",
                      source="lever", evidence="assumption")
    check_from_session: int = p(
        3, unit="session", ge=2, le=20, range=(2, 4),
        desc="From this session on, a client whose score has fallen less than `off_track_points` since intake is off track.",
        source="assumption: signal-alarm systems flag from the second or third measurement (Lambert et al. 2018)",
        evidence="assumption")
    off_track_points: float = p(
        2.0, unit="points (0-27 scale)", ge=-27, le=27, range=(0, 4),
        desc="Improvement since intake below which a client counts as not on track.",
        source="assumption: expected-change curves flag clients who have not improved (Lambert et al. 2018)",
        evidence="assumption")
    quality_boost: float = p(
        2.0, unit="quality sd", ge=0, le=4, range=(1.0, 3.0),
        desc="Benefit: added session quality for off-track clients (therapists review, change course, repair).",
        source=("calibrated to the published effect (calibration/policy_responses.yaml): 2.0 gives d about 0.15 "
                "overall, the range 1-3 about 0.06-0.25; de Jong et al. 2021, Clin Psychol Rev 85: d about 0.15 "
                "overall, smaller in recent trials; Lambert, Whipple & Kleinstaeuber 2018, Psychotherapy 55(4): "
                "d about 0.3-0.5 for not-on-track clients. (0.25 until 2026-12-03 gave d 0.013.)"),
        evidence="moderate")
    dropout_odds_ratio: float = p(
        0.45, unit="odds ratio", gt=0, le=2, range=(0.3, 0.7),
        desc="Benefit: odds of dropping out after a session, for off-track clients, with feedback.",
        source=("calibrated to the published effect (calibration/policy_responses.yaml): with the quality boost, "
                "0.45 for off-track clients gives an overall dropout odds ratio of about 0.84 against de Jong et "
                "al. 2021's 0.8 (feedback reduced dropout by about a fifth); lower values gain little (0.33: 0.83), "
                "as only off-track clients are helped; 0.8 for them alone gave 0.96 overall"),
        evidence="weak")
    daily_strain: float = p(
        0.0005, unit="exhaustion/working day", ge=0, le=0.1, range=(0.0, 0.002),
        desc="Cost: extra daily strain of measuring and reviewing every client.",
        source=("assumption: a few minutes of administration per session, about 2.5% of a working day's emotional "
                "strain (exhaustion.daily_strain 0.020); up to 10% in the "
                "range (no published effect on exhaustion)"),
        evidence="assumption")


class Ranking(Section):
    """A league table of client return rates: competition over the measures."""

    enabled: bool = p(False, unit="on/off", desc="Rank therapists by client return rate (the league table).",
                      source="lever", evidence="assumption")
    review_weeks: int = p(4, unit="weeks", ge=1, le=52, range=(2, 13),
                          desc="How often the ranking is refreshed.", source="lever", evidence="assumption")
    min_cases: int = p(5, unit="clients", ge=1, le=1000, range=(3, 10),
                       desc="First sessions needed before a therapist is ranked.", source="assumption",
                       evidence="assumption")
    motivation_quality: float = p(
        0.05, unit="quality sd", ge=0, le=1, range=(0.0, 0.15),
        desc="Benefit: added session quality from those ranked below the median trying harder (peer comparison).",
        source=("Hallsworth et al. 2016, Lancet 387; Meeker et al. 2016, JAMA 315(6): peer comparison changed "
                "clinicians' behaviour by a few percentage points; its transfer to therapy quality is an assumption"),
        evidence="weak")
    peer_learning_per_year: float = p(
        0.05, unit="quality sd per year", ge=0, le=1, range=(0.0, 0.1),
        desc=("Benefit: therapists ranked below the median learn from those above them; their effectiveness with "
              "every problem rises by this much a year while they stay below."),
        source=("assumption: learning from peers is claimed for league tables but not sized for therapists; "
                "therapists' outcomes do not improve with experience alone (Goldberg et al. 2016, J Couns Psychol "
                "63(1)), while time in deliberate practice predicts them (Chow et al. 2015, Psychotherapy 52(3)); "
                "the range runs from no learning to a sixth of the therapist effect's sd a year, the default at its "
                "centre"),
        evidence="assumption")
    stress: float = p(
        0.0075, unit="exhaustion/working day", ge=0, le=1, range=(0.0, 0.015),
        desc="Cost: extra daily strain for therapists ranked below the median.",
        source=("assumption: no study of league tables' effect on therapists' strain was found (the earlier citation, "
                "Green et al. 2014, is not about rankings); the range runs from no effect to about four fifths of a "
                "working day's strain, the default at its centre"),
        evidence="assumption")
    gaming_extra_sessions: int = p(
        1, unit="sessions", ge=0, le=50, range=(0, 3),
        desc="Cost (gaming): therapists ranked below the median keep improved clients this many extra sessions.",
        source="Bevan & Hood 2006, Public Administration 84(3): gaming of targets; its size here is an assumption",
        evidence="assumption")
    selection_share: float = p(
        0.3, unit="share of therapists", ge=0, le=1, range=(0.0, 0.6),
        desc="Cost (selection): share of therapists ranked below the median who decline complex referrals.",
        source=("Dranove et al. 2003, J Political Economy 111(3): report cards led providers to select healthier "
                "patients; the share is an assumption"),
        evidence="assumption")

    @model_validator(mode="before")
    @classmethod
    def _old_gaming_flag(cls, data: Any) -> Any:
        """``gaming_decline_complex: true`` (before the three levers) means every pressured therapist selects."""
        if isinstance(data, dict) and "gaming_decline_complex" in data:
            data = dict(data)
            flag = data.pop("gaming_decline_complex")
            if not isinstance(flag, bool):
                raise ValueError("gaming_decline_complex (renamed selection_share): expected true or false")
            data.setdefault("selection_share", 1.0 if flag else 0.0)
        return data


class Performance(Section):
    feedback: Feedback = Field(default_factory=Feedback, description="Outcome feedback to therapists (no ranking).")
    ranking: Ranking = Field(default_factory=Ranking, description="League table: ranking by return rate.")

    @model_validator(mode="before")
    @classmethod
    def _old_name(cls, data: Any) -> Any:
        """``league_table:`` is the old name of ``ranking:`` (files written before the split still load)."""
        if isinstance(data, dict) and "league_table" in data:
            data = dict(data)
            data["ranking"] = {**data.pop("league_table"), **data.get("ranking", {})}
        return data


class Rematch(Section):
    enabled: bool = p(False, unit="on/off", desc="Offer a new therapist after a poor early alliance.",
                      source="lever", evidence="assumption")
    rule: str = p("after_poor_alliance", unit="name", range=None, registry="rematch",
                  desc="When enabled, which rematch rule applies (a registered rematch policy).",
                  source="lever", evidence="assumption")
    after_sessions: int = p(2, unit="sessions", ge=1, le=3, range=(1, 2),
                            desc="Check the alliance after this session number.", source="lever",
                            evidence="assumption")
    alliance_threshold: float = p(
        4.5, unit="alliance scale (1-7)", ge=1, le=7, range=(4.0, 5.0),
        desc="Measured alliance below which a rematch is offered.", source="lever", evidence="assumption")
    accept_prob: float = p(0.6, unit="probability", ge=0, le=1, range=(0.4, 0.8),
                           desc="Probability a client accepts the rematch offer.", source="assumption",
                           evidence="assumption")


class Hiring(Section):
    policy: str = p(
        "replace", unit="name", range=None, registry="hiring",
        desc="replace: keep headcount fixed by replacing leavers; to_demand: also hire when the waiting list grows.",
        source="lever", evidence="assumption")
    recruitment_lag_weeks: float = p(
        8.0, unit="weeks", ge=0, le=104, range=(4, 16),
        desc="Time from a vacancy to the new therapist's first day.",
        source="assumption: 1-3 months to fill clinical posts", evidence="weak")
    ramp_weeks: float = p(
        6.0, unit="weeks", ge=0, le=52, range=(2, 12),
        desc="Weeks for a new therapist to reach full caseload capacity (linear ramp).",
        source="assumption", evidence="assumption")
    waitlist_per_hire: float = p(
        20.0, unit="waiting clients", gt=0, le=1e6, range=(10, 50),
        desc="to_demand: open one extra post per this many waiting clients (weekly check).",
        source="lever", evidence="assumption")
    max_headcount: int = p(
        1000, unit="therapists", ge=0, le=100_000, range=None,
        desc="to_demand: upper bound on headcount.", source="lever", evidence="assumption")


class Platform(Section):
    reminders: bool = p(False, unit="on/off", desc="Appointment reminders (cut no-shows).", source="lever",
                        evidence="assumption")
    reminder_no_show_reduction: float = p(
        0.33, unit="fraction", ge=0, le=1, range=(0.2, 0.45),
        desc="Relative reduction in no-shows from reminders.",
        source="assumption: about a third fewer (design brief; reminder trials report 20-40%)", evidence="weak")
    booking_friction_days: float = p(
        0.0, unit="days", ge=0, le=7, range=(0, 2),
        desc="Mean days added to each rebooking (a rebooking slips a week with probability days/7).",
        source="lever", evidence="assumption")


class Money(Section):
    revenue_model: str = p(
        "per_session", unit="name", range=None, registry="revenue",
        desc="per_session, subscription or value_based revenue.", source="lever", evidence="assumption")
    price_per_session: float = p(
        120.0, unit="currency/session", ge=0, le=1e5, range=(80, 180),
        desc="Price charged per attended session (per_session; also the base of value_based).",
        source="assumption: typical US platform out-of-pocket rate", evidence="weak")
    subscription_per_month: float = p(
        400.0, unit="currency/client-month", ge=0, le=1e5, range=(260, 520),
        desc="Monthly fee per subscribed client (subscription): billed from the start (subscription_billing) and "
             "every month after.",
        source="assumption: US subscription platforms advertise about 260-400 a month", evidence="weak")
    subscription_billing: Literal["first_session", "sign_up"] = p(
        "first_session", unit="name", range=None,
        desc="Subscription: the first month is billed at the first attended session (first_session: a client who "
             "never starts pays nothing) or at sign-up (sign_up: waiting clients pay, so a policy that makes clients "
             "wait earns more; kept to reproduce earlier results).",
        source="assumption: billing from the first session keeps waiting from counting as revenue (issue 21)",
        evidence="assumption")
    subscription_cancel_lag_days: float = p(
        14.0, unit="days", ge=0, le=365, range=(0, 30),
        desc="Subscription: days from a client's ending until they cancel (months starting before then are billed).",
        source="assumption: clients cancel within a couple of weeks of stopping (no published figure)",
        evidence="assumption")
    currency: str = p(
        "USD", unit="name", range=None, desc="Currency code of every money field and KPI (labels only).",
        source="platform setting", evidence="assumption")
    value_based_session_share: float = p(
        0.7, unit="fraction of price", ge=0, le=1, range=(0.5, 0.9),
        desc="value_based: share of the session price paid up front.", source="assumption",
        evidence="assumption")
    value_based_bonus: float = p(
        600.0, unit="currency/improved client", ge=0, le=1e6, range=(300, 900),
        desc="value_based: bonus per client who ends reliably improved.", source="assumption",
        evidence="assumption")
    therapist_pay_per_session: float = p(
        60.0, unit="currency/session", ge=0, le=1e5, range=(45, 80),
        desc="Therapist pay per delivered session.", source="assumption", evidence="weak")
    therapist_cost_per_week: float = p(
        150.0, unit="currency/therapist-week", ge=0, le=1e6, range=(100, 300),
        desc="Fixed cost per employed therapist-week (benefits, supervision, tools).", source="assumption",
        evidence="assumption")
    hire_cost: float = p(
        8000.0, unit="currency/hire", ge=0, le=1e7, range=(4000, 15000),
        desc="Recruitment and onboarding cost per hire.",
        source="assumption: of the order of a few months' pay", evidence="weak")
    acquisition_cost: float = p(
        100.0, unit="currency/client", ge=0, le=1e6, range=(50, 200),
        desc="Marketing cost per arriving client.", source="assumption", evidence="assumption")


class QueueMode(Section):
    enabled: bool = p(
        False, unit="on/off",
        desc="Verification mode: clients are served immediately on matching for an exponential time (M/M/c).",
        source="verification", evidence="assumption")
    service_days_mean: float = p(
        7.0, unit="days", gt=0, le=1e4, range=None,
        desc="Queue mode: mean service time per client.", source="verification", evidence="assumption")


class Scenario(Section):
    """The whole scenario: everything the model assumes for one run."""

    @model_validator(mode="before")
    @classmethod
    def _moved_fields(cls, data: Any) -> Any:
        """``therapists.self_assessment_accuracy`` is now ``matching.profile_validity`` (old files still load)."""
        if isinstance(data, dict) and isinstance(data.get("therapists"), dict) and \
                "self_assessment_accuracy" in data["therapists"]:
            data = dict(data)
            therapists = dict(data["therapists"])
            value = therapists.pop("self_assessment_accuracy")
            matching = dict(data.get("matching") or {})
            matching.setdefault("profile_validity", value)
            data["therapists"], data["matching"] = therapists, matching
        return data

    name: str = Field("baseline", pattern=NAME_PATTERN, description=(
        "Scenario name (the `scenario` column and the default output folder): letters, digits, `_`, `-` "
        "and `.` (not first), at most 100 characters."))
    description: str = Field("", description="One line on what this scenario represents.")
    seed: int = Field(20261127, ge=0, description="Master seed; every random stream derives from it by name.")
    replications: int = Field(5, ge=1, le=10_000, description="Replications run by default.")
    horizon: Horizon = Field(default_factory=Horizon)
    demand: Demand = Field(default_factory=Demand)
    clients: Clients = Field(default_factory=Clients)
    therapy: Therapy = Field(default_factory=Therapy)
    therapists: Therapists = Field(default_factory=Therapists)
    exhaustion: Exhaustion = Field(default_factory=Exhaustion)
    matching: Matching = Field(default_factory=Matching)
    capacity: Capacity = Field(default_factory=Capacity)
    performance: Performance = Field(default_factory=Performance)
    rematch: Rematch = Field(default_factory=Rematch)
    hiring: Hiring = Field(default_factory=Hiring)
    platform: Platform = Field(default_factory=Platform)
    money: Money = Field(default_factory=Money)
    queue_mode: QueueMode = Field(default_factory=QueueMode)


def parameter_table(model: type[BaseModel] = Scenario, prefix: str = "") -> list[dict[str, Any]]:
    """Flatten the schema into rows: path, default, unit, range, description, source, evidence."""
    rows: list[dict[str, Any]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows.extend(parameter_table(ann, path + "."))
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        rows.append({
            "path": path,
            "default": field.get_default(call_default_factory=True),
            "unit": extra.get("unit", ""),
            "range": extra.get("range"),
            "description": field.description or "",
            "source": extra.get("source", ""),
            "evidence": extra.get("evidence", ""),
            "registry": extra.get("registry"),
            "bounds": {k: getattr(m, k) for m in field.metadata for k in ("ge", "gt", "le", "lt") if hasattr(m, k)},
        })
    return rows
