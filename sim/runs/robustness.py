"""How sure are we? Every headline contrast over the plausible ranges of the assumptions.

An experiment file names *contrasts* (a policy scenario against a reference), the register
parameters to vary (default: every numeric parameter whose evidence is not "strong", over its
register range), a *sampler* (``sobol``: the Saltelli scheme for variance-based indices;
``morris``: elementary-effects screening; ``lhs``: Latin hypercube), the design size ``n``,
``reps`` per point and a small ``platform``. For each parameter draw every scenario of the
contrasts runs on the same clients (replication r uses the same random streams in every
scenario and every draw: common random numbers), and the paired differences are stored.

Each draw is one task; its rows are written to ``store/`` as soon as it finishes, so a run
that is interrupted (Ctrl-C, a lost machine) loses at most the draws under way, and running
the same experiment into the same folder again skips the finished ones. Tasks run in local
worker processes (``--jobs``) or on a Dask cluster (``--dask local:N`` or
``--dask tcp://host:8786``); seeds come from the draw and replication, never the worker, so
the tables are identical whichever runs them.

Verdicts (documented cut-offs, :func:`verdict`): over the draws, the share in which the policy
is better by at least the smallest difference that matters (``sim/base/kpis.py``), worse by at
least that, or within it. "holds in 93% of plausible worlds" when one side has at least
``HOLDS`` of the draws, "no clear difference" when at least ``HOLDS`` are within the smallest
difference that matters, otherwise "depends on assumptions". Each draw's difference is a mean
over ``reps`` replications, so its sampling noise widens the spread a little.

>>> verdict(pd.Series([0.03, 0.04, 0.05, 0.02, 0.03, 0.04, 0.05, 0.06, 0.03, -0.01]), "recovery_rate")["verdict"]
'holds in 90% of plausible worlds'
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from sim.base.errors import InputError
from sim.base.kpis import HEADLINE, KPI
from sim.base.yamlio import read_yaml
from sim.runs.safe_output import STORE_MARKER, atomic_write
from sim.runs.sizing import check_size
from sim.scenario import Scenario, apply_overrides, load_scenario, parameter_table
from sim.scenario.experiments import Value, _Strict, _validate

SMALL_PLATFORM: dict[str, Value] = {"therapists.count": 50, "demand.arrivals_per_week": 175.0, "horizon.warmup_weeks": 26,
                                   "horizon.measured_weeks": 52, "horizon.follow_up_weeks": 13}
HOLDS = 0.9  # share of draws that makes a verdict "hold" (or "no clear difference")
FLIP_BINS = 10
TOP_DRIVERS = 3
EXCLUDED_SOURCES = ("lever", "verification", "platform setting")
EXCLUDED_SECTIONS = ("horizon.", "queue_mode.")


class Contrast(_Strict):
    policy: str = Field(min_length=1, description="Scenario file of the policy (relative to the experiment file).")
    reference: str = Field(min_length=1, description="Scenario file it is compared with.")
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or f"{Path(self.policy).stem} vs {Path(self.reference).stem}"


class RobustnessExperiment(_Strict):
    """A robustness experiment file (see experiments/robustness.yaml)."""

    description: str = ""
    contrasts: list[Contrast] = Field(min_length=1)
    parameters: list[str] | None = Field(None, min_length=1)
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    sampler: Literal["sobol", "lhs", "morris"] = "sobol"
    n: int = Field(8, ge=1, le=100_000)
    reps: int = Field(2, ge=1, le=100)
    seed: int = Field(20261127, ge=0)
    kpis: list[str] = Field(default_factory=lambda: list(HEADLINE), min_length=1)
    platform: dict[str, Value] = Field(default_factory=lambda: dict(SMALL_PLATFORM))

    @model_validator(mode="after")
    def _known(self) -> RobustnessExperiment:
        unknown = [k for k in self.kpis if k not in KPI]
        if unknown:
            raise ValueError(f"kpis: unknown KPI {unknown[0]!r}; see sim/base/kpis.py")
        for path, (lo, hi) in self.ranges.items():
            if not lo < hi:
                raise ValueError(f"ranges.{path}: expected [low, high] with low < high, got [{lo}, {hi}]")
        return self


@dataclass
class Design:
    """The parameters varied, their ranges and the matrix of draws (one row per draw)."""

    names: list[str]
    bounds: list[tuple[float, float]]
    integer: list[bool]
    sampler: str
    X: np.ndarray

    @property
    def problem(self) -> dict[str, Any]:
        return {"num_vars": len(self.names), "names": self.names, "bounds": [list(b) for b in self.bounds]}


def uncertain_parameters(scale: float = 1.0) -> dict[str, tuple[tuple[float, float], bool]]:
    """Register parameters that vary by default: numeric, with a range, evidence not 'strong', not a lever.

    Demand is scaled by ``scale`` (the platform's therapists over the register's 100)."""
    out = {}
    for row in parameter_table():
        path, rng, default = row["path"], row["range"], row["default"]
        if (not rng or isinstance(default, bool) or not isinstance(default, int | float) or row["evidence"] == "strong"
                or row["source"].startswith(EXCLUDED_SOURCES) or row["unit"] in ("name", "on/off")
                or path.startswith(EXCLUDED_SECTIONS)):
            continue
        lo, hi = rng
        if path == "demand.arrivals_per_week":
            lo, hi = lo * scale, hi * scale
        out[path] = ((float(lo), float(hi)), isinstance(default, int))
    return out


#: Platform settings that are also uncertain about the world, and vary around the platform's value (scaled to its size).
VARIED_PLATFORM = ("demand.arrivals_per_week",)


def set_by_platform(spec: RobustnessExperiment) -> set[str]:
    """Parameter paths the experiment's ``platform`` fixes (its size and horizon): they never vary. Demand is the
    exception: its plausible range, scaled to the platform, is an uncertainty about the world."""
    return {k for k in spec.platform if k not in VARIED_PLATFORM}


def defining(spec: RobustnessExperiment, base_dir: Path) -> set[str]:
    """Parameter paths on which a contrast's policy and reference differ: they define it, so they never vary."""
    out: set[str] = set()
    for contrast in spec.contrasts:
        a = _leaves(load_scenario(base_dir / contrast.policy).model_dump())
        b = _leaves(load_scenario(base_dir / contrast.reference).model_dump())
        out |= {k for k in a.keys() | b.keys() if a.get(k) != b.get(k) and k not in ("name", "description")}
    return out


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def make_design(spec: RobustnessExperiment, base_dir: Path = Path(".")) -> Design:
    """The parameter draws of an experiment (SALib samplers, seeded by the experiment's seed)."""
    from SALib.sample import latin, morris, sobol

    scale = float(spec.platform.get("therapists.count", 100) or 100) / 100.0  # type: ignore[arg-type]
    fixed = defining(spec, base_dir)
    platform = set_by_platform(spec)
    available = {k: v for k, v in uncertain_parameters(scale).items() if k not in fixed | platform}
    table = {row["path"]: row for row in parameter_table()}
    names = spec.parameters or list(available)
    bounds: list[tuple[float, float]] = []
    integer: list[bool] = []
    for name in names:
        if name not in table:
            raise InputError(f"robustness parameters: unknown parameter {name!r}; see docs/assumptions.md")
        if name in fixed:
            raise InputError(f"robustness parameters: {name} defines a contrast (its policy and reference differ on "
                             "it), so it cannot vary")
        if name in platform:
            raise InputError(f"robustness parameters: {name} is set by the experiment's platform, so it cannot vary "
                             f"(platform sets {', '.join(sorted(platform))})")
        if name in spec.ranges:
            lo, hi = spec.ranges[name]
            bounds.append((float(lo), float(hi)))
        elif name in available:
            bounds.append(available[name][0])
        elif table[name]["range"]:
            lo, hi = table[name]["range"]
            bounds.append((float(lo), float(hi)))
        else:
            raise InputError(f"robustness parameters: {name} has no range in the register; give one under ranges:")
        integer.append(isinstance(table[name]["default"], int) and not isinstance(table[name]["default"], bool))
    problem = {"num_vars": len(names), "names": names, "bounds": [list(b) for b in bounds]}
    if spec.sampler == "sobol":
        X = sobol.sample(problem, spec.n, calc_second_order=False, seed=spec.seed)
    elif spec.sampler == "morris":
        X = morris.sample(problem, spec.n, num_levels=4, seed=spec.seed)
    else:
        X = latin.sample(problem, spec.n, seed=spec.seed)
    return Design(names=names, bounds=bounds, integer=integer, sampler=spec.sampler, X=np.asarray(X, float))


def load_experiment(path: Path) -> RobustnessExperiment:
    return _validate(RobustnessExperiment, read_yaml(path, "experiment"), str(path), "experiment")  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------
# Tasks: one draw = every scenario of the contrasts x every replication


@dataclass(frozen=True)
class DrawTask:
    draw: int
    values: dict[str, float | int]
    scenarios: tuple[Scenario, ...]
    reps: int
    seed: int
    kpis: tuple[str, ...]


def run_draw(task: DrawTask) -> pd.DataFrame:
    """KPIs of every scenario and replication at one parameter draw (rows: draw, scenario, replication)."""
    from sim.analysis.metrics import replication_kpis
    from sim.engine.model import PlatformModel

    rows = []
    for sc in task.scenarios:
        at = apply_overrides(sc, task.values)
        for rep in range(task.reps):
            tables = PlatformModel(at, rep, task.seed).run()
            kpis = replication_kpis(at, tables.clients, tables.sessions, tables.therapists, tables.weekly)
            rows.append({"draw": task.draw, "scenario": sc.name, "replication": rep, **task.values,
                         **{k: float(kpis[k]) for k in task.kpis}})
    return pd.DataFrame(rows)


def scenarios_of(spec: RobustnessExperiment, base_dir: Path) -> dict[str, Scenario]:
    """Each scenario file of the contrasts, on the experiment's platform, by name."""
    out: dict[str, Scenario] = {}
    for contrast in spec.contrasts:
        for file in (contrast.policy, contrast.reference):
            sc = apply_overrides(load_scenario(base_dir / file), dict(spec.platform))
            out.setdefault(sc.name, sc)
    return out


def tasks_of(spec: RobustnessExperiment, design: Design, scenarios: dict[str, Scenario]) -> list[DrawTask]:
    tasks = []
    for i, row in enumerate(design.X):
        values: dict[str, float | int] = {}
        for name, x, whole in zip(design.names, row, design.integer, strict=True):
            values[name] = round(float(x)) if whole else float(x)
        tasks.append(DrawTask(i, values, tuple(scenarios.values()), spec.reps, spec.seed, tuple(spec.kpis)))
    return tasks


def check_tasks(tasks: Sequence[DrawTask], force: bool = False) -> None:
    """Validate every draw's overrides before anything runs (a bad range fails now, not in hour three), and refuse
    (unless ``force``) a design beyond the size bound (:func:`sim.runs.sizing.check_size`)."""
    runs = [(apply_overrides(sc, task.values), task.reps) for task in tasks for sc in task.scenarios]
    check_size(runs, force, "this robustness design")


# ---------------------------------------------------------------------------------------
# The store: one Parquet file per finished draw


def store_path(out: Path, draw: int) -> Path:
    return out / "store" / f"draw-{draw:06d}.parquet"


def finished(out: Path) -> set[int]:
    store = out / "store"
    return {int(p.stem.split("-")[1]) for p in store.glob("draw-*.parquet")} if store.is_dir() else set()


def save_draw(out: Path, frame: pd.DataFrame) -> None:
    path = store_path(out, int(frame["draw"].iloc[0]))
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path.parent / STORE_MARKER, b"draws of a robustness run, one file each; rerunning skips them\n")
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def execute(tasks: Sequence[DrawTask], out: Path, jobs: int = 1, dask: str | None = None,
            on_done: Callable[[int, int], None] | None = None) -> int:
    """Run the tasks not yet in the store; return how many ran."""
    done = finished(out)
    pending = [t for t in tasks if t.draw not in done]
    if not pending:
        return 0
    if dask:
        _execute_dask(pending, out, dask, on_done)
    elif jobs > 1 and len(pending) > 1:
        import multiprocessing

        from sim.runs.runner import worker_setup

        with multiprocessing.Pool(min(jobs, len(pending)), initializer=worker_setup, initargs=(os.getpid(),)) as pool:
            for i, frame in enumerate(pool.imap_unordered(run_draw, pending), 1):
                save_draw(out, frame)
                if on_done:
                    on_done(i, len(pending))
    else:
        for i, task in enumerate(pending, 1):
            save_draw(out, run_draw(task))
            if on_done:
                on_done(i, len(pending))
    return len(pending)


def check_scheduler(address: str | None, timeout: float = 10.0) -> None:
    """Refuse, before anything runs or is written, a ``tcp://`` Dask scheduler that does not answer."""
    if not address or not address.startswith("tcp://"):
        return
    from dask.distributed import Client

    try:
        Client(address, timeout=f"{timeout}s").close()
    except (OSError, TimeoutError) as exc:
        raise InputError(f"--dask {address}: no Dask scheduler answers there ({exc}); start one with "
                         "`dask scheduler` and workers with `dask worker ADDRESS`, or use --dask local:N") from None


def _execute_dask(pending: Sequence[DrawTask], out: Path, address: str, on_done: Callable[[int, int], None] | None) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if address.startswith("local:"):
        workers = int(address.split(":", 1)[1])
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=40)
        client = Client(cluster)
    else:
        client = Client(address, timeout="20s")
    try:
        link = client.dashboard_link
        if link:
            print(f"Dask dashboard: {link}", flush=True)
        futures = client.map(run_draw, pending, key=[f"draw-{t.seed}-{t.draw}" for t in pending], retries=2, pure=False)
        for i, future in enumerate(as_completed(futures), 1):
            save_draw(out, future.result())
            future.release()
            if on_done:
                on_done(i, len(pending))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def collect(out: Path, tasks: Sequence[DrawTask]) -> pd.DataFrame:
    """All finished draws, in a fixed order (whoever ran them)."""
    wanted = {t.draw for t in tasks}
    frames = [pd.read_parquet(store_path(out, d)) for d in sorted(finished(out) & wanted)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values(["draw", "scenario", "replication"], kind="stable",
                                                           ignore_index=True)


# ---------------------------------------------------------------------------------------
# Differences, verdicts, drivers, flip points (pure functions)


def differences(draws: pd.DataFrame, spec: RobustnessExperiment, scenarios: dict[str, Scenario],
                base_dir: Path) -> pd.DataFrame:
    """One row per draw x contrast x KPI: the mean over replications of the paired difference."""
    names = {file: sc.name for file, sc in ((f, apply_overrides(load_scenario(base_dir / f), {}))
                                            for c in spec.contrasts for f in (c.policy, c.reference))}
    rows = []
    by = draws.set_index(["scenario", "draw", "replication"]).sort_index()
    for contrast in spec.contrasts:
        policy, reference = names[contrast.policy], names[contrast.reference]
        p, r = by.loc[policy], by.loc[reference]
        common = p.index.intersection(r.index)
        d = (p.loc[common, spec.kpis] - r.loc[common, spec.kpis]).groupby(level="draw").mean()
        long = d.reset_index().melt(id_vars="draw", var_name="kpi", value_name="difference")
        long.insert(1, "contrast", contrast.label)
        rows.append(long)
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["contrast", "kpi", "draw"], kind="stable", ignore_index=True)


def verdict(diffs: pd.Series, kpi: str, holds: float = HOLDS) -> dict[str, Any]:
    """Median, 5-95% range, shares better / worse / within the smallest difference that matters, and words."""
    d = diffs.dropna().to_numpy(float)
    info = KPI.get(kpi)
    matters = info.smallest_that_matters() if info else 0.0
    if not len(d):
        return {"median": math.nan, "p5": math.nan, "p95": math.nan, "share_better": math.nan,
                "share_worse": math.nan, "share_negligible": math.nan, "draws": 0, "verdict": "not estimable"}
    direction = info.direction if info and info.direction else 1
    signed = d * direction
    better = float(np.mean(signed > 0))
    worse = float(np.mean(signed < 0))
    negligible = float(np.mean(np.abs(d) < matters)) if matters else 0.0
    if better >= holds:
        words = f"holds in {better:.0%} of plausible worlds"
    elif worse >= holds:
        words = f"worse in {worse:.0%} of plausible worlds"
    elif negligible >= holds:
        words = f"no clear difference (negligible in {negligible:.0%} of plausible worlds)"
    else:
        words = f"depends on assumptions (better in {better:.0%}, worse in {worse:.0%})"
    return {"median": float(np.median(d)), "p5": float(np.percentile(d, 5)), "p95": float(np.percentile(d, 95)),
            "share_better": better, "share_worse": worse, "share_negligible": negligible, "draws": len(d),
            "verdict": words}


def verdicts(diffs: pd.DataFrame) -> pd.DataFrame:
    rows = [{"contrast": c, "kpi": k, **verdict(g["difference"], k)}
            for (c, k), g in diffs.groupby(["contrast", "kpi"], sort=False)]
    return pd.DataFrame(rows)


def flip_point(x: np.ndarray, y: np.ndarray, bins: int = FLIP_BINS) -> float:
    """The parameter value where the binned median of ``y`` crosses zero (NaN if it never does).

    >>> x = np.linspace(0, 1, 101); flip_point(x, x - 0.3)
    0.3
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if len(x) < 2 * bins:
        bins = max(2, len(x) // 2)
    if len(np.unique(x)) < 2:
        return math.nan
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    centres, medians = [], []
    for b in range(len(edges) - 1):
        sel = which == b
        if sel.any():
            centres.append(float(np.median(x[sel])))
            medians.append(float(np.median(y[sel])))
    for (x0, m0), (x1, m1) in zip(zip(centres, medians, strict=True), zip(centres[1:], medians[1:], strict=True),
                                  strict=False):
        if m0 == 0:
            return round(x0, 6)
        if (m0 < 0) != (m1 < 0):
            return round(x0 + (x1 - x0) * (-m0) / (m1 - m0), 6)
    return math.nan


def sobol_indices(problem: dict[str, Any], Y: np.ndarray, seed: int = 1) -> pd.DataFrame:
    """First- and total-order Sobol indices with 95% intervals (SALib, Saltelli design without second order)."""
    from SALib.analyze import sobol

    s = sobol.analyze(problem, np.asarray(Y, float), calc_second_order=False, print_to_console=False, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "S1": s["S1"], "S1_conf": s["S1_conf"], "ST": s["ST"],
                         "ST_conf": s["ST_conf"]})


def morris_indices(problem: dict[str, Any], X: np.ndarray, Y: np.ndarray, seed: int = 1) -> pd.DataFrame:
    from SALib.analyze import morris

    s = morris.analyze(problem, np.asarray(X, float), np.asarray(Y, float), print_to_console=False, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "mu_star": s["mu_star"], "mu_star_conf": s["mu_star_conf"],
                         "sigma": s["sigma"]})


def rank_correlations(names: Sequence[str], X: np.ndarray, Y: np.ndarray) -> pd.DataFrame:
    from scipy.stats import spearmanr

    varies = len(Y) > 2 and np.ptp(Y) > 0
    rho = [float(spearmanr(X[:, j], Y).statistic) if varies and np.ptp(X[:, j]) > 0 else math.nan
           for j in range(len(names))]
    return pd.DataFrame({"parameter": list(names), "spearman_rho": rho})


def drivers(design: Design, diffs: pd.DataFrame) -> pd.DataFrame:
    """Per contrast x KPI: the indices of every parameter and, for the top drivers, the flip point."""
    rows = []
    for (contrast, kpi), g in diffs.groupby(["contrast", "kpi"], sort=False):
        y = g.set_index("draw")["difference"].reindex(range(len(design.X))).to_numpy(float)
        complete = not np.isnan(y).any()
        if design.sampler == "sobol" and complete and np.ptp(y) > 0:
            table = sobol_indices(design.problem, y)
            key = "ST"
        elif design.sampler == "morris" and complete:
            table = morris_indices(design.problem, design.X, y)
            key = "mu_star"
        else:
            ok = ~np.isnan(y)
            table = rank_correlations(design.names, design.X[ok], y[ok])
            table["abs_rho"] = table["spearman_rho"].abs()
            key = "abs_rho"
        table = table.sort_values(key, ascending=False, ignore_index=True)
        table["rank"] = np.arange(1, len(table) + 1)
        table["flip_point"] = math.nan
        for i in range(min(TOP_DRIVERS, len(table))):
            j = design.names.index(table.loc[i, "parameter"])
            table.loc[i, "flip_point"] = flip_point(design.X[:, j], y)
        table.insert(0, "kpi", kpi)
        table.insert(0, "contrast", contrast)
        rows.append(table)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def summary_lines(verdict_table: pd.DataFrame, driver_table: pd.DataFrame, kpis: Iterable[str]) -> list[str]:
    """Plain sentences: one per contrast and KPI, naming the top driver."""
    from sim.base.kpis import label

    lines = []
    for _, row in verdict_table[verdict_table["kpi"].isin(list(kpis))].iterrows():
        d = driver_table[(driver_table["contrast"] == row["contrast"]) & (driver_table["kpi"] == row["kpi"])]
        top = f"; it turns most on {d.iloc[0]['parameter']}" if len(d) else ""
        lines.append(f"{row['contrast']}, {label(row['kpi']).lower()}: {row['verdict']}{top}.")
    return lines


# ---------------------------------------------------------------------------------------
# The whole run


def progress_bar(total: int, enabled: bool) -> Any:
    """A progress bar over parameter draws (with an ETA), or nothing when disabled."""
    from sim.runs.runner import _progress

    bar = _progress(total, enabled)
    if hasattr(bar, "set_description"):
        bar.set_description("parameter draws")
        bar.unit = "draw"
    return bar
