"""The policy explorer: controls generated from the scenario schema, a Run button, charts and a KPI table.

The notebook ``01_policy_explorer`` only calls :class:`Explorer`. Everything computed here
comes from :mod:`sim.runner` and :mod:`sim.plots`; this module only builds the interface.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim import kpis, plots, quick
from sim.claims import claims
from sim.registry import names
from sim.runner import StudyResult, run_scenarios
from sim.scenario import Scenario, apply_overrides, load_scenario, parameter_table, scenario_path

# (path, label): the explorer's controls, in order; ranges, units and help come from the schema
CONTROLS = [
    ("matching.policy", "Matching"),
    ("matching.information", "Matcher sees"),
    ("matching.profile_clarity", "Profile clarity"),
    ("matching.profile_validity", "Profile validity"),
    ("matching.hold_weeks", "Fit: hold up to (weeks)"),
    ("therapists.specialty_prevalence_weight", "Specialties follow demand"),
    ("capacity.policy", "Capacity"),
    ("capacity.quota_per_day", "Team quota (sessions/day)"),
    ("capacity.safety_margin", "Individual margin"),
    ("capacity.load_estimate", "Loads known from"),
    ("exhaustion.absolute_share", "Exhaustion from volume (vs own load)"),
    ("performance.feedback.enabled", "Outcome feedback"),
    ("performance.feedback.quality_boost", "Feedback benefit (off-track)"),
    ("performance.ranking.enabled", "League table (ranking)"),
    ("performance.ranking.gaming_extra_sessions", "Gaming: extra sessions"),
    ("performance.ranking.selection_share", "Selection: share declining complex"),
    ("therapists.count", "Therapists"),
    ("demand.arrivals_per_week", "New clients per week"),
    ("horizon.measured_weeks", "Measured weeks"),
]
CHOICES = {"matching.policy": "matching", "matching.information": "information", "capacity.policy": "capacity",
           "capacity.load_estimate": "load_estimate", "money.revenue_model": "revenue"}
EXPLORER_DEFAULTS = {"therapists.count": 60, "demand.arrivals_per_week": 210.0, "horizon.measured_weeks": 52,
                     "horizon.warmup_weeks": 26, "horizon.follow_up_weeks": 13}
TABLE_KPIS = list(kpis.HEADLINE)
BASELINE_NAME, POLICY_NAME = "status quo", "your policy"


@dataclass
class FieldSpec:
    path: str
    label: str
    kind: str  # choice | bool | int | float
    default: Any
    low: float | None = None
    high: float | None = None
    options: list[str] | None = None
    unit: str = ""
    help: str = ""


def field_specs(base: Scenario) -> list[FieldSpec]:
    """Control specifications from the schema: allowed values, sensitivity range or bounds, unit, help."""
    table = {r["path"]: r for r in parameter_table()}
    specs = []
    for path, label in CONTROLS:
        row = table[path]
        value = _get(base, path)
        if path in CHOICES:
            specs.append(FieldSpec(path, label, "choice", value, options=names(CHOICES[path]), unit=row["unit"],
                                   help=row["description"]))
            continue
        if isinstance(value, bool):
            specs.append(FieldSpec(path, label, "bool", value, unit=row["unit"], help=row["description"]))
            continue
        b = row["bounds"]
        lo = b.get("ge", b.get("gt", 0))
        hi = b.get("le", b.get("lt", 1))
        if row["range"]:
            lo, hi = min(row["range"][0], value), max(row["range"][1], value)
        if path == "therapists.count":
            lo, hi = 10, 200
        if path == "demand.arrivals_per_week":
            lo, hi = 0, 1000
        if path == "horizon.measured_weeks":
            lo, hi = 13, 156
        if path == "performance.ranking.gaming_extra_sessions":
            lo, hi = 0, 5
        kind = "int" if isinstance(value, int) else "float"
        specs.append(FieldSpec(path, label, kind, value, lo, hi, unit=row["unit"], help=row["description"]))
    return specs


def _get(sc: Scenario, path: str) -> Any:
    node: Any = sc
    for key in path.split("."):
        node = getattr(node, key)
    return node


def explorer_base() -> Scenario:
    """The status-quo platform at explorer size (a refresh takes seconds)."""
    base = load_scenario(scenario_path("baseline"), [f"{k}={v}" for k, v in EXPLORER_DEFAULTS.items()])
    return quick.shrink(base)


def scenarios_for(values: dict[str, Any], base: Scenario | None = None) -> tuple[Scenario, Scenario]:
    """The status quo and 'your policy': shared platform settings, policy settings from ``values``."""
    base = base or explorer_base()
    shared = ("therapists.count", "demand.arrivals_per_week", "horizon.measured_weeks")
    common = [f"{k}={v}" for k, v in values.items() if k in shared]
    status_quo = apply_overrides(base, common).model_copy(update={"name": BASELINE_NAME})
    policy = apply_overrides(base, [f"{k}={v}" for k, v in values.items()]).model_copy(update={"name": POLICY_NAME})
    return status_quo, policy


def run(values: dict[str, Any], reps: int = 3, jobs: int = 2, on_progress: Any = None) -> StudyResult:
    status_quo, policy = scenarios_for(values)
    return run_scenarios([status_quo, policy], reps=quick.reps(reps), jobs=jobs, progress=False,
                         keep=("clients", "therapists", "weekly"), on_progress=on_progress)


def kpi_table(result: StudyResult) -> pd.DataFrame:
    """Headline KPI rows: status quo and your policy (mean [95% CI]), the paired difference [Holm-adjusted
    interval] and its verdict in words (see :mod:`sim.claims`)."""
    summ = result.summary.set_index(["scenario", "kpi"])
    verdicts = claims(result.compare(BASELINE_NAME), TABLE_KPIS).set_index(["scenario", "kpi"])
    currency = result.scenarios[0].money.currency
    rows = []
    for kpi in TABLE_KPIS:
        row = {"KPI": kpis.label(kpi)}
        for name in (BASELINE_NAME, POLICY_NAME):
            s = summ.loc[(name, kpi)]
            interval = kpis.format_interval(kpi, s["ci_low"], s["ci_high"], currency)
            row[name] = f"{kpis.format_value(kpi, s['mean'], currency)} {interval}"
        d = verdicts.loc[(POLICY_NAME, kpi)]
        row["difference"] = (f"{kpis.format_difference(kpi, d['difference'], currency)} "
                             f"[{kpis.format_difference(kpi, d['ci_low'], currency)}, "
                             f"{kpis.format_difference(kpi, d['ci_high'], currency)}]")
        row["verdict"] = d["verdict"]
        rows.append(row)
    return pd.DataFrame(rows)


def load_figure(result: StudyResult) -> Figure:
    """Each therapist's mean attended sessions per working day against their own sustainable load."""
    t = result.tables["therapists"]
    t = t[t["measured_working_days"] > 0]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    col = plots.colours([BASELINE_NAME, POLICY_NAME])
    for name in (BASELINE_NAME, POLICY_NAME):
        g = t[t["scenario"] == name]
        ax.scatter(g["sustainable_load"], g["measured_sessions"] / g["measured_working_days"], s=10, alpha=0.5,
                   color=col[name], label=name)
    lim = [2.5, 8.5]
    ax.plot(lim, lim, color="grey", lw=1, ls="--", label="at own sustainable load")
    ax.set(title="Daily load against each therapist's own sustainable load", xlabel="Sustainable load (sessions/day)",
           ylabel="Attended sessions per working day", xlim=lim)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def wait_figure(result: StudyResult) -> Figure:
    c = result.tables["clients"]
    c = c[~c["in_warmup"] & (c["sessions_attended"] > 0)]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    col = plots.colours([BASELINE_NAME, POLICY_NAME])
    bins = list(np.arange(0, max(8, float(c["wait_first_session_days"].quantile(0.99)) + 7) + 1, 7))
    for name in (BASELINE_NAME, POLICY_NAME):
        w = c.loc[c["scenario"] == name, "wait_first_session_days"]
        ax.hist(w, bins=bins, histtype="step", lw=2, density=True, color=col[name], label=f"{name} (mean {w.mean():.1f} d)")
    ax.set(title="Wait to first session", xlabel="Days", ylabel="Share of clients per day")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def staff_figure(result: StudyResult, warmup_weeks: int) -> Figure:
    weekly = result.tables["weekly"]
    col = plots.colours([BASELINE_NAME, POLICY_NAME])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for name in (BASELINE_NAME, POLICY_NAME):
        g = weekly[weekly["scenario"] == name].groupby("week")
        a1.plot(g["mean_exhaustion"].mean(), color=col[name], label=name)
        a2.plot(g["headcount"].mean(), color=col[name], label=name)
    for ax, title, ylabel in ((a1, "Mean therapist exhaustion", "Exhaustion (0-1)"), (a2, "Therapists employed", "Headcount")):
        ax.axvspan(0, warmup_weeks, color="grey", alpha=0.1, lw=0)
        ax.set(title=title, xlabel="Week", ylabel=ylabel)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def caption(values: dict[str, Any]) -> str:
    """One line naming the policy that was run, e.g. 'Your policy: matching fit, capacity individual, no league table'."""
    league = "league table" if values.get("performance.ranking.enabled") else (
        "outcome feedback" if values.get("performance.feedback.enabled") else "no league table")
    return (f"Your policy: matching {values.get('matching.policy')}, capacity {values.get('capacity.policy')}, {league}; "
            f"{values.get('therapists.count')} therapists")


class Explorer:
    """ipywidgets interface: controls from the schema, Run with a progress bar, charts and the KPI table."""

    def __init__(self, reps: int = 3, jobs: int = 2):
        import ipywidgets as w

        self.w = w
        self.reps, self.jobs = reps, jobs
        self.base = explorer_base()
        self.specs = field_specs(self.base)
        self.controls = {s.path: self._widget(s) for s in self.specs}
        self.reps_widget = w.IntSlider(value=max(5, quick.reps(reps)), min=5, max=20, description="Replications",
                                       style={"description_width": "initial"})
        self.button = w.Button(description="Run", button_style="primary", icon="play")
        self.button.add_class("fm-run")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="", layout=w.Layout(width="220px"))
        self.status = w.HTML("Choose a policy and press Run.")
        self.status.add_class("fm-status")
        self.table = w.HTML("")
        self.table.add_class("fm-kpi-table")
        self.chart_images = [w.Image(format="png", layout=w.Layout(max_width="100%")) for _ in range(5)]
        for image in self.chart_images:
            image.add_class("fm-chart")
        self.chart_images[0].add_class("fm-tradeoff")
        self.charts = w.VBox([w.HBox(self.chart_images[:1]), w.HBox(self.chart_images[1:2]),
                              w.HBox(self.chart_images[2:4]), w.HBox(self.chart_images[4:])])
        self.charts.add_class("fm-charts")
        self.button.on_click(lambda _b: self.refresh())

    def _widget(self, s: FieldSpec) -> Any:
        w = self.w
        common = {"description": s.label, "description_tooltip": f"{s.help} ({s.unit})",
                  "style": {"description_width": "160px"}, "layout": w.Layout(width="420px")}
        if s.kind == "choice":
            widget = w.Dropdown(options=s.options, value=s.default, **common)
        elif s.kind == "bool":
            widget = w.Checkbox(value=s.default, indent=False, **common)
        elif s.kind == "int":
            widget = w.IntSlider(value=s.default, min=int(s.low or 0), max=int(s.high or 100), **common)
        else:
            step = (float(s.high) - float(s.low)) / 100 if s.high is not None and s.low is not None else 0.01
            widget = w.FloatSlider(value=s.default, min=s.low, max=s.high, step=step, readout_format=".2f", **common)
        widget.add_class("fm-" + s.path.replace(".", "-").replace("_", "-"))
        return widget

    def values(self) -> dict[str, Any]:
        return {path: widget.value for path, widget in self.controls.items()}

    def refresh(self) -> None:
        self.button.disabled = True
        self.progress.max, self.progress.value = 1, 0
        self.status.value = "Running... (the results below are from the previous run until this one finishes)"
        self.table.add_class("fm-stale")
        started = time.perf_counter()

        def on_progress(done: int, total: int) -> None:
            self.progress.max, self.progress.value = total, done

        try:
            values = self.values()
            result = run(values, reps=self.reps_widget.value, jobs=self.jobs, on_progress=on_progress)
            table = kpi_table(result)
            self.table.value = (f"<p class='fm-caption'>{caption(values)}</p>"
                                + table.to_html(index=False, classes="fm-table", border=0))
            retention = plots.plot_retention(result.tables["clients"], [BASELINE_NAME, POLICY_NAME])
            tradeoff = plots.plot_tradeoff(claims(result.compare(BASELINE_NAME), TABLE_KPIS), [POLICY_NAME],
                                           f"{caption(values)}: against the status quo")
            figures = (tradeoff, retention, wait_figure(result), load_figure(result),
                       staff_figure(result, self.base.horizon.warmup_weeks))
            for image, fig in zip(self.chart_images, figures, strict=True):
                image.value = plots.png_bytes(fig)
            self.table.remove_class("fm-stale")
            n = int(result.replications.groupby("scenario").size().min())
            self.status.value = f"Done: {n} replications per policy in {time.perf_counter() - started:.1f} s."
        except Exception as exc:  # shown to the user, not swallowed
            self.status.value = f"<b>Could not run:</b> {exc}"
            raise
        finally:
            self.button.disabled = False

    def display(self) -> None:
        from IPython.display import display

        w = self.w
        left = w.VBox([w.HTML("<h3>Policy</h3>"), *[self.controls[p] for p, _ in CONTROLS[:8]]])
        right = w.VBox([w.HTML("<h3>Platform and run</h3>"), *[self.controls[p] for p, _ in CONTROLS[8:]],
                        self.reps_widget, w.HBox([self.button, self.progress]), self.status])
        display(w.VBox([w.HBox([left, right]), self.table, self.charts]))
