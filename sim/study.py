"""The default study: the four headline policy cells and the league table on the baseline platform."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from sim import plots
from sim.metrics import KPIS
from sim.outputs import MARKER, metadata_for
from sim.runner import StudyResult, run_scenarios
from sim.safe_output import write_folder
from sim.scenario import Scenario, dump_scenario, load_scenario

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
DEFAULT_STUDY = ("baseline", "fit_quota", "earliest_individual", "fit_individual", "league_table")
TABLE_KPIS = ["return_after_first_rate", "dropout_rate", "sessions_per_client_mean", "recovery_rate",
              "reliable_improvement_rate", "wait_first_session_days_mean", "pretreatment_dropout_rate",
              "therapist_over_threshold_day_share", "burnout_share", "therapist_turnover_per_year", "revenue",
              "margin"]


def scenario_path(name: str) -> Path:
    return SCENARIO_DIR / f"{name}.yaml"


def default_scenarios(overrides: list[str] | None = None) -> list[Scenario]:
    return [load_scenario(scenario_path(n), overrides) for n in DEFAULT_STUDY]


def fmt(value: float, kpi: str) -> str:
    if math.isnan(value):
        return "n/a"
    if kpi in ("revenue", "profit"):
        return f"{value / 1e6:.2f}M"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"


def comparison_table(result: StudyResult, baseline: str, kpis: list[str] = TABLE_KPIS) -> pd.DataFrame:
    """KPI rows x scenario columns: 'mean [95% CI]', and for non-baseline cells the paired difference."""
    comp = result.compare(baseline).set_index(["scenario", "kpi"])
    summ = result.summary.set_index(["scenario", "kpi"])
    table = {}
    for sc in result.scenarios:
        col = []
        for kpi in kpis:
            s = summ.loc[(sc.name, kpi)]
            cell = f"{fmt(s['mean'], kpi)} [{fmt(s['ci_low'], kpi)}, {fmt(s['ci_high'], kpi)}]"
            if sc.name != baseline:
                d = comp.loc[(sc.name, kpi)]
                mark = "*" if d["significant"] else ""
                cell += f" ({'+' if d['difference'] >= 0 else ''}{fmt(d['difference'], kpi)}{mark})"
            col.append(cell)
        table[sc.name] = col
    return pd.DataFrame(table, index=kpis)


def report_markdown(result: StudyResult, baseline: str, table: pd.DataFrame) -> str:
    comp = result.compare(baseline)
    n = int(result.replications.groupby("scenario").size().min())
    lines = [
        "# Fifty Minutes: default study",
        "",
        f"Scenarios: {', '.join(s.name for s in result.scenarios)}; {n} replications each, "
        "compared under common random numbers (replication r of every scenario sees the same clients).",
        "",
        "Each cell: mean [95% t-interval]; in brackets after it, the paired difference from "
        f"`{baseline}` (* when its 95% interval excludes zero).",
        "",
        table.to_markdown() if _has_tabulate() else "```\n" + table.to_string() + "\n```",
        "",
        "## In plain words",
        "",
    ]
    for sc in result.scenarios:
        if sc.name == baseline:
            continue
        c = comp[comp["scenario"] == sc.name].set_index("kpi")
        parts = []
        for kpi, label in (("return_after_first_rate", "return after the first session"),
                           ("recovery_rate", "recovery"), ("wait_first_session_days_mean", "wait (days)"),
                           ("burnout_share", "burnout share"), ("therapist_turnover_per_year", "turnover")):
            d = c.loc[kpi]
            verdict = "no clear change in" if not d["significant"] else (
                "higher" if d["difference"] > 0 else "lower")
            if d["significant"]:
                parts.append(f"{label} {verdict} by {fmt(abs(d['difference']), kpi)}")
            else:
                parts.append(f"{verdict} {label}")
        lines.append(f"- **{sc.name}** vs {baseline}: " + "; ".join(parts) + ".")
    lines += ["", "Charts: `headline.png`, `differences.png`, `retention.png`, `burnout_over_time.png`, "
              "`waiting_over_time.png`.", "", "Scenario files: `scenarios/*.yaml`; tables: `replications.csv`, "
              "`summary.csv`, `comparison.csv`."]
    return "\n".join(lines) + "\n"


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
    scenarios = default_scenarios(overrides)
    result = run_scenarios(scenarios, reps=reps, seed=seed, jobs=jobs, keep=("clients", "weekly"), progress=progress)
    baseline = scenarios[0].name
    table = comparison_table(result, baseline)
    order = [s.name for s in scenarios]

    def fill(tmp: Path) -> None:
        result.replications.to_csv(tmp / "replications.csv", index=False)
        result.summary.to_csv(tmp / "summary.csv", index=False)
        result.compare(baseline).to_csv(tmp / "comparison.csv", index=False)
        table.to_csv(tmp / "comparison_table.csv")
        result.tables["weekly"].to_csv(tmp / "weekly.csv", index=False)
        (tmp / "scenario.yaml").write_text("\n---\n".join(dump_scenario(s) for s in scenarios))
        figures = {
            "headline.png": plots.plot_kpi_bars(result.summary, order),
            "differences.png": plots.plot_forest(result.compare(baseline), order),
            "retention.png": plots.plot_retention(result.tables["clients"], order),
            "burnout_over_time.png": plots.plot_weekly(
                result.tables["weekly"], "burnout_share", order, "Therapists burned out over time",
                "Share of employed therapists", scenarios[0].horizon.warmup_weeks),
            "waiting_over_time.png": plots.plot_weekly(
                result.tables["weekly"], "waiting", order, "Clients on the waiting list", "Clients",
                scenarios[0].horizon.warmup_weeks),
        }
        for name, fig in figures.items():
            fig.savefig(tmp / name, dpi=130)
            plt.close(fig)
        (tmp / "report.md").write_text(report_markdown(result, baseline, table))
        meta = metadata_for(None, seed=result.meta.get("seed"), replications=result.meta.get("replications"),
                            wall_seconds=result.meta.get("wall_seconds"), jobs=result.meta.get("jobs"),
                            scenarios=order, kpis=list(KPIS), overrides=list(overrides or []))
        (tmp / MARKER).write_text(json.dumps(meta, indent=2, default=str))

    write_folder(out, fill, force=force)
    return result, table
