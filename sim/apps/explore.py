"""The policy explorer's logic, apart from its widgets (:mod:`sim.apps.explorer_app`): presets, controls from the
schema, which controls matter under which policy, cached runs, the comparison, its charts and downloads.

Every run is one scenario at explorer size; runs are cached by what they simulate (the scenario's
settings, replications, seed and the code), in memory and under ``results/explorer_cache/``, so
the status quo and pinned policies are never recomputed, and the page opens on results computed
earlier (``python -m sim explore --precompute`` fills the cache for the opening view).

>>> sorted(PRESETS)[:3]
['feedback only', 'fit only', 'individual only']
>>> relevant("capacity.safety_margin", {"capacity.policy": "team_quota"})
False
"""

from __future__ import annotations

import html
import io
import math
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.verdicts import GAMED, claims
from sim.base import kpis
from sim.base.errors import InputError
from sim.base.paths import PROJECT_DIR
from sim.base.registry import describe, names
from sim.runs import quick
from sim.runs.cache import RunCache, code_fingerprint, run_key
from sim.runs.outputs import git_commit
from sim.runs.robustness import plausible_verdicts
from sim.runs.runner import StudyResult, first_replications, merge_results, part_of, run_scenarios, with_replications
from sim.scenario import (
    Scenario,
    apply_overrides,
    dump_scenario,
    load_scenario,
    parameter_table,
    safe_name,
    scenario_path,
    value_at,
)
from sim.scenario.experiments import load_robustness
from sim.views import charts
from sim.views.replay import Replay, replay_of
from sim.views.tradeoff_svg import tradeoff_svg

# (path, label): the explorer's controls, in order; ranges, units and help come from the schema
POLICY_CONTROLS = [
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
    ("performance.feedback.enabled", "Outcome feedback"),
    ("performance.feedback.quality_boost", "Feedback benefit (off-track)"),
    ("performance.ranking.enabled", "League table (ranking)"),
    ("performance.ranking.gaming_extra_sessions", "Gaming: extra sessions"),
    ("performance.ranking.peer_learning_per_year", "Learning from peers (a year)"),
    ("performance.ranking.selection_share", "Selection: share declining complex"),
]
PLATFORM_CONTROLS = [
    ("exhaustion.absolute_share", "Exhaustion from volume (vs own load)"),
    ("therapists.count", "Therapists"),
    ("demand.arrivals_per_week", "New clients per week"),
    ("horizon.measured_weeks", "Measured weeks"),
]
CONTROLS = POLICY_CONTROLS + PLATFORM_CONTROLS
#: Settings shared by the status quo and every policy: the platform and the world, not a decision.
SHARED = tuple(path for path, _ in PLATFORM_CONTROLS)
#: A control matters only when its controlling setting has one of these values.
ACTIVE_WHEN: dict[str, tuple[str, tuple[Any, ...]]] = {
    "matching.information": ("matching.policy", ("fit", "hybrid")),
    "matching.profile_clarity": ("matching.policy", ("fit", "hybrid")),
    "matching.profile_validity": ("matching.policy", ("fit", "hybrid")),
    "matching.hold_weeks": ("matching.policy", ("fit",)),
    "capacity.quota_per_day": ("capacity.policy", ("team_quota",)),
    "capacity.safety_margin": ("capacity.policy", ("individual",)),
    "capacity.load_estimate": ("capacity.policy", ("individual",)),
    "performance.feedback.quality_boost": ("performance.feedback.enabled", (True,)),
    "performance.ranking.gaming_extra_sessions": ("performance.ranking.enabled", (True,)),
    "performance.ranking.peer_learning_per_year": ("performance.ranking.enabled", (True,)),
    "performance.ranking.selection_share": ("performance.ranking.enabled", (True,)),
}
#: Slider limits where the schema's own bounds are far wider than an explorer needs.
LIMITS = {"therapists.count": (10, 200), "demand.arrivals_per_week": (10, 1000), "horizon.measured_weeks": (13, 156),
          "performance.ranking.gaming_extra_sessions": (0, 5)}
# A small platform with the baseline's demand per therapist (3.5 new clients a week each, as its 350 for 100): six
# replications of a policy refresh in about 2.5-3 s on two cores (bench/explorer_bench.py). 40 therapists rather than
# the robustness experiment's 50 (set "Therapists" to 50 for that platform): 24% less work for intervals about 8%
# wider (median over the presets' headline measures); bench/README.md has the comparison.
EXPLORER_DEFAULTS = {"therapists.count": 40, "demand.arrivals_per_week": 140.0, "horizon.measured_weeks": 52,
                     "horizon.warmup_weeks": 26, "horizon.follow_up_weeks": 13}
TABLE_KPIS = list(kpis.HEADLINE)
BASELINE_NAME = "status quo"
MAX_POLICIES = 4  # policies compared with the status quo at once (pinned ones and the current one)
DEFAULT_REPS = 6  # at least 5; on two cores 6 take as long as 5 (three rounds of two)
#: A refresh shows a first look at this many replications (two rounds on two cores), then all DEFAULT_REPS.
FIRST_LOOK = 4
#: The tables a comparison keeps (for the detail charts, the replay and the download).
KEPT_TABLES = ("clients", "therapists", "weekly")
TRADEOFF_TITLE = "Against the status quo, on the same clients"
VIEW_VERSION = 2  # drawn views in the cache from before the trade-off became an SVG are not reused


def _push_quota() -> float:
    return float(load_scenario(scenario_path("productivity_push")).capacity.quota_per_day)


#: One click for the policies the project studies; each preset starts from the status quo's settings.
PRESETS: dict[str, dict[str, Any]] = {
    "status quo": {},
    "quality first": {"matching.policy": "fit", "capacity.policy": "individual"},
    "fit only": {"matching.policy": "fit"},
    "individual only": {"capacity.policy": "individual"},
    "feedback only": {"performance.feedback.enabled": True},
    "league table": {"performance.ranking.enabled": True},
    "productivity push": {"capacity.quota_per_day": "push"},  # resolved from scenarios/productivity_push.yaml
}
PRESET_HELP = {
    "status quo": "Earliest availability, one team quota at the mean sustainable load, no feedback, no ranking.",
    "quality first": "Matching by estimated fit and a threshold for each therapist's own sustainable load.",
    "fit only": "Matching by estimated fit; the team quota stays.",
    "individual only": "Each therapist's own threshold; matching stays first come, first served.",
    "feedback only": "Session-by-session outcome feedback to each therapist, no league table.",
    "league table": "Therapists ranked by client return rate; those below the median feel the pressure.",
    "productivity push": "The team quota pushed above the mean sustainable load (the productivity push).",
}
OPENING_PRESET = "quality first"


@dataclass
class FieldSpec:
    path: str
    label: str
    kind: str  # choice | bool | int | float
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    options: list[str] | None = None
    unit: str = ""
    help: str = ""


def _step(value: float, low: float, high: float) -> float:
    """A slider step that can show ``value`` exactly: a round step of about a hundredth of the range that divides
    the value's distance from the lower end."""
    for step in (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0):
        if (high - low) / step <= 200 and abs(round((value - low) / step) * step + low - value) < 1e-9:
            return step
    return 0.001


def field_specs(base: Scenario) -> list[FieldSpec]:
    """Control specifications from the schema: allowed values, range, a step that shows the default exactly,
    unit and help."""
    table = {r["path"]: r for r in parameter_table()}
    specs = []
    for path, label in CONTROLS:
        row = table[path]
        value = value_at(base, path)
        common = {"unit": row["unit"], "help": row["description"]}
        if row["registry"]:
            specs.append(FieldSpec(path, label, "choice", value, options=names(row["registry"]), **common))
            continue
        if isinstance(value, bool):
            specs.append(FieldSpec(path, label, "bool", value, **common))
            continue
        b = row["bounds"]
        lo, hi = b.get("ge", b.get("gt", 0)), b.get("le", b.get("lt", 1))
        if row["range"]:
            lo, hi = min(row["range"][0], value), max(row["range"][1], value)
        lo, hi = LIMITS.get(path, (lo, hi))
        if isinstance(value, int):
            specs.append(FieldSpec(path, label, "int", value, lo, hi, 1, **common))
        else:
            specs.append(FieldSpec(path, label, "float", value, lo, hi, _step(value, lo, hi), **common))
    return specs


def option_help(path: str, option: Any) -> str:
    """Help for one option of a choice control (the registered policy's docstring)."""
    kind = {r["path"]: r["registry"] for r in parameter_table()}.get(path)
    return describe(kind, option) if kind else ""


def relevant(path: str, values: dict[str, Any]) -> bool:
    """Does the control at ``path`` change anything, given the other settings?"""
    if path not in ACTIVE_WHEN:
        return True
    controlling, allowed = ACTIVE_WHEN[path]
    return values.get(controlling) in allowed


def explorer_base() -> Scenario:
    """The status-quo platform at explorer size (a refresh takes seconds)."""
    return quick.shrink(apply_overrides(load_scenario(scenario_path("baseline")), EXPLORER_DEFAULTS))


def default_values(base: Scenario | None = None) -> dict[str, Any]:
    base = base or explorer_base()
    return {path: value_at(base, path) for path, _ in CONTROLS}


def preset_values(preset: str, base: Scenario | None = None) -> dict[str, Any]:
    """The control values of a preset: the status quo's, changed as the preset says."""
    if preset not in PRESETS:
        raise InputError(f"preset: unknown {preset!r}; allowed: {', '.join(PRESETS)}")
    values = default_values(base)
    for path, value in PRESETS[preset].items():
        values[path] = _push_quota() if value == "push" else value
    return values


def policy_scenario(values: dict[str, Any], name: str, base: Scenario | None = None) -> Scenario:
    """The scenario the controls describe; a bad value raises InputError naming the field and what it allows."""
    return apply_overrides(base or explorer_base(), values).model_copy(update={"name": name})


def status_quo_values(values: dict[str, Any]) -> dict[str, Any]:
    """The status quo on the platform the controls describe (shared settings from ``values``)."""
    sq = default_values()
    sq.update({k: v for k, v in values.items() if k in SHARED})
    return sq


# -- cached runs ------------------------------------------------------------------


def compared_scenarios(policies: dict[str, dict[str, Any]]) -> dict[str, Scenario]:
    """The status quo (on the first policy's platform) and each named policy, by name; a bad value raises
    InputError naming the field before anything runs."""
    first = next(iter(policies.values()), default_values())
    return {BASELINE_NAME: policy_scenario(status_quo_values(first), BASELINE_NAME),
            **{name: policy_scenario(values, name) for name, values in policies.items()}}


def run_policies(policies: dict[str, dict[str, Any]], reps: int = DEFAULT_REPS, jobs: int = 2,
                 cache: RunCache | None = None, on_progress: Callable[[int, int], None] | None = None,
                 pool: Any | None = None) -> StudyResult:
    """The status quo and each named policy (control values) on the same clients; cached runs are reused.

    The status quo comes first; its platform settings are those of the first policy."""
    cache = cache or RunCache(None)
    wanted = compared_scenarios(policies)
    reps = quick.reps(reps)
    keys = {name: run_key(sc, reps) for name, sc in wanted.items()}
    missing = [sc for name, sc in wanted.items() if cache.get(keys[name]) is None]
    missing = list({keys[sc.name]: sc for sc in missing}.values())  # the same run twice is run once
    if missing:
        fresh = run_scenarios(missing, reps=reps, jobs=jobs, progress=False, keep=KEPT_TABLES,
                              on_progress=on_progress, pool=pool, groups=False)
        for sc in missing:
            cache.put(keys[sc.name], part_of(fresh, sc.name))
    parts = []
    for name, sc in wanted.items():
        cached = cache.get(keys[name])
        assert cached is not None
        parts.append(part_of(cached, cached.scenarios[0].name, as_scenario=sc))
    return merge_results(parts)


def run_policies_in_steps(policies: dict[str, dict[str, Any]], reps: int = DEFAULT_REPS, jobs: int = 2,
                          cache: RunCache | None = None, on_progress: Callable[[int, int], None] | None = None,
                          pool: Any | None = None, first_look: int = FIRST_LOOK) -> Iterator[StudyResult]:
    """:func:`run_policies` in two steps when something must be simulated: first a look at ``first_look``
    replications (two rounds on two cores instead of three), then all ``reps``, the first look's replications kept
    and only the rest run; the last result equals :func:`run_policies`'s. With everything cached: that one result.
    ``on_progress(done, total)`` counts replications over both steps."""
    cache = cache or RunCache(None)
    reps = quick.reps(reps)
    wanted = compared_scenarios(policies)
    keys = {name: run_key(sc, reps) for name, sc in wanted.items()}
    missing = {keys[name]: sc for name, sc in wanted.items() if cache.get(keys[name]) is None}
    if not missing or not 1 < first_look < reps:
        yield run_policies(policies, reps=reps, jobs=jobs, cache=cache, on_progress=on_progress, pool=pool)
        return
    runs, total = list(missing.values()), len(missing) * reps

    def counted(offset: int) -> Callable[[int, int], None] | None:
        return None if on_progress is None else (lambda done, _: on_progress(offset + done, total))

    first = run_scenarios(runs, reps=first_look, jobs=jobs, progress=False, keep=KEPT_TABLES, on_progress=counted(0),
                          pool=pool, groups=False)
    parts = []
    for name, sc in wanted.items():
        done = cache.get(keys[name])
        part = part_of(first, missing[keys[name]].name) if done is None else first_replications(done, first_look)
        parts.append(part_of(part, part.scenarios[0].name, as_scenario=sc))
    yield merge_results(parts)
    rest = run_scenarios(runs, reps=reps, jobs=jobs, progress=False, keep=KEPT_TABLES,
                         on_progress=counted(len(runs) * first_look), pool=pool, groups=False,
                         first_replication=first_look)
    full = with_replications(first, rest)
    for sc in runs:
        cache.put(run_key(sc, reps), part_of(full, sc.name))
    yield run_policies(policies, reps=reps, jobs=jobs, cache=cache, pool=pool)


# -- what the page shows -------------------------------------------------------------


def policy_names(result: StudyResult) -> list[str]:
    return [sc.name for sc in result.scenarios if sc.name != BASELINE_NAME]


def verdicts(result: StudyResult) -> pd.DataFrame:
    """Each policy's headline differences from the status quo with their verdicts (see :mod:`sim.analysis.verdicts`)."""
    return claims(result.compare(BASELINE_NAME), TABLE_KPIS)


def kpi_table(result: StudyResult, claimed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Headline KPI rows: the status quo (mean [95% CI]); for each policy the paired difference
    [Holm-adjusted interval] and its verdict in words. ``claimed``: :func:`verdicts` already computed."""
    summ = result.summary.set_index(["scenario", "kpi"])
    v = (verdicts(result) if claimed is None else claimed).set_index(["scenario", "kpi"])
    currency = result.scenarios[0].money.currency
    rows = []
    for kpi in TABLE_KPIS:
        s = summ.loc[(BASELINE_NAME, kpi)]
        row = {"KPI": kpis.label(kpi, with_unit=True),
               BASELINE_NAME: (f"{kpis.format_value(kpi, s['mean'], currency)} "
                               f"{kpis.format_interval(kpi, s['ci_low'], s['ci_high'], currency)}")}
        for name in policy_names(result):
            d = v.loc[(name, kpi)]
            row[name] = (f"{kpis.format_difference(kpi, d['difference'], currency)} "
                         f"[{kpis.format_difference(kpi, d['ci_low'], currency)}, "
                         f"{kpis.format_difference(kpi, d['ci_high'], currency)}]: {d['verdict']}")
        rows.append(row)
    return pd.DataFrame(rows)


VERDICT_CLASS = {"better": "fm-better", "worse": "fm-worse", GAMED: "fm-gamed"}


def _stacked(cell: str) -> str:
    """'value [low, high]: verdict' as HTML lines: the value, the interval, the verdict (each kept whole).

    >>> cell = _stacked("+1.4 points [+0.3, +2.5]: better")  # the bounds may wrap between them, never inside
    >>> cell.count("nowrap"), cell.split("<br>")[1].count("</span> <span"), cell.endswith("<br>better")
    (3, 1, True)
    """
    value, bracket, rest = cell.partition(" [")
    interval, _, verdict = rest.partition("]: ") if "]: " in rest else (rest.removesuffix("]"), "", "")
    low, comma, high = interval.partition(", ")
    bounds = [f"[{low},", f"{high}]"] if comma else [f"[{interval}]"]
    keep = '<span style="white-space:nowrap">{}</span>'.format
    lines = [keep(html.escape(value))] + ([" ".join(keep(html.escape(b)) for b in bounds)] if bracket else [])
    return "<br>".join(lines + ([html.escape(verdict)] if verdict else []))


def kpi_table_html(result: StudyResult, claimed: pd.DataFrame | None = None) -> str:
    """The KPI table as HTML, each difference coloured by its verdict (better, worse, or neither)."""
    claimed = verdicts(result) if claimed is None else claimed
    table = kpi_table(result, claimed)
    v = claimed.set_index(["scenario", "kpi"])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = []
    for kpi, (_, row) in zip(TABLE_KPIS, table.iterrows(), strict=True):
        cells = [f"<td>{html.escape(row['KPI'])}</td>", f"<td>{_stacked(row[BASELINE_NAME])}</td>"]
        for name in policy_names(result):
            verdict = str(v.loc[(name, kpi), "verdict"])
            cls = VERDICT_CLASS.get(verdict, "fm-unclear")
            cells.append(f"<td class='{cls}' title='{html.escape(row[name], quote=True)}'>{_stacked(row[name])}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    # the cells wrap (value, interval and verdict on their own lines), so four policies fit a 1366 px screen
    style = ("<style>.fm-table{table-layout:fixed;width:100%;border-collapse:collapse}"
             ".fm-table td,.fm-table th{padding:2px 6px;text-align:left;vertical-align:top;white-space:normal;"
             "overflow-wrap:anywhere;font-size:11px;line-height:1.25}.fm-table td:first-child{width:22%}"
             ".fm-better{color:#006d2c;font-weight:600}.fm-worse{color:#b2182b;font-weight:600}"
             ".fm-unclear{color:#555}.fm-gamed{color:#8c510a;font-weight:600}</style>")
    return (f"{style}<table class='fm-table'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            "<p class='fm-note' style='font-size:11px;color:#555'>Status quo: mean [95% interval] over replications. "
            "Policies: paired difference from the status quo on the same clients [Holm-adjusted interval]; "
            "green better, red worse, brown revenue up only by sessions kept past clients' planned endings (gaming), "
            "grey no clear difference or negligible.</p>")


ROBUSTNESS_EXPERIMENT = PROJECT_DIR / "experiments" / "robustness.yaml"


def plausible_html(policies: Sequence[str], verdicts: pd.DataFrame | None = None, source: str = "") -> str:
    """How sure each shown preset policy's answers are over the plausible worlds of the robustness run (its own
    settings, on its own platform: a changed policy is not covered), as a collapsible note under the table; or a
    line saying there is no run. ``verdicts``/``source``: the run's (default: found as the study report finds it)."""
    if verdicts is None:
        verdicts, source = plausible_verdicts()
    if verdicts is None:
        return f"<p class='fm-note' style='font-size:11px;color:#555'>Not yet judged over plausible worlds: {source}.</p>"
    contrast_of = {Path(c.policy).stem: c.label for c in load_robustness(ROBUSTNESS_EXPERIMENT).contrasts}
    items = []
    for name in policies:
        contrast = contrast_of.get(charts.SCENARIO_OF.get(name.strip().lower(), name))
        rows = verdicts[(verdicts["contrast"] == contrast) & verdicts["kpi"].isin(kpis.HEADLINE)]
        if contrast is None or rows.empty:
            continue
        said = "; ".join(f"{kpis.label(r['kpi']).lower()}: {r['words']}" for _, r in rows.iterrows())
        items.append(f"<li><b>{html.escape(name)}</b> (the preset's own settings): {html.escape(said)}</li>")
    if not items:
        return ""
    return ("<details class='fm-note' style='font-size:11px;color:#555'><summary>How sure: these presets over the "
            f"worlds that reproduce the published figures ({html.escape(source)})</summary><ul>{''.join(items)}</ul>"
            "</details>")


def run_size(result: StudyResult) -> str:
    """One line on how big the run was and what made it: replications, platform, horizon and warm-up, seed, the
    model code's fingerprint (what the cache keys runs by) and the git commit when there is one."""
    sc = result.scenarios[0]
    h = sc.horizon
    reps = int(result.replications.groupby("scenario").size().min())
    commit = git_commit()
    return (f"{reps} replications per policy; {sc.therapists.count} therapists, "
            f"{sc.demand.arrivals_per_week:,.0f} new clients a week; {h.measured_weeks} measured weeks after "
            f"{h.warmup_weeks} weeks of warm-up, clients followed {h.follow_up_weeks} more weeks; seed {sc.seed}; "
            f"model code {code_fingerprint()[:8]}{f', commit {commit[:7]}' if commit else ''}.")


def tradeoff_figure(result: StudyResult, claimed: pd.DataFrame | None = None) -> Figure:
    return charts.plot_tradeoff(verdicts(result) if claimed is None else claimed, policy_names(result), TRADEOFF_TITLE)


def load_figure(result: StudyResult) -> Figure:
    """Each therapist's mean attended sessions per working day against their own sustainable load."""
    t = result.tables["therapists"]
    t = t[t["measured_working_days"] > 0]
    order = [sc.name for sc in result.scenarios]
    fig, axes = plt.subplots(1, len(order), figsize=(3.2 * len(order), 3.4), sharey=True, squeeze=False)
    col = charts.colours(order)
    lim = [2.5, 8.5]
    for ax, name in zip(axes[0], order, strict=True):
        g = t[t["scenario"] == name]
        ax.scatter(g["sustainable_load"], g["measured_sessions"] / g["measured_working_days"], s=8, alpha=0.5,
                   color=col[name])
        ax.plot(lim, lim, color="grey", lw=1, ls="--")
        ax.set(title=name, xlabel="Own sustainable load (sessions/day)", xlim=lim)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("Attended sessions per working day")
    fig.suptitle("Load against each therapist's own sustainable load (dashed: at their own load)", fontsize=10)
    fig.tight_layout()
    return fig


WAIT_AXIS_DAYS = 42  # the wait chart's days axis: six weeks, widened in steps of two weeks only when waits run longer


def wait_curves(clients: pd.DataFrame, days: np.ndarray) -> pd.DataFrame:
    """Per scenario and replication, the share of starters seen within each number of ``days``."""
    rows = []
    for (name, rep), g in clients.groupby(["scenario", "replication"], sort=False, observed=True):
        w = np.sort(g["wait_first_session_days"].to_numpy())
        shares = np.searchsorted(w, days, side="right") / len(w) if len(w) else np.full(len(days), np.nan)
        rows += [{"scenario": name, "replication": rep, "day": int(d), "share": float(v)}
                 for d, v in zip(days, shares, strict=True)]
    return pd.DataFrame(rows)


def wait_figure(result: StudyResult) -> Figure:
    """Share of clients who had their first session within x days: the mean over replications with the range of the
    replications as a band; the days axis stays at six weeks unless waits run longer (then whole fortnights)."""
    c = result.tables["clients"]
    c = c[~c["in_warmup"] & (c["sessions_attended"] > 0)]
    order = [sc.name for sc in result.scenarios]
    col = charts.colours(order)
    longest = float(c["wait_first_session_days"].quantile(0.99)) if len(c) else 0.0
    top = max(WAIT_AXIS_DAYS, 14 * math.ceil(longest / 14))
    curves = wait_curves(c, np.arange(0, top + 1))
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for name in order:
        g = curves[curves["scenario"] == name].groupby("day")["share"]
        if not len(g):
            continue
        mean = c.loc[c["scenario"] == name, "wait_first_session_days"].mean()
        ax.fill_between(g.min().index, g.min(), g.max(), step="post", color=col[name], alpha=0.15, lw=0)
        ax.step(g.mean().index, g.mean(), where="post", color=col[name], label=f"{name} (mean {mean:.1f} days)")
    ax.set(title="Wait to first session (band: the range of the replications)", xlabel="Days from arrival",
           ylabel="Share seen within that wait", ylim=(0, 1.02), xlim=(0, top))
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def staff_figure(result: StudyResult) -> Figure:
    weekly = result.tables["weekly"]
    order = [sc.name for sc in result.scenarios]
    warmup = result.scenarios[0].horizon.warmup_weeks
    col = charts.colours(order)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name in order:
        g = weekly[weekly["scenario"] == name].groupby("week")
        for ax, column in ((a1, "mean_exhaustion"), (a2, "headcount")):
            ax.fill_between(g[column].min().index, g[column].min(), g[column].max(), color=col[name], alpha=0.15, lw=0)
            ax.plot(g[column].mean(), color=col[name], label=name)
    for ax, title, ylabel in ((a1, "Mean therapist exhaustion", "Exhaustion (0-1)"),
                              (a2, "Therapists employed", "Headcount")):
        ax.axvspan(0, warmup, color="grey", alpha=0.12, lw=0, label="warm-up (not measured)")
        ax.set(title=title, xlabel="Week", ylabel=ylabel)
        ax.grid(alpha=0.3)
    a1.set_ylim(0, 1)  # the exhaustion scale's whole range: the axis does not move between runs
    a2.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle("Lines: mean over replications, week by week; bands: the range of the replications", fontsize=9,
                 color="dimgrey")
    fig.tight_layout()
    return fig


def retention_figure(result: StudyResult) -> Figure:
    return charts.plot_retention(result.tables["clients"], [sc.name for sc in result.scenarios])


#: The detail charts, by tab title.
DETAIL_FIGURES: dict[str, Callable[[StudyResult], Figure]] = {
    "Therapist load": load_figure,
    "Waits": wait_figure,
    "Exhaustion and headcount": staff_figure,
    "Client return": retention_figure,
}


def figures(result: StudyResult, claimed: pd.DataFrame | None = None) -> dict[str, Figure]:
    """Every chart of the page, by name: the trade-off first."""
    return {"Trade-off": tradeoff_figure(result, claimed), **{k: f(result) for k, f in DETAIL_FIGURES.items()}}


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")


def download_zip(result: StudyResult, figs: dict[str, Figure] | None = None,
                 claimed: pd.DataFrame | None = None) -> bytes:
    """The current results as one zip: KPI table, differences with verdicts, per-replication KPIs (CSV),
    and each chart as PNG and SVG (editable text)."""
    claimed = verdicts(result) if claimed is None else claimed
    figs = figs if figs is not None else figures(result, claimed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("kpi_table.csv", kpi_table(result, claimed).to_csv(index=False))
        z.writestr("differences.csv", claimed.to_csv(index=False))
        z.writestr("replications.csv", result.replications.to_csv(index=False))
        z.writestr("run.txt", run_size(result) + "\n")
        for sc in result.scenarios:  # each policy's settings, as a scenario file `python -m sim run` accepts
            z.writestr(f"scenarios/{safe_name(sc.name)}.yaml", scenario_yaml(sc))
        for name, fig in figs.items():
            for ext, data in charts.chart_files(fig, dpi=120).items():
                z.writestr(f"charts/{_slug(name)}.{ext}", data)
    return buffer.getvalue()


def scenario_yaml(sc: Scenario) -> str:
    """A policy's settings as a scenario file: the name made file-safe, the description saying where it came from."""
    named = sc.model_copy(update={"name": safe_name(sc.name), "description": f"{sc.name}, from the policy explorer"})
    return f"# {sc.name}: python -m sim run THIS_FILE reruns it\n" + dump_scenario(named)


def settings_from_file(text: str, origin: str) -> tuple[dict[str, Any], list[str]]:
    """The explorer's control values from a scenario file's text (one that ``python -m sim run`` accepts, without
    ``extends:``), and the paths it sets that the explorer has no control for (they are not applied)."""
    from sim.base.yamlio import parse_yaml
    from sim.scenario import validate

    tree = parse_yaml(text, origin)
    if not isinstance(tree, dict):
        raise InputError(f"{origin}: expected a scenario file (a mapping of sections), got {type(tree).__name__}")
    if "extends" in tree:
        raise InputError(f"{origin}: a file that extends another cannot be loaded here; load the full file "
                         "`python -m sim run` wrote (results/runs/NAME/scenario.yaml) or the explorer downloaded")
    sc = validate({**tree, "name": safe_name(str(tree.get("name") or "loaded"))}, origin)
    paths = [path for path, _ in (*POLICY_CONTROLS, *PLATFORM_CONTROLS)]
    values = {path: value_at(sc, path) for path in paths}
    default = Scenario.model_validate({})
    ignored = [row["path"] for row in parameter_table() if row["path"] not in paths
               and not row["path"].startswith("horizon.") and value_at(sc, row["path"]) != value_at(default, row["path"])]
    return values, ignored


def unclear_hint(claimed: pd.DataFrame) -> str:
    """A one-line hint when some headline answer is unclear (an interval that spans differences that matter).

    >>> unclear_hint(pd.DataFrame({"verdict": ["better", "no clear difference"]}))
    ' 1 headline answer is unclear: raise Therapists or Replications to sharpen it.'
    >>> unclear_hint(pd.DataFrame({"verdict": ["better", "negligible"]}))
    ''
    """
    unclear = int(claimed["verdict"].astype(str).str.startswith("no clear difference").sum()) if len(claimed) else 0
    if not unclear:
        return ""
    what = "answer is" if unclear == 1 else "answers are"
    return f" {unclear} headline {what} unclear: raise Therapists or Replications to sharpen {'it' if unclear == 1 else 'them'}."


def caption(policies: Sequence[str]) -> str:
    return "Compared with the status quo: " + ", ".join(policies)


@dataclass
class View:
    """What the page shows for one comparison, drawn: chart images, the table, the run size, the download."""

    policies: list[str]
    images: dict[str, bytes]  # detail chart name -> PNG
    table_html: str
    size: str
    claims: pd.DataFrame  # the headline verdicts the chart and the table show (the download reuses them)
    archive: bytes | None = None  # the download (zip); drawn after the rest is on screen
    replay: Replay | None = None  # the weekly series the replay tab draws from
    tradeoff_html: str = ""  # the trade-off chart as an inline SVG (answers on hover)


def render(result: StudyResult, details: bool = True) -> tuple[View, dict[str, Figure]]:
    """The comparison drawn for the page (and its detail figures, for the download); without ``details`` only the
    headline (the trade-off chart, an SVG drawn in milliseconds, and the table), for a page that shows it first."""
    claimed = verdicts(result)  # computed once for the chart and the table
    names = policy_names(result)
    figs = {name: draw(result) for name, draw in DETAIL_FIGURES.items()} if details else {}
    images = {name: charts.png_bytes(fig, close=False) for name, fig in figs.items()}
    return View(names, images, kpi_table_html(result, claimed), run_size(result), claimed, replay=replay_of(result),
                tradeoff_html=tradeoff_svg(claimed, names, TRADEOFF_TITLE)), figs


def add_detail(view: View, result: StudyResult, figs: dict[str, Figure], name: str) -> None:
    """Draw one detail chart into ``view`` (and ``figs``) unless it is drawn already (a tab opened)."""
    if name not in figs:
        figs[name] = DETAIL_FIGURES[name](result)
        view.images[name] = charts.png_bytes(figs[name], close=False)


def add_details(view: View, result: StudyResult, figs: dict[str, Figure]) -> None:
    """Draw every detail chart not yet drawn into ``view`` (and ``figs``)."""
    for name in DETAIL_FIGURES:
        add_detail(view, result, figs, name)


def close(figs: dict[str, Figure]) -> None:
    """Free the figures of a view that is no longer needed (a first look, replaced by the full run)."""
    for fig in figs.values():
        plt.close(fig)


def finish(view: View, result: StudyResult, figs: dict[str, Figure]) -> View:
    """Add the detail charts (if missing) and the download (with the trade-off drawn by matplotlib, PNG and SVG,
    for slides) to ``view``; close the figures."""
    add_details(view, result, figs)
    if "Trade-off" not in figs:
        figs["Trade-off"] = tradeoff_figure(result, view.claims)
    view.archive = download_zip(result, figs, view.claims)
    close(figs)
    return view


def view_key(policies: dict[str, dict[str, Any]], reps: int) -> str:
    """The cache key of a drawn comparison: the runs it shows (settings, replications, seed, code)."""
    wanted = compared_scenarios(policies)
    reps = quick.reps(reps)
    return f"view{VIEW_VERSION}-" + "-".join(f"{_slug(name)}.{run_key(sc, reps)[:10]}" for name, sc in wanted.items())


def opening_view(reps: int = DEFAULT_REPS, jobs: int = 2, cache: RunCache | None = None) -> View:
    """The page's opening comparison (the opening preset against the status quo), drawn, from the cache or
    computed now and cached."""
    cache = cache or RunCache()
    policies = {OPENING_PRESET: preset_values(OPENING_PRESET)}
    key = view_key(policies, reps)
    view = cache.get(key)
    if view is None:
        result = run_policies(policies, reps=reps, jobs=jobs, cache=cache)
        drawn, figs = render(result)
        view = finish(drawn, result, figs)
        cache.put(key, view)
    return view


def precompute(reps: int = DEFAULT_REPS, jobs: int = 2, cache: RunCache | None = None) -> View:
    """Compute (or find) every preset's runs and the drawn opening view into the cache: the page then opens
    without simulating or drawing, and a preset's Run only draws."""
    cache = cache or RunCache()
    run_policies({name: preset_values(name) for name in PRESETS if name != BASELINE_NAME}, reps=reps, jobs=jobs,
                 cache=cache)
    return opening_view(reps, jobs, cache)
