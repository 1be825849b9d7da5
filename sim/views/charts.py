"""Charts people see: one colour-blind-safe colour per scenario, plain titles, units, intervals."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.metrics import OPEN_ENDINGS, measured_clients
from sim.analysis.stats import t_interval
from sim.base.kpis import HEADLINE as KPI_HEADLINE
from sim.base.kpis import KPI, clip_differences, label

# Okabe-Ito palette (colour-blind safe)
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000", "#882255", "#44AA99",
           "#999999"]  # Okabe-Ito, then wine, teal and grey for names no studied policy has
KPI_LABELS = {name: label(name, with_unit=True) for name in KPI}  # from the one KPI registry
HEADLINE = list(KPI_HEADLINE)


def png_bytes(fig: Figure, dpi: int = 100, close: bool = True) -> bytes:
    """The figure as PNG bytes (closing it unless told not to), for image widgets and exports."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    if close:
        plt.close(fig)
    return buffer.getvalue()


def chart_files(fig: Figure, dpi: int) -> dict[str, bytes]:
    """The figure as PNG and as SVG with its text kept as text (editable in a slide tool), by extension."""
    import io

    files = {}
    with plt.rc_context({"svg.fonttype": "none"}):
        for ext in ("png", "svg"):
            buffer = io.BytesIO()
            fig.savefig(buffer, format=ext, dpi=dpi)
            files[ext] = buffer.getvalue()
    return files


# One colour per policy, the same in every chart (status quo blue, quality first orange, ...).
POLICY_COLOURS = {
    "baseline": PALETTE[0], "fit_individual": PALETTE[1], "fit_quota": PALETTE[2], "earliest_individual": PALETTE[3],
    "league_table": PALETTE[4], "productivity_push": PALETTE[5], "feedback_only": PALETTE[7],
    "talking_therapies_like": PALETTE[6],
}
#: The names people see for those scenarios (the explorer's presets, the brief's policies), lower case.
SCENARIO_OF = {"status quo": "baseline", "quality first": "fit_individual", "fit only": "fit_quota",
               "individual only": "earliest_individual", "feedback only": "feedback_only",
               "feedback, no ranking": "feedback_only", "league table": "league_table",
               "productivity push": "productivity_push", "busy_platform": "baseline"}


def styled(table: pd.DataFrame, index: bool = True) -> Any:
    """A table for notebooks: one line per cell, left-aligned, readable headers; wider than the page, it scrolls
    sideways (in JupyterLab and in exported HTML) instead of being cut."""
    style = table.style.set_properties(**{"white-space": "nowrap", "text-align": "left"})
    style = style.set_table_attributes('style="display: block; overflow-x: auto; max-width: 100%"')
    style = style.set_table_styles([{"selector": "th", "props": [("text-align", "left"), ("white-space", "nowrap")]}])
    return style if index else style.hide(axis="index")


def colour_of(name: str) -> str:
    """A policy's one colour, by scenario name or the name people see; any other name always gets the same one
    of the colours no studied policy uses.

    A policy on another platform (``platform:policy``) keeps its colour; the busy platform's status quo is the
    status quo's.

    >>> colour_of("Quality first") == colour_of("quality first") == colour_of("fit_individual")
    True
    >>> colour_of("busy_platform:fit_individual") == colour_of("fit_individual")
    True
    """
    name = name.rsplit(":", 1)[-1]
    scenario = name if name in POLICY_COLOURS else SCENARIO_OF.get(name.strip().lower(), "")
    if scenario in POLICY_COLOURS:
        return POLICY_COLOURS[scenario]
    spare = [c for c in PALETTE if c not in POLICY_COLOURS.values()]
    return spare[int(hashlib.blake2b(name.encode(), digest_size=2).hexdigest(), 16) % len(spare)]


def colours(names: list[str]) -> dict[str, str]:
    """Each name's colour (:func:`colour_of`): the same policy has the same colour in every chart."""
    return {n: colour_of(n) for n in names}


def retention_curve(clients: pd.DataFrame, max_sessions: int = 26, by_replication: bool = False) -> pd.DataFrame:
    """Share of starters still in therapy (attended at least n sessions), per scenario and n (and replication).

    Uses clients who arrived after the warm-up, started, and ended (no censoring).
    """
    c = measured_clients(clients)
    c = c[(c["sessions_attended"] >= 1) & ~c["ending"].isin(OPEN_ENDINGS)]
    keys = ["scenario", "replication"] if by_replication and "replication" in c else ["scenario"]
    rows = []
    for key, g in c.groupby(keys, sort=False, observed=True):
        counts = g["sessions_attended"].to_numpy()
        named = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        for n in range(1, max_sessions + 1):
            rows.append({**named, "session": n, "share": float((counts >= n).mean())})
    return pd.DataFrame(rows)


def paired_band(curves: pd.DataFrame, reference: str, name: str, x: str) -> pd.DataFrame:
    """Per ``x``: the mean paired difference of ``name``'s curve from ``reference``'s over replications (the same
    clients in replication r of both) and its 95% t-interval; ``curves`` has scenario, replication, x, share."""
    wide = curves.pivot_table(index=[x, "replication"], columns="scenario", values="share")
    diff = (wide[name] - wide[reference]).dropna()
    rows = [(k, *t_interval(g.to_numpy())) for k, g in diff.groupby(level=x)]
    return pd.DataFrame([(k, m, lo, hi) for k, m, _, lo, hi, _ in rows], columns=[x, "mean", "low", "high"])


def plot_retention(clients: pd.DataFrame, order: list[str]) -> Figure:
    """Left: share of starters still in therapy by session. Right (with more than one policy): each policy's
    difference from the first, in percentage points, where curves that lie on top of each other come apart, with
    a band of its 95% interval over paired replications (when there are several)."""
    curve = retention_curve(clients)
    col = colours(order)
    two = len(order) > 1
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(12 if two else 8, 4.5), squeeze=False)
    ax = axes[0][0]
    for name in order:
        g = curve[curve["scenario"] == name]
        ax.plot(g["session"], g["share"], marker="o", ms=3, label=name, color=col[name])
    ax.set(title="Client return: share still in therapy by session", xlabel="Session number",
           ylabel="Share of clients who started", ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    if two:
        per_rep = retention_curve(clients, by_replication=True)
        banded = "replication" in per_rep and per_rep["replication"].nunique() > 1
        ref = curve[curve["scenario"] == order[0]].set_index("session")["share"]
        diff_ax = axes[0][1]
        diff_ax.axhline(0, color=col[order[0]], lw=1.5, label=f"{order[0]} (reference)")
        for name in order[1:]:
            g = curve[curve["scenario"] == name].set_index("session")["share"]
            diff_ax.plot(g.index, 100 * (g - ref.reindex(g.index)), marker="o", ms=3, color=col[name], label=name)
            if banded:
                band = paired_band(per_rep, order[0], name, "session")
                diff_ax.fill_between(band["session"], 100 * band["low"], 100 * band["high"], color=col[name],
                                     alpha=0.15, lw=0)
        diff_ax.set(title=f"Difference from {order[0]}" + (" (bands: 95% intervals, paired)" if banded else ""),
                    xlabel="Session number", ylabel="Percentage points")
        diff_ax.grid(alpha=0.3)
        diff_ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_kpi_bars(summary: pd.DataFrame, order: list[str], kpis: list[str] = HEADLINE) -> Figure:
    """Mean and 95% interval of each KPI per scenario, one panel per KPI."""
    col = colours(order)
    ncols = 3
    nrows = math.ceil(len(kpis) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        s = summary[summary["kpi"] == kpi].set_index("scenario").reindex(order)
        x = np.arange(len(order))
        err = np.vstack([s["mean"] - s["ci_low"], s["ci_high"] - s["mean"]])
        ax.bar(x, s["mean"], yerr=np.nan_to_num(err), capsize=4, color=[col[n] for n in order])
        ax.set_xticks(x, order, rotation=30, ha="right", fontsize=8)
        ax.set_title(KPI_LABELS.get(kpi, kpi), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(kpis):]:
        ax.axis("off")
    fig.suptitle("Headline results (mean and 95% interval over replications)")
    fig.tight_layout()
    return fig


def plot_forest(comparison: pd.DataFrame, order: list[str], kpis: list[str] = HEADLINE) -> Figure:
    """Paired differences against the baseline with 95% intervals (common random numbers)."""
    col = colours(order)
    fig, axes = plt.subplots(len(kpis), 1, figsize=(8, 1.4 * len(kpis) + 1.4), squeeze=False)
    baseline = comparison["baseline"].iloc[0] if len(comparison) else ""
    comparison = clip_differences(comparison)
    fig.suptitle(f"Paired differences from {baseline}", fontsize=11, x=0.02, ha="left")
    fig.text(0.02, 0.005, "Dot: mean paired difference over replications (same clients under every policy); "
             "whiskers: 95% interval. Shares in percentage points.", fontsize=7, color="dimgrey")
    for ax, kpi in zip(axes[:, 0], kpis, strict=True):
        c = comparison[comparison["kpi"] == kpi].set_index("scenario")
        names = [n for n in order if n in c.index]
        y = np.arange(len(names))
        for yi, n in zip(y, names, strict=True):
            row = c.loc[n]
            ax.errorbar(row["difference"], yi, xerr=[[row["difference"] - row["ci_low"]],
                                                     [row["ci_high"] - row["difference"]]],
                        fmt="o", color=col[n], capsize=3)
        ax.axvline(0, color="grey", lw=1)
        ax.set_yticks(y, names, fontsize=8)
        ax.set_title(f"{KPI_LABELS.get(kpi, kpi)}", fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
        if KPI.get(kpi) is not None and KPI[kpi].format == "share":
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{100 * v:+.0f} pts"))
        else:
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:+,.3g}"))
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    return fig


def plot_weekly(weekly: pd.DataFrame, column: str, order: list[str], title: str, ylabel: str,
                warmup_weeks: int | None = None) -> Figure:
    """Mean over replications of a weekly series, per scenario (band: 10th-90th percentile of the replications),
    with the warm-up shaded; the legend sits outside the plot."""
    col = colours(order)
    fig, ax = plt.subplots(figsize=(9.5, 4))
    for name in order:
        g = weekly[weekly["scenario"] == name].groupby("week")[column]
        mean, lo, hi = g.mean(), g.quantile(0.1), g.quantile(0.9)
        ax.plot(mean.index, mean.values, label=name, color=col[name])
        ax.fill_between(mean.index, lo.values, hi.values, color=col[name], alpha=0.15, lw=0)
    if warmup_weeks:
        ax.axvspan(0, warmup_weeks, color="grey", alpha=0.1, lw=0, label="warm-up (not measured)")
    ax.set(title=title, xlabel="Week", ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.text(0.01, 0.01, "Lines: mean over replications; bands: 10th to 90th percentile of the replications.",
             fontsize=7, color="dimgrey")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


# -- calibration charts ------------------------------------------------------------------
HOWARD_1986 = {1: 0.14, 2: 0.30, 4: 0.41, 8: 0.53, 13: 0.62, 26: 0.75, 52: 0.83}  # Howard et al. 1986, probit fit


def plot_dropout_by_session(by_session: pd.Series) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(by_session.index, by_session.values, color=PALETTE[0])
    ax.set(title="When clients drop out: share of all dropouts by last attended session",
           xlabel="Last attended session (20 = 20 or more)", ylabel="Share of dropouts")
    early = float(by_session.reindex([1, 2]).fillna(0).sum())
    ax.text(0.98, 0.95, f"after session 1 or 2: {early:.0%}\n(target 60-80%, Olfson et al. 2009)",
            transform=ax.transAxes, ha="right", va="top", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_dose_effect(curves: list[pd.Series]) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    frame = pd.concat(curves, axis=1)
    mean = frame.mean(axis=1)
    ax.plot(mean.index, mean.values, color=PALETTE[0], label="simulated (Kaplan-Meier, mean of replications)")
    ax.fill_between(mean.index, frame.min(axis=1), frame.max(axis=1), color=PALETTE[0], alpha=0.2, lw=0)
    xs, ys = zip(*HOWARD_1986.items(), strict=True)
    ax.plot(xs, ys, "s", color=PALETTE[4], label="Howard et al. 1986 (approximate)")
    ax.set(title="Dose-effect: share of clients reliably improved by session n", xlabel="Session",
           ylabel="Share reliably improved", xlim=(0, 40), ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_sessions_histogram(hist: pd.Series) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(hist.index, hist.values, color=PALETTE[2])
    ax.set(title="Sessions attended per client (clients who started and ended)",
           xlabel="Sessions attended (30 = 30 or more)", ylabel="Share of clients")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_alliance_outcome(clients: pd.DataFrame, r: float) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    sample = clients.sample(min(len(clients), 3000), random_state=0) if len(clients) else clients
    ax.scatter(sample["early_alliance"], sample["severity_intake"] - sample["severity_last"], s=4, alpha=0.3,
               color=PALETTE[0])
    ax.set(title=f"Early alliance and improvement (r = {r:.2f}; target .22-.33, Fluckiger et al. 2018)",
           xlabel="Mean measured alliance, sessions 1-3 (1-7)", ylabel="Improvement (intake - last score)")
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_tornado(one_way: pd.DataFrame, kpi: str, top: int = 10) -> Figure:
    """One-way sensitivity: the KPI at the low and at the high end of each parameter's range (two bars per
    parameter, widest swing first), against the replication noise of the base point (grey band: its 95%
    interval), inside which a bar says nothing."""
    d = one_way[one_way["kpi"] == kpi].copy()
    d["swing"] = (d["at_high"] - d["at_low"]).abs()
    d = d.sort_values("swing").tail(top)
    base = float(d["base"].iloc[0]) if len(d) else 0.0
    noise = float(d["base_half_width"].iloc[0]) if len(d) and "base_half_width" in d else math.nan
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(d) + 1.8))
    y = np.arange(len(d))
    if not math.isnan(noise):
        ax.axvspan(base - noise, base + noise, color="lightgrey", alpha=0.6, lw=0,
                   label="replication noise (95% interval of the base point)")
    ax.barh(y - 0.2, d["at_low"] - base, left=base, height=0.38, color=PALETTE[0], label="parameter at low end")
    ax.barh(y + 0.2, d["at_high"] - base, left=base, height=0.38, color=PALETTE[1], label="parameter at high end")
    ax.axvline(base, color="grey", lw=1)
    ranges = zip(d["parameter"], d["low_value"], d["high_value"], strict=True)
    ax.set_yticks(y, [f"{p} [{lo:g}, {hi:g}]" for p, lo, hi in ranges], fontsize=8)
    ax.set(title=f"What moves {KPI_LABELS.get(kpi, kpi).lower()}?", xlabel=KPI_LABELS.get(kpi, kpi))
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_contrast_tornado(table: pd.DataFrame, kpi: str, top: int = 12) -> Figure:
    """What one answer rests on (:func:`sim.runs.sweep.one_way_contrast`): the paired difference policy - reference with
    its Holm interval at the low and at the high end of each parameter's range, widest swing first, against the
    difference at the defaults (grey band: its interval) and zero. Filled dots: a clear answer (better or worse)."""
    rows = table[table["kpi"] == kpi]
    base = rows[rows["end"] == "default"].iloc[0]
    ends = rows[rows["end"] != "default"].pivot(index="parameter", columns="end")
    swing = (ends[("difference", "high")] - ends[("difference", "low")]).abs().sort_values()
    names = list(swing.index[-top:])
    info = KPI.get(kpi)
    scale = 100.0 if info is not None and info.format == "share" else 1.0  # shares in percentage points
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(names) + 2.0))
    ax.axvspan(base["ci_low"] * scale, base["ci_high"] * scale, color="lightgrey", alpha=0.6, lw=0,
               label=f"at the defaults: {base['verdict']} (its interval)")
    ax.axvline(0, color="black", lw=0.8)
    for offset, end, colour in ((-0.17, "low", PALETTE[0]), (0.17, "high", PALETTE[1])):
        for y, name in enumerate(names):
            d, lo, hi, verdict = (ends.loc[name, (k, end)] for k in ("difference", "ci_low", "ci_high", "verdict"))
            clear = verdict in ("better", "worse", "changed")
            ax.plot([lo * scale, hi * scale], [y + offset] * 2, color=colour, lw=2)
            ax.plot(d * scale, y + offset, "o", color=colour, mfc=colour if clear else "white", mew=1.5,
                    label=f"parameter at the {end} end" if y == 0 else None)
    ticks = [f"{n} [{ends.loc[n, ('value', 'low')]:g}, {ends.loc[n, ('value', 'high')]:g}]" for n in names]
    ax.set_yticks(range(len(names)), ticks, fontsize=8)
    unit = "percentage points" if scale == 100.0 else (info.unit if info is not None else "")
    title = label(kpi) if info is not None else kpi
    ax.set(title=f"What the difference in {title.lower()} rests on, one assumption at a time",
           xlabel=f"difference (policy - reference), {unit}; whiskers: Holm-adjusted intervals")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_two_way(grid: pd.DataFrame, x: str, y: str, kpi: str, reference: tuple[float, float] | None = None) -> Figure:
    """A heat map of a KPI over two parameters, as differences from a reference cell (default: the middle one)
    on a diverging scale centred at zero; each cell is labelled with the difference its colour shows."""
    from matplotlib.colors import TwoSlopeNorm

    from sim.base.kpis import KPI as REGISTRY
    from sim.base.kpis import format_difference, format_value

    table = grid.pivot(index=y, columns=x, values=kpi)
    rx, ry = reference or (table.columns[len(table.columns) // 2], table.index[len(table.index) // 2])
    ref = float(table.loc[ry, rx])
    diff = table.values - ref
    span = float(np.nanmax(np.abs(diff))) or 1.0
    info = REGISTRY.get(kpi)
    cmap = "RdBu" if info is None or info.direction >= 0 else "RdBu_r"  # blue = better
    fig, ax = plt.subplots(figsize=(7.5, 5))
    im = ax.imshow(diff, origin="lower", aspect="auto", cmap=cmap, norm=TwoSlopeNorm(0.0, -span, span))
    ax.set_xticks(range(len(table.columns)), [f"{v:g}" for v in table.columns])
    ax.set_yticks(range(len(table.index)), [f"{v:g}" for v in table.index])
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            text = "reference" if table.index[i] == ry and table.columns[j] == rx else format_difference(kpi, diff[i, j])
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if abs(diff[i, j]) > 0.6 * span else "black")
    ax.set_title(f"{KPI_LABELS.get(kpi, kpi)}:\ndifference from {x} = {rx:g}, {y} = {ry:g} ({format_value(kpi, ref)})",
                 fontsize=10)
    ax.set(xlabel=x, ylabel=y)
    fig.colorbar(im, ax=ax, format=plt.FuncFormatter(lambda v, _p: format_difference(kpi, v)),
                 label="difference (blue: better)" if info is not None and info.direction else "difference")
    fig.tight_layout()
    return fig


def plot_group_differences(group_comparison: pd.DataFrame, order: list[str],
                           kpi: str = "wait_first_session_days_mean") -> Figure:
    """Who pays for a policy: the paired difference of ``kpi`` by problem domain and by intake severity,
    one row of markers per group, one colour per policy, with 95% intervals."""
    col = colours(order)
    d = clip_differences(group_comparison[group_comparison["kpi"] == kpi])
    names = [n for n in order if n in set(d["scenario"])]
    groups = list(dict.fromkeys(zip(d["group_kind"], d["group"], strict=True)))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(groups) + 1.8))
    step = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        s = d[d["scenario"] == name].set_index(["group_kind", "group"]).reindex(groups)
        y = np.arange(len(groups)) + (i - (len(names) - 1) / 2) * step
        err = np.vstack([s["difference"] - s["ci_low"], s["ci_high"] - s["difference"]])
        ax.errorbar(s["difference"], y, xerr=np.nan_to_num(err), fmt="o", ms=4, capsize=2, color=col[name], label=name)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(np.arange(len(groups)), [f"{g} ({'domain' if k == 'domain' else 'intake'})" for k, g in groups],
                  fontsize=8)
    ax.invert_yaxis()
    baseline = d["baseline"].iloc[0] if len(d) else ""
    ax.set(title=f"Who waits longer under each policy? {KPI_LABELS.get(kpi, kpi)}, difference from {baseline}",
           xlabel="paired difference (mean and 95% interval over replications)")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.set_figwidth(10)
    fig.text(0.01, 0.005, "Clients who arrived in the measured weeks; intake severity observed at the first session.",
             fontsize=7, color="dimgrey")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def plot_verdict_bars(verdicts: pd.DataFrame) -> Figure:
    """Share of plausible worlds (parameter draws) in which each policy is better, negligible or worse, per KPI."""
    v = verdicts.copy()
    v["row"] = v["contrast"] + ": " + v["kpi"].map(lambda k: KPI[k].label.lower() if k in KPI else k)
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(v) + 1.6))
    y = np.arange(len(v))
    worse = v["share_worse"].to_numpy(float)
    better = v["share_better"].to_numpy(float)
    ax.barh(y, better, color=PALETTE[2], label="clearly better")
    ax.barh(y, worse, left=better, color=PALETTE[4], label="clearly worse")
    ax.barh(y, 1 - better - worse, left=better + worse, color="lightgrey", label="neither")
    if "se_better" in v:
        ax.errorbar(better, y, xerr=1.96 * v["se_better"].to_numpy(float), fmt="none", color="black", lw=0.7)
    ax.set_yticks(y, v["row"], fontsize=7)
    ax.invert_yaxis()
    n = int(v["worlds"].max()) if "worlds" in v and len(v) else 0
    ax.set(xlim=(0, 1), xlabel=f"share of plausible worlds ({n} worlds)",
           title="How sure are we? Share of plausible worlds in which each policy is clearly better or worse")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.text(0.01, 0.005, "Clearly: beyond the smallest difference that matters and twice the replication noise. "
             "Whiskers: 95% interval of the share.", fontsize=7, color="dimgrey")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def plot_plausibility(targets: pd.DataFrame, worlds: int) -> Figure:
    """How many worlds each calibration target rules out (and how many it alone rules out)."""
    t = targets.sort_values("ruled_out", ascending=True)
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(t) + 1.4))
    y = np.arange(len(t))
    ax.barh(y, t["ruled_out"], color=PALETTE[4], alpha=0.5, label="rules the world out")
    ax.barh(y, t["ruled_out_alone"], color=PALETTE[4], label="the only target that does")
    ax.set_yticks(y, t["target"], fontsize=7)
    ax.set(xlim=(0, max(worlds, 1)), xlabel=f"worlds ruled out, of {worlds}",
           title="Which published figures rule worlds out")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


def plot_drivers(drivers: pd.DataFrame, top: int = 8) -> Figure:
    """Tornado of the assumptions that decide each contrast's first KPI (total-order Sobol, Morris mu*, or |rho|)."""
    key = next(k for k in ("ST", "mu_star", "abs_rho") if k in drivers and drivers[k].notna().any())
    groups = list(drivers.groupby(["contrast", "kpi"], sort=False))
    firsts = [(c, k, g) for (c, k), g in groups if k == groups[0][0][1]] or [(c, k, g) for (c, k), g in groups[:1]]
    fig, axes = plt.subplots(len(firsts), 1, figsize=(8, 2.2 * len(firsts) + 0.6), squeeze=False)
    for ax, (contrast, kpi, g) in zip(axes[:, 0], firsts, strict=True):
        g = g.sort_values(key, ascending=False).head(top)
        ax.barh(np.arange(len(g)), g[key], color=PALETTE[0])
        conf = f"{key}_conf" if f"{key}_conf" in g else None
        if conf:
            ax.errorbar(g[key], np.arange(len(g)), xerr=g[conf].fillna(0), fmt="none", color="black", lw=0.8)
        ax.set_yticks(np.arange(len(g)), g["parameter"], fontsize=7)
        ax.invert_yaxis()
        ax.set_title(f"{contrast}: {KPI[kpi].label.lower() if kpi in KPI else kpi}", fontsize=9, loc="left")
    axes[-1, 0].set_xlabel({"ST": "total-order Sobol index (95% interval)", "mu_star": "Morris mu* (95% interval)",
                            "abs_rho": "|Spearman rank correlation|"}[key])
    fig.suptitle("Which assumptions decide the answer?", fontsize=10)
    fig.tight_layout()
    return fig


def plot_top_driver(drivers: pd.DataFrame, diffs: pd.DataFrame, X: np.ndarray, names: list[str]) -> Figure:
    """For each contrast's first KPI: its top driver against the paired difference, with the flip point."""
    groups = list(drivers.groupby(["contrast", "kpi"], sort=False))
    first_kpi = groups[0][0][1]
    chosen = [(c, k, g) for (c, k), g in groups if k == first_kpi]
    fig, axes = plt.subplots(1, len(chosen), figsize=(4 * len(chosen), 3.4), squeeze=False)
    for ax, (contrast, kpi, g) in zip(axes[0], chosen, strict=True):
        top = g.sort_values("rank").iloc[0]
        j = names.index(top["parameter"])
        d = diffs[(diffs["contrast"] == contrast) & (diffs["kpi"] == kpi)].set_index("draw")["difference"]
        ax.scatter(X[d.index.to_numpy(), j], d.to_numpy(), s=8, alpha=0.6, color=PALETTE[0])
        ax.axhline(0, color="grey", lw=1)
        if not math.isnan(top["flip_point"]):
            ax.axvline(top["flip_point"], color=PALETTE[4], ls="--", lw=1, label=f"flip at {top['flip_point']:.3g}")
            ax.legend(fontsize=7, frameon=False)
        ax.set(xlabel=top["parameter"], ylabel=f"difference in {KPI[kpi].label.lower() if kpi in KPI else kpi}")
        ax.set_title(contrast, fontsize=9)
        ax.xaxis.label.set_fontsize(8)
        ax.yaxis.label.set_fontsize(8)
    fig.tight_layout()
    return fig


VERDICT_COLOURS = {"better": PALETTE[2], "worse": PALETTE[4], "changed": PALETTE[1]}


TRADEOFF_DEFAULT_TITLE = "The trade-off at a glance"  # the chart's title when none is given


def measure_label(kpi: str) -> str:
    """A headline measure's name in the trade-off chart (the registry's label; the raw name if unregistered)."""
    from sim.base.kpis import KPI as REGISTRY

    return REGISTRY[kpi].label if kpi in REGISTRY else kpi


def label_room(policies: int) -> float:
    """How far the trade-off chart's right edge is stretched: room for the value labels, drawn for up to two
    policies (with more they would overlap)."""
    return 1.6 if policies <= 2 else 1.05


def tradeoff_points(claims: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """The trade-off chart's points, one row per (policy, headline measure) with a difference: the difference and
    its Holm-adjusted interval in units of the measure's smallest difference that matters, oriented so that right is
    better (``x``, ``lo``, ``hi``), the measure's row (``row``), whether the verdict is clear, and the label text.
    The matplotlib chart and the explorer's SVG draw the same points."""
    from sim.base.kpis import KPI as REGISTRY
    from sim.base.kpis import format_difference

    names = order or list(dict.fromkeys(claims["scenario"]))
    kpis = list(dict.fromkeys(claims["kpi"]))
    rows = []
    for name in names:
        c = claims[claims["scenario"] == name].set_index("kpi").reindex(kpis)
        for j, kpi in enumerate(kpis):
            row = c.loc[kpi]
            if pd.isna(row["difference"]):
                continue
            info = REGISTRY.get(kpi)
            unit = row["smallest_that_matters"] or 1.0
            sign = info.direction if info is not None and info.direction else 1
            x, lo, hi = (sign * row[k] / unit for k in ("difference", "ci_low", "ci_high"))
            rows.append({"policy": name, "kpi": kpi, "row": j, "measure": measure_label(kpi),
                         "x": x, "lo": min(lo, hi), "hi": max(lo, hi), "verdict": row["verdict"],
                         "clear": row["verdict"] in VERDICT_COLOURS,
                         "text": f"{format_difference(kpi, row['difference'])} ({row['verdict']})",
                         "interval": f"[{format_difference(kpi, row['ci_low'])}, {format_difference(kpi, row['ci_high'])}]"})
    return pd.DataFrame(rows, columns=["policy", "kpi", "row", "measure", "x", "lo", "hi", "verdict", "clear", "text",
                                       "interval"])


def tradeoff_range(points: pd.DataFrame, policies: int) -> tuple[float, float]:
    """The x range of the trade-off chart: at least -2..2, with room on the right for labels when there are some."""
    lo = min(float(points["lo"].min()) if len(points) else 0.0, -2.0)
    hi = max(float(points["hi"].max()) if len(points) else 0.0, 2.0)
    return lo, hi * label_room(policies)


TRADEOFF_NOTE = ("Paired differences over replications (the same clients under both policies), Holm-adjusted intervals.",
                 "Filled: a clear difference; hollow: no clear difference or negligible; grey band: smaller than the "
                 "difference that matters.")
TRADEOFF_AXIS = "worse  <-  difference in units of the smallest difference that matters  ->  better"


def plot_tradeoff(claims: pd.DataFrame, order: list[str] | None = None, title: str = "") -> Figure:
    """The trade-off at a glance (:func:`tradeoff_points`): each headline measure's paired difference (Holm-adjusted
    interval) in units of its smallest difference that matters, oriented so that right is better; the grey band is
    'negligible'.

    One row per measure, one marker per policy; filled when the verdict is better or worse, hollow when
    there is no clear difference or it is negligible. Labels give the difference in the measure's own units.
    """
    names = order or list(dict.fromkeys(claims["scenario"]))
    col = colours(names)
    kpis = list(dict.fromkeys(claims["kpi"]))
    points = tradeoff_points(claims, names)
    fig, ax = plt.subplots(figsize=(10, (0.35 + 0.12 * len(names)) * len(kpis) + 1.6))
    ax.axvspan(-1, 1, color="lightgrey", alpha=0.5, lw=0)
    ax.axvline(0, color="grey", lw=1)
    step = 0.7 / max(len(names), 1)
    for p in points.itertuples():
        i = names.index(p.policy)
        y = p.row + (i - (len(names) - 1) / 2) * step
        ax.plot([p.lo, p.hi], [y, y], color=col[p.policy], lw=1.5)
        ax.plot(p.x, y, "o", ms=7, color=col[p.policy], mfc=col[p.policy] if p.clear else "white", mew=1.5)
        if len(names) <= 2:  # with more policies the labels would overlap: the report's table has the numbers
            ax.annotate(p.text, (max(p.hi, p.x), y), xytext=(6, 0), textcoords="offset points", va="center",
                        fontsize=7, color="dimgrey")
    ax.set_yticks(range(len(kpis)), [measure_label(k) for k in kpis], fontsize=8)
    ax.invert_yaxis()
    left, right = ax.get_xlim()
    ax.set_xlim(min(left, -2), max(right, 2) * label_room(len(names)))
    ax.set_xlabel(TRADEOFF_AXIS, fontsize=8)
    ax.set_title(title or TRADEOFF_DEFAULT_TITLE, fontsize=10, loc="left")
    handles = [plt.Line2D([], [], marker="o", color=col[n], ls="", label=n) for n in names]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.text(0.01, 0.005, "\n".join(TRADEOFF_NOTE), fontsize=7, color="dimgrey")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
