"""The investor brief: status quo against the quality-first platform, in charts with one-sentence takeaways.

Money is computed after the fact from the same simulated tables under each revenue model, so
the three models are compared on exactly the same clients and sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from sim import plots, quick
from sim.kpis import KPI
from sim.metrics import money_kpis, window
from sim.registry import names
from sim.runner import StudyResult, run_scenarios
from sim.scenario import Scenario, apply_overrides, load_scenario, scenario_path
from sim.stats import t_interval

PACK_DIR = Path(__file__).resolve().parent.parent / "results" / "investor_pack"  # at the project root, whatever the cwd
POLICIES = {"baseline": "Status quo", "fit_individual": "Quality first", "feedback_only": "Feedback, no ranking"}
SLIDE_SIZE = (12.8, 7.2)  # inches; at 125 dpi a 1600 x 900 pixel slide
SLIDE_DPI = 125


@dataclass
class Brief:
    result: StudyResult
    scenarios: dict[str, Scenario]
    money: pd.DataFrame  # scenario, replication, revenue_model, revenue, margin, profit, client_lifetime_value


def build(reps: int = 5, jobs: int = 2) -> Brief:
    scenarios = {name: quick.shrink(load_scenario(scenario_path(name))) for name in POLICIES}
    result = run_scenarios(list(scenarios.values()), reps=quick.reps(reps), jobs=jobs, progress=False,
                           keep=("clients", "sessions", "therapists", "weekly"))
    rows = []
    for (name, rep), clients in result.tables["clients"].groupby(["scenario", "replication"]):
        sc = scenarios[name]
        sessions = _part(result.tables["sessions"], name, rep)
        therapists = _part(result.tables["therapists"], name, rep)
        start, end = window(sc)
        for model in names("revenue"):
            with_model = apply_overrides(sc, [f"money.revenue_model={model}"])
            rows.append({"scenario": name, "replication": rep, "revenue_model": model,
                         **money_kpis(with_model, clients, sessions, therapists, start, end)})
    return Brief(result, scenarios, pd.DataFrame(rows))


def _money(b: Brief, scenario: str, model: str) -> pd.DataFrame:
    return b.money[(b.money["scenario"] == scenario) & (b.money["revenue_model"] == model)]


def _part(df: pd.DataFrame, name: str, rep: int) -> pd.DataFrame:
    return df[(df["scenario"] == name) & (df["replication"] == rep)]


def _ci(values: pd.Series) -> tuple[float, float, float]:
    mean, _, lo, hi, _ = t_interval(values.to_numpy())
    return mean, lo, hi


def _claim(result: StudyResult, kpi: str, scenario: str = "fit_individual") -> str:
    """The takeaway for ``kpi`` in words, hedged by the claims rules (Holm-adjusted, 'no clear difference')."""
    from sim.claims import claims, sentence

    table = claims(result.compare("baseline"))
    row = table[(table["scenario"] == scenario) & (table["kpi"] == kpi)].iloc[0]
    return sentence(row)


def _grouped_bars(ax: Any, models: list[str], stats_of: Callable[[str, str], tuple[float, float, float]]) -> None:
    """One group of bars per revenue model, one bar per policy (mean and 95% interval), any number of policies."""
    col = plots.colours(list(POLICIES.values()))
    width = 0.8 / len(POLICIES)
    for i, (name, label) in enumerate(POLICIES.items()):
        stats = [stats_of(name, m) for m in models]
        err = np.array([[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]])
        ax.bar(np.arange(len(models)) + (i - (len(POLICIES) - 1) / 2) * width, [s[0] for s in stats], width,
               yerr=np.nan_to_num(err), capsize=5, color=col[label], label=label)
    ax.set_xticks(range(len(models)), [m.replace("_", " ") for m in models])


def retention_chart(b: Brief) -> tuple[Figure, str]:
    clients = b.result.tables["clients"].replace({"scenario": POLICIES})
    fig = plots.plot_retention(clients, list(POLICIES.values()))
    fig.set_size_inches(*SLIDE_SIZE)
    curve = plots.retention_curve(clients).set_index(["scenario", "session"])["share"]
    sq, qf = curve[("Status quo", 4)], curve[("Quality first", 4)]
    text = (f"Quality first against the status quo: {qf:.0%} against {sq:.0%} of clients reach a fourth session; "
            f"{_claim(b.result, 'return_after_first_rate')}.")
    return fig, text


def lifetime_value_chart(b: Brief) -> tuple[Figure, str]:
    fig, ax = plt.subplots(figsize=SLIDE_SIZE)
    models = names("revenue")
    _grouped_bars(ax, models, lambda name, m: _ci(_money(b, name, m)["client_lifetime_value"]))
    ax.set(title="Client lifetime value by revenue model (revenue per arriving client, 95% interval)",
           ylabel="Currency per arriving client")
    ax.legend(frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    ranked = sorted(models, key=lambda m: -_ci(_money(b, "fit_individual", m)["client_lifetime_value"])[0])
    best, second = (_ci(_money(b, "fit_individual", m)["client_lifetime_value"]) for m in ranked[:2])
    text = (f"For the quality-first platform, lifetime value per arriving client is highest under the "
            f"{ranked[0].replace('_', ' ')} model" + (" (its interval clears the next model's)." if best[1] > second[2] else
                                                      f", but its interval overlaps the {ranked[1].replace('_', ' ')} "
                                                      "model's: no clear winner."))
    return fig, text


def turnover_chart(b: Brief) -> tuple[Figure, str]:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=SLIDE_SIZE)
    col = plots.colours(list(POLICIES.values()))
    reps = b.result.replications
    for ax, kpi, title in ((a1, "therapist_turnover_per_year", "Therapists leaving per year (share of headcount)"),
                           (a2, "therapist_cost_of_turnover", "Cost of replacing them (currency, measured period)")):
        stats = [_ci(reps[reps["scenario"] == name][kpi]) for name in POLICIES]
        ax.bar(list(POLICIES.values()), [s[0] for s in stats],
               yerr=np.nan_to_num(np.array([[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]])), capsize=6,
               color=[col[v] for v in POLICIES.values()])
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    text = f"Quality first against the status quo: {_claim(b.result, 'therapist_turnover_per_year')}."
    return fig, text


def revenue_chart(b: Brief) -> tuple[Figure, str]:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=SLIDE_SIZE)
    models = names("revenue")
    for ax, kpi, title in ((a1, "revenue", "Revenue (currency, measured period)"),
                           (a2, "margin", "Operating margin (share of revenue)")):
        def stats_of(name: str, model: str, kpi: str = kpi) -> tuple[float, float, float]:
            return _ci(_money(b, name, model)[kpi])

        _grouped_bars(ax, models, stats_of)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    a1.legend(frameon=False)
    fig.tight_layout()
    wins = []
    for m in models:
        sub = b.money[b.money["revenue_model"] == m].pivot(index="replication", columns="scenario", values="margin")
        mean, _, lo, _, _ = t_interval((sub["fit_individual"] - sub["baseline"]).to_numpy())
        if lo > 0 and mean >= KPI["margin"].minimal:  # clear, and at least the difference that matters
            wins.append(m.replace("_", " "))
    text = ("Quality first earns a clearly higher margin (by at least a point) under: " + ", ".join(wins) + "."
            if wins else "No revenue model gives quality first a clearly higher margin in this run (no clear "
                         "difference or a negligible one).")
    return fig, text


CHARTS = {"retention": retention_chart, "lifetime_value": lifetime_value_chart, "turnover": turnover_chart,
          "revenue_margin": revenue_chart}


def export_pack(b: Brief, out: Path, force: bool = False) -> list[Path]:
    """Write every chart as PNG (1600 x 900) and SVG (text kept as text), and all of them with takeaways in one
    PDF, into ``out`` all at once; files there that the tool did not write are never touched."""
    from sim.safe_output import write_folder

    def fill(tmp: Path) -> None:
        with plt.rc_context({"svg.fonttype": "none"}), PdfPages(tmp / "investor_brief.pdf") as pdf:
            for name, make in CHARTS.items():
                fig, text = make(b)
                fig.text(0.01, 0.005, text, fontsize=11, ha="left", va="bottom", wrap=True)
                fig.subplots_adjust(bottom=0.14)
                for ext in ("png", "svg"):
                    fig.savefig(tmp / f"{name}.{ext}", dpi=SLIDE_DPI)
                pdf.savefig(fig)
                plt.close(fig)

    return [out / name for name in write_folder(out, fill, force=force)]
