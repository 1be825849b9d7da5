"""The investor brief: quality first and the productivity push against the status quo, as a short deck.

Slides, in this order: a cover; one slide per question (what changes for therapists, for clients,
and what it costs), ordered by the strength of quality first's evidence; the way of being paid;
assumptions and method. Every chart shows paired differences from the status quo on the same
clients with their Holm-adjusted intervals, and every takeaway is generated from those numbers by
the claims rules (:mod:`sim.analysis.verdicts`): "no clear difference" and "negligible" are said where they
are the result. When a robustness run sits under ``results/``, each takeaway says how robust it is;
without one, the lead policy's takeaways say where one assumption at a time reverses them (if that sweep was run).
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import re
import textwrap
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from sim.analysis.metrics import money_kpis, window
from sim.analysis.stats import paired_differences
from sim.analysis.verdicts import claims, sentence
from sim.base import kpis
from sim.base.paths import PROJECT_DIR
from sim.base.registry import names
from sim.runs import quick
from sim.runs.cache import RunCache, run_key
from sim.runs.outputs import git_commit
from sim.runs.robustness import plausible_verdicts
from sim.runs.runner import StudyResult, run_scenarios
from sim.scenario import Scenario, apply_overrides, load_scenario, parameter_table, scenario_path, value_at
from sim.views import charts

ROOT = PROJECT_DIR
PACK_DIR = ROOT / "results" / "investor_pack"  # at the project root, whatever the cwd
ROBUSTNESS_VERDICTS = ROOT / "results" / "robustness" / "robustness" / "verdicts.csv"
#: The lead policy's answers one assumption at a time (python -m sim sweep experiments/quality_first_sensitivity.yaml).
LEAD_SENSITIVITY = ROOT / "results" / "sweeps" / "quality_first_sensitivity" / "one_way_contrast.csv"
CALIBRATION_TABLE = ROOT / "calibration" / "last_calibration_table.csv"
RESPONSES_TABLE = ROOT / "calibration" / "last_policy_responses.csv"
BASELINE = "baseline"
POLICIES = {"baseline": "Status quo", "fit_individual": "Quality first", "productivity_push": "Productivity push"}
LEAD = "fit_individual"  # the policy the brief argues about; the push is the alternative beside it
ROBUSTNESS_CONTRAST = {"fit_individual": "quality first vs baseline", "productivity_push": "productivity push vs baseline"}
#: The questions, each with its measures (headline KPIs, Holm-adjusted as one family per policy).
SECTIONS = {
    "therapists": ("What changes for therapists", ("mean_exhaustion", "burnout_share", "therapist_turnover_per_year")),
    "clients": ("What changes for clients", ("recovery_rate", "dropout_rate", "return_after_first_rate")),
    "costs": ("What it costs", ("wait_first_session_days_mean", "clients_started", "revenue", "margin")),
}
#: Context measures shown beside the headline family (their own family: not part of the headline claims).
CONTEXT = ("clients_started",)
#: Assumptions the answers lean on most, shown with their evidence grade on the method slide.
KEY_ASSUMPTIONS = ("matching.profile_validity", "therapy.exhaustion_quality_effect", "exhaustion.overload_gain",
                   "exhaustion.absolute_share", "therapists.sustainable_load_sd", "capacity.load_estimate",
                   "clients.waiting_odds_ratio_per_week")
SLIDE_SIZE = (12.8, 7.2)  # inches; at 125 dpi a 1600 x 900 pixel slide
SLIDE_DPI = 125


@dataclass
class Slide:
    name: str
    png: bytes  # 1600 x 900, its takeaway printed under the chart
    takeaway: str  # the generated sentence ("" for the cover and the method page)


@dataclass
class Pack:
    """The deck drawn: the slides for a page, and the files of the slide pack (zip and export) by name."""

    slides: list[Slide]
    files: dict[str, bytes]


@dataclass
class Brief:
    result: StudyResult
    scenarios: dict[str, Scenario]
    money: pd.DataFrame  # scenario, replication, revenue_model, revenue, margin, profit, client_lifetime_value
    claims: pd.DataFrame  # scenario, kpi, difference, ci_low, ci_high, verdict, ... (headline family and context)
    robustness: pd.DataFrame | None = None
    robustness_source: str = ""
    sensitivity: pd.DataFrame | None = None  # the lead policy's one-assumption-at-a-time table (sim.runs.sweep)
    key: str = ""  # what the numbers are (scenarios, replications, seed, code): the drawn pack is cached by it
    pack: Pack | None = field(default=None, repr=False)  # the drawn slides, once drawn (see drawn)

    @property
    def currency(self) -> str:
        return self.scenarios[BASELINE].money.currency


def build(reps: int = 5, jobs: int = 2, robustness: Path | None = ROBUSTNESS_VERDICTS,
          cache: RunCache | None = None, sensitivity: Path | None = LEAD_SENSITIVITY) -> Brief:
    """Run the three policies on the same clients and compute every number the deck shows (or find them in the
    cache: the same scenarios, replications, seed and code)."""
    scenarios = {name: quick.shrink(load_scenario(scenario_path(name))) for name in POLICIES}
    reps = quick.reps(reps)
    cache = cache if cache is not None else RunCache()
    key = "brief-" + "-".join(run_key(sc, reps)[:8] for sc in scenarios.values())
    b = cache.get(key)
    if b is None:
        result = run_scenarios(list(scenarios.values()), reps=reps, jobs=jobs, progress=False,
                               keep=("clients", "sessions", "therapists", "weekly"))
        money = money_by_model(result, scenarios)
        result.tables = {}  # the deck needs the KPIs only: the brief stays small in memory and in the cache
        comparison = result.compare(BASELINE)
        table = pd.concat([claims(comparison), claims(comparison, CONTEXT)], ignore_index=True)
        b = Brief(result, scenarios, money, table, key=key)
        cache.put(key, b)
    if robustness is ROBUSTNESS_VERDICTS:  # the default: a run under results/, else the shipped summary
        found, source = plausible_verdicts()
    else:
        found = pd.read_csv(robustness) if robustness is not None and robustness.is_file() else None
        source = str(robustness)
        if found is not None and "worlds_set" in found:
            found = found[found["worlds_set"] == "plausible"].reset_index(drop=True)
    one_at_a_time = pd.read_csv(sensitivity) if sensitivity is not None and sensitivity.is_file() else None
    return replace(b, robustness=found, robustness_source=source, sensitivity=one_at_a_time,
                   pack=None)  # (the cached brief stays as computed)


def money_by_model(result: StudyResult, scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """Money KPIs of every replication under every revenue model, from the same simulated tables."""
    rows = []
    for (name, rep), clients in result.tables["clients"].groupby(["scenario", "replication"]):
        sc = scenarios[name]
        sessions = _part(result.tables["sessions"], name, rep)
        therapists = _part(result.tables["therapists"], name, rep)
        start, end = window(sc)
        for model in names("revenue"):
            with_model = apply_overrides(sc, {"money.revenue_model": model})
            rows.append({"scenario": name, "replication": rep, "revenue_model": model,
                         **money_kpis(with_model, clients, sessions, therapists, start, end)})
    return pd.DataFrame(rows)


def _part(df: pd.DataFrame, name: str, rep: int) -> pd.DataFrame:
    return df[(df["scenario"] == name) & (df["replication"] == rep)]


# -- the numbers in words ----------------------------------------------------------------


def claim_row(b: Brief, kpi: str, scenario: str = LEAD) -> pd.Series:
    return b.claims[(b.claims["scenario"] == scenario) & (b.claims["kpi"] == kpi)].iloc[0]


def strength(row: pd.Series) -> float:
    """How clearly a difference stands out: |difference| / half its interval (0 unless better or worse)."""
    half = (row["ci_high"] - row["ci_low"]) / 2
    if row["verdict"] not in ("better", "worse") or not half or math.isnan(half):
        return 0.0
    return abs(row["difference"]) / half


def section_order(b: Brief) -> list[str]:
    """Sections by the strength of the lead policy's clearest result, strongest first."""
    def best(section: str) -> float:
        return max(strength(claim_row(b, k)) for k in SECTIONS[section][1])

    return sorted(SECTIONS, key=lambda s: -best(s))


def robustness_phrase(b: Brief, kpi: str, scenario: str = LEAD) -> str:
    """'better in 84% of plausible worlds (±4), worse in 6% (±2)' from a robustness run, or '' when there is none."""
    if b.robustness is None:
        return ""
    v = b.robustness[(b.robustness["contrast"] == ROBUSTNESS_CONTRAST.get(scenario)) & (b.robustness["kpi"] == kpi)]
    if v.empty:
        return ""
    return str(v["words"].iloc[0] if "words" in v else v["verdict"].iloc[0])


def sensitivity_phrase(b: Brief, kpi: str, scenario: str = LEAD) -> str:
    """Where one assumption at a time (each at either end of its range) reverses or blurs the lead policy's answer,
    naming the ends of the rarer direction; '' without that table.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"kpi": ["recovery_rate"] * 5, "end": ["default"] + ["low", "high"] * 2,
    ...                   "parameter": ["(defaults)", "x", "x", "y", "y"], "value": [None, 1.0, 2.0, 3.0, 4.0],
    ...                   "verdict": ["better", "worse", "better", "no clear difference", "better"]})
    >>> claims = pd.DataFrame({"scenario": [LEAD], "kpi": ["recovery_rate"], "verdict": ["better"]})
    >>> sensitivity_phrase(Brief(None, {}, None, claims, sensitivity=t), "recovery_rate")
    'one assumption at a time: reversed at 1 of 4 ends of the ranges (x at 1), unclear at 1'
    >>> sensitivity_phrase(Brief(None, {}, None, claims.assign(verdict="no clear difference"), sensitivity=t),
    ...                    "recovery_rate")
    'one assumption at a time: better at 2, worse at 1 of 4 ends of the ranges (worse: x at 1)'
    """
    if b.sensitivity is None or scenario != LEAD:
        return ""
    ends = b.sensitivity[(b.sensitivity["kpi"] == kpi) & (b.sensitivity["end"] != "default")]
    if ends.empty:
        return ""
    verdict, n = claim_row(b, kpi, scenario)["verdict"], len(ends)
    head = "one assumption at a time:"

    def named(rows: pd.DataFrame, most: int = 3) -> str:
        listed = [f"{r['parameter']} at {r['value']:g}" for _, r in rows.head(most).iterrows()]
        return ", ".join(listed) + (", ..." if len(rows) > most else "")

    clear = ends[ends["verdict"].isin(("better", "worse"))]
    unclear = len(ends) - len(clear)
    if verdict in ("better", "worse"):
        reversed_ = clear[clear["verdict"] != verdict]
        if reversed_.empty and not unclear:
            return f"{head} holds at all {n} ends of the ranges"
        said = (f"{head} reversed at {len(reversed_)} of {n} ends of the ranges ({named(reversed_)})" if len(reversed_)
                else f"{head} never reversed at the {n} ends of the ranges")
        return said + (f", unclear at {unclear}" if unclear else "")
    if clear.empty:
        return f"{head} no clear answer at any of the {n} ends of the ranges"
    better, worse = (clear[clear["verdict"] == v] for v in ("better", "worse"))
    rarer, word = (worse, "worse") if 0 < len(worse) <= len(better) or better.empty else (better, "better")
    return (f"{head} better at {len(better)}, worse at {len(worse)} of {n} ends of the ranges "
            f"({word}: {named(rarer)})")


def takeaway(b: Brief, section: str) -> str:
    """The section's message in words: the lead policy's results, then the alternative's, hedged by the numbers."""
    kpis_ = SECTIONS[section][1]
    parts = []
    for scenario in (LEAD, "productivity_push"):
        said = []
        for kpi in kpis_:
            row = claim_row(b, kpi, scenario)
            text = sentence(row, b.currency)
            sure = robustness_phrase(b, kpi, scenario)
            alone = "" if sure else sensitivity_phrase(b, kpi, scenario)
            said.append(text + (f"; over the worlds that reproduce the published figures it is {sure}" if sure else "")
                        + (f" [{alone}]" if alone else ""))
        parts.append(f"{POLICIES[scenario]}: " + "; ".join(said) + ".")
    return " ".join(parts)


def headline(b: Brief, section: str) -> str:
    """A one-line title from each policy's clearest result in the section (or 'no clear difference')."""
    title = SECTIONS[section][0]
    parts = []
    for scenario in (LEAD, "productivity_push"):
        rows = [claim_row(b, k, scenario) for k in SECTIONS[section][1]]
        clear = [r for r in rows if r["verdict"] in ("better", "worse")]
        if not clear:
            parts.append(f"{POLICIES[scenario].lower()}, no clear difference")
            continue
        top = max(clear, key=strength)
        parts.append(f"{POLICIES[scenario].lower()}, {kpis.label(top['kpi']).lower()} {top['verdict']} by "
                     f"{kpis.format_difference(top['kpi'], top['difference'], b.currency)}")
    return f"{title}: " + "; ".join(parts)


# -- slides ---------------------------------------------------------------------------------


def _text_slide(title: str, lines: list[str], size: float = 12) -> Figure:
    """A slide of a title and lines of text, laid out by measuring the drawn text: lines wrap at the slide's
    width, and the whole block shrinks (down to 60% of ``size``) until its last line sits above the bottom."""
    fig = plt.figure(figsize=SLIDE_SIZE)
    fig.add_axes((0, 0, 1, 1)).axis("off")  # an empty canvas: inline backends skip figures without axes
    for scale in (1.0, 0.9, 0.8, 0.7, 0.6):
        for text in list(fig.texts):
            text.remove()
        bottom = _lay_out(fig, title, lines, size * scale)
        if bottom >= SLIDE_MARGIN:
            break
    return fig


SLIDE_MARGIN = 0.03  # share of the slide's height and width kept clear at its edges


def _lay_out(fig: Figure, title: str, lines: list[str], size: float) -> float:
    """Place the title and the lines top-down at ``size`` points, each wrapped to the slide's width by measuring
    it; return the bottom of the last line (a share of the slide's height)."""
    renderer = fig._get_renderer()  # type: ignore[attr-defined]  # (matplotlib's own, any backend)
    height = fig.bbox.height
    y = 1 - 1.5 * SLIDE_MARGIN - 0.04
    for text, points, gap in [(title, 2 * size, 0.03)] + [(line, size, 0.015) for line in lines]:
        if not text:
            y -= 0.02
            continue
        placed = fig.text(0.06, y, _wrapped(fig, text, points, renderer), fontsize=points, va="top",
                          weight="bold" if points > size else "normal")
        box = placed.get_window_extent(renderer)
        y -= box.height / height + gap
    return y + 0.015


def _wrapped(fig: Figure, text: str, points: float, renderer: Any) -> str:
    """``text`` wrapped so that each line fits the slide's width between the margins, measured as drawn."""
    room = fig.bbox.width * (1 - 0.06 - SLIDE_MARGIN)
    probe = fig.text(0, 0, "x" * 100, fontsize=points)
    per_char = probe.get_window_extent(renderer).width / 100
    probe.remove()
    width = max(20, int(room / per_char * 0.95))
    return "\n".join(textwrap.fill(part, width, subsequent_indent="  " if part.startswith("  ") else "")
                     for part in text.split("\n"))


def run_size(b: Brief) -> str:
    sc = b.scenarios[BASELINE]
    h = sc.horizon
    reps = int(b.result.replications.groupby("scenario").size().min())
    return (f"{reps} independent replications of each policy on the same simulated clients; a platform of "
            f"{sc.therapists.count:,} therapists and {sc.demand.arrivals_per_week:,.0f} new clients a week; "
            f"{h.measured_weeks} measured weeks after a {h.warmup_weeks}-week warm-up, clients followed "
            f"{h.follow_up_weeks} more weeks; seed {sc.seed}.")


def cover_slide(b: Brief) -> tuple[Figure, str]:
    fig = _text_slide("Quality first: what it does for therapists, clients and the business", [
        "A simulation of one therapy platform under three policies, on exactly the same clients:",
        "  Status quo: clients go to whoever is free first; every therapist is booked to one team quota.",
        "  Quality first: clients matched by estimated fit; each therapist booked to their own sustainable load.",
        "  Productivity push: the status quo with the team quota pushed above the mean sustainable load.",
        "",
        "Every number is a difference from the status quo with its interval; 'no clear difference' means "
        "the simulation cannot tell.",
        "",
        run_size(b),
        f"Fifty Minutes, commit {git_commit()[:7] or 'unknown'}, {date.today():%d %B %Y}.",
    ], size=13)
    return fig, "Cover: the three policies and how the comparison was made."


BOTTOM_LINE_POINTS = 18  # the bottom line's text size: three sentences read across a room


def section_sentence(b: Brief, section: str) -> str:
    """One short sentence for a question: quality first's clearest result with its verdict, and how sure (the
    plausible-world shares when a robustness run exists). Under 40 words: what a slide says in large type."""
    title, measures = SECTIONS[section]
    rows = [claim_row(b, k) for k in measures if k not in CONTEXT]
    clear = [r for r in rows if r["verdict"] in ("better", "worse")]
    if clear:
        top = max(clear, key=strength)
        said = (f"{title}: {kpis.label(top['kpi']).lower()} {top['verdict']} by "
                f"{kpis.format_difference(top['kpi'], top['difference'], b.currency)}")
    else:
        top = rows[0]
        said = f"{title}: no clear difference in {', '.join(kpis.label(r['kpi']).lower() for r in rows)}"
    sure = re.sub(r" \(±\d+\)", "", robustness_phrase(b, top["kpi"]))  # the shares, without their errors
    return said + (f"; {sure}" if sure else "; not yet judged over plausible worlds") + "."


def bottom_line(b: Brief) -> list[str]:
    """Three sentences an investor remembers, one per question, strongest first."""
    return [section_sentence(b, section) for section in section_order(b)]


#: What the post that started the project expects of quality first, by measure (its claim: clients come back when
#: therapists are matched by fit and booked to their own thresholds).
POST_EXPECTS = {"return_after_first_rate": "more clients coming back", "burnout_share": "fewer therapists burned out"}


def post_line(b: Brief) -> str:
    """One sentence on where the simulation agrees or disagrees with the post that started the project, from
    quality first's verdicts on what the post expects."""
    found = {kpi: str(claim_row(b, kpi)["verdict"]) for kpi in POST_EXPECTS}
    agrees = all(v == "better" for v in found.values())
    head = "As the advice that started this project expects" if agrees else "Unlike the advice that started this project"
    said = "; ".join(f"{kpis.label(kpi).lower()}: {verdict}" for kpi, verdict in found.items())
    return f"{head} ({' and '.join(POST_EXPECTS.values())}): {said}."


def bottom_line_slide(b: Brief) -> tuple[Figure, str]:
    """The bottom line first: quality first's three answers in plain words, each with how sure it is, and where
    that leaves the advice the project started from."""
    lines = []
    for line in [*bottom_line(b), post_line(b)]:
        lines += [line, ""]
    fig = _text_slide("The bottom line for quality first", lines, size=BOTTOM_LINE_POINTS)
    return fig, "The bottom line: " + " ".join([*bottom_line(b), post_line(b)])


def difference_slide(b: Brief, section: str) -> tuple[Figure, str]:
    """One panel per measure: each policy's paired difference from the status quo with its interval."""
    measures = SECTIONS[section][1]
    order = [s for s in POLICIES if s != BASELINE]
    col = charts.colours([POLICIES[s] for s in order])
    fig, axes = plt.subplots(len(measures), 1, figsize=SLIDE_SIZE, squeeze=False)
    for ax, kpi in zip(axes[:, 0], measures, strict=True):
        info = kpis.KPI[kpi]
        scale = 100.0 if info.format == "share" else 1.0  # shares in percentage points
        for i, scenario in enumerate(order):
            row = claim_row(b, kpi, scenario)
            x, lo, hi = (row[k] * scale for k in ("difference", "ci_low", "ci_high"))
            clear = row["verdict"] in ("better", "worse")
            ax.plot([lo, hi], [i, i], color=col[POLICIES[scenario]], lw=3, solid_capstyle="butt")
            ax.plot(x, i, "o", ms=10, color=col[POLICIES[scenario]], mfc=col[POLICIES[scenario]] if clear else "white",
                    mew=2)
            ax.annotate(f"{kpis.format_difference(kpi, row['difference'], b.currency)}: {row['verdict']}",
                        (hi, i), xytext=(8, 0), textcoords="offset points", va="center", fontsize=10)
        ax.axvline(0, color="grey", lw=1)
        ax.set_yticks(range(len(order)), [POLICIES[s] for s in order], fontsize=10)
        ax.set_ylim(-0.7, len(order) - 0.3)
        ax.invert_yaxis()
        unit = "percentage points" if scale == 100.0 else (b.currency if info.format == "money" else info.unit)
        direction = "higher is better" if info.direction > 0 else "lower is better" if info.direction < 0 else ""
        ax.set_title(f"{info.label} ({direction})" if direction else info.label, fontsize=11, loc="left")
        ax.set_xlabel(f"difference from the status quo, {unit}", fontsize=9)
        if info.format == "money":
            ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: f"{v:,.0f}"))
        left, right = ax.get_xlim()
        ax.set_xlim(min(left, 0), max(right, 0) + 0.35 * (max(right, 0) - min(left, 0)))  # room for the labels
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(textwrap.fill(headline(b, section), 105), fontsize=13, x=0.01, ha="left", weight="bold")
    note = ("Dots: mean paired difference over replications (same clients under each policy); bars: Holm-adjusted "
            "interval; filled: a clear difference at least as large as the smallest that matters.")
    fig.text(0.01, 0.005, note, fontsize=8, color="dimgrey")
    fig.tight_layout(rect=(0, 0.03, 1, 0.92))
    return fig, takeaway(b, section)


def money_verdicts(b: Brief, model: str) -> pd.DataFrame:
    """The headline verdicts with revenue and margin as under revenue model ``model`` (the same simulated runs):
    the one rule and Holm family of every other view."""
    reps = b.result.replications.set_index(["scenario", "replication"])
    money = b.money[b.money["revenue_model"] == model].set_index(["scenario", "replication"])
    reps = reps.assign(revenue=money["revenue"], margin=money["margin"]).reset_index()
    return claims(paired_differences(reps, list(kpis.HEADLINE), BASELINE))


def payment_slide(b: Brief) -> tuple[Figure, str]:
    """Does the way of being paid change the answer? Each policy's margin difference under each revenue model, with
    its Holm interval and verdict."""
    models = names("revenue")
    fig, ax = plt.subplots(figsize=SLIDE_SIZE)
    col = charts.colours([POLICIES[s] for s in POLICIES if s != BASELINE])
    said = []
    for j, model in enumerate(models):
        margin = money_verdicts(b, model).set_index(["scenario", "kpi"])
        for i, scenario in enumerate(s for s in POLICIES if s != BASELINE):
            row = margin.loc[(scenario, "margin")]
            y = j + (i - 0.5) * 0.3
            ax.plot([row["ci_low"] * 100, row["ci_high"] * 100], [y, y], color=col[POLICIES[scenario]], lw=3)
            ax.plot(row["difference"] * 100, y, "o", ms=9, color=col[POLICIES[scenario]],
                    label=POLICIES[scenario] if j == 0 else None)
            if scenario == LEAD:
                said.append(f"{model.replace('_', ' ')}: {row['difference'] * 100:+.1f} points ({row['verdict']})")
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(range(len(models)), [m.replace("_", " ") for m in models], fontsize=11)
    ax.invert_yaxis()
    ax.set_xlabel("operating margin, difference from the status quo (percentage points; Holm-adjusted interval)")
    ax.set_title("Does the way of being paid change the answer?", fontsize=15, loc="left", weight="bold")
    ax.legend(frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig, "Quality first's margin against the status quo, by revenue model: " + "; ".join(said) + "."


def method_slide(b: Brief) -> tuple[Figure, str]:
    table = {r["path"]: r for r in parameter_table()}
    sc = b.scenarios[BASELINE]
    lines = [run_size(b)]
    if CALIBRATION_TABLE.is_file():
        cal = pd.read_csv(CALIBRATION_TABLE)
        lines.append(f"Calibration: {int(cal['inside'].sum())} of {len(cal)} published figures (dropout, sessions, "
                     "recovery, therapist effects, burnout, turnover, no-shows) reproduced inside their bands "
                     "(calibration/last_calibration_table.csv).")
    if RESPONSES_TABLE.is_file():
        resp = pd.read_csv(RESPONSES_TABLE)
        missed = ", ".join(resp.loc[~resp["inside"], "check"].str.replace("_", " "))
        lines.append(f"Policy responses: {int(resp['inside'].sum())} of {len(resp)} lever effects with a published size "
                     "or direction reproduced (outcome feedback, matching by measured strengths)"
                     + (f"; not reproduced: {missed}" if missed else "") + ". Individual thresholds and the league "
                     "table have no published effect to check.")
    lines.append("Main assumptions (evidence grade from the assumptions register, docs/assumptions.md):")
    for path in KEY_ASSUMPTIONS:
        row = table[path]
        value = value_at(sc, path)
        lines.append(f"  {path} = {value} ({row['unit']}); evidence: {row['evidence']}; "
                     f"plausible range {row['range'] or 'n/a'}.")
    if b.robustness is None and b.sensitivity is not None:
        lines.append("How sure: no robustness run found. Quality first's takeaways say where one assumption at a time, "
                     "at either end of its range, reverses or blurs them (experiments/quality_first_sensitivity.yaml, "
                     "a 40-therapist platform); `python -m sim robustness experiments/robustness.yaml` says how likely.")
    elif b.robustness is None:
        lines.append("How sure: no robustness run found. `python -m sim robustness experiments/robustness.yaml` "
                     "varies every uncertain assumption and says in what share of plausible worlds each answer holds.")
    else:
        lines.append("How sure: each takeaway quotes the share of plausible worlds (those that reproduce the "
                     f"published figures, from {b.robustness_source}) in which the policy is clearly better or worse.")
    lines.append("Differences are paired (common random numbers) with Holm-adjusted intervals over the headline "
                 "measures; 'negligible' means the whole interval lies within the smallest difference that matters.")
    return (_text_slide("Technical appendix: assumptions and method", lines, size=11),
            "How the numbers were made, and what they rest on.")


def slides(b: Brief) -> dict[str, Callable[[Brief], tuple[Figure, str]]]:
    """The deck, in order: cover, the bottom line, the three questions by strength of evidence, payment, method."""
    out: dict[str, Callable[[Brief], tuple[Figure, str]]] = {"cover": cover_slide, "bottom_line": bottom_line_slide}
    for section in section_order(b):
        out[section] = functools.partial(difference_slide, section=section)
    out["payment"] = payment_slide
    out["method"] = method_slide
    return out


def drawn(b: Brief, cache: RunCache | None = None) -> Pack:
    """The deck drawn once per brief: every slide as PNG (1600 x 900) and SVG (text kept as text), the deck as one
    PDF, the takeaways as speaker notes and the numbers as CSV. Kept in the run cache by the numbers and the
    robustness and one-at-a-time verdicts it shows, so a page opens without drawing (the cover then names when it was drawn)."""
    if b.pack is None:
        cache = cache if cache is not None else RunCache()
        key = _pack_key(b)
        found = cache.get(key) if key else None
        if not isinstance(found, Pack):
            found = _render(b)
            if key:
                cache.put(key, found)
        b.pack = found
    return b.pack


def _pack_key(b: Brief) -> str:
    if not b.key:
        return ""
    shown = "|".join(t.to_csv(index=False) if t is not None else "" for t in (b.robustness, b.sensitivity))
    return "pack-" + hashlib.blake2b(f"{b.key}|{shown}".encode(), digest_size=12).hexdigest()


TAKEAWAY_POINTS = 14  # a chart slide's one-line message, under its chart


def on_slide(b: Brief, name: str, takeaway: str) -> str:
    """What a chart slide says in large type under its chart: the question's short sentence (the full takeaway,
    every measure with its interval, goes to the speaker notes); nothing on the text-only slides."""
    if name in ("cover", "method", "bottom_line"):
        return ""
    return section_sentence(b, name) if name in SECTIONS else takeaway


def finished_slide(b: Brief, name: str, make: Callable[[Brief], tuple[Figure, str]]) -> tuple[Figure, str]:
    """A slide as shown, with its short message under the chart; returns the full takeaway (speaker notes)."""
    fig, text = make(b)
    takeaway = "" if name in ("cover", "method") else text
    short = on_slide(b, name, takeaway)
    if short:
        wrapped = textwrap.fill(short, 120)
        fig.text(0.01, 0.025, wrapped, fontsize=TAKEAWAY_POINTS, ha="left", va="bottom")
        lines = wrapped.count("\n") + 1  # 14-point lines, each about 3.2% of the slide's height
        fig.subplots_adjust(bottom=0.025 + 0.032 * lines + 0.075)  # and room for the last axis label
    return fig, takeaway


def _render(b: Brief) -> Pack:
    files: dict[str, bytes] = {}
    shown: list[Slide] = []
    notes = ["# Investor brief: what each slide says", ""]
    pdf_buffer = io.BytesIO()
    with PdfPages(pdf_buffer) as pdf:
        for i, (name, make) in enumerate(slides(b).items(), start=1):
            fig, takeaway = finished_slide(b, name, make)
            if takeaway:
                notes += [f"## Slide {i}: {name}", "", takeaway, ""]
            for ext, data in charts.chart_files(fig, dpi=SLIDE_DPI).items():
                files[f"{i:02d}_{name}.{ext}"] = data
            shown.append(Slide(name, files[f"{i:02d}_{name}.png"], takeaway))
            pdf.savefig(fig)
            plt.close(fig)
    files["investor_brief.pdf"] = pdf_buffer.getvalue()
    files["speaker_notes.md"] = "\n".join(notes).encode()
    files["differences.csv"] = b.claims.to_csv(index=False).encode()
    return Pack(shown, files)


def pack_zip(b: Brief) -> bytes:
    """The slide pack as one zip (for a browser download)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in drawn(b).files.items():
            z.writestr(f"investor_pack/{name}", data)
    return buffer.getvalue()


def export_pack(b: Brief, out: Path = PACK_DIR, force: bool = False) -> list[Path]:
    """Write the slide pack into ``out`` all at once; files there that the tool did not write are never touched."""
    from sim.runs.safe_output import write_folder

    def fill(tmp: Path) -> None:
        for name, data in drawn(b).files.items():
            (tmp / name).write_bytes(data)

    return [out / name for name in write_folder(out, fill, force=force)]
