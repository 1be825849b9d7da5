"""Command line: ``python -m sim [run|compare|study|calibrate|register] ...`` (see ``--help``).

Bad input of any kind exits with status 2 and a one-paragraph message naming the field and
what is allowed; nothing is written in that case.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sim.metrics import KPIS
from sim.outputs import OutputError, check_target, write_run
from sim.runner import run_scenarios
from sim.scenario import Scenario, ScenarioError, load_scenario

EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """User input the command cannot use."""


def _whole_number(minimum: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``; the message says what is allowed."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


_positive_int = _whole_number(1, "a whole number of at least 1")
_seed = _whole_number(0, "a non-negative whole number")


def _common(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("--reps", type=_positive_int, help="replications (default: the scenario's own)")
    p.add_argument("--seed", type=_seed, help="master seed (default: the scenario's own)")
    p.add_argument("--out", type=Path, help=out_help)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a scenario value, e.g. --set matching.policy=fit (repeatable)")
    p.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1,
                   help="worker processes (results are identical to a serial run; default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sim", description=(
        "Fifty Minutes: policy simulation of a therapy platform. With no command, runs the default "
        "study (four headline policy cells and the league table) and writes charts and a report to results/."))
    sub = p.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run one scenario and write its tables")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    _common(run, "output folder (default: results/runs/<scenario name>)")
    cmp_ = sub.add_parser("compare", help="paired comparison of scenarios under common random numbers")
    cmp_.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files")
    cmp_.add_argument("--baseline", help="name of the baseline scenario (default: the first)")
    _common(cmp_, "output folder (default: results/compare/<baseline>)")
    study = sub.add_parser("study", help="the default study (same as no command)")
    _common(study, "output folder (default: results)")
    sw = sub.add_parser("sweep", help="grids and sensitivity analyses from an experiment file")
    sw.add_argument("experiment", type=Path, help="experiment YAML (see experiments/)")
    sw.add_argument("--out", type=Path, help="output folder (default: results/sweeps/<experiment name>)")
    sw.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1, help="worker processes")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    cal = sub.add_parser("calibrate", help="run the default scenarios against the published calibration targets")
    cal.add_argument("--reps", type=_positive_int, default=5, help="replications per setting (default 5)")
    cal.add_argument("--seed", type=_seed, help="master seed (default: the scenarios' own)")
    cal.add_argument("--out", type=Path, default=Path("results") / "calibration", help="output folder")
    cal.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1, help="worker processes")
    cal.add_argument("--search", type=Path, metavar="SPEC",
                     help="instead, run the recorded parameter search in SPEC (YAML); log beside it")
    cal.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _load(path: Path, overrides: list[str]) -> Scenario:
    if not path.exists():
        raise ScenarioError(f"scenario file not found: {path}")
    return load_scenario(path, overrides)


def _print_summary(summary: pd.DataFrame) -> None:
    wide = summary[summary["kpi"].isin(KPIS)].copy()
    wide["value"] = [f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for m, lo, hi in zip(wide["mean"], wide["ci_low"],
                                                                          wide["ci_high"])]
    table = wide.pivot(index="kpi", columns="scenario", values="value").reindex(KPIS)
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(table.to_string())


def cmd_run(a: argparse.Namespace) -> None:
    sc = _load(a.scenario, a.overrides)
    out = a.out or Path("results") / "runs" / sc.name
    check_target(out)
    result = run_scenarios([sc], reps=a.reps, seed=a.seed, jobs=a.jobs, progress=not a.quiet)
    write_run(result, out)
    print(f"Scenario {sc.name}: {len(result.replications)} replications; tables in {out}/")
    _print_summary(result.summary)


def cmd_compare(a: argparse.Namespace) -> None:
    scenarios = [_load(p, a.overrides) for p in a.scenarios]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise BadInput(f"scenario names must be distinct, got {names} (set `name:` in each file)")
    baseline = a.baseline or names[0]
    if baseline not in names:
        raise BadInput(f"--baseline {baseline!r} is not one of the scenarios; allowed: {', '.join(names)}")
    out = a.out or Path("results") / "compare" / baseline
    check_target(out)
    result = run_scenarios(scenarios, reps=a.reps, seed=a.seed, jobs=a.jobs, progress=not a.quiet)
    write_run(result, out, comparison_baseline=baseline)
    from sim.study import comparison_table
    print(f"Paired comparison against {baseline} ({len(result.replications) // len(names)} replications each; "
          f"tables in {out}/)")
    with pd.option_context("display.max_colwidth", 60, "display.width", 250):
        print(comparison_table(result, baseline).to_string())


def cmd_study(a: argparse.Namespace) -> None:
    from sim.study import run_default_study

    out = a.out or Path("results")
    result, table = run_default_study(out, reps=a.reps, seed=a.seed, jobs=a.jobs, overrides=a.overrides,
                                      progress=not a.quiet)
    n = int(result.replications.groupby("scenario").size().min())
    print(f"Default study: {n} replications per scenario, paired differences from baseline in brackets "
          f"(* = 95% interval excludes 0). Report, charts and tables in {out}/")
    with pd.option_context("display.max_colwidth", 60, "display.width", 250):
        print(table.to_string())


def cmd_calibrate(a: argparse.Namespace) -> None:
    if a.search is not None:
        from sim.calibration_search import search

        if not a.search.is_file():
            raise BadInput(f"--search {a.search}: file not found")
        search(a.search, a.search.with_name(a.search.stem + "_log.csv"), jobs=a.jobs)
        return
    from sim.calibration import format_table, run_calibration

    result = run_calibration(a.out, reps=a.reps, seed=a.seed, jobs=a.jobs, progress=not a.quiet)
    print(f"Calibration: {int(result['inside'].sum())} of {len(result)} targets inside their bands "
          f"({a.reps} replications per setting). Report and charts in {a.out}/")
    with pd.option_context("display.max_colwidth", 70, "display.width", 250):
        print(format_table(result).drop(columns="source").to_string(index=False))


def cmd_sweep(a: argparse.Namespace) -> None:
    from sim.outputs import git_commit, versions, write_atomically
    from sim.sweep import run_experiment

    if not a.experiment.is_file():
        raise BadInput(f"experiment file not found: {a.experiment}")
    out = a.out or Path("results") / "sweeps" / a.experiment.stem
    check_target(out)
    kind, table = run_experiment(a.experiment, jobs=a.jobs, progress=not a.quiet)
    def fill(tmp: Path) -> None:
        table.to_csv(tmp / f"{kind}.csv", index=False)
        (tmp / "metadata.json").write_text(json.dumps({"experiment": str(a.experiment), "kind": kind,
                                                       "versions": versions(), "git_commit": git_commit()}, indent=2))

    write_atomically(out, fill)
    print(f"{kind} sweep of {a.experiment}: {len(table)} rows in {out}/{kind}.csv")
    with pd.option_context("display.width", 250, "display.max_rows", 60):
        print(table.to_string(index=False))


COMMANDS = {"run": cmd_run, "compare": cmd_compare, "study": cmd_study, "calibrate": cmd_calibrate,
            "sweep": cmd_sweep}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["study", *argv]  # no command: the default study (its options allowed)
    args = parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except (ScenarioError, OutputError, BadInput) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0
