"""A robustness run written out: run (or resume) the draws, then the tables, charts and summary
(``python -m sim robustness``). Designs, execution and the verdict and driver arithmetic live in
:mod:`sim.runs.robustness` (below the charts); this module draws and writes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.base.errors import InputError
from sim.base.paths import PROJECT_DIR
from sim.runs.outputs import git_commit, metadata_for
from sim.runs.robustness import (
    RUN_FOLDER,
    SHIPPED,
    Design,
    Plausibility,
    check_scheduler,
    check_tasks,
    collect,
    difference_correlations,
    difference_noise,
    differences,
    drivers,
    execute,
    finished,
    judge,
    judged_targets,
    load_experiment,
    make_design,
    model_fingerprint,
    model_is_current,
    open_store,
    plausible_verdicts,
    progress_bar,
    refocus,
    rerun_differs,
    scenarios_of,
    spread_sample,
    status_quo_name,
    status_quo_spread,
    store_fingerprint,
    stored_tasks,
    summary_lines,
    surrogate_drivers,
    tasks_of,
    verdicts,
    world_statistics,
)
from sim.runs.safe_output import atomic_write, prepare, write_folder
from sim.views import charts

#: the small files of a finished run worth shipping (docs/robustness/): the answers without the store
SUMMARY_FILES = ("verdicts.csv", "drivers.csv", "plausibility.csv", "posterior.csv", "noise.csv", "summary.md",
                 "metadata.json")
SUMMARY_CHARTS = ("verdicts.png", "plausibility.png")  # shipped beside them when the run drew them
#: what only the full tables show, shipped too: the status quo across worlds, what each difference follows
CONTEXT_FILES = ("status_quo.csv", "correlations.csv")
FULL_TABLES = ("draws.parquet", "differences.parquet", "worlds.csv", "design.csv")


def run_robustness(path: Path, out: Path, jobs: int = 1, dask: str | None = None, progress: bool = True,
                   force: bool = False) -> dict[str, Any]:
    """Run (or resume) a robustness experiment into ``out``; write every output; return a summary."""
    spec = load_experiment(path)
    scenarios = scenarios_of(spec, path.parent)
    status_quo = status_quo_name(spec, path.parent)
    targets = judged_targets(spec)
    design = make_design(spec, path.parent)
    tasks = tasks_of(spec, design, scenarios, status_quo, list(targets))
    check_tasks(tasks, force)
    check_scheduler(dask)
    prepare(out, force)
    fingerprint = store_fingerprint(tasks, [spec.refocused, spec.candidates, spec.cutoff, spec.setting, targets])
    open_store(out, fingerprint, force)
    started = time.perf_counter()
    ran = _run(tasks, out, jobs, dask, progress, "first wave" if spec.refocused else "worlds")
    draws = collect(out, tasks)
    if spec.refocused:  # history matching's second wave, where the first does not rule worlds out
        first_means = world_statistics(draws, status_quo)
        first_wave = judge(design, first_means, targets, spec.cutoff)
        more = refocus(spec, design, first_means, targets, first_wave.noise)
        design = design.extended(more)
        second = tasks_of(spec, design, scenarios, status_quo, list(targets), worlds=range(spec.n, len(design.X)),
                          first_draw=len(tasks), repeats=0)
        check_tasks(second, force)
        ran += _run(second, out, jobs, dask, progress, "second wave")
        tasks = tasks + second
        draws = collect(out, tasks)
    diffs = differences(draws, spec, path.parent)
    noise = difference_noise(diffs)
    plausibility = judge(design, world_statistics(draws, status_quo), targets, spec.cutoff)
    verdict_table = verdicts(diffs, plausibility.plausible, noise, design.prior)
    if spec.sampler == "lhs":
        driver_table = surrogate_drivers(design, diffs, plausibility, spec.seed)
    else:  # Sobol or Morris: indices from the runs themselves (unconditioned)
        driver_table = drivers(design, diffs[diffs["repeat"] == 0].rename(columns={"world": "draw"}))
    summary = summary_text(spec, plausibility, verdict_table, driver_table, noise)

    def fill(tmp: Path) -> None:
        draws.to_parquet(tmp / "draws.parquet", index=False)
        diffs.to_parquet(tmp / "differences.parquet", index=False)
        verdict_table.to_csv(tmp / "verdicts.csv", index=False)
        driver_table.to_csv(tmp / "drivers.csv", index=False)
        plausibility.targets.to_csv(tmp / "plausibility.csv", index=False)
        plausibility.worlds.to_csv(tmp / "worlds.csv", index=False)
        plausibility.posterior.to_csv(tmp / "posterior.csv", index=False)
        noise.to_csv(tmp / "noise.csv", index=False)
        pd.DataFrame(design.X, columns=design.names).to_csv(tmp / "design.csv", index_label="world")
        for name, table in context_tables(draws, diffs, design.X, design.names, plausibility.plausible,
                                          design.prior, status_quo).items():
            table.to_csv(tmp / name, index=False)
        for name, fig in robustness_charts(verdict_table, driver_table, diffs, design, plausibility).items():
            fig.savefig(tmp / name, dpi=120)
            charts.plt.close(fig)
        (tmp / "summary.md").write_text(summary)
        meta = metadata_for(None, seed=spec.seed, replications=spec.reps, wall_seconds=round(time.perf_counter() - started,
                                                                                             3),
                            experiment=str(path), sampler=spec.sampler, n=spec.n, worlds=len(design.X),
                            first_wave=int(design.prior.sum()), second_wave=int((~design.prior).sum()),
                            repeats=len(tasks) - len(design.X), draws=len(tasks), ran_now=ran,
                            plausible_worlds=int(plausibility.plausible.sum()), setting=spec.setting,
                            cutoff=spec.cutoff, fingerprint=fingerprint, parameters=design.names,
                            backend=dask or f"jobs:{jobs}", command_line=f"python -m sim robustness {path}")
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))

    write_folder(out, fill, force=True)  # (checked above; the folder is the run's own, with its store)
    return {"draws": len(tasks), "ran": ran, "verdicts": verdict_table, "drivers": driver_table,
            "plausible": int(plausibility.plausible.sum()), "worlds": len(design.X)}


def verify_robustness(path: Path, out: Path, sample: int, jobs: int = 1, dask: str | None = None,
                      progress: bool = True) -> dict[str, Any]:
    """Rerun ``sample`` stored worlds of the finished run in ``out`` (spread over both waves and the repeats) with
    the checked-out model and compare them with the store exactly. When all agree, the run's ``metadata.json``
    records the model's fingerprint under ``verified`` (the views then count the run as this model's: an exact
    refactor or speed-up needs no rerun); when any differs, nothing is written. Returns the draws checked and those
    that differ."""
    from datetime import datetime, timezone

    spec = load_experiment(path)
    meta_path = out / "metadata.json"
    if not meta_path.is_file():
        raise InputError(f"--verify: {out} holds no finished robustness run (no metadata.json); run it first")
    meta = json.loads(meta_path.read_text())
    done = sorted(finished(out))
    if len(done) != meta.get("draws"):
        raise InputError(f"--verify: {out}/store holds {len(done)} worlds, its run {meta.get('draws')}; finish the "
                         "run first (rerun without --verify)")
    scenarios = scenarios_of(spec, path.parent)
    design = make_design(spec, path.parent)
    tasks = stored_tasks(spec, design, scenarios, status_quo_name(spec, path.parent), list(judged_targets(spec)), out,
                         spread_sample(done, sample))
    bar = progress_bar(len(tasks), progress)
    if hasattr(bar, "set_description"):
        bar.set_description("verifying")
    differ = rerun_differs(tasks, out, jobs, dask, lambda i, n: bar.update(1))
    bar.close()
    checked = [t.draw for t in tasks]
    if not differ:
        entry = {"model": model_fingerprint(), "git_commit": git_commit(), "draws": checked,
                 "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        meta["verified"] = [*meta.get("verified", []), entry]
        write_folder(out, lambda tmp: (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str)),
                     force=True)
    return {"checked": checked, "differ": differ}


def _run(tasks: list[Any], out: Path, jobs: int, dask: str | None, progress: bool, what: str) -> int:
    bar = progress_bar(len(tasks) - len(finished(out) & {t.draw for t in tasks}), progress)
    if hasattr(bar, "set_description"):
        bar.set_description(what)
    ran = execute(tasks, out, jobs=jobs, dask=dask, on_done=lambda i, n: bar.update(1))
    bar.close()
    return ran


def summary_text(spec: Any, plausibility: Plausibility, verdict_table: pd.DataFrame, driver_table: pd.DataFrame,
                 noise: pd.DataFrame) -> str:
    """The run in words: how many worlds are plausible, what rules worlds out, the verdicts, the drivers."""
    worlds = len(plausibility.worlds)
    plausible = int(plausibility.plausible.sum())
    waves = (f"{spec.n} sampled from the prior ranges and {worlds - spec.n} more where those did not rule worlds out"
             if worlds > spec.n else f"a {spec.sampler} sample")
    lines = ["# How sure are we? The answers over plausible worlds", "",
             f"{worlds} worlds ({waves}, over {len(plausibility.posterior)} uncertain parameters, "
             f"{spec.reps} replication(s) each); {plausible} ({plausible / worlds:.0%}) reproduce every published "
             f"figure of the {spec.setting} setting within an implausibility of {spec.cutoff:g} "
             "(docs/model.md, 'Plausible worlds')" + _by_wave(plausibility, spec.n) + ".", ""]
    if len(plausibility.targets):
        top = plausibility.targets.head(5)
        lines += ["What rules worlds out: " + "; ".join(
            f"{r.target} ({r.ruled_out} worlds, {r.ruled_out_alone} by it alone)" for r in top.itertuples()
            if r.ruled_out) + ".", ""]
    narrow = plausibility.posterior[plausibility.posterior["share_of_prior"] < 0.6]
    if len(narrow):
        lines += ["Parameters the figures pin down (plausible 5-95% range as a share of the prior range): " + "; ".join(
            f"{r.parameter} {r.plausible_p5:.3g}-{r.plausible_p95:.3g} ({r.share_of_prior:.0%})"
            for r in narrow.head(8).itertuples()) + ".", ""]
    median_noise = noise["noise_share_of_variance"].median() if len(noise) else float("nan")
    if median_noise == median_noise:
        lines += [f"Replication noise is {median_noise:.0%} of a difference's variance across worlds (median over "
                  "contrasts and measures, from repeated worlds).", ""]
    lines += ["## Verdicts over the plausible worlds", ""]
    lines += [f"- {line}" for line in summary_lines(verdict_table, driver_table, spec.kpis)]
    poor = driver_table[driver_table.get("note", pd.Series(dtype=str)).fillna("").str.startswith("surrogate poor")] \
        if "note" in driver_table else driver_table.head(0)
    if len(poor):
        lines += ["", f"The surrogate explained too little of {len(poor[['contrast', 'kpi', 'worlds_set']].drop_duplicates())}"
                      " answer(s) (cross-validated R² under 0.5) to name drivers for them."]
    return "\n".join(lines) + "\n"


def _by_wave(plausibility: Plausibility, first: int) -> str:
    """', 9 of the first wave's 500 and 17 of the second's 500' (nothing for a single wave)."""
    worlds = plausibility.worlds
    if len(worlds) <= first:
        return ""
    one, two = worlds[worlds["world"] < first], worlds[worlds["world"] >= first]
    return (f": {int(one['plausible'].sum())} of the first wave's {len(one)} and {int(two['plausible'].sum())} of the "
            f"second's {len(two)}")


def robustness_charts(verdict_table: pd.DataFrame, driver_table: pd.DataFrame, diffs: pd.DataFrame,
                      design: Design, plausibility: Plausibility | None = None) -> dict[str, Any]:
    shown = verdict_table
    if "worlds_set" in shown and (shown["worlds_set"] == "plausible").any():
        shown = shown[shown["worlds_set"] == "plausible"]
    figures = {"verdicts.png": charts.plot_verdict_bars(shown)}
    if plausibility is not None and len(plausibility.targets):
        figures["plausibility.png"] = charts.plot_plausibility(plausibility.targets, len(plausibility.worlds))
    estimated = [k for k in ("ST", "mu_star", "abs_rho") if k in driver_table and driver_table[k].notna().any()]
    if len(driver_table) and estimated:  # (too few worlds, or a poor surrogate, estimate no index: no chart)
        table = driver_table
        if "worlds_set" in table and (table["worlds_set"] == "plausible").any():
            table = table[table["worlds_set"] == "plausible"]
        table = table[table[estimated[0]].notna()]
        if len(table):
            figures["drivers.png"] = charts.plot_drivers(table)
            first = diffs[diffs["repeat"] == 0].rename(columns={"world": "draw"}) if "repeat" in diffs else diffs
            figures["top_driver.png"] = charts.plot_top_driver(table, first, design.X, design.names)
    return figures


PLAIN_LANGUAGE = PROJECT_DIR / "docs" / "plain_language.md"
START, END = "<!-- plausible-worlds:start -->", "<!-- plausible-worlds:end -->"
CONTRAST_WORDS = {"fit vs earliest": "Matching by fit instead of earliest availability",
                  "individual vs quota": "Individual thresholds instead of a team quota",
                  "feedback only vs none": "Outcome feedback without ranking",
                  "league table vs none": "A league table of return rates",
                  "productivity push vs baseline": "The productivity push",
                  "quality first vs baseline": "Quality first (fit and individual thresholds)"}


#: how the generated reading sorts an answer by its shares of plausible worlds clearly better (b) and worse (w)
HOLDS_SHARE = 0.6  # holds: one direction in at least 60% of plausible worlds ...
AGAINST_SHARE = 0.1  # ... and the other in at most 10%
SPLIT_SHARE = 0.2  # undecided: each direction in at least 20%
FOLLOWS_RHO = 0.3  # an undecided answer "follows" a parameter whose rank correlation with it is at least this large


def reading(verdicts: pd.DataFrame, correlations: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """The headline answers sorted by their plausible-world shares: those that hold (one direction in at least
    HOLDS_SHARE of the worlds, the other in at most AGAINST_SHARE), those that are undecided (each direction in at
    least SPLIT_SHARE), each with what it follows across the plausible worlds when ``correlations`` (a run's
    correlations.csv) is given, and those clear in no plausible world.

    >>> table = pd.DataFrame({"contrast": ["a", "a", "b"], "kpi": ["burnout_share", "recovery_rate", "burnout_share"],
    ...                       "worlds": [50, 50, 50], "share_better": [0.0, 0.3, 0.0], "share_worse": [0.9, 0.25, 0.0]})
    >>> reading(table)["holds"], reading(table)["undecided"], reading(table)["nowhere"]
    (['a: therapists burned out worse in 90%'], ['a: recovery better in 30%, worse in 25%'], ['b: therapists burned out'])
    """
    from sim.base.kpis import HEADLINE, label

    out: dict[str, list[str]] = {"holds": [], "undecided": [], "nowhere": []}
    for row in verdicts[verdicts["kpi"].isin(HEADLINE) & (verdicts["worlds"] > 0)].itertuples():
        what = f"{CONTRAST_WORDS.get(row.contrast, row.contrast)}: {label(row.kpi).lower()}"
        better, worse = float(row.share_better), float(row.share_worse)
        if max(better, worse) >= HOLDS_SHARE and min(better, worse) <= AGAINST_SHARE:
            out["holds"].append(f"{what} {'better' if better > worse else 'worse'} in {max(better, worse):.0%}")
        elif min(better, worse) >= SPLIT_SHARE:
            out["undecided"].append(f"{what} better in {better:.0%}, worse in {worse:.0%}"
                                    + follows(correlations, row.contrast, row.kpi))
        elif better == worse == 0:
            out["nowhere"].append(what)
    return out


def follows(correlations: pd.DataFrame | None, contrast: str, kpi: str) -> str:
    """'; across the plausible worlds it follows `a` (rank correlation +0.55, changes sign near 4.8) and `b` (-0.31)'
    from a run's correlations.csv ('' without one); parameters whose correlation is under 0.3 in size are left out.

    >>> table = pd.DataFrame({"contrast": "c", "kpi": "k", "worlds_set": "plausible", "rank": [1, 2, 3],
    ...                       "parameter": ["a", "b", "z"], "spearman_rho": [0.55, -0.31, 0.1],
    ...                       "flip_point": [4.8, float("nan"), 1.0]})
    >>> follows(table, "c", "k")
    '; across the plausible worlds it follows `a` (rank correlation +0.55, changes sign near 4.8) and `b` (-0.31)'
    """
    if correlations is None or not len(correlations):
        return ""
    mine = correlations[(correlations["contrast"] == contrast) & (correlations["kpi"] == kpi)
                        & (correlations["worlds_set"] == "plausible")
                        & (correlations["spearman_rho"].abs() >= FOLLOWS_RHO)].sort_values("rank")
    parts: list[str] = []
    for r in mine.itertuples():
        where = f", changes sign near {r.flip_point:.3g}" if r.flip_point == r.flip_point else ""
        parts.append(f"`{r.parameter}` ({'rank correlation ' if not parts else ''}{r.spearman_rho:+.2f}{where})")
    if not parts:
        return ""
    return "; across the plausible worlds it follows " + (", ".join(parts[:-1]) + " and " + parts[-1]
                                                           if len(parts) > 1 else parts[0])


def status_quo_lines(spread: pd.DataFrame | None) -> list[str]:
    """The status quo's headline measures across the plausible worlds (median and quartiles), from a run's
    status_quo.csv: the scale on which the policies' differences are read."""
    from sim.base.kpis import HEADLINE, format_value, label

    if spread is None or not len(spread):
        return []
    mine = spread[(spread["worlds_set"] == "plausible") & spread["kpi"].isin(HEADLINE) & (spread["worlds"] > 0)]
    if not len(mine):
        return []
    lines = [f"**The status quo itself across the {int(mine['worlds'].max())} plausible worlds** (median, and the "
             "middle half of the worlds; the default study is one world, at the defaults):", ""]
    for r in mine.set_index("kpi").reindex([k for k in HEADLINE if k in set(mine["kpi"])]).itertuples():
        lines.append(f"- {label(str(r.Index)).lower()}: {format_value(str(r.Index), r.median)} "
                     f"({format_value(str(r.Index), r.p25)} to {format_value(str(r.Index), r.p75)}).")
    return [*lines, ""]


def plain_block(verdicts: pd.DataFrame, note: str, context: dict[str, pd.DataFrame] | None = None) -> str:
    """The plain-language section on how sure each answer is, generated from the plausible-world verdicts and,
    where given, a run's CONTEXT_FILES (what the undecided answers follow; the status quo across worlds)."""
    from sim.base.kpis import HEADLINE, format_difference, label

    context = context or {}

    lines = [START, "", "## How sure: the answers over plausible worlds", "",
             f"From {note}. A *world* is one draw of every uncertain assumption over its range; it is *plausible* when "
             "its status quo reproduces the published figures (dropout, sessions, outcomes, therapist effects, "
             "burnout, turnover, no-shows). In each plausible world the policy counts as clearly better or worse "
             "only when its difference passes the smallest difference that matters and twice the replication "
             "noise. Regenerated from `docs/robustness/verdicts.csv` by `python -m sim.views.robustness_report`"
             + (" (what an answer follows from `correlations.csv`, the status quo from `status_quo.csv`)"
                if context else "") + ".", ""]
    sorted_answers = reading(verdicts, context.get("correlations.csv"))
    for key, title in (("holds", f"Answers that hold (one way in at least {HOLDS_SHARE:.0%} of plausible worlds, the "
                                 f"other in at most {AGAINST_SHARE:.0%})"),
                       ("undecided", f"Undecided (each way in at least {SPLIT_SHARE:.0%} of plausible worlds)"),
                       ("nowhere", "Clear in no plausible world")):
        found = sorted_answers[key]
        lines += [f"**{title}**:{'' if found else ' none.'}", "", *(f"- {answer}." for answer in found),
                  *([""] if found else [])]
    lines += status_quo_lines(context.get("status_quo.csv"))
    lines += ["Every headline answer, policy by policy:", ""]
    for contrast, group in verdicts.groupby("contrast", sort=False):
        lines.append(f"- **{CONTRAST_WORDS.get(contrast, contrast)}**:")
        for _, row in group[group["kpi"].isin(HEADLINE)].iterrows():
            lines.append(f"  - {label(row['kpi']).lower()}: {row['words']}; median "
                         f"{format_difference(row['kpi'], row['median'])}.")
    return "\n".join([*lines, "", END])


def update_plain_language(doc: Path = PLAIN_LANGUAGE) -> bool:
    """Rewrite the generated section of ``doc`` from the shipped (or your own) run; True if it changed."""
    verdicts, note = plausible_verdicts(shipped_only=True)
    if verdicts is None:
        return False
    from sim.views.findings import replace_section

    return replace_section(doc, START, END, plain_block(verdicts, note, shipped_context()))


def shipped_context(folder: Path = SHIPPED) -> dict[str, pd.DataFrame]:
    """The shipped run's CONTEXT_FILES that are there, by name."""
    return {name: pd.read_csv(folder / name) for name in CONTEXT_FILES if (folder / name).is_file()}


def context_tables(draws: pd.DataFrame, diffs: pd.DataFrame, X: np.ndarray, names: list[str],
                   plausible: np.ndarray, prior: np.ndarray, status_quo: str) -> dict[str, pd.DataFrame]:
    """CONTEXT_FILES from a run's full tables: the status quo's levels across worlds and, per answer, the
    parameters its difference follows most across them."""
    kpis = list(dict.fromkeys(diffs["kpi"]))
    return {"status_quo.csv": status_quo_spread(draws, status_quo, kpis, plausible, prior),
            "correlations.csv": difference_correlations(X, names, diffs, plausible, prior)}


def context_of_run(run: Path, meta: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """CONTEXT_FILES of a finished run folder, from its full tables (empty when the folder lacks them)."""
    if not all((run / name).is_file() for name in FULL_TABLES):
        return {}
    experiment = Path(str(meta.get("experiment", "")))
    experiment = experiment if experiment.is_absolute() else PROJECT_DIR / experiment
    if not experiment.is_file():
        raise InputError(f"{run}: metadata.json names the experiment {meta.get('experiment')!r}, which is not a file "
                         "here; its status quo is needed for status_quo.csv")
    status_quo = status_quo_name(load_experiment(experiment), experiment.parent)
    design = pd.read_csv(run / "design.csv", index_col="world").sort_index()
    plausible = pd.read_csv(run / "worlds.csv").set_index("world")["plausible"].reindex(design.index,
                                                                                        fill_value=False)
    prior = np.arange(len(design)) < int(meta.get("first_wave", len(design)))
    return context_tables(pd.read_parquet(run / "draws.parquet"), pd.read_parquet(run / "differences.parquet"),
                          design.to_numpy(float), list(design.columns), plausible.to_numpy(bool), prior, status_quo)


def ship(run: Path, to: Path) -> list[str]:
    """Copy a finished run's summary files (SUMMARY_FILES, SUMMARY_CHARTS, CONTEXT_FILES) from ``run`` into
    ``to``, each file written whole (CONTEXT_FILES computed from the run's full tables when the run predates them);
    refuse a run that is unfinished or was made with other model code than the checkout's (and not verified
    since)."""
    missing = [name for name in SUMMARY_FILES if not (run / name).is_file()]
    if missing:
        raise InputError(f"{run}: not a finished robustness run (no {', '.join(missing)}); run "
                         "`python -m sim robustness experiments/robustness.yaml --jobs 2` first")
    meta = json.loads((run / "metadata.json").read_text())
    commit = str(meta.get("git_commit", "")).removesuffix("+dirty")
    if not commit or not model_is_current(meta):
        raise InputError(f"{run}: made at commit {commit[:10] or '?'}, whose model code differs from the checkout's; "
                         "rerun it, or verify that this model gives its numbers (python -m sim robustness ... "
                         "--verify 20), before shipping (its answers would be labelled as an earlier model's)")
    names = [name for name in (*SUMMARY_FILES, *SUMMARY_CHARTS, *CONTEXT_FILES) if (run / name).is_file()]
    made = {} if all(name in names for name in CONTEXT_FILES) else context_of_run(run, meta)
    to.mkdir(parents=True, exist_ok=True)
    for name in names:
        atomic_write(to / name, (run / name).read_bytes())
    for name, table in made.items():
        atomic_write(to / name, table.to_csv(index=False).encode())
    return names + [name for name in made if name not in names]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sim.views.robustness_report", description=(
        "Rewrite the plain-language section on the plausible worlds from the shipped robustness run; with --ship, "
        "first copy a finished run's summary into docs/robustness/."))
    parser.add_argument("--ship", nargs="?", const=PROJECT_DIR / RUN_FOLDER, type=Path, metavar="RUN",
                        help=f"the finished run to ship (default {RUN_FOLDER})")
    args = parser.parse_args(argv)
    if args.ship is not None:
        try:
            names = ship(args.ship, SHIPPED)
        except InputError as err:
            parser.exit(2, f"error: {err}\n")
        print(f"shipped {len(names)} files to {SHIPPED}: {', '.join(names)}")
    print("updated" if update_plain_language() else "unchanged", PLAIN_LANGUAGE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
