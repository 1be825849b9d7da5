"""Runner: replications of scenarios, serially or in worker processes, with identical results.

Replication ``r`` of any scenario uses the random streams of (seed, r), so replication ``r``
of two policies sees the same clients: differences are paired (common random numbers).

>>> from sim.scenario import Scenario
>>> sc = Scenario(name="tiny", therapists={"count": 5}, demand={"arrivals_per_week": 20},
...               horizon={"warmup_weeks": 2, "measured_weeks": 8})
>>> res = run_scenarios([sc], reps=2, progress=False)
>>> list(res.replications["replication"]), res.tables["clients"]["scenario"].iloc[0]
([0, 1], 'tiny')
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.analysis.metrics import EXTRA_KPIS, KPIS, group_kpis, replication_kpis, run_end
from sim.analysis.stats import paired_differences, summarise
from sim.engine.model import PlatformModel
from sim.scenario import Scenario

TABLES = ("clients", "sessions", "therapists", "weekly")


@dataclass
class StudyResult:
    """Everything a run produced: KPIs per replication, summaries, and (optionally) the tables."""

    scenarios: list[Scenario]
    replications: pd.DataFrame
    summary: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)  # scenario, replication, group_kind, group, kpi, value

    def compare(self, baseline: str | None = None) -> pd.DataFrame:
        """Paired differences of every scenario against ``baseline`` (default: the first)."""
        return paired_differences(self.replications, [*KPIS, *EXTRA_KPIS], baseline or self.scenarios[0].name)

    def compare_groups(self, baseline: str | None = None) -> pd.DataFrame:
        """Paired differences by group (problem domain, intake severity) against ``baseline``."""
        if self.groups.empty:
            return pd.DataFrame()
        wide = self.groups.assign(column=self.groups["group_kind"] + ":" + self.groups["group"] + ":"
                                  + self.groups["kpi"])
        wide = wide.pivot_table(index=["scenario", "replication"], columns="column", values="value",
                                sort=False).reset_index()
        columns = [c for c in wide.columns if c.count(":") == 2]
        out = paired_differences(wide, columns, baseline or self.scenarios[0].name)
        parts = out["kpi"].str.split(":", n=2, expand=True)
        out = out.drop(columns="kpi")
        out.insert(2, "group_kind", parts[0])
        out.insert(3, "group", parts[1])
        out.insert(4, "kpi", parts[2])
        return out


Replicated = tuple[dict, dict[str, pd.DataFrame], pd.DataFrame]


def run_replication(task: tuple[Scenario, int, int, Sequence[str], bool]) -> Replicated:
    """Run one replication; return its KPI row, the tables named in ``keep`` and (if asked) its group KPIs."""
    sc, rep, seed, keep, with_groups = task
    started = time.perf_counter()
    tables = PlatformModel(sc, rep, seed).run()
    kpis = replication_kpis(sc, tables.clients, tables.sessions, tables.therapists, tables.weekly)
    row = {"scenario": sc.name, "replication": rep, **kpis, "wall_seconds": time.perf_counter() - started,
           "attended_sessions": int(tables.sessions["attended"].sum())}
    groups = pd.DataFrame()
    if with_groups:
        groups = group_kpis(tables.clients, run_end(sc))
        groups.insert(0, "replication", rep)
        groups.insert(0, "scenario", sc.name)
    return row, tables.keyed(sc.name, rep, keep), groups


def run_scenarios(scenarios: Sequence[Scenario], reps: int | None = None, seed: int | None = None, jobs: int = 1,
                  keep: Sequence[str] = TABLES, progress: bool = True,
                  on_progress: Callable[[int, int], None] | None = None,
                  pool: Any | None = None, groups: bool = True, first_replication: int = 0) -> StudyResult:
    """Run ``reps`` replications of each scenario (in ``jobs`` worker processes) and summarise.

    ``first_replication``: run replications ``first_replication`` .. ``reps - 1`` only (the rest of a run whose first
    replications are done: :func:`with_replications` joins the two, identical to running all at once).

    ``on_progress(done, total)`` is called after each replication (e.g. to move a notebook progress bar).
    ``pool``: a :func:`worker_pool` kept by the caller (a dashboard), reused instead of starting workers.
    ``groups``: also the KPIs by problem domain and intake severity (``result.groups``; a dashboard that does not
    show them skips their cost).
    """
    names = [sc.name for sc in scenarios]
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names must be distinct, got {names}")
    scenarios, warmup = resolve_warmup(scenarios, seed)
    tasks = [(sc, rep, sc.seed if seed is None else seed, tuple(keep), groups)
             for sc in scenarios for rep in range(first_replication, reps or sc.replications)]
    started = time.perf_counter()
    results: list[Replicated] = []
    bar = _progress(len(tasks), progress)
    workers: Any = contextlib.nullcontext(None)  # serial
    if len(tasks) > 1 and pool is not None:
        workers = contextlib.nullcontext(pool)  # the caller's pool: it stays up after the run
    elif len(tasks) > 1 and jobs > 1:
        workers = worker_pool(min(jobs, len(tasks)))  # its __exit__ stops the workers at once (Ctrl-C, errors)
    with workers as running:
        for result in running.imap(run_replication, tasks) if running is not None else map(run_replication, tasks):
            results.append(result)
            bar.update(1)
            if on_progress:
                on_progress(len(results), len(tasks))
    bar.close()
    replications = pd.DataFrame([row for row, _, _ in results])
    tables = {name: pd.concat([t[name] for _, t, _ in results], ignore_index=True) for name in keep}
    kpi_names = [*KPIS, *EXTRA_KPIS]
    return StudyResult(
        scenarios=list(scenarios),
        replications=replications,
        summary=summarise(replications, kpi_names),
        tables=tables,
        groups=pd.concat([g for _, _, g in results], ignore_index=True),
        meta={"replications": _one_or_each({sc.name: (reps or sc.replications) - first_replication for sc in scenarios}),
              "seed": _one_or_each({sc.name: sc.seed if seed is None else seed for sc in scenarios}),
              "jobs": jobs, "wall_seconds": round(time.perf_counter() - started, 3),
              "warmup": warmup or {"warmup_weeks": _one_or_each({sc.name: sc.horizon.warmup_weeks for sc in scenarios}),
                                   "method": "as set in the scenario"}},
    )


def part_of(result: StudyResult, name: str, as_scenario: Scenario | None = None) -> StudyResult:
    """Scenario ``name``'s share of ``result``; with ``as_scenario``, relabelled as that scenario (the same run
    under another name)."""
    sc = next(s for s in result.scenarios if s.name == name)
    new = as_scenario.name if as_scenario is not None else name

    def pick(df: pd.DataFrame) -> pd.DataFrame:
        if df.empty or "scenario" not in df:
            return df.copy()
        out = df[df["scenario"] == name].reset_index(drop=True)
        out["scenario"] = new
        return out

    return StudyResult(scenarios=[as_scenario or sc], replications=pick(result.replications),
                       summary=pick(result.summary), tables={k: pick(v) for k, v in result.tables.items()},
                       meta=dict(result.meta), groups=pick(result.groups))


def first_replications(result: StudyResult, n: int) -> StudyResult:
    """``result`` with only its replications 0 .. n-1 (the same as a run of ``n``: replication r's numbers do not
    depend on how many run)."""
    def pick(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["replication"] < n].reset_index(drop=True) if "replication" in df else df.copy()

    replications = pick(result.replications)
    return StudyResult(scenarios=list(result.scenarios), replications=replications,
                       summary=summarise(replications, [*KPIS, *EXTRA_KPIS]),
                       tables={k: pick(v) for k, v in result.tables.items()},
                       meta={**result.meta, "replications": n}, groups=pick(result.groups))


def with_replications(first: StudyResult, more: StudyResult) -> StudyResult:
    """The same scenarios' replications together: ``first`` and the further ones in ``more``, in scenario and then
    replication order, summarised afresh."""
    order = {sc.name: i for i, sc in enumerate(first.scenarios)}

    def join(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
        both = pd.concat([a, b], ignore_index=True)
        if both.empty or "scenario" not in both or "replication" not in both:
            return both
        return both.sort_values(["scenario", "replication"], key=lambda s: s.map(order) if s.name == "scenario"
                                else s, kind="stable").reset_index(drop=True)

    replications = join(first.replications, more.replications)
    counts = replications.groupby("scenario").size()
    return StudyResult(scenarios=list(first.scenarios), replications=replications,
                       summary=summarise(replications, [*KPIS, *EXTRA_KPIS]),
                       tables={k: join(v, more.tables[k]) for k, v in first.tables.items() if k in more.tables},
                       meta={**first.meta, "replications": int(counts.min()) if counts.nunique() == 1 else
                             counts.to_dict()},
                       groups=join(first.groups, more.groups))


def merge_results(parts: Sequence[StudyResult]) -> StudyResult:
    """Results of distinct scenarios as one (as if run together: runs are the same whoever runs them)."""
    scenarios = [sc for part in parts for sc in part.scenarios]
    names = [sc.name for sc in scenarios]
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names must be distinct, got {names}")
    replications = pd.concat([p.replications for p in parts], ignore_index=True)
    keys = set.intersection(*(set(p.tables) for p in parts)) if parts else set()
    return StudyResult(
        scenarios=scenarios, replications=replications, summary=summarise(replications, [*KPIS, *EXTRA_KPIS]),
        tables={k: pd.concat([p.tables[k] for p in parts], ignore_index=True) for k in TABLES if k in keys},
        meta=dict(parts[0].meta) if parts else {},
        groups=pd.concat([p.groups for p in parts], ignore_index=True))


def resolve_warmup(scenarios: Sequence[Scenario], seed: int | None = None) -> tuple[list[Scenario], dict | None]:
    """Scenarios with ``warmup_weeks: auto`` get one warm-up (sim.runs.warmup), the longest over all of them (so
    paired comparisons share it); the others keep theirs. Returns the scenarios and the choice made."""
    auto = [sc for sc in scenarios if sc.horizon.warmup_auto]
    if not auto:
        return list(scenarios), None
    from sim.runs.warmup import choose_warmup

    choice = choose_warmup(auto, seed=seed)
    resolved = [sc.model_copy(update={"horizon": sc.horizon.model_copy(
        update={"warmup_weeks": choice.weeks, "warmup_auto": False})}) if sc.horizon.warmup_auto else sc
        for sc in scenarios]
    return resolved, choice.as_metadata()


def worker_pool(jobs: int) -> Any:
    """``jobs`` worker processes for replications (they ignore Ctrl-C and exit when this process dies)."""
    gc.freeze()  # the workers' collector then leaves the parent's objects alone (no copy-on-write of its heap)
    try:
        return multiprocessing.Pool(jobs, initializer=worker_setup, initargs=(os.getpid(),))
    finally:
        gc.unfreeze()


def worker_setup(parent_pid: int) -> None:
    """In a worker process: leave Ctrl-C to the parent, and exit as soon as the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _one_or_each(values: dict[str, Any]) -> Any:
    """The common value if every scenario has the same one, else the mapping by scenario name."""
    distinct = set(values.values())
    return next(iter(distinct)) if len(distinct) == 1 else values


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    """A progress bar on stderr that appears only if the run takes more than a couple of seconds."""
    if not enabled or os.environ.get("SIM_NO_PROGRESS"):
        return _NoBar()
    from tqdm.auto import tqdm  # a bar widget in notebooks, text in a terminal

    # in a notebook the finished bar stays (at 100%: an exported page shows the run finished, not a bar frozen
    # part-way); in a terminal it clears itself
    in_notebook = "ipykernel" in sys.modules
    return tqdm(total=total, unit="rep", delay=0.0 if in_notebook else 2.0, leave=in_notebook, desc="replications")
