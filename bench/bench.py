"""Benchmarks (not timed tests): run ``python bench/bench.py [--quick]`` and read the printout.

Measures, on this machine:
1. attended sessions simulated per second on the baseline (one replication, tables included);
2. the ratio to a bare SimPy loop that books the same weekly appointments for the same
   arrivals, measured in the same process (bare time / model time; 1.0 = no overhead);
3. time per replication and per simulated session at 50 and 1,000 therapists, demand scaled;
4. peak memory (max RSS) of a 1,000-therapist, 2-year replication with all tables, in a child process;
5. the wall time of the default study (``python -m sim``);
6. queue mode against Ciw on the same M/M/10 queue (utilisation 0.9, 40 years): Ciw's time per served client
   over the model's (1.0 = as fast as Ciw); needs ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.engine.model import PlatformModel  # noqa: E402
from sim.runs.safe_output import write_folder  # noqa: E402
from sim.scenario import apply_overrides, load_scenario  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.yaml"
QUEUE_MODE = ROOT / "scenarios" / "verification" / "queue_mode.yaml"
ARRIVALS_PER_THERAPIST = 3.9  # baseline: 390 a week for 100 therapists


def scaled(therapists: int, extra: list[str] | None = None):
    return apply_overrides(load_scenario(BASELINE), [f"therapists.count={therapists}",
                                                     f"demand.arrivals_per_week={ARRIVALS_PER_THERAPIST * therapists}",
                                                     *(extra or [])])


def timed_replication(sc, rep: int = 0) -> tuple[float, float, int, object]:
    """(wall seconds including tables, seconds in the simulation only, attended sessions, tables)."""
    model = PlatformModel(sc, rep)
    start = time.perf_counter()
    tables = model.run()
    wall = time.perf_counter() - start
    return wall, wall - tables.meta.get("table_seconds", 0.0), int(tables.sessions["attended"].sum()), tables


def bare_loop_seconds(clients, sessions) -> tuple[float, int]:
    """A bare SimPy loop: one process per course, booking the same appointments at the same times."""
    first = sessions.groupby("client_id")["day"].min()
    booked = sessions.groupby("client_id").size()
    arrivals = clients.set_index("client_id")["arrival_day"]
    plan = sorted((float(arrivals[c]), float(first[c]), int(booked[c])) for c in booked.index)

    def course(env, first_day, n):
        yield env.timeout(first_day + 0.4 - env.now)
        for _ in range(n - 1):
            yield env.timeout(7)

    def source(env):
        for arrival, first_day, n in plan:
            yield env.timeout(arrival - env.now)
            env.process(course(env, first_day, n))

    env = simpy.Environment()
    env.process(source(env))
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)  # the same collector setting as PlatformModel.run
    start = time.perf_counter()
    env.run()
    elapsed = time.perf_counter() - start
    gc.set_threshold(*thresholds)
    return elapsed, sum(n for _, _, n in plan)


def queue_mode_against_ciw(rho: float = 0.9, servers: int = 10, service_days: float = 7.0,
                           weeks: int = 2080) -> dict[str, float] | None:
    """Seconds per served client of the model's queue mode and of Ciw on the same M/M/c (None without Ciw)."""
    try:
        import ciw  # type: ignore[import-untyped]
    except ImportError:
        return None
    arrivals_per_week = rho * servers / service_days * 7
    sc = apply_overrides(load_scenario(QUEUE_MODE), [f"demand.arrivals_per_week={arrivals_per_week}",
                                                     f"therapists.count={servers}",
                                                     f"queue_mode.service_days_mean={service_days}",
                                                     f"horizon.measured_weeks={weeks}"])
    start = time.perf_counter()
    tables = PlatformModel(sc, 0).run()
    model = time.perf_counter() - start
    served = int((tables.clients["sessions_attended"] > 0).sum())
    network = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(rate=arrivals_per_week / 7)],
                                 service_distributions=[ciw.dists.Exponential(rate=1 / service_days)],
                                 number_of_servers=[servers])
    ciw.seed(0)
    simulation = ciw.Simulation(network)
    start = time.perf_counter()
    simulation.simulate_until_max_time(7.0 * (sc.horizon.warmup_weeks + weeks))
    ciw_seconds = time.perf_counter() - start
    ciw_served = len(simulation.get_all_records())
    return {"queue_mode_seconds": model, "queue_mode_served": served, "ciw_seconds": ciw_seconds,
            "ciw_served": ciw_served,
            "queue_mode_speed_vs_ciw": (ciw_seconds / ciw_served) / (model / served)}


def peak_memory_mib(therapists: int) -> float:
    code = (f"import resource, sys; sys.path.insert(0, {str(ROOT)!r}); from bench.bench import scaled; "
            f"from sim.engine.model import PlatformModel; t = PlatformModel(scaled({therapists}), 0).run(); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def default_study_seconds() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", "--quiet", "--out", str(Path(tmp) / "results")], check=True,
                       cwd=ROOT, capture_output=True)
        return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="skip the 1,000-therapist runs and the default study")
    args = ap.parse_args()
    results: dict[str, float] = {}

    wall, sim_only, attended, tables = timed_replication(load_scenario(BASELINE))
    bare, appointments = bare_loop_seconds(tables.clients, tables.sessions)
    results["baseline_attended_sessions"] = attended
    results["baseline_replication_seconds"] = wall
    results["attended_sessions_per_second"] = attended / wall
    results["attended_sessions_per_second_simulation_only"] = attended / sim_only
    results["bare_loop_appointments"] = appointments
    results["bare_loop_seconds"] = bare
    results["ratio_to_bare_loop"] = bare / wall
    results["ratio_to_bare_loop_simulation_only"] = bare / sim_only
    print(f"baseline: {attended:,} attended sessions in {wall:.2f} s = {attended / wall:,.0f}/s "
          f"({attended / sim_only:,.0f}/s without building tables)")
    print(f"bare SimPy loop, same {appointments:,} appointments: {bare:.2f} s; ratio {bare / wall:.2f} "
          f"({bare / sim_only:.2f} without tables)")

    queue = queue_mode_against_ciw()
    if queue is None:
        print('queue mode against Ciw: skipped (pip install -e ".[bench]" installs Ciw)')
    else:
        results.update(queue)
        print(f"queue mode, M/M/10 at utilisation 0.9: {1e6 * queue['queue_mode_seconds'] / queue['queue_mode_served']:.1f} "
              f"µs per served client; Ciw {1e6 * queue['ciw_seconds'] / queue['ciw_served']:.1f} µs; "
              f"queue mode at {queue['queue_mode_speed_vs_ciw']:.2f}x Ciw's speed")

    sizes = (50,) if args.quick else (50, 1000)
    per_session = {}
    bare_per = {}
    for n in sizes:
        w, _, a, t = timed_replication(scaled(n))
        per_session[n] = w / a
        b, appts = bare_loop_seconds(t.clients, t.sessions)
        bare_per[n] = b / appts
        results[f"replication_seconds_{n}_therapists"] = w
        results[f"microseconds_per_session_{n}_therapists"] = 1e6 * w / a
        results[f"bare_loop_microseconds_per_appointment_{n}_therapists"] = 1e6 * b / appts
        print(f"{n:5d} therapists: {w:.2f} s per replication, {1e6 * w / a:.2f} µs per attended session "
              f"(bare SimPy loop: {1e6 * b / appts:.2f} µs per appointment)")
        del t
    if 1000 in per_session:
        results["per_session_ratio_1000_to_50"] = per_session[1000] / per_session[50]
        results["bare_loop_ratio_1000_to_50"] = bare_per[1000] / bare_per[50]
        print(f"time per session at 1,000 vs 50 therapists: {per_session[1000] / per_session[50]:.2f}x "
              f"(the bare SimPy loop alone: {bare_per[1000] / bare_per[50]:.2f}x)")
        mem = peak_memory_mib(1000)
        results["peak_memory_mib_1000_therapists"] = mem
        print(f"peak memory, 1,000 therapists, 2 years, all tables: {mem:.0f} MiB")
        study = default_study_seconds()
        results["default_study_seconds"] = study
        print(f"default study (python -m sim): {study:.1f} s")
    # results/bench/last_results/ (untracked), written through the tool's manifest: other commands leave it alone
    write_folder(ROOT / "results" / "bench" / "last_results",
                 lambda tmp: (tmp / "last_results.json").write_text(json.dumps(results, indent=2)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
