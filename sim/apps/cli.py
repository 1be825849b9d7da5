"""Command line: ``python -m sim [run|compare|study|sweep|calibrate] ...`` (see ``--help``).

Bad input of any kind exits with status 2 and a one-paragraph message naming the file, the
field and what is allowed; nothing is written in that case. Ctrl-C exits 130 with one line,
leaving any earlier results as they were.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from sim.analysis.metrics import KPIS
from sim.base.errors import InputError
from sim.base.kpis import format_interval, format_value, label
from sim.base.paths import PROJECT_DIR
from sim.runs import sizing
from sim.runs.outputs import FORMATS, git_commit, parse_tables, table_files, write_run
from sim.runs.runner import run_scenarios
from sim.runs.safe_output import RESULTS, default_folder, prepare, unlock_all, write_folder
from sim.scenario import Scenario, apply_overrides, load_scenario, overridden_name, parse_overrides, safe_name, scenario_path

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class BadInput(InputError):
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


def _port(text: str) -> int:
    """An argparse type: a TCP port a user may listen on."""
    port = _whole_number(1024, "a port from 1024 to 65535")(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1024 to 65535, got {port}")
    return port


def _common(p: argparse.ArgumentParser, out_help: str, tables: bool = True) -> None:
    p.add_argument("--reps", type=_positive_int, help="replications (default: the scenario's own)")
    p.add_argument("--seed", type=_seed, help="master seed (default: the scenario's own)")
    p.add_argument("--out", type=Path, help=out_help)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a scenario value, e.g. --set matching.policy=fit (repeatable)")
    _jobs_force_quiet(p)
    if tables:
        p.add_argument("--tables", default="default", metavar="LIST",
                       help="tables to write: default (clients, therapists, weekly), all (adds the large "
                            "per-session table), none, or a comma list of clients, sessions, therapists, weekly")
        p.add_argument("--format", choices=FORMATS, default="csv",
                       help="table format: csv, or parquet (compressed, needs pyarrow)")


def _jobs_force_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1,
                   help="worker processes (results are identical to a serial run; default: all cores)")
    p.add_argument("--force", action="store_true",
                   help="write into a folder that holds files the tool did not write (they are never touched), "
                        "or run a size beyond the plausibility bound")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (and a pointer to --help) instead of the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m sim", description=(
        "Fifty Minutes: policy simulation of a therapy platform. With no command, runs the default "
        "study and writes charts and a report to results/. The tool replaces only files it wrote itself."))
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="run one scenario and write its tables")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    _common(run, "output folder (default: results/runs/<scenario name>, with the overrides in the name)")
    cmp_ = sub.add_parser("compare", help="paired comparison of scenarios under common random numbers")
    cmp_.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files")
    cmp_.add_argument("--baseline", help="name of the baseline scenario (default: the first)")
    _common(cmp_, "output folder (default: results/compare/<baseline>)")
    study = sub.add_parser("study", help="the default study (same as no command)")
    _common(study, "output folder (default: results)", tables=False)
    sw = sub.add_parser("sweep", help="grids and sensitivity analyses from an experiment file")
    sw.add_argument("experiment", type=Path, help="experiment YAML (see experiments/)")
    sw.add_argument("--out", type=Path, help="output folder (default: results/sweeps/<experiment file name>)")
    _jobs_force_quiet(sw)
    cal = sub.add_parser("calibrate", help="run the default scenarios against the published calibration targets")
    cal.add_argument("--reps", type=_positive_int,
                     help="replications per setting (default 10, sim.views.calibration_report.REPS)")
    cal.add_argument("--seed", type=_seed, help="master seed (default: the scenarios' own)")
    cal.add_argument("--out", type=Path, help="output folder (default: results/calibration)")
    cal.add_argument("--search", type=Path, metavar="SPEC",
                     help="instead, run the recorded parameter search in SPEC (YAML); its log goes to --out "
                          "(default: results/calibration/search-<SPEC name>/log.csv)")
    _jobs_force_quiet(cal)
    rb = sub.add_parser("robustness", help="every contrast over the plausible ranges of the assumptions (Sobol, "
                                           "Morris or LHS; locally or on a Dask cluster; resumable)")
    rb.add_argument("experiment", type=Path, help="robustness experiment YAML (see experiments/robustness*.yaml)")
    rb.add_argument("--out", type=Path, help="run folder (default: results/robustness/<experiment file name>); "
                                             "rerunning into it skips finished draws")
    rb.add_argument("--dask", metavar="ADDRESS", help="run on Dask: local:N (a LocalCluster of N workers) or "
                                                      "tcp://HOST:8786 (an existing scheduler)")
    rb.add_argument("--verify", type=_positive_int, metavar="N", help="do not run: rerun N stored worlds of the "
                    "finished run with this model and compare them exactly; if all agree, record that the run holds "
                    "for this model (after an exact refactor or speed-up)")
    _jobs_force_quiet(rb)
    ex = sub.add_parser("explorer", help="compute the policy explorer's opening view into its cache (the page then "
                                         "opens at once): quality first against the status quo")
    ex.add_argument("--jobs", type=_positive_int, default=2, help="worker processes (default 2)")
    db = sub.add_parser("dashboard", help="serve a dashboard in Voila on this machine (nothing loaded from outside)")
    db.add_argument("which", choices=sorted(DASHBOARDS), help="explorer (platform leaders) or brief (advocates)")
    db.add_argument("--port", type=_port, default=8866, help="port on 127.0.0.1, 1024-65535 (default 8866)")
    db.add_argument("--no-browser", action="store_true", help="do not open a browser")
    reg = sub.add_parser("register", help="rewrite the assumptions register (docs/assumptions.md) from the schema")
    reg.add_argument("--check", action="store_true", help="only say whether the register is current (exit 1 if not)")
    wu = sub.add_parser("warmup", help="choose a warm-up on pilot runs (Welch; MSER-5 beside it), per series")
    wu.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files compared together")
    wu.add_argument("--reps", type=_positive_int, default=5, help="pilot replications per scenario (default 5)")
    wu.add_argument("--seed", type=_seed, help="master seed (default: the scenario's own)")
    wu.add_argument("--force", action="store_true", help="run pilots beyond the plausibility bound of size")
    return p


def cmd_robustness(a: argparse.Namespace) -> None:
    from sim.runs.robustness import summary_lines
    from sim.views.robustness_report import run_robustness

    if a.dask and not (a.dask.startswith("tcp://") or (a.dask.startswith("local:") and a.dask[6:].isdigit()
                                                        and int(a.dask[6:]) >= 1)):
        raise BadInput(f"--dask {a.dask!r}: expected local:N (N >= 1 workers) or tcp://HOST:PORT")
    out = a.out or default_folder("robustness", safe_name(a.experiment.stem))
    if a.verify:
        from sim.views.robustness_report import verify_robustness

        check = verify_robustness(a.experiment, out, a.verify, jobs=a.jobs, dask=a.dask, progress=not a.quiet)
        if check["differ"]:
            raise BadInput(f"--verify: {len(check['differ'])} of {len(check['checked'])} worlds give other numbers with "
                           f"this model (draws {', '.join(map(str, check['differ'][:10]))}): its results have "
                           "changed; rerun with --force")
        print(f"Verified: {len(check['checked'])} stored worlds of {out} rerun to identical rows with this model; "
              f"recorded in {out}/metadata.json (ship it with python -m sim.views.robustness_report --ship {out})")
        return
    result = run_robustness(a.experiment, out, jobs=a.jobs, dask=a.dask, progress=not a.quiet, force=a.force)
    print(f"Robustness: {result['worlds']} worlds, {result['plausible']} of them plausible; {result['draws']} world runs "
          f"({result['ran']} run now, the rest already in {out}/store); verdicts, drivers, plausibility and charts in "
          f"{out}/")
    for line in summary_lines(result["verdicts"], result["drivers"], result["verdicts"]["kpi"].unique()):
        print("  " + line)


def cmd_explorer(a: argparse.Namespace) -> None:
    from sim.apps import explore
    from sim.runs.cache import CACHE_DIR

    started = time.perf_counter()
    result = explore.precompute(jobs=a.jobs)
    print(f"Explorer opening view ready in {time.perf_counter() - started:.0f} s ({result.size}); "
          f"cached in {CACHE_DIR}. Serve the explorer with: python -m sim dashboard explorer")


DASHBOARDS = {"explorer": "01_policy_explorer.ipynb", "brief": "05_investor_brief.ipynb"}


def cmd_dashboard(a: argparse.Namespace) -> None:
    """Voila with the project's template on 127.0.0.1 (:mod:`sim.apps.dashboard_server`); this process becomes
    the server, so stopping or killing it stops the dashboard."""
    from sim.apps.dashboard_server import voila_arguments

    root = PROJECT_DIR
    env = {**os.environ, "JUPYTER_PATH": os.pathsep.join(
        p for p in (str(root / "share" / "jupyter"), os.environ.get("JUPYTER_PATH", "")) if p)}
    command = [sys.executable, "-m", "sim.apps.dashboard_server",
               *voila_arguments(str(root / "notebooks" / DASHBOARDS[a.which]), a.port, open_browser=not a.no_browser)]
    print(f"Preparing the {a.which}'s opening view (cached after the first time)...")
    if a.which == "explorer":
        from sim.apps import explore

        explore.precompute()
    else:
        from sim.views import brief

        brief.drawn(brief.build())  # the numbers and the drawn deck
    print(f"Serving the {a.which} on http://127.0.0.1:{a.port}/ (Ctrl-C stops it)", flush=True)
    unlock_all()
    os.execve(sys.executable, command, env)


def cmd_warmup(a: argparse.Namespace) -> None:
    from sim.runs.warmup import choose_warmup, pilot_scenario

    scenarios = [load_scenario(p) for p in a.scenarios]
    sizing.check_size([(pilot_scenario(sc), a.reps) for sc in scenarios], a.force, "the warm-up pilots")
    choice = choose_warmup(scenarios, reps=a.reps, seed=a.seed)
    print(f"Warm-up: {choice.weeks} weeks ({choice.method}; pilots from an empty platform)")
    for key, weeks in choice.by_series.items():
        note = "  DOES NOT SETTLE" if key in choice.unsettled else ""
        print(f"  {key}: Welch {weeks} weeks, MSER-5 median {choice.mser5[key]} weeks{note}")
    for sc in scenarios:
        print(f"{sc.name}: the scenario sets {sc.horizon.warmup_weeks} weeks"
              + (" (auto)" if sc.horizon.warmup_auto else ""))


def _load(path: Path, overrides: dict[str, Any], rename: bool) -> Scenario:
    """A scenario with command-line overrides; its description (and with ``rename`` its name) says which."""
    sc = load_scenario(path)
    if not overrides:
        return sc
    changed = apply_overrides(sc, overrides)
    said = ", ".join(f"{k}={v}" for k, v in overrides.items())
    update = {"description": f"{sc.description} (overrides: {said})".strip()}
    if rename:
        update["name"] = overridden_name(sc.name, overrides)
    return changed.model_copy(update=update)


def check_size(scenarios: list[Scenario], reps: int | None, force: bool) -> None:
    """The one size guard (:func:`sim.runs.sizing.check_size`) for scenarios run ``reps`` times each."""
    sizing.check_size([(sc, reps or sc.replications) for sc in scenarios], force)


def _print_summary(summary: pd.DataFrame, currency: str) -> None:
    wide = summary[summary["kpi"].isin(KPIS)].copy()
    wide["value"] = [f"{format_value(k, m, currency)} {format_interval(k, lo, hi, currency)}"
                     for k, m, lo, hi in zip(wide["kpi"], wide["mean"], wide["ci_low"], wide["ci_high"], strict=True)]
    table = wide.pivot(index="kpi", columns="scenario", values="value").reindex(KPIS)
    table.index = [label(k) for k in table.index]
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(table.to_string())


def _tables(a: argparse.Namespace) -> tuple[str, ...]:
    tables = parse_tables(a.tables)
    if a.format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise BadInput("--format parquet needs pyarrow: pip install pyarrow") from None
    return tables


def cmd_run(a: argparse.Namespace) -> None:
    tables = _tables(a)
    sc = _load(a.scenario, parse_overrides(a.overrides), rename=True)
    out = a.out or default_folder("runs", sc.name)
    check_size([sc], a.reps, a.force)
    prepare(out, a.force, table_files(tables, a.format))
    result = run_scenarios([sc], reps=a.reps, seed=a.seed, jobs=a.jobs, keep=tables, progress=not a.quiet)
    size = write_run(result, out, tables=tables, fmt=a.format, force=a.force)
    print(f"Scenario {sc.name}: {len(result.replications)} replications; {size} written to {out}/")
    _print_summary(result.summary, sc.money.currency)


def cmd_compare(a: argparse.Namespace) -> None:
    tables = _tables(a)
    overrides = parse_overrides(a.overrides)
    scenarios = [_load(p, overrides, rename=False) for p in a.scenarios]
    names = [s.name for s in scenarios]
    if len(names) < 2:
        raise BadInput(f"compare needs at least two scenario files, got {len(names)}; to run one, use: python -m sim run "
                       f"{a.scenarios[0]}")
    if len(set(names)) != len(names):
        raise BadInput(f"scenario names must be distinct, got {names} (set `name:` in each file)")
    baseline = a.baseline or names[0]
    if baseline not in names:
        raise BadInput(f"--baseline {baseline!r} is not one of the scenarios; allowed: {', '.join(names)}")
    out = a.out or default_folder("compare", overridden_name(baseline, overrides))
    check_size(scenarios, a.reps, a.force)
    prepare(out, a.force, table_files(tables, a.format))
    result = run_scenarios(scenarios, reps=a.reps, seed=a.seed, jobs=a.jobs, keep=tables, progress=not a.quiet)
    size = write_run(result, out, comparison_baseline=baseline, tables=tables, fmt=a.format, force=a.force)
    from sim.views.study import comparison_table
    print(f"Paired comparison against {baseline} ({len(result.replications) // len(names)} replications each; "
          f"{size} written to {out}/)")
    with pd.option_context("display.max_colwidth", 60, "display.width", 250):
        print(comparison_table(result, baseline).to_string())


def cmd_study(a: argparse.Namespace) -> None:
    from sim.views.study import busy_scenarios, default_scenarios, run_default_study

    out = a.out or RESULTS
    check_size([*default_scenarios(a.overrides), *busy_scenarios(a.overrides)], a.reps, a.force)
    prepare(out, a.force)
    result, table = run_default_study(out, reps=a.reps, seed=a.seed, jobs=a.jobs, overrides=a.overrides,
                                      progress=not a.quiet, force=a.force)
    n = int(result.replications.groupby("scenario").size().min())
    print(f"Default study: {n} replications per scenario; mean [95% interval]; in brackets the paired difference from "
          f"baseline, marked for headline measures (Holm-adjusted): + better, - worse, ~ negligible or no clear "
          f"difference. Report, charts and tables in {out}/")
    with pd.option_context("display.max_colwidth", 60, "display.width", 250):
        print(table.to_string())


def cmd_calibrate(a: argparse.Namespace) -> None:
    if a.search is not None:
        from sim.runs.calibration_search import search

        search(a.search, a.out or default_folder("calibration", "search-" + safe_name(a.search.stem)), jobs=a.jobs,
               force=a.force)
        return
    from sim.runs.calibration import PROBES, SETTINGS, format_table
    from sim.runs.policy_response import format_responses, lever_arms
    from sim.views.calibration_report import REPS, run_calibration, specialty_line

    reps = a.reps or REPS
    settings = {name: load_scenario(scenario_path(file)) for name, file in SETTINGS.items()}
    runs = [*settings.values(), *(apply_overrides(settings[s], o) for (s, _), o in PROBES.items() if s in settings),
            settings["us_platform"], *lever_arms(settings["us_platform"]).values()]  # the policy-response runs
    check_size(runs, reps, a.force)
    default_weight = settings["us_platform"].therapists.specialty_prevalence_weight
    out = a.out or default_folder("calibration")
    prepare(out, a.force)
    result, responses, specialties = run_calibration(out, reps=reps, seed=a.seed, jobs=a.jobs, progress=not a.quiet,
                                                     force=a.force)
    print(f"Calibration: {int(result['inside'].sum())} of {len(result)} targets inside their bands "
          f"({reps} replications per setting). Report and charts in {out}/")
    with pd.option_context("display.max_colwidth", 70, "display.width", 250):
        print(format_table(result).drop(columns="source").to_string(index=False))
        print(f"\nPolicy responses: {int(responses['inside'].sum())} of {len(responses)} levers inside the published "
              "band (the status quo with one lever on, paired):")
        print(format_responses(responses).to_string(index=False))
    print(f"\nDeclared specialties against a therapist directory: {specialty_line(specialties, default_weight)}")


def cmd_sweep(a: argparse.Namespace) -> None:
    from sim.runs.outputs import metadata_for
    from sim.runs.sweep import contrast_findings, planned_runs, prepare_experiment, run_experiment

    spec, base = prepare_experiment(a.experiment)
    sizing.check_size(planned_runs(spec, base, a.experiment), a.force, f"the sweep {a.experiment}")
    out = a.out or default_folder("sweeps", safe_name(a.experiment.stem))
    prepare(out, a.force)
    started = time.perf_counter()
    kind, table = run_experiment(a.experiment, jobs=a.jobs, progress=not a.quiet)

    findings = contrast_findings(table) if kind == "one_way_contrast" else []

    def fill(tmp: Path) -> None:
        table.to_csv(tmp / f"{kind}.csv", index=False)
        if findings:
            title = (f"# What {Path(spec.scenario).stem} against {Path(str(spec.compare_to)).stem} depends on "
                     f"({spec.reps} replications per point, one assumption at a time)")
            (tmp / "findings.md").write_text("\n".join([title, "", *(f"- {line}" for line in findings)]) + "\n")
        meta = metadata_for(None, seed=base.seed if spec.seed is None else spec.seed, replications=spec.reps,
                            wall_seconds=round(time.perf_counter() - started, 3), experiment=str(a.experiment),
                            kind=kind, points=int(table["point"].nunique()) if "point" in table else None)
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))

    write_folder(out, fill, force=a.force)
    print(f"{kind} sweep of {a.experiment}: {len(table)} rows in {out}/{kind}.csv")
    if findings:
        print("\n".join(findings))
        return
    with pd.option_context("display.width", 250, "display.max_rows", 60):
        print(table.to_string(index=False))


def cmd_register(a: argparse.Namespace) -> None:
    from sim.apps import register

    code = register.main(check=a.check)
    if code:
        raise SystemExit(code)


COMMANDS = {"register": cmd_register, "run": cmd_run, "compare": cmd_compare, "study": cmd_study, "calibrate": cmd_calibrate,
            "sweep": cmd_sweep, "warmup": cmd_warmup, "robustness": cmd_robustness, "explorer": cmd_explorer,
            "dashboard": cmd_dashboard}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["study", *argv]  # no command: the default study (its options allowed)
    try:
        args = parser().parse_args(argv)
        git_commit()  # read now: outputs written at the end name the code that ran, not a later commit
        COMMANDS[args.command](args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into e.g. `head`: results are written; stop printing quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: nothing was written (any earlier results are as they were)", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        unlock_all()
    return 0
