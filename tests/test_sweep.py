"""Sweeps of a policy's difference from a reference (``compare_to``): pairing, common random numbers and the
findings in words, on a tiny platform and on hand-made tables."""

from __future__ import annotations

import pandas as pd

from sim.runs.runner import run_scenarios
from sim.runs.sweep import answer_changes, contrast_findings, one_way_contrast, register_range, with_answer_changes
from sim.scenario import Scenario, apply_overrides

TINY = {"therapists": {"count": 6}, "demand": {"arrivals_per_week": 21.0},
        "horizon": {"warmup_weeks": 2, "measured_weeks": 8, "follow_up_weeks": 2}}
PARAMS = ["exhaustion.daily_strain", "therapy.no_show_prob"]


def test_a_policy_against_itself_differs_by_exactly_zero_at_every_point():
    """Both sides of each point see the same clients with the same luck (one seed) and the same override, and each
    point is paired with its own reference: any mix-up would show as a non-zero difference."""
    sc = Scenario(**TINY)
    table = one_way_contrast(sc, sc.model_copy(update={"name": "other"}), PARAMS, reps=2, progress=False)
    assert len(table) == (1 + 2 * len(PARAMS)) * table["kpi"].nunique()
    assert list(table.drop_duplicates(["parameter", "end"])["end"]) == ["default", "low", "high", "low", "high"]
    assert (table["difference"] == 0).all()
    assert not table["answer_changes"].any()


def test_each_point_sets_the_parameter_on_both_sides():
    """Individual thresholds against the quota on a tiny platform: each point's difference is that of a plain
    comparison with the parameter set under both policies, and the ends differ from the defaults."""
    quota = Scenario(**TINY)
    individual = Scenario(**TINY, capacity={"policy": "individual"})
    table = one_way_contrast(individual, quota, ["therapy.no_show_prob"], reps=2, seed=5, progress=False)
    by_end = table.pivot_table(index="kpi", columns="end", values="difference")  # every KPI's difference at each end
    assert not by_end["low"].equals(by_end["default"]) and not by_end["high"].equals(by_end["default"])
    revenue = by_end.loc["revenue"]
    low, _ = register_range("therapy.no_show_prob")
    for end, overrides in (("default", {}), ("low", {"therapy.no_show_prob": low})):
        pair = [apply_overrides(quota, overrides).model_copy(update={"name": "q"}),
                apply_overrides(individual, overrides).model_copy(update={"name": "i"})]
        plain = run_scenarios(pair, reps=2, seed=5, keep=(), progress=False, groups=False).compare("q")
        assert revenue[end] == plain.set_index("kpi").loc["revenue", "difference"]


def test_answer_changes_only_when_a_clear_answer_is_lost_reversed_or_found():
    assert answer_changes("better", "worse") and answer_changes("better", "negligible")
    assert answer_changes("no clear difference", "better")
    assert not answer_changes("no clear difference", "negligible") and not answer_changes("better", "better")


def test_findings_in_words_name_the_parameter_end_and_difference():
    rows = [("(defaults)", "default", None, "burnout_share", -0.147, "better"),
            ("exhaustion.recovery_rate", "low", 0.015, "burnout_share", 0.159, "worse"),
            ("exhaustion.recovery_rate", "high", 0.04, "burnout_share", -0.16, "better"),
            ("(defaults)", "default", None, "recovery_rate", 0.0, "negligible"),
            ("exhaustion.recovery_rate", "low", 0.015, "recovery_rate", 0.01, "no clear difference"),
            ("exhaustion.recovery_rate", "high", 0.04, "recovery_rate", 0.0, "negligible")]
    table = with_answer_changes(pd.DataFrame(rows, columns=["parameter", "end", "value", "kpi", "difference",
                                                             "verdict"]))
    assert list(table["answer_changes"]) == [False, True, False, False, False, False]
    burnout, recovery = contrast_findings(table)
    assert burnout == ("therapists burned out: better at the defaults (-14.7 points); "
                       "worse with exhaustion.recovery_rate at 0.015 (+15.9 points)")
    assert recovery.endswith("no clear effect at either end of any parameter's range")


def test_the_contrast_tornado_draws_each_parameter_once_widest_swing_on_top():
    from sim.views.charts import plot_contrast_tornado

    rows = [("(defaults)", "default", None, -0.1, "better")]
    for name, low, high in (("a", -0.12, -0.08), ("b", 0.2, -0.3)):
        rows += [(name, "low", 1.0, low, "better"), (name, "high", 2.0, high, "better" if high < 0 else "worse")]
    table = pd.DataFrame(rows, columns=["parameter", "end", "value", "difference", "verdict"]).assign(
        kpi="burnout_share")
    table = table.assign(ci_low=table["difference"] - 0.02, ci_high=table["difference"] + 0.02)
    fig = plot_contrast_tornado(table, "burnout_share")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["a [1, 2]", "b [1, 2]"]  # b swings most: drawn last, at the top
