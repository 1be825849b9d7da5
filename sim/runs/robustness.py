"""How sure are we? Every headline contrast over a sample of plausible worlds.

An experiment file (:class:`~sim.scenario.experiments.RobustnessExperiment`) names *contrasts* (a policy
scenario against a reference), the register parameters to vary (default: every numeric parameter whose
evidence is not "strong", over its register range), a *sampler* and the number of worlds ``n``, ``reps`` per
world, ``repeats`` (worlds run a second time with other random numbers) and a small ``platform``. In each
world every scenario of the contrasts runs on the same clients (replication r uses the same random streams
in every scenario and every world: common random numbers), the paired differences are kept, and the status
quo's calibration statistics are computed, so that each world can be judged against the published figures
(:mod:`sim.analysis.plausibility`).

Each world is one task; its rows are written to ``store/`` as soon as it finishes, so a run that is
interrupted loses at most the worlds under way, and running the same experiment into the same folder again
skips the finished ones. The store is keyed by a fingerprint of the experiment (its design and scenarios) and
of the model code; a changed experiment is refused (or, with ``--force``, started in a fresh store), never
mixed. Tasks run in local worker processes (``--jobs``) or on a Dask cluster (``--dask local:N`` or
``--dask tcp://host:8786``); seeds come from the world and replication, never the worker, so the tables are
identical whichever runs them.

Verdicts (:func:`~sim.analysis.plausibility.verdict_shares`) are given over the plausible worlds, with the
unconditioned ones beside them, and drivers come from a surrogate (:mod:`sim.analysis.surrogate`) for a
Latin hypercube, or from the runs themselves for a Sobol or Morris design.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import math
import os
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.plausibility import CUTOFF, judge_worlds, noise_from_repeats, posterior_ranges, target_summary, verdict_shares
from sim.base.errors import InputError
from sim.base.paths import PACKAGE_DIR
from sim.runs.safe_output import STORE_MARKER, atomic_write
from sim.runs.sizing import MAX_DESIGN_APPOINTMENTS, check_size, expected_appointments
from sim.scenario import Scenario, apply_overrides, load_scenario, parameter_table
from sim.scenario.experiments import SMALL_PLATFORM, Contrast, RobustnessExperiment, load_robustness

__all__ = ["SMALL_PLATFORM", "Contrast", "RobustnessExperiment"]

FLIP_BINS = 10
TOP_DRIVERS = 3
DRIVERS_KEPT = 10  # parameters per contrast, KPI and set of worlds in drivers.csv
EXCLUDED_SOURCES = ("lever", "verification", "platform setting")
EXCLUDED_SECTIONS = ("horizon.", "queue_mode.")
#: the layout of a store's rows: a store of another version is never mixed with this one
STORE_VERSION = 2
#: the code whose change changes what a world's runs give (the runs, their KPIs and calibration statistics)
MODEL_CODE = ("base", "scenario", "engine", "analysis/metrics.py", "runs/calibration.py")
SEED_OF_REPEATS = 1_000_003  # a repeated world's replications use seed + this: other random numbers, same world


def load_experiment(path: Path) -> RobustnessExperiment:
    return load_robustness(path)


@dataclass
class Design:
    """The parameters varied, their ranges and the matrix of draws (one row per draw)."""

    names: list[str]
    bounds: list[tuple[float, float]]
    integer: list[bool]
    sampler: str
    X: np.ndarray
    prior_worlds: int = -1  # the first this many worlds sample the prior (the first wave); -1: all of them

    @property
    def prior(self) -> np.ndarray:
        """Which worlds are the prior sample (the second wave, drawn where the first did not rule out, is not)."""
        n = len(self.X) if self.prior_worlds < 0 else self.prior_worlds
        return np.arange(len(self.X)) < n

    def extended(self, more: np.ndarray) -> Design:
        """This design with the worlds of a second wave appended."""
        return Design(self.names, self.bounds, self.integer, self.sampler, np.vstack([self.X, more]),
                      int(self.prior.sum()))

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




# ---------------------------------------------------------------------------------------
# Tasks: one world = every scenario of the contrasts x every replication


@dataclass(frozen=True)
class DrawTask:
    draw: int  # the task's number in the store: worlds 0..n-1, then the repeats
    world: int  # the design row
    repeat: int  # 0, or 1 for a world's second run with other random numbers
    values: dict[str, float | int]
    scenarios: tuple[Scenario, ...]
    reps: int
    seed: int
    kpis: tuple[str, ...]
    status_quo: str  # the scenario whose runs are judged against the targets
    statistics: tuple[str, ...]  # the calibration statistics computed on its runs


def run_draw(task: DrawTask) -> pd.DataFrame:
    """KPIs of every scenario and replication in one world, and the status quo's calibration statistics
    (rows: draw, world, repeat, scenario, replication, the parameter values, KPIs, ``stat:`` columns)."""
    from sim.analysis.metrics import replication_kpis
    from sim.engine.model import PlatformModel
    from sim.runs.calibration import STATISTICS

    rows = []
    for sc in task.scenarios:
        at = apply_overrides(sc, task.values)
        for rep in range(task.reps):
            tables = PlatformModel(at, rep, task.seed).run()
            kpis = replication_kpis(at, tables.clients, tables.sessions, tables.therapists, tables.weekly)
            stats = ({f"stat:{name}": float(STATISTICS[name](tables)) for name in task.statistics}
                     if sc.name == task.status_quo else {})
            rows.append({"draw": task.draw, "world": task.world, "repeat": task.repeat, "scenario": sc.name,
                         "replication": rep, **task.values, **{k: float(kpis[k]) for k in task.kpis}, **stats})
    return pd.DataFrame(rows)


def scenarios_of(spec: RobustnessExperiment, base_dir: Path) -> dict[str, Scenario]:
    """Each scenario file of the contrasts (and the status quo), on the experiment's platform, by name."""
    out: dict[str, Scenario] = {}
    for file in [spec.status_quo_file] + [f for c in spec.contrasts for f in (c.policy, c.reference)]:
        sc = apply_overrides(load_scenario(base_dir / file), dict(spec.platform))
        out.setdefault(sc.name, sc)
    return out


def status_quo_name(spec: RobustnessExperiment, base_dir: Path) -> str:
    return load_scenario(base_dir / spec.status_quo_file).name


def judged_targets(spec: RobustnessExperiment) -> dict[str, tuple[float, float]]:
    """The setting's calibration targets a world is judged on: those computed from the status quo's own runs
    (a target read from a probe run, PROBES, is left out: a world would need that extra run)."""
    from sim.runs.calibration import PROBES, STATISTICS, load_targets

    targets = load_targets()
    if spec.setting not in targets:
        raise InputError(f"experiment setting: {spec.setting!r} has no calibration targets; allowed: "
                         f"{', '.join(targets)}")
    return {name: (float(t["band"][0]), float(t["band"][1])) for name, t in targets[spec.setting].items()
            if name in STATISTICS and (spec.setting, name) not in PROBES}


def tasks_of(spec: RobustnessExperiment, design: Design, scenarios: dict[str, Scenario],
             status_quo: str = "", statistics: Sequence[str] = (), worlds: range | None = None,
             first_draw: int = 0, repeats: int | None = None) -> list[DrawTask]:
    """One task per world (``worlds``: default all of the design's), then one per repeated world (the first
    ``repeats`` of them, default the experiment's, run again with other random numbers); numbered from
    ``first_draw``."""
    worlds = range(len(design.X)) if worlds is None else worlds
    count = (spec.repeats if spec.sampler == "lhs" else 0) if repeats is None else repeats
    runs = [(w, 0) for w in worlds] + [(w, 1) for w in list(worlds)[:count]]
    tasks = []
    for draw, (world, repeat) in enumerate(runs, start=first_draw):
        values: dict[str, float | int] = {}
        for name, x, whole in zip(design.names, design.X[world], design.integer, strict=True):
            values[name] = round(float(x)) if whole else float(x)
        seed = spec.seed + (SEED_OF_REPEATS if repeat else 0)
        tasks.append(DrawTask(draw, world, repeat, values, tuple(scenarios.values()), spec.reps, seed, tuple(spec.kpis),
                              status_quo, tuple(statistics)))
    return tasks


def refocus(spec: RobustnessExperiment, design: Design, means: pd.DataFrame, targets: dict[str, tuple[float, float]],
            noise: pd.Series) -> np.ndarray:
    """History matching's second wave: ``spec.refocused`` worlds from the region the first wave does not rule out.

    Each target statistic gets an emulator fitted to the first wave's worlds (:func:`sim.analysis.surrogate.emulator`);
    a Latin hypercube of ``spec.candidates`` points over the same ranges is screened with the implausibility of the
    emulated values (the emulator's out-of-fold error added to the observation's and the replication's), and the
    first ``refocused`` candidates within the cut-off are the new worlds (the least implausible ones, if too few
    pass). Deterministic for the experiment's seed."""
    from SALib.sample import latin

    from sim.analysis.plausibility import implausibility
    from sim.analysis.surrogate import emulator

    first = means.xs(0, level="repeat").reindex(range(len(design.X)))
    pool = np.asarray(latin.sample(design.problem, spec.candidates, seed=spec.seed + 1), float)
    worst = np.zeros(len(pool))
    for name, band in targets.items():
        if name not in first or first[name].notna().sum() < 10:
            continue
        model, error = emulator(design.X, first[name].to_numpy(float), spec.seed)
        sd = math.hypot(float(noise.get(name, 0.0)) if not math.isnan(float(noise.get(name, 0.0))) else 0.0, error)
        predicted = model.predict(pool)
        worst = np.maximum(worst, [implausibility(float(m), band, sd) for m in predicted])
    chosen = np.flatnonzero(worst <= spec.cutoff)[: spec.refocused]
    if len(chosen) < spec.refocused:
        rest = [i for i in np.argsort(worst, kind="stable") if i not in set(chosen)]
        chosen = np.concatenate([chosen, rest[: spec.refocused - len(chosen)]]).astype(int)
    return pool[np.sort(chosen)]


def check_tasks(tasks: Sequence[DrawTask], force: bool = False) -> None:
    """Validate every draw's overrides before anything runs (a bad range fails now, not in hour three), and refuse
    (unless ``force``) a design beyond the size bound (:func:`sim.runs.sizing.check_size`). A design twice beyond
    the bound at its scenarios' own sizes is refused before the draws are validated (that takes seconds a
    thousand worlds)."""
    unvalidated = [(sc, task.reps) for task in tasks for sc in task.scenarios]
    if not force and sum(expected_appointments(sc) * reps for sc, reps in unvalidated) > 2 * MAX_DESIGN_APPOINTMENTS:
        check_size(unvalidated, force, "this robustness design", bound=MAX_DESIGN_APPOINTMENTS)
    runs = [(apply_overrides(sc, task.values), task.reps) for task in tasks for sc in task.scenarios]
    check_size(runs, force, "this robustness design", bound=MAX_DESIGN_APPOINTMENTS)


# ---------------------------------------------------------------------------------------
# The store: one Parquet file per finished world, under a fingerprint of what made them


#: Keyword arguments that hold words for people, not values (the register's desc= and source=, pydantic's
#: description=): a change to them changes no run.
TEXT_ARGUMENTS = ("desc", "source", "description")


def code_signature(text: str) -> str:
    """What in a module decides what it computes: its syntax tree without comments, docstrings and the
    register's words (TEXT_ARGUMENTS), so that a reworded source or docstring leaves a run current, while any
    change of a value, a range, a grade or the code does not. A file that does not parse: its bytes.

    >>> code_signature("x = 1  # one") == code_signature("'A docstring.'\\nx = 1")
    True
    >>> code_signature("x = p(1, source='a')") == code_signature("x = p(1, source='b')")
    True
    >>> code_signature("x = p(1, source='a')") == code_signature("x = p(2, source='a')")
    False
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
        if isinstance(node, ast.Call):
            node.keywords = [k for k in node.keywords if k.arg not in TEXT_ARGUMENTS]
    return hashlib.blake2b(ast.dump(tree).encode(), digest_size=16).hexdigest()


def _model_files() -> list[Path]:
    files: list[Path] = []
    for part in MODEL_CODE:
        target = PACKAGE_DIR / part
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return files


def model_signatures() -> dict[str, str]:
    """Each model-code file (MODEL_CODE, relative to the package) and its :func:`code_signature`."""
    return {path.relative_to(PACKAGE_DIR).as_posix(): code_signature(path.read_text()) for path in _model_files()}


def model_fingerprint() -> str:
    """A hash of the code that decides what a world's runs give (MODEL_CODE, by :func:`code_signature`): the store
    is kept only for it."""
    h = hashlib.blake2b(f"store v{STORE_VERSION}".encode(), digest_size=8)
    for name, signature in model_signatures().items():
        h.update(name.encode())
        h.update(signature.encode())
    return h.hexdigest()


def store_fingerprint(tasks: Sequence[DrawTask], extra: Any = None) -> str:
    """What the stored worlds are: each task's values, seed, replications, scenarios and KPIs, the model code, and
    ``extra`` (what decides any later wave: its size, the candidates, the targets and cut-off)."""
    h = hashlib.blake2b(model_fingerprint().encode(), digest_size=12)
    h.update(json.dumps(extra, sort_keys=True, default=str).encode())
    for task in tasks:
        h.update(json.dumps([task.draw, task.world, task.repeat, task.values, task.reps, task.seed, task.kpis,
                             task.status_quo, task.statistics], sort_keys=True, default=str).encode())
    for sc in tasks[0].scenarios if tasks else ():
        h.update(sc.model_dump_json().encode())
    return h.hexdigest()


def store_path(out: Path, draw: int) -> Path:
    return out / "store" / f"draw-{draw:06d}.parquet"


def stored_fingerprint(out: Path) -> str | None:
    """The fingerprint a store was made under ('' for a store from before fingerprints; None: no store)."""
    marker = out / "store" / STORE_MARKER
    if not marker.is_file():
        return None
    for line in marker.read_text(errors="replace").splitlines():
        if line.startswith("fingerprint: "):
            return line.removeprefix("fingerprint: ").strip()
    return ""


def open_store(out: Path, fingerprint: str, force: bool) -> None:
    """Use the store in ``out`` for an experiment with ``fingerprint``: create it, keep it (same fingerprint), or
    refuse a store of another experiment or model code (with ``force``: delete its draws and start afresh)."""
    store = out / "store"
    found = stored_fingerprint(out)
    if found is not None and found != fingerprint:
        if not force:
            raise InputError(f"--out {out}: its store/ holds worlds of a different experiment or model code "
                             f"(fingerprint {found or 'none'}, this run {fingerprint}); they are never mixed: pass "
                             "--force to start a fresh store there, or choose another --out")
        for entry in store.iterdir():
            if entry.name.startswith("draw-") and entry.is_file() and not entry.is_symlink():
                entry.unlink()
    store.mkdir(parents=True, exist_ok=True)
    atomic_write(store / STORE_MARKER, ("worlds of a robustness run, one file each; rerunning skips them\n"
                                        f"fingerprint: {fingerprint}\n").encode())


def finished(out: Path) -> set[int]:
    store = out / "store"
    return {int(p.stem.split("-")[1]) for p in store.glob("draw-*.parquet")} if store.is_dir() else set()


def save_draw(out: Path, frame: pd.DataFrame) -> None:
    path = store_path(out, int(frame["draw"].iloc[0]))
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path.parent / STORE_MARKER, b"worlds of a robustness run, one file each; rerunning skips them\n")
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


def stored_tasks(spec: RobustnessExperiment, design: Design, scenarios: dict[str, Scenario], status_quo: str,
                 statistics: Sequence[str], out: Path, draws: Iterable[int]) -> list[DrawTask]:
    """The tasks that made the stored ``draws`` of the run in ``out``, rebuilt from their rows (the world's values
    as stored, so a second-wave world needs no emulator)."""
    tasks = []
    for draw in draws:
        row = pd.read_parquet(store_path(out, draw), columns=["world", "repeat", *design.names]).iloc[0]
        values: dict[str, float | int] = {name: round(float(row[name])) if whole else float(row[name])
                                          for name, whole in zip(design.names, design.integer, strict=True)}
        repeat = int(row["repeat"])
        tasks.append(DrawTask(draw, int(row["world"]), repeat, values, tuple(scenarios.values()), spec.reps,
                              spec.seed + (SEED_OF_REPEATS if repeat else 0), tuple(spec.kpis), status_quo,
                              tuple(statistics)))
    return tasks


def spread_sample(items: Sequence[int], size: int) -> list[int]:
    """``size`` of ``items`` spread evenly from the first to the last (all of them when there are no more).

    >>> spread_sample(range(10), 3)
    [0, 4, 9]
    """
    if size >= len(items):
        return list(items)
    return sorted({items[i] for i in np.linspace(0, len(items) - 1, size).round().astype(int)})


def rerun_differs(tasks: Sequence[DrawTask], out: Path, jobs: int = 1, dask: str | None = None,
                  on_done: Callable[[int, int], None] | None = None) -> list[int]:
    """Run ``tasks`` afresh (into a temporary store) and return the draws whose rows are not exactly the ones
    stored in ``out``."""
    import tempfile

    differ = []
    with tempfile.TemporaryDirectory(prefix=".fm-verify-") as tmp:
        execute(tasks, Path(tmp), jobs, dask, on_done)
        for task in tasks:
            try:
                pd.testing.assert_frame_equal(pd.read_parquet(store_path(Path(tmp), task.draw)),
                                              pd.read_parquet(store_path(out, task.draw)), check_exact=True)
            except AssertionError:
                differ.append(task.draw)
    return differ


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
# Differences, plausibility, verdicts, drivers (pure functions of the stored rows)


def differences(draws: pd.DataFrame, spec: RobustnessExperiment, base_dir: Path) -> pd.DataFrame:
    """One row per world x repeat x contrast x KPI: the mean over replications of the paired difference."""
    names = {file: load_scenario(base_dir / file).name for c in spec.contrasts for file in (c.policy, c.reference)}
    rows = []
    by = draws.set_index(["scenario", "world", "repeat", "replication"]).sort_index()
    for contrast in spec.contrasts:
        policy, reference = names[contrast.policy], names[contrast.reference]
        p, r = by.loc[policy], by.loc[reference]
        common = p.index.intersection(r.index)
        d = (p.loc[common, spec.kpis] - r.loc[common, spec.kpis]).groupby(level=["world", "repeat"]).mean()
        long = d.reset_index().melt(id_vars=["world", "repeat"], var_name="kpi", value_name="difference")
        long.insert(2, "contrast", contrast.label)
        rows.append(long)
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["contrast", "kpi", "repeat", "world"], kind="stable", ignore_index=True)


def world_statistics(draws: pd.DataFrame, status_quo: str) -> pd.DataFrame:
    """The status quo's calibration statistics per world and repeat: the mean over replications."""
    stats = [c for c in draws.columns if c.startswith("stat:")]
    sq = draws[draws["scenario"] == status_quo]
    means = sq.groupby(["world", "repeat"])[stats].mean()
    means.columns = [c.removeprefix("stat:") for c in means.columns]
    return means


def difference_noise(diffs: pd.DataFrame) -> pd.DataFrame:
    """Per contrast and KPI: the replication noise of a world's difference (from repeated worlds), the spread of
    the difference across worlds, and the share of that spread's variance which is noise."""
    rows = []
    for (contrast, kpi), g in diffs.groupby(["contrast", "kpi"], sort=False):
        first = g[g["repeat"] == 0].set_index("world")[["difference"]]
        second = g[g["repeat"] == 1].set_index("world")[["difference"]]
        noise = float(noise_from_repeats(first, second)["difference"]) if len(second) else math.nan
        spread = float(first["difference"].std(ddof=1)) if len(first) > 1 else math.nan
        share = noise**2 / spread**2 if spread and not math.isnan(noise) and not math.isnan(spread) else math.nan
        rows.append({"contrast": contrast, "kpi": kpi, "noise_sd": noise, "spread_sd": spread,
                     "noise_share_of_variance": share, "repeats": len(second)})
    return pd.DataFrame(rows)


@dataclass
class Plausibility:
    """Which worlds reproduce the published figures, and how that was judged."""

    worlds: pd.DataFrame  # one row per world: implausibility per target, the largest, ruled out by, plausible
    targets: pd.DataFrame  # one row per target: band, worlds it rules out
    posterior: pd.DataFrame  # one row per parameter: prior range and plausible 5-95% range
    noise: pd.Series  # replication noise (sd of a world's mean) per target statistic

    @property
    def plausible(self) -> np.ndarray:
        return self.worlds["plausible"].to_numpy(bool)


def judge(design: Design, means: pd.DataFrame, targets: dict[str, tuple[float, float]],
          cutoff: float = CUTOFF) -> Plausibility:
    """History matching of every world's status quo against the targets (:mod:`sim.analysis.plausibility`).

    The replication noise of a world's mean is measured from the repeated worlds; without repeats it is taken as
    zero (NaN in ``noise``), which makes the check stricter, never looser."""
    first = means.xs(0, level="repeat") if len(means) else means
    second = means.xs(1, level="repeat") if len(means) and 1 in means.index.get_level_values("repeat") else None
    noise = noise_from_repeats(first, second) if second is not None else pd.Series(np.nan, index=first.columns)
    first = first.reindex(range(len(design.X)))
    worlds = judge_worlds(first, targets, noise.to_dict(), cutoff)
    worlds.insert(0, "world", worlds.index)
    summary = target_summary(worlds, targets, first, cutoff)
    summary["noise_sd"] = summary["target"].map(noise.to_dict())
    posterior = posterior_ranges(design.X, design.names, design.bounds, worlds["plausible"].to_numpy(bool))
    return Plausibility(worlds=worlds.reset_index(drop=True), targets=summary, posterior=posterior, noise=noise)


def verdicts(diffs: pd.DataFrame, plausible: np.ndarray | None = None,
             noise: pd.DataFrame | None = None, prior: np.ndarray | None = None) -> pd.DataFrame:
    """Per contrast x KPI, over the plausible worlds and over all worlds of the prior sample (``prior``: which
    worlds; default all): shares clearly better / worse / neither with standard errors, the median difference and
    its 5-95% range, and the words."""
    first = diffs[diffs["repeat"] == 0]
    noise_of = {} if noise is None else {(r.contrast, r.kpi): r.noise_sd for r in noise.itertuples()}
    keep = None if plausible is None else set(np.flatnonzero(plausible))
    sample = None if prior is None else set(np.flatnonzero(prior))
    rows = []
    for (contrast, kpi), g in first.groupby(["contrast", "kpi"], sort=False):
        sd = noise_of.get((contrast, kpi), math.nan)
        every = g if sample is None else g[g["world"].isin(sample)]
        subsets = [("all", every)] if keep is None else [("plausible", g[g["world"].isin(keep)]), ("all", every)]
        for subset, part in subsets:
            rows.append({"contrast": contrast, "kpi": kpi, "worlds_set": subset, "noise_sd": sd,
                         **verdict_shares(part["difference"], kpi, sd,
                                          "plausible worlds" if subset == "plausible" else "worlds")})
    return pd.DataFrame(rows)


def surrogate_drivers(design: Design, diffs: pd.DataFrame, plausibility: Plausibility | None,
                      seed: int) -> pd.DataFrame:
    """Per contrast x KPI and set of worlds: the surrogate's cross-validated R^2, and where it is adequate the Sobol
    indices computed on it (over the prior ranges for all worlds; over the plausible 5-95% ranges for the plausible
    ones), the DRIVERS_KEPT largest, with the flip point of the top drivers (from the worlds themselves)."""
    from sim.analysis.surrogate import ADEQUATE_R2, surrogate_indices

    first = diffs[diffs["repeat"] == 0]
    sets: list[tuple[str, np.ndarray, list[tuple[float, float]]]] = [("all", design.prior, design.bounds)]
    if plausibility is not None:
        post = plausibility.posterior.set_index("parameter")
        box = [(float(post.loc[n, "plausible_p5"]), float(post.loc[n, "plausible_p95"])) for n in design.names]
        sets.insert(0, ("plausible", plausibility.plausible, box))
    rows = []
    for (contrast, kpi), g in first.groupby(["contrast", "kpi"], sort=False):
        y_all = g.set_index("world")["difference"].reindex(range(len(design.X))).to_numpy(float)
        for subset, mask, bounds in sets:
            X, y = design.X[mask], y_all[mask]
            if len(y) < 20 or any(math.isnan(lo) for lo, _ in bounds):
                table, r2 = pd.DataFrame({"parameter": design.names}), math.nan
                note = f"too few worlds ({len(y)}) for a surrogate"
            else:
                table, r2 = surrogate_indices(X, y, design.names, bounds, seed)
                note = "" if r2 >= ADEQUATE_R2 else (f"surrogate poor (cross-validated R² {r2:.2f} < {ADEQUATE_R2}): "
                                                     "no indices; the answer varies mostly with what the sample "
                                                     "cannot resolve (noise or many small effects)")
            if "ST" in table and table["ST"].notna().any():
                table = table.sort_values("ST", ascending=False, ignore_index=True).head(DRIVERS_KEPT)
            else:
                table = table.head(0).reindex(columns=["parameter", "S1", "S1_conf", "ST", "ST_conf"])
                table.loc[0, "parameter"] = ""
            table["rank"] = np.arange(1, len(table) + 1)
            table["flip_point"] = math.nan
            for i in range(min(TOP_DRIVERS, len(table))):
                if table.loc[i, "parameter"]:
                    j = design.names.index(table.loc[i, "parameter"])
                    table.loc[i, "flip_point"] = flip_point(X[:, j], y)
            table.insert(0, "r2", r2)
            table.insert(0, "note", note)
            table.insert(0, "worlds_set", subset)
            table.insert(0, "kpi", kpi)
            table.insert(0, "contrast", contrast)
            rows.append(table)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


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
    """Plain sentences: one per contrast and KPI (over the plausible worlds where judged), naming the top driver
    when the drivers could be estimated."""
    from sim.base.kpis import label

    lines = []
    shown = verdict_table[verdict_table["kpi"].isin(list(kpis))]
    if "worlds_set" in shown and len(shown):  # the plausible worlds where there are any, else all worlds (said so)
        has = shown[shown["worlds_set"] == "plausible"].groupby(["contrast", "kpi"])["worlds"].transform("max") > 0
        usable = shown["worlds_set"].eq("plausible") & has.reindex(shown.index, fill_value=False)
        fallback = shown["worlds_set"].eq("all") & ~shown.set_index(["contrast", "kpi"]).index.isin(
            shown[usable].set_index(["contrast", "kpi"]).index)
        shown = shown[usable | fallback]
    for _, row in shown.iterrows():
        d = driver_table[(driver_table["contrast"] == row["contrast"]) & (driver_table["kpi"] == row["kpi"])]
        if "worlds_set" in d and "worlds_set" in row:
            d = d[d["worlds_set"] == row["worlds_set"]]
        index = next((k for k in ("ST", "mu_star", "abs_rho") if k in d and d[k].notna().any()), None)
        top = f"; it turns most on {d.sort_values(index, ascending=False).iloc[0]['parameter']}" if index else ""
        words = row["words"] if "words" in row else row["verdict"]
        if row.get("worlds_set") == "all" and (verdict_table.get("worlds_set", pd.Series()) == "plausible").any():
            words = f"no plausible world; over all worlds: {words}"
        lines.append(f"{row['contrast']}, {label(row['kpi']).lower()}: {words}{top}.")
    return lines


# What only a run's full tables show, kept small enough to ship beside the verdicts (docs/robustness/): how the
# status quo itself varies across worlds, and which parameters a policy's difference follows there.
CORRELATIONS_KEPT = 3  # parameters per contrast and KPI in correlations.csv


def _world_sets(plausible: np.ndarray, prior: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The two sets of worlds the context tables describe, as boolean masks over the worlds."""
    return [("plausible", np.asarray(plausible, bool)), ("all", np.asarray(prior, bool))]


def status_quo_spread(draws: pd.DataFrame, status_quo: str, kpis: Sequence[str], plausible: np.ndarray,
                      prior: np.ndarray) -> pd.DataFrame:
    """Per KPI: the status quo's level across the plausible worlds and across all worlds of the prior sample
    (first repeat, mean over replications): median, quartiles and 5-95% range.

    >>> draws = pd.DataFrame({"scenario": "sq", "world": range(4), "repeat": 0, "replication": 0,
    ...                       "wait": [1.0, 2.0, 3.0, 40.0]})
    >>> status_quo_spread(draws, "sq", ["wait"], np.array([True, True, True, False]), np.ones(4, bool))[
    ...     ["worlds_set", "worlds", "median"]].to_dict("list")
    {'worlds_set': ['plausible', 'all'], 'worlds': [3, 4], 'median': [2.0, 2.5]}
    """
    first = draws[(draws["scenario"] == status_quo) & (draws["repeat"] == 0)]
    means = first.groupby("world")[list(kpis)].mean()
    rows = []
    for kpi in kpis:
        for subset, mask in _world_sets(plausible, prior):
            values = means.loc[means.index.isin(np.flatnonzero(mask)), kpi].dropna()
            q = values.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).to_numpy() if len(values) else np.full(5, math.nan)
            rows.append({"kpi": kpi, "worlds_set": subset, "worlds": len(values), "p5": q[0], "p25": q[1],
                         "median": q[2], "p75": q[3], "p95": q[4]})
    return pd.DataFrame(rows)


def difference_correlations(X: np.ndarray, names: Sequence[str], diffs: pd.DataFrame, plausible: np.ndarray,
                            prior: np.ndarray, kept: int = CORRELATIONS_KEPT) -> pd.DataFrame:
    """Per contrast x KPI and set of worlds: the ``kept`` parameters whose Spearman rank correlation with the
    policy's difference is largest in size, each with the value where the difference's binned median changes sign
    (:func:`flip_point`). A description of the worlds, not a model of them: read beside ``drivers.csv``."""
    first = diffs[diffs["repeat"] == 0]
    rows = []
    for (contrast, kpi), g in first.groupby(["contrast", "kpi"], sort=False):
        y_all = g.set_index("world")["difference"].reindex(range(len(X))).to_numpy(float)
        for subset, worlds in _world_sets(plausible, prior):
            mask = worlds & ~np.isnan(y_all)
            table = rank_correlations(names, X[mask], y_all[mask])
            table = table.assign(abs_rho=table["spearman_rho"].abs()).dropna(subset=["abs_rho"])
            table = table.sort_values(["abs_rho", "parameter"], ascending=[False, True], ignore_index=True).head(kept)
            for rank, r in enumerate(table.itertuples(), 1):
                j = list(names).index(r.parameter)
                rows.append({"contrast": contrast, "kpi": kpi, "worlds_set": subset, "worlds": int(mask.sum()),
                             "rank": rank, "parameter": r.parameter, "spearman_rho": r.spearman_rho,
                             "flip_point": flip_point(X[mask, j], y_all[mask])})
    columns = ["contrast", "kpi", "worlds_set", "worlds", "rank", "parameter", "spearman_rho", "flip_point"]
    return pd.DataFrame(rows, columns=columns)


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



# ---------------------------------------------------------------------------------------
# Reading a finished run's verdicts (for the study report, the brief and the notebooks)

RUN_FOLDER = Path("results") / "robustness" / "robustness"  # the default experiment's folder, under a project
SHIPPED = PACKAGE_DIR.parent / "docs" / "robustness"  # its summary as shipped with the code


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(PACKAGE_DIR), *args], capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@functools.lru_cache(maxsize=8)
def model_changed_since(commit: str) -> bool:
    """True when the model code (MODEL_CODE) at ``commit`` computes differently from the checked-out files (by
    :func:`code_signature`: a reworded source or docstring is no change); False when it is the same or git cannot
    tell (no checkout, unknown commit)."""
    package = _git("rev-parse", "--show-prefix")  # the package's folder within the repository
    listed = _git("ls-tree", "-r", "--name-only", commit, "--", *(part for part in MODEL_CODE))
    if package is None or listed is None:
        return False
    package = package.strip()
    then: dict[str, str] = {}
    for name in listed.split():
        text = _git("show", f"{commit}:{package}{name}")
        if text is None:
            return False
        if name.endswith(".py"):
            then[name] = code_signature(text)
    return then != model_signatures()


def model_is_current(meta: dict[str, Any]) -> bool:
    """True when a run (its ``metadata.json``) was made with the checked-out model: its commit's model code computes
    the same (see :func:`model_changed_since`), or the checkout's model reran a sample of its worlds to the same
    numbers (``python -m sim robustness --verify``, recorded under ``verified``)."""
    if not model_changed_since(str(meta.get("git_commit", "")).removesuffix("+dirty")):
        return True
    return model_fingerprint() in {str(entry.get("model")) for entry in meta.get("verified", [])}


def plausible_verdicts(project: Path = PACKAGE_DIR.parent, shipped_only: bool = False) -> tuple[pd.DataFrame | None, str]:
    """The default experiment's verdicts over the plausible worlds (the unconditioned ones where no world is
    plausible), from a run under ``project/results/`` or else the shipped summary, and a note saying which run
    it is; (None, why) when there is neither."""
    places = [(project / RUN_FOLDER, "the robustness run in results/robustness/robustness/"),
              (SHIPPED, "the shipped robustness run (docs/robustness/)")]
    for folder, what in places[1:] if shipped_only else places:
        path = folder / "verdicts.csv"
        if not path.is_file():
            continue
        table = pd.read_csv(path)
        if "worlds_set" not in table or "words" not in table:
            continue  # a run from before plausible worlds: its shares are not over plausible worlds
        meta_path = folder / "metadata.json"
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        plausible = table[table["worlds_set"] == "plausible"]
        use = plausible if len(plausible) and plausible["worlds"].max() > 0 else table[table["worlds_set"] == "all"]
        commit = str(meta.get("git_commit", "?"))
        note = (f"{what}: {meta.get('plausible_worlds', '?')} plausible of {meta.get('worlds', '?')} worlds, "
                f"commit {commit[:10]}")
        if not model_is_current(meta):
            note += ("; made with an earlier version of the model, whose code has changed since (rerun "
                     "`python -m sim robustness experiments/robustness.yaml --jobs 2` to judge the model as it is)")
        return use.reset_index(drop=True), note
    return None, ("no robustness run found: `python -m sim robustness experiments/robustness.yaml --jobs 2` (about an "
                  "hour) says in what share of plausible worlds each answer holds")
