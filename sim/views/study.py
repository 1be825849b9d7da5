"""The default study: the four headline policy cells and the league table on the baseline platform, and the
access questions again on a busy platform near saturation."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from sim.analysis.metrics import KPIS
from sim.analysis.verdicts import CLEAR, claims, replications_to_settle, sentence
from sim.base import kpis
from sim.runs.outputs import MARKER, metadata_for
from sim.runs.runner import StudyResult, merge_results, part_of, run_scenarios
from sim.runs.safe_output import write_folder
from sim.runs.warmup import TOLERANCE, Drift, measured_drifts
from sim.scenario import Scenario, dump_scenario, load_scenario, scenario_path
from sim.views import charts

DEFAULT_STUDY = ("baseline", "fit_quota", "earliest_individual", "fit_individual", "feedback_only", "league_table",
                 "productivity_push")
TABLE_KPIS = list(kpis.TABLE)
#: One line per scenario name, for readers of the report and charts.
SCENARIO_WORDS = {
    "baseline": "status quo: first free slot (earliest), team quota of 5 sessions a day",
    "fit_quota": "matching by estimated fit, team quota",
    "earliest_individual": "earliest matching, each therapist booked to their own sustainable load",
    "fit_individual": "quality first: fit matching and individual thresholds",
    "league_table": "status quo plus outcome feedback and a league table of client return rates (ranking)",
    "feedback_only": "status quo plus outcome feedback to therapists, no ranking",
    "productivity_push": "status quo with the team quota pushed to 6 sessions a day",
}


#: The busy platform (a waiting list that is there and settles) and the policies studied on it: the access questions
#: (fit against earliest, individual thresholds against the quota), each against the busy platform's status quo.
BUSY_PLATFORM = "busy_platform"
BUSY_POLICIES = ("fit_quota", "earliest_individual", "fit_individual")
#: What makes a platform (shared by its status quo and every policy on it); everything else is the policy's.
PLATFORM_SECTIONS = ("demand", "horizon", "therapists")


def default_scenarios(overrides: list[str] | None = None) -> list[Scenario]:
    return [load_scenario(scenario_path(n), overrides) for n in DEFAULT_STUDY]


def on_platform(policy: Scenario, platform: Scenario) -> Scenario:
    """``policy`` on ``platform``: the platform's demand, horizon and therapists, the policy's decisions, named
    ``<platform>:<policy>``.

    >>> from sim.scenario import Scenario
    >>> busy = Scenario(name="busy", demand={"arrivals_per_week": 400})
    >>> s = on_platform(Scenario(name="fit", matching={"policy": "fit"}), busy)
    >>> s.name, s.demand.arrivals_per_week, s.matching.policy
    ('busy:fit', 400.0, 'fit')
    """
    shared = {section: getattr(platform, section) for section in PLATFORM_SECTIONS}
    return policy.model_copy(update={**shared, "name": f"{platform.name}:{policy.name}"})


def busy_scenarios(overrides: list[str] | None = None) -> list[Scenario]:
    """The busy platform's status quo, then each of BUSY_POLICIES on it."""
    platform = load_scenario(scenario_path(BUSY_PLATFORM), overrides)
    return [platform, *(on_platform(load_scenario(scenario_path(n), overrides), platform) for n in BUSY_POLICIES)]


def subset(result: StudyResult, names: list[str]) -> StudyResult:
    """The part of ``result`` made by the scenarios ``names`` (as if run alone: the runs are the same)."""
    return merge_results([part_of(result, n) for n in names])


def comparison_table(result: StudyResult, baseline: str, table_kpis: list[str] = TABLE_KPIS) -> pd.DataFrame:
    """KPI rows x scenario columns: 'mean [95% CI]', and for non-baseline cells the paired difference
    with its verdict mark for headline KPIs (+ better, - worse, ~ negligible or no clear difference)."""
    comp = result.compare(baseline)
    verdicts = claims(comp).set_index(["scenario", "kpi"])["verdict"] if len(comp) else pd.Series(dtype=str)
    comp = comp.set_index(["scenario", "kpi"])
    summ = result.summary.set_index(["scenario", "kpi"])
    currency = result.scenarios[0].money.currency
    table = {}
    for sc in result.scenarios:
        col = []
        for kpi in table_kpis:
            s = summ.loc[(sc.name, kpi)]
            cell = (f"{kpis.format_value(kpi, s['mean'], currency)} "
                    f"{kpis.format_interval(kpi, s['ci_low'], s['ci_high'], currency)}")
            if sc.name != baseline:
                d = comp.loc[(sc.name, kpi)]
                verdict = verdicts.get((sc.name, kpi), "")
                mark = {"better": " +", "worse": " -", "changed": " !"}.get(verdict, " ~" if verdict else "")
                cell += f" ({kpis.format_difference(kpi, d['difference'], currency)}{mark})"
            col.append(cell)
        table[sc.name] = col
    return pd.DataFrame(table, index=[kpis.label(k) for k in table_kpis])


def difference_table(comparison: pd.DataFrame, kpi_names: list[str], currency: str = "") -> pd.DataFrame:
    """Paired differences in readable form: policy, measure (with unit), difference and 95% interval, each in the
    measure's own format (percentage points for shares, days, currency)."""
    rows = []
    for _, row in comparison[comparison["kpi"].isin(kpi_names)].iterrows():
        kpi = row["kpi"]
        rows.append({"policy": row["scenario"], "measure": kpis.label(kpi, with_unit=True),
                     "difference": kpis.format_difference(kpi, row["difference"], currency),
                     "95% interval": f"{kpis.format_difference(kpi, row['ci_low'], currency)} to "
                                     f"{kpis.format_difference(kpi, row['ci_high'], currency)}"})
    return pd.DataFrame(rows)


def run_facts(result: StudyResult) -> list[str]:
    """What a reader needs to judge the numbers: run size, warm-up, measurement, utilisation."""
    sc = result.scenarios[0]
    n = int(result.replications.groupby("scenario").size().min())
    reps = result.replications
    lines = [
        f"Run size: {len(result.scenarios)} scenarios x {n} replications; {sc.therapists.count} therapists at the start; "
        f"{sc.demand.arrivals_per_week:,.0f} new clients a week; warm-up {sc.horizon.warmup_weeks} weeks, then "
        f"{sc.horizon.measured_weeks} measured weeks, then {sc.horizon.follow_up_weeks} weeks of follow-up.",
        f"Warm-up: {(result.meta.get('warmup') or {}).get('method', 'as set in the scenario')} (see docs/model.md).",
        "Client measures: the arrival cohort of the measured weeks, followed until each client ends or the "
        "follow-up ends; therapist and money measures: the measured weeks.",
    ]
    if "utilisation" in reps:
        u = reps.groupby("scenario", sort=False)["utilisation"].mean()
        lines.append("Utilisation (booked slots over bookable slots, weekly, measured weeks): "
                     + ", ".join(f"{name} {100 * v:.0f}%" for name, v in u.items()) + ".")
    lines.append(settling_line(result))
    return lines


def settling_line(result: StudyResult) -> str:
    """Whether every scenario's platform settled before measurement (the warm-up rule's series and tolerance, over
    the measured weeks): which clearly did not, which may not (more replications would tell), the largest drift
    of the rest. Answers of a platform still filling or emptying describe no steady state."""
    weekly = result.tables.get("weekly")
    if weekly is None or weekly.empty:
        return "Settling: not checked (no weekly table kept)."
    sc = result.scenarios[0]
    drifts = measured_drifts(weekly, sc.horizon.warmup_weeks, sc.horizon.measured_weeks)
    clear = {name: d for name, d in drifts.items() if d.clearly_beyond(TOLERANCE)}
    maybe = {name: d for name, d in drifts.items() if name not in clear and abs(d.mean) > TOLERANCE}
    settled = {name: d for name, d in drifts.items() if name not in clear and name not in maybe}

    def listed(group: dict[str, Drift]) -> str:
        return "; ".join(f"`{name}` {100 * d.mean:+.0f}% [{100 * d.low:+.0f}%, {100 * d.high:+.0f}%]"
                         for name, d in group.items())

    parts = [f"Settling (clients in the system, waiting, matched or in treatment, over the measured weeks: the change "
             f"of a least-squares line as a share of the level, mean and 95% interval over replications; the warm-up "
             f"rule allows {TOLERANCE:.0%}):"]
    if clear:
        parts.append(f"**does not settle** in {listed(clear)}: these answers describe a platform still filling or "
                     "emptying, not a steady state.")
    if maybe:
        parts.append(f"may not settle in {listed(maybe)}: more replications or measured weeks would tell.")
    if settled:
        most = max(settled, key=lambda name: abs(settled[name].mean))
        every = "every scenario" if len(settled) == len(drifts) else "The others"
        parts.append(f"{every} settled (within {TOLERANCE:.0%}; the most, `{most}`, {100 * settled[most].mean:+.1f}%).")
    return " ".join(parts)


def find_robustness(out: Path) -> tuple[pd.DataFrame | None, str]:
    """Plausible-world verdicts of the default robustness experiment: a run under the project's results/, else
    the shipped summary (docs/robustness/), with a note naming which (:func:`sim.runs.robustness.plausible_verdicts`)."""
    from sim.runs.robustness import plausible_verdicts

    return plausible_verdicts()


def robustness_lines(verdicts: pd.DataFrame | None, source: str = "") -> list[str]:
    """'How sure are we?': one line per contrast and headline measure over the plausible worlds, or the note
    saying there is no run."""
    if verdicts is None or verdicts.empty:
        return ["## How sure are we?", "", f"Not yet judged over plausible worlds: {source}.", ""] if source else []
    v = verdicts[verdicts["kpi"].isin(kpis.HEADLINE)]
    lines = ["## How sure are we?", "", "Over the worlds that reproduce the published figures (history matching over "
             f"the assumptions' ranges; {source or 'a robustness run'}). A world counts as better or worse when its "
             "difference passes the smallest difference that matters and twice its replication noise:", ""]
    lines += [f"- {row['contrast']}, {kpis.label(row['kpi']).lower()}: {row['words']}; median difference "
              f"{kpis.format_difference(row['kpi'], row['median'])} (5-95% of worlds "
              f"{kpis.format_difference(row['kpi'], row['p5'])} to {kpis.format_difference(row['kpi'], row['p95'])})."
              for _, row in v.iterrows()]
    return [*lines, ""]


def report_markdown(result: StudyResult, baseline: str, table: pd.DataFrame,
                    robustness: tuple[pd.DataFrame | None, str] | pd.DataFrame | None = None) -> str:
    comp = result.compare(baseline)
    verdicts = claims(comp)
    currency = result.scenarios[0].money.currency
    lines = [
        "# Fifty Minutes: default study",
        "",
        *[f"- {line}" for line in run_facts(result)],
        "",
        "Scenarios:",
        "",
        *[f"- `{s.name}`: {SCENARIO_WORDS.get(s.name, s.description)}" for s in result.scenarios],
        "",
        "Each cell: mean [95% interval over replications]; after it, in brackets, the paired difference from "
        f"`{baseline}` (replication r of every scenario sees the same clients). For the headline measures a mark "
        "gives the verdict below: + better, - worse, ~ negligible or no clear difference.",
        "",
        table.to_markdown() if _has_tabulate() else "```\n" + table.to_string() + "\n```",
        "",
        "## In plain words",
        "",
        "Only the declared headline measures become sentences. Within each comparison their p-values are "
        "adjusted for multiple comparisons (Holm); each interval is at its Holm-adjusted level. A difference "
        "whose whole interval lies within the smallest difference that matters (docs/model.md) is called negligible; "
        "an interval that spans zero and differences that matter is \"no clear difference\".",
        "",
    ]
    for sc in result.scenarios:
        if sc.name == baseline:
            continue
        v = verdicts[verdicts["scenario"] == sc.name]
        clear = v[v["verdict"].isin(CLEAR)]
        unclear = v[~v.index.isin(clear.index)]
        lines.append(f"**{sc.name}** against {baseline}:")
        lines.append("")
        for _, row in clear.iterrows():
            lines.append(f"- {sentence(row, currency)}")
        if len(unclear):
            lines.append("- " + "; ".join(sentence(row, currency) for _, row in unclear.iterrows()))
        lines += _to_settle(comp, v)
        lines += _kept_sessions(result, sc.name)
        lines.append("")
    lines += _who_waits(result, baseline)
    lines += robustness_lines(*(robustness if isinstance(robustness, tuple) else (robustness, "")))
    lines += ["Charts: `tradeoff.png` (every policy's headline differences on one axis), `headline.png`, "
              "`differences.png`, `who_waits.png`, `retention.png`, `burnout_over_time.png`, "
              "`waiting_over_time.png`.", "", "Tables: `replications.csv`, `summary.csv`, `comparison.csv`, "
              "`claims.csv` (the verdicts above), `groups.csv` and `group_comparison.csv` (by problem domain and "
              "intake severity), `weekly.csv`; scenario files: `scenarios/*.yaml`."]
    return "\n".join(lines) + "\n"


def _to_settle(comparison: pd.DataFrame, verdicts: pd.DataFrame) -> list[str]:
    """A line naming, for each headline measure with no clear difference, about how many replications would settle
    it (clear or negligible), from the spread of its paired differences."""
    spread = comparison.set_index(["scenario", "kpi"])
    needed = []
    for _, row in verdicts[verdicts["verdict"] == "no clear difference"].iterrows():
        found = spread.loc[(row["scenario"], row["kpi"])]
        n = replications_to_settle(float(found["sd"]), float(row["smallest_that_matters"]),
                                   float(row["interval_level"]))
        if n is not None and n > int(found["n"]):
            needed.append(f"{kpis.label(row['kpi']).lower()} about {n:,}")
    if not needed:
        return []
    return ["- Replications that would settle each unclear answer (an interval of at most half the difference that "
            "matters, from the spread seen here): " + "; ".join(needed) + "."]


def _kept_sessions(result: StudyResult, name: str) -> list[str]:
    """A line when a policy keeps clients past a planned ending (gaming): its revenue from them is a cost to
    clients, not a gain."""
    summary = result.summary.set_index(["scenario", "kpi"])
    if (name, "kept_session_share") not in summary.index:
        return []
    share = float(summary.loc[(name, "kept_session_share"), "mean"])
    if not share > 0:
        return []
    revenue = float(summary.loc[(name, "revenue"), "mean"])
    return [f"- {100 * share:.1f}% of its attended sessions were kept past a client's planned ending (gaming the "
            f"league table): about {kpis.format_value('revenue', share * revenue, result.scenarios[0].money.currency)}"
            " of its revenue is sessions clients did not need, a cost to them rather than a gain."]


def busy_markdown(result: StudyResult, baseline: str, table: pd.DataFrame) -> str:
    """The report's second part: the access questions on the busy platform, with the wait split in two."""
    sc = result.scenarios[0]
    summary = result.summary.set_index(["scenario", "kpi"])["mean"]
    verdicts = claims(result.compare(baseline))
    currency = sc.money.currency
    lines = [
        "", "## A busy platform", "",
        f"The same clients and policies on a platform near saturation (`scenarios/{BUSY_PLATFORM}.yaml`: "
        f"{sc.demand.arrivals_per_week:,.0f} new clients a week for {sc.therapists.count} therapists, warm-up "
        f"{sc.horizon.warmup_weeks} weeks), where a waiting list is there and settles, so a cost to access can show. "
        "Each policy against this platform's status quo.", "", settling_line(result), "",
        table.to_markdown() if _has_tabulate() else "```\n" + table.to_string() + "\n```", "",
        "The wait to a first session in two parts (means over starters): waiting for a therapist (queueing) and "
        "from the match to the first session (the matched therapist's next free weekday):", "",
    ]
    for s in result.scenarios:
        lines.append(f"- `{s.name}`: {summary[(s.name, 'wait_to_match_days_mean')]:.1f} days queueing + "
                     f"{summary[(s.name, 'match_to_first_session_days_mean')]:.1f} days to the next free weekday.")
    lines.append("")
    for s in result.scenarios[1:]:
        v = verdicts[verdicts["scenario"] == s.name]
        lines.append(f"**{s.name}** against {baseline}: " + "; ".join(sentence(r, currency) for _, r in v.iterrows())
                     + ".")
        lines.append("")
    lines += ["Tables: `busy_replications.csv`, `busy_comparison.csv`, `busy_claims.csv`, "
              "`busy_comparison_table.csv`, `busy_weekly.csv`; chart `busy_waiting_over_time.png`.", ""]
    return "\n".join(lines)


def _who_waits(result: StudyResult, baseline: str) -> list[str]:
    """One line per policy: the group whose wait to a first session rises most (if its interval excludes 0)."""
    g = result.compare_groups(baseline)
    if g.empty:
        return []
    g = g[(g["kpi"] == "wait_first_session_days_mean") & (g["group_kind"] == "domain")]
    lines = ["## Who pays", "", "Wait to a first session by problem domain, paired difference from "
             f"`{baseline}` (chart `who_waits.png`; all groups in `group_comparison.csv`):", ""]
    for name, rows in g.groupby("scenario", sort=False):
        worst = rows.loc[rows["difference"].idxmax()]
        spread = rows["difference"].max() - rows["difference"].min()
        clear = worst["ci_low"] > 0
        lines.append(f"- `{name}`: {worst['group']} {kpis.format_difference('wait_first_session_days_mean', worst['difference'])}"
                     f" ({'interval excludes zero' if clear else 'no clear difference'}); spread across domains "
                     f"{spread:.1f} days.")
    return [*lines, ""]


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def run_default_study(out: Path, reps: int | None = None, seed: int | None = None, jobs: int = 1,
                      overrides: list[str] | None = None, progress: bool = True,
                      force: bool = False) -> tuple[StudyResult, pd.DataFrame]:
    """Run the default study, write charts, tables and report to ``out``; return the result and table."""
    scenarios, busy = default_scenarios(overrides), busy_scenarios(overrides)
    both = run_scenarios([*scenarios, *busy], reps=reps, seed=seed, jobs=jobs, keep=("clients", "weekly"),
                         progress=progress)
    order = [s.name for s in scenarios]
    result, busy_result = subset(both, order), subset(both, [s.name for s in busy])
    result.meta = both.meta
    baseline = scenarios[0].name
    table = comparison_table(result, baseline)
    busy_table = comparison_table(busy_result, busy[0].name)

    def fill(tmp: Path) -> None:
        result.replications.to_csv(tmp / "replications.csv", index=False)
        result.summary.to_csv(tmp / "summary.csv", index=False)
        comparison, by_group = result.compare(baseline), result.compare_groups(baseline)  # each computed once
        verdicts = claims(comparison)
        comparison.to_csv(tmp / "comparison.csv", index=False)
        verdicts.to_csv(tmp / "claims.csv", index=False)
        result.groups.to_csv(tmp / "groups.csv", index=False)
        by_group.to_csv(tmp / "group_comparison.csv", index=False)
        table.to_csv(tmp / "comparison_table.csv")
        result.tables["weekly"].to_csv(tmp / "weekly.csv", index=False)
        (tmp / "scenario.yaml").write_text("\n---\n".join(dump_scenario(s) for s in scenarios))
        figures = {
            "tradeoff.png": charts.plot_tradeoff(verdicts, order[1:],
                                                f"Each policy against {baseline}: the trade-off at a glance"),
            "headline.png": charts.plot_kpi_bars(result.summary, order),
            "differences.png": charts.plot_forest(comparison, order),
            "retention.png": charts.plot_retention(result.tables["clients"], order),
            "who_waits.png": charts.plot_group_differences(by_group, order),
            "burnout_over_time.png": charts.plot_weekly(
                result.tables["weekly"], "burnout_share", order, "Therapists burned out over time",
                "Share of employed therapists", scenarios[0].horizon.warmup_weeks),
            "waiting_over_time.png": charts.plot_weekly(
                result.tables["weekly"], "waiting", order, "Clients on the waiting list", "Clients",
                scenarios[0].horizon.warmup_weeks),
        }
        for name, fig in figures.items():
            fig.savefig(tmp / name, dpi=130)
            plt.close(fig)
        busy_comparison = busy_result.compare(busy[0].name)
        busy_result.replications.to_csv(tmp / "busy_replications.csv", index=False)
        busy_comparison.to_csv(tmp / "busy_comparison.csv", index=False)
        claims(busy_comparison).to_csv(tmp / "busy_claims.csv", index=False)
        busy_table.to_csv(tmp / "busy_comparison_table.csv")
        busy_result.tables["weekly"].to_csv(tmp / "busy_weekly.csv", index=False)
        (tmp / "busy_scenario.yaml").write_text("\n---\n".join(dump_scenario(s) for s in busy))
        busy_order = [s.name for s in busy]
        fig = charts.plot_weekly(busy_result.tables["weekly"], "waiting", busy_order,
                                 "Busy platform: clients on the waiting list", "Clients", busy[0].horizon.warmup_weeks)
        fig.savefig(tmp / "busy_waiting_over_time.png", dpi=130)
        plt.close(fig)
        (tmp / "report.md").write_text(report_markdown(result, baseline, table, find_robustness(out))
                                       + busy_markdown(busy_result, busy[0].name, busy_table))
        meta = metadata_for(None, seed=result.meta.get("seed"), replications=result.meta.get("replications"),
                            wall_seconds=result.meta.get("wall_seconds"), jobs=result.meta.get("jobs"),
                            scenarios=order, kpis=list(KPIS), overrides=list(overrides or []),
                            warmup=result.meta.get("warmup"))
        (tmp / MARKER).write_text(json.dumps(meta, indent=2, default=str))

    write_folder(out, fill, force=force)
    return result, table
