"""No answer is built into a mechanism: for each headline contrast there are settings inside the
register's ranges (docs/assumptions.md) on either side of zero for its main KPI. Same clients
under both policies (common random numbers), a 40-therapist platform, four replications.

Each test names the setting where the policy looks good and one where it looks bad; both are
inside the sensitivity ranges, so which one holds is a question about the world, not the code.
"""

from __future__ import annotations

from typing import Any

import pytest

from sim.runs.runner import run_scenarios
from sim.scenario import apply_overrides, load_scenario, parameter_table
from tests.conftest import SCENARIOS

pytestmark = pytest.mark.slow
PLATFORM = {"therapists.count": 40, "demand.arrivals_per_week": 140.0, "horizon.warmup_weeks": 26,
            "horizon.measured_weeks": 52, "horizon.follow_up_weeks": 13}
RANGES = {row["path"]: row["range"] for row in parameter_table()}
DOMAIN_SD_HIGH = RANGES["therapists.domain_effectiveness_sd"][1]


def inside_ranges(setting: dict[str, Any]) -> None:
    for path, value in setting.items():
        if isinstance(value, bool | str) or path.startswith("demand.arrivals"):
            continue  # levers and choices; demand is scaled to the small platform
        lo, hi = RANGES[path]
        assert lo <= value <= hi, f"{path}={value} is outside the register's range [{lo}, {hi}]"


def difference(policy: str, reference: str, setting: dict[str, Any], kpi: str, reps: int = 4) -> float:
    inside_ranges(setting)
    a = apply_overrides(load_scenario(SCENARIOS / f"{policy}.yaml"), {**PLATFORM, **setting})
    b = apply_overrides(load_scenario(SCENARIOS / f"{reference}.yaml"), {**PLATFORM, **setting})
    result = run_scenarios([a.model_copy(update={"name": "policy"}), b.model_copy(update={"name": "reference"})],
                           reps=reps, seed=11, jobs=2, keep=(), progress=False)
    return float(result.compare("reference").set_index("kpi").loc[kpi, "difference"])


def test_fit_beats_earliest_only_where_skill_is_visible():
    visible = difference("fit_quota", "baseline", {"matching.information": "oracle"}, "recovery_rate")
    misleading = difference("fit_quota", "baseline", {
        "matching.profile_validity": -0.2, "matching.hold_weeks": 4.0, "matching.hold_min_gain": 0.25,
        "matching.max_wait_weeks": 8.0, "therapists.domain_effectiveness_sd": DOMAIN_SD_HIGH,
        "therapists.specialty_prevalence_weight": 0.0}, "recovery_rate")  # profiles blind to demand too
    assert visible > 0.02 and misleading < -0.005, (visible, misleading)


def test_individual_thresholds_lower_burnout_only_with_good_load_estimates():
    known = difference("earliest_individual", "baseline", {}, "burnout_share")
    poor = {"capacity.load_estimate": "self_report", "capacity.self_report_bias": 0.3, "capacity.self_report_sd": 0.4,
            "exhaustion.absolute_share": 1.0}
    misjudged = difference("earliest_individual", "baseline", poor, "burnout_share")
    assert known < -0.02 and misjudged > 0.02, (known, misjudged)


def test_individual_thresholds_burnout_benefit_reverses_when_exhaustion_follows_volume_alone():
    """One assumption, not a combination: when exhaustion follows the sheer number of sessions (absolute_share 1,
    the end of its range; the default is its centre, 0.5), booking each therapist to their own load no longer
    lowers burnout: the share over the cut-off is higher under individual thresholds. (Until 2026-12-03 the slow
    end of the daily recovery rate reversed it alone; with therapists' susceptibility spread it no longer does.)"""
    assert difference("earliest_individual", "baseline", {"exhaustion.absolute_share": 1.0}, "burnout_share") > 0.02


def test_ranking_helps_or_harms_recovery_over_feedback_depending_on_motivation_and_gaming():
    """The league table against feedback alone (the competition, with the measurement the same): with the
    motivation and learning from peers its proponents claim and no gaming it lifts recovery; with gaming,
    selection and stress it lowers it. (Against the status quo the league table includes feedback's published
    benefit, which outweighs both.)"""
    benign = {"performance.ranking.motivation_quality": 0.15, "performance.ranking.peer_learning_per_year": 0.1,
              "performance.ranking.gaming_extra_sessions": 0, "performance.ranking.selection_share": 0.0,
              "performance.ranking.stress": 0.0}
    harsh = {"performance.ranking.motivation_quality": 0.0, "performance.ranking.peer_learning_per_year": 0.0,
             "performance.ranking.gaming_extra_sessions": 3, "performance.ranking.selection_share": 0.6,
             "performance.ranking.stress": 0.015}
    up, down = (difference("league_table", "feedback_only", s, "recovery_rate") for s in (benign, harsh))
    assert up > 0.005 and down < -0.005, (up, down)


def test_feedback_costs_therapists_only_through_its_time_cost():
    """Feedback's benefit to clients is pinned by its published effect (calibration/policy_responses.yaml: its
    range no longer includes none), so its sign for recovery is not a free assumption; its cost to therapists is:
    without a time cost, mean exhaustion falls a little (better sessions, earlier endings); at the top of the
    time cost's range it rises."""
    free = {"performance.feedback.daily_strain": 0.0}
    costly = {"performance.feedback.daily_strain": 0.002, "performance.feedback.quality_boost": 1.0}
    down, up = (difference("feedback_only", "baseline", s, "mean_exhaustion") for s in (free, costly))
    assert down < -0.005 and up > 0.02, (down, up)
