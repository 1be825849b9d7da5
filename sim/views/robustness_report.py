"""A robustness run written out: run (or resume) the draws, then the tables, charts and summary
(``python -m sim robustness``). Designs, execution and the verdict and driver arithmetic live in
:mod:`sim.runs.robustness` (below the charts); this module draws and writes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from sim.runs.outputs import metadata_for
from sim.runs.robustness import (
    Design,
    check_scheduler,
    check_tasks,
    collect,
    differences,
    drivers,
    execute,
    finished,
    load_experiment,
    make_design,
    progress_bar,
    scenarios_of,
    summary_lines,
    tasks_of,
    verdicts,
)
from sim.runs.safe_output import prepare, write_folder
from sim.views import charts


def run_robustness(path: Path, out: Path, jobs: int = 1, dask: str | None = None, progress: bool = True,
                   force: bool = False) -> dict[str, Any]:
    """Run (or resume) a robustness experiment into ``out``; write every output; return a summary."""
    spec = load_experiment(path)
    scenarios = scenarios_of(spec, path.parent)
    design = make_design(spec, path.parent)
    tasks = tasks_of(spec, design, scenarios)
    check_tasks(tasks, force)
    check_scheduler(dask)
    prepare(out, force)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    bar = progress_bar(len(tasks) - len(finished(out) & {t.draw for t in tasks}), progress)
    ran = execute(tasks, out, jobs=jobs, dask=dask, on_done=lambda i, n: bar.update(1))
    bar.close()
    draws = collect(out, tasks)
    diffs = differences(draws, spec, scenarios, path.parent)
    verdict_table = verdicts(diffs)
    driver_table = drivers(design, diffs)

    def fill(tmp: Path) -> None:
        draws.to_parquet(tmp / "draws.parquet", index=False)
        diffs.to_parquet(tmp / "differences.parquet", index=False)
        verdict_table.to_csv(tmp / "verdicts.csv", index=False)
        driver_table.to_csv(tmp / "drivers.csv", index=False)
        pd.DataFrame(design.X, columns=design.names).to_csv(tmp / "design.csv", index_label="draw")
        for name, fig in robustness_charts(verdict_table, driver_table, diffs, design).items():
            fig.savefig(tmp / name, dpi=120)
            charts.plt.close(fig)
        (tmp / "summary.md").write_text("\n".join(["# Robustness", "", *summary_lines(verdict_table, driver_table,
                                                                                        spec.kpis), ""]))
        meta = metadata_for(None, seed=spec.seed, replications=spec.reps, wall_seconds=round(time.perf_counter() - started,
                                                                                             3),
                            experiment=str(path), sampler=spec.sampler, n=spec.n, draws=len(tasks), ran_now=ran,
                            parameters=design.names, backend=dask or f"jobs:{jobs}")
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))

    write_folder(out, fill, force=force)
    return {"draws": len(tasks), "ran": ran, "verdicts": verdict_table, "drivers": driver_table}


def robustness_charts(verdict_table: pd.DataFrame, driver_table: pd.DataFrame, diffs: pd.DataFrame,
                      design: Design) -> dict[str, Any]:
    figures = {"verdicts.png": charts.plot_verdict_bars(verdict_table)}
    estimated = [k for k in ("ST", "mu_star", "abs_rho") if k in driver_table and driver_table[k].notna().any()]
    if len(driver_table) and estimated:  # (too few draws estimate no index: the summary says so, no chart)
        figures["drivers.png"] = charts.plot_drivers(driver_table)
        figures["top_driver.png"] = charts.plot_top_driver(driver_table, diffs, design.X, design.names)
    return figures
