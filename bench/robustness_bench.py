"""Robustness throughput (a benchmark, not a test): ``python bench/robustness_bench.py [--draws N]``.

Runs N worlds of the shipped experiment's contrasts and platform (experiments/robustness.yaml: six contrasts,
seven scenarios, one replication each, 50 therapists) serially, with ``--jobs 2`` and on a Dask LocalCluster of
two workers; prints worlds per minute, the 1 -> 2 worker scaling, and what the shipped experiment (both waves
and the repeats) would take on this machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.runs import robustness as rb  # noqa: E402
from sim.runs.safe_output import write_folder  # noqa: E402

SHIPPED = ROOT / "experiments" / "robustness.yaml"


def timed(tasks: list[rb.DrawTask], **backend: object) -> float:
    out = Path(tempfile.mkdtemp(prefix="fm-bench-"))
    try:
        started = time.perf_counter()
        rb.execute(tasks, out, **backend)  # type: ignore[arg-type]
        return time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=6)
    args = parser.parse_args()
    spec = rb.load_experiment(SHIPPED)
    scenarios = rb.scenarios_of(spec, SHIPPED.parent)
    design = rb.make_design(spec, SHIPPED.parent)
    tasks = rb.tasks_of(spec, design, scenarios)
    sample = tasks[: args.draws]
    results: dict[str, float] = {"draws_measured": len(sample), "design_draws": len(tasks),
                                 "parameters": len(design.names)}
    for name, backend in (("serial", {"jobs": 1}), ("jobs_2", {"jobs": 2}), ("dask_local_2", {"dask": "local:2"})):
        seconds = timed(sample, **backend)
        results[f"{name}_seconds"] = seconds
        results[f"{name}_draws_per_minute"] = 60 * len(sample) / seconds
        print(f"{name:13s}: {len(sample)} draws in {seconds:6.1f} s = {60 * len(sample) / seconds:5.2f} paired draws "
              f"per minute ({len(scenarios)} scenarios x {spec.reps} replications each)")
    results["scaling_1_to_2_workers"] = results["serial_seconds"] / results["jobs_2_seconds"]
    runs = len(tasks) + spec.refocused  # the first wave and its repeats, then the second wave
    hours = runs / results["jobs_2_draws_per_minute"] / 60
    results["shipped_experiment_hours_on_2_cores"] = hours
    print(f"scaling 1 -> 2 workers: {results['scaling_1_to_2_workers']:.2f}x (dask: "
          f"{results['serial_seconds'] / results['dask_local_2_seconds']:.2f}x)")
    print(f"shipped experiment: {runs:,} world runs ({len(design.names)} parameters, {spec.sampler} n={spec.n} + "
          f"{spec.refocused} refocused + {spec.repeats} repeats); "
          f"about {hours:,.0f} hours on these 2 cores ({2 * hours:,.0f} worker-hours: about an hour on a "
          f"{2 * hours:,.0f}-worker Dask cluster)")
    # results/bench/robustness/ (untracked), written through the tool's manifest: other commands leave it alone
    write_folder(ROOT / "results" / "bench" / "robustness",
                 lambda tmp: (tmp / "robustness.json").write_text(json.dumps(results, indent=2)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
