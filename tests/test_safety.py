"""A user's files are never lost, and every bad input gets exit 2 with a message naming the field.

Table-driven bad inputs run the command line in-process (fast); the kill, Ctrl-C and
worker tests run it as a real process.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.apps import cli
from sim.runs.safe_output import MANIFEST, OutputError, clean_stale, foreign_entries, read_manifest, write_folder
from tests.conftest import ROOT, SCENARIOS

TINY = ["--set", "horizon.warmup_weeks=1", "--set", "horizon.measured_weeks=3", "--set", "therapists.count=4",
        "--set", "demand.arrivals_per_week=12"]
BASE = str(SCENARIOS / "baseline.yaml")


def tree(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` with a hash of its content (and the folders, as empty entries)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return out


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


# ---------------------------------------------------------------------------------------
# Bad inputs: (name, setup(tmp) -> argv, fragment that must appear in the message)

Setup = Callable[[Path], list[str]]


def scenario_file(text: str | bytes, name: str = "s.yaml") -> Setup:
    return lambda tmp: ["run", str(write(tmp / "in" / name, text))]


def run_with(*args: str) -> Setup:
    return lambda tmp: ["run", BASE, *args]


def sweep_file(text: str) -> Setup:
    return lambda tmp: ["sweep", str(write(tmp / "in" / "exp.yaml", text))]


def search_file(text: str) -> Setup:
    return lambda tmp: ["calibrate", "--search", str(write(tmp / "in" / "spec.yaml", text))]


def extends_to(target_text: str | bytes | None, target: str = "parent.yaml") -> Setup:
    def make(tmp: Path) -> list[str]:
        if target_text is not None:
            write(tmp / "in" / target, target_text)
        return ["run", str(write(tmp / "in" / "child.yaml", f"extends: {json.dumps(target)}\nname: child\n"))]
    return make


def fifo(tmp: Path) -> list[str]:
    path = tmp / "in" / "pipe.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return ["run", str(path)]


def folder_as_scenario(tmp: Path) -> list[str]:
    (tmp / "in" / "dir.yaml").mkdir(parents=True)
    return ["run", str(tmp / "in" / "dir.yaml")]


def out_is_file(tmp: Path) -> list[str]:
    return ["run", BASE, *TINY, "--out", str(write(tmp / "in" / "afile", "x"))]


def out_under_file(tmp: Path) -> list[str]:
    return ["run", BASE, *TINY, "--out", str(write(tmp / "in" / "afile", "x") / "sub")]


GOOD_SWEEP = "scenario: {scenario}\nreps: 1\n"
SC = json.dumps(BASE)

BAD_INPUTS: list[tuple[str, Setup, str]] = [
    # scenario files
    ("not UTF-8", scenario_file(b"name: caf\xe9\n"), "not UTF-8"),
    ("NUL byte", scenario_file(b"name: a\x00b\n"), "NUL"),
    ("not YAML", scenario_file("a: [unclosed\n"), "not valid YAML"),
    ("duplicate key", scenario_file("name: a\nname: b\n"), "duplicate key 'name'"),
    ("unsafe tag", scenario_file("name: !!python/object/apply:os.system ['true']\n"), "explicit YAML tags"),
    ("nested 600 deep", scenario_file("a: " + "[" * 600 + "]" * 600 + "\n"), "nested"),
    ("top level list", scenario_file("- a\n- b\n"), "top level must be a mapping"),
    ("unknown key", scenario_file("capacity:\n  polcy: individual\n"), "capacity.polcy: unknown key"),
    ("bool for int count", scenario_file("therapists:\n  count: true\n"), "therapists.count: expected a whole number"),
    ("bool for replications", scenario_file("replications: true\n"), "replications: expected a whole number"),
    ("NaN", scenario_file("demand:\n  arrivals_per_week: .nan\n"), "demand.arrivals_per_week: not a number"),
    ("infinity", scenario_file("demand:\n  arrivals_per_week: .inf\n"), "demand.arrivals_per_week: not a number"),
    ("text for number", scenario_file("demand:\n  arrivals_per_week: lots\n"), "demand.arrivals_per_week"),
    ("fraction for whole", scenario_file("horizon:\n  measured_weeks: 2.5\n"), "horizon.measured_weeks"),
    ("section as number", scenario_file("demand: 5\n"), "demand: expected a section"),
    ("name ..", scenario_file("name: '..'\n"), "not a safe name"),
    ("empty name", scenario_file("name: ''\n"), "not a safe name"),
    ("name escapes", scenario_file("name: ../../escaped\n"), "not a safe name"),
    ("unknown policy", scenario_file("capacity:\n  policy: quota\n"), "allowed: team_quota"),
    ("too large", scenario_file("# " + "x" * 1_100_000 + "\n"), "larger than"),
    ("folder as scenario", folder_as_scenario, "is a folder"),
    ("pipe as scenario", fifo, "not a regular file"),
    ("missing scenario", lambda tmp: ["run", str(tmp / "nope.yaml")], "not found"),
    ("extends missing", extends_to(None), "not found"),
    ("extends over-long name", extends_to(None, "x" * 5000 + ".yaml"), "cannot be opened"),
    ("extends NUL", extends_to(None, "a\x00b.yaml"), "cannot be opened"),
    ("extends not YAML", extends_to("secret_token: [unclosed\n"), "parent.yaml: not valid YAML"),
    ("extends not UTF-8", extends_to(b"\xff\xfe"), "not UTF-8"),
    ("extends a number", scenario_file("extends: 5\n"), "'extends' must be"),
    # --set
    ("--set no =", run_with("--set", "novalue"), "key.path=value"),
    ("--set unknown", run_with("--set", "matching.polcy=fit"), "unknown key matching.polcy"),
    ("--set policy", run_with("--set", "matching.policy=nearest"), "allowed: earliest, fit, hybrid"),
    ("--set negative", run_with("--set", "demand.arrivals_per_week=-1"), "demand.arrivals_per_week"),
    ("--set nan", run_with("--set", "demand.arrivals_per_week=nan"), "not a number"),
    ("--set text for int", run_with("--set", "horizon.measured_weeks=ten"), "horizon.measured_weeks: expected a whole"),
    ("--set bool for int", run_with("--set", "therapists.count=true"), "therapists.count"),
    ("--set section typo", run_with("--set", "demand={arrivals_per_weak: 20}"), "demand.arrivals_per_weak"),
    ("--set bad YAML", run_with("--set", "therapy.session_cap=[1"), "--set"),
    ("--set into a value", run_with("--set", "seed.x=1"), "seed is not a scenario section"),
    # plausibility
    ("100000 therapists", run_with("--set", "therapists.count=100000"), "plausibility bound"),
    ("a million arrivals", run_with("--set", "demand.arrivals_per_week=1000000"), "plausibility bound"),
    ("2600 measured weeks", run_with("--set", "horizon.measured_weeks=2600"), "--force"),
    # options
    ("--reps 0", run_with("--reps", "0"), "--reps"),
    ("--reps two", run_with("--reps", "two"), "--reps"),
    ("--seed -1", run_with("--seed", "-1"), "--seed"),
    ("--tables", run_with("--tables", "sesions"), "allowed: clients, sessions"),
    ("--format", run_with("--format", "xlsx"), "--format"),
    ("unknown command", lambda tmp: ["frobnicate"], "invalid choice"),
    ("compare same names", lambda tmp: ["compare", BASE, BASE], "distinct"),
    ("compare --baseline", lambda tmp: ["compare", BASE, str(SCENARIOS / "fit_quota.yaml"), "--baseline", "zzz"],
     "--baseline"),
    # output folders
    ("--out is a file", out_is_file, "not a folder"),
    ("--out under a file", out_under_file, "is a file"),
    ("--out in /proc", run_with(*TINY, "--out", "/proc/fifty-minutes-test"), "cannot be written"),
    # sweep experiment files
    ("sweep missing", lambda tmp: ["sweep", str(tmp / "none.yaml")], "not found"),
    ("sweep bad YAML", sweep_file("reps: [\n"), "not valid YAML"),
    ("sweep unsafe tag", sweep_file("scenario: !!python/name:os.system\n"), "explicit YAML tags"),
    ("sweep reps two", sweep_file(f"scenario: {SC}\nreps: two\ngrid: {{capacity.policy: [individual]}}\n"), "reps"),
    ("sweep reps 0", sweep_file(f"scenario: {SC}\nreps: 0\ngrid: {{capacity.policy: [individual]}}\n"), "reps"),
    ("sweep grid list", sweep_file(f"scenario: {SC}\ngrid: [1, 2]\n"), "grid"),
    ("sweep scalar grid", sweep_file(f"scenario: {SC}\ngrid: {{capacity.policy: individual}}\n"), "grid.capacity.policy"),
    ("sweep two_way no y", sweep_file(f"scenario: {SC}\ntwo_way: {{x: {{capacity.quota_per_day: [4, 5]}}}}\n"),
     "two_way.y"),
    ("sweep no design", sweep_file(f"scenario: {SC}\n"), "exactly one of grid"),
    ("sweep unknown key", sweep_file(f"scenario: {SC}\nrepz: 2\ngrid: {{capacity.policy: [individual]}}\n"), "repz"),
    ("sweep unknown parameter", sweep_file(f"scenario: {SC}\ngrid: {{capacity.polcy: [individual]}}\n"),
     "capacity.polcy"),
    ("sweep bad value", sweep_file(f"scenario: {SC}\ngrid: {{capacity.policy: [quota]}}\n"), "capacity.policy"),
    ("sweep no range", sweep_file(f"scenario: {SC}\none_way: [matching.policy]\n"), "no sensitivity range"),
    ("sweep top level list", sweep_file("- 1\n"), "top level"),
    ("sweep compare_to with a grid", sweep_file(f"scenario: {SC}\ncompare_to: {SC}\ngrid: {{capacity.policy: [individual]}}\n"),
     "compare_to: only with one_way"),
    ("sweep compare_to missing", sweep_file(f"scenario: {SC}\ncompare_to: nowhere.yaml\none_way: [therapy.no_show_prob]\n"),
     "nowhere.yaml"),
    # robustness experiment files
    ("robustness no contrasts", lambda tmp: ["robustness", str(write(tmp / "in" / "r.yaml", "sampler: sobol\n"))],
     "contrasts"),
    ("robustness bad sampler", lambda tmp: ["robustness", str(write(tmp / "in" / "r.yaml",
     f"sampler: grid\ncontrasts: [{{policy: {SC}, reference: {SC}}}]\n"))], "sampler"),
    ("robustness unknown kpi", lambda tmp: ["robustness", str(write(tmp / "in" / "r.yaml",
     f"kpis: [happiness]\ncontrasts: [{{policy: {SC}, reference: {SC}}}]\n"))], "happiness"),
    ("robustness --dask", lambda tmp: ["robustness", str(ROOT / "experiments" / "robustness_smoke.yaml"), "--dask",
                                       "local:x"], "--dask"),
    # calibration search specs
    ("search empty", search_file(""), "setting"),
    ("search no params", search_file(f"setting: us_platform\nscenario: {SC}\nreps: 1\n"), "params"),
    ("search bad setting", search_file(f"setting: mars\nscenario: {SC}\nreps: 1\nparams: {{therapy.no_show_prob: [0.1]}}\n"),
     "mars"),
    ("search bad candidate", search_file(f"setting: us_platform\nscenario: {SC}\nreps: 1\n"
                                         "params: {therapy.no_show_prob: [2.0]}\n"), "therapy.no_show_prob"),
]


def test_there_are_at_least_forty_bad_inputs():
    assert len(BAD_INPUTS) >= 40


@pytest.mark.parametrize("name, setup, fragment", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_naming_the_problem_and_touches_nothing(tmp_path: Path, monkeypatch, capsys,
                                                                    name: str, setup: Setup, fragment: str):
    monkeypatch.chdir(tmp_path)  # default output paths land here, if anything were written
    monkeypatch.setenv("SIM_NO_PROGRESS", "1")
    argv = setup(tmp_path)
    before = tree(tmp_path)
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert fragment in err, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3, err  # one message (argparse adds a usage line)
    assert tree(tmp_path) == before


def test_a_non_yaml_parent_is_not_echoed_into_the_message(tmp_path: Path, capsys):
    argv = extends_to("secret_token: [unclosed\n")(tmp_path)
    assert cli.main(argv) == 2
    assert "secret_token" not in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# Output safety


def run_cli(*args: str) -> int:
    os.environ["SIM_NO_PROGRESS"] = "1"
    try:
        return cli.main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.fixture(scope="module")
def _study_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """R: a study, a run in R/runs/tiny and a user's notes, as in the reported data loss (made once per module)."""
    r = tmp_path_factory.mktemp("study") / "R"
    assert run_cli("study", *TINY, "--reps", "1", "--jobs", "1", "--out", str(r)) == 0
    assert run_cli("run", BASE, *TINY, "--reps", "1", "--jobs", "1", "--out", str(r / "runs" / "tiny")) == 0
    write(r / "my_notes.md", "my notes")
    write(r / "runs" / "tiny" / "notes.txt", "mine too")
    return r


@pytest.fixture
def study_folder(_study_once: Path, tmp_path: Path) -> Path:
    """A fresh copy of R for each test (the tests change it)."""
    return Path(shutil.copytree(_study_once, tmp_path / "R"))


def test_every_command_pointed_at_a_study_keeps_every_file(study_folder: Path, tmp_path: Path, capsys):
    r = study_folder
    before = tree(r)
    experiment = write(tmp_path / "exp.yaml", f"scenario: {SC}\nreps: 1\nset: {json.dumps(TINY[1::2])}\n"
                                              "grid: {capacity.policy: [team_quota, individual]}\n")
    commands = [["run", BASE, *TINY, "--out", str(r)],
                ["compare", BASE, str(SCENARIOS / "fit_quota.yaml"), *TINY, "--out", str(r)],
                ["study", *TINY, "--out", str(r)],
                ["sweep", str(experiment), "--out", str(r)],
                ["calibrate", "--out", str(r)],
                ["run", BASE, *TINY, "--out", str(r / "runs" / "tiny")]]
    for argv in commands:
        assert run_cli(*argv, "--reps", "1", "--jobs", "1") == 2 if argv[0] != "sweep" else run_cli(*argv) == 2
        assert "did not write" in capsys.readouterr().err
        assert tree(r) == before, argv


def test_force_writes_beside_foreign_files_and_replaces_only_its_own(study_folder: Path):
    r = study_folder
    user = {"my_notes.md": (r / "my_notes.md").read_text()}
    earlier_run = tree(r / "runs" / "tiny")
    assert run_cli("run", BASE, *TINY, "--reps", "1", "--jobs", "1", "--force", "--out", str(r)) == 0
    assert (r / "my_notes.md").read_text() == user["my_notes.md"]
    assert tree(r / "runs" / "tiny") == earlier_run
    assert (r / "report.md").exists()  # the study's own files that the run did not write stay
    assert (r / "clients.csv").exists() and "clients.csv" in read_manifest(r)
    assert foreign_entries(r) == ["my_notes.md", "runs/"]  # runs/tiny holds the notes.txt
    # a run folder with a user's note: --force replaces the tables, keeps the note
    tiny = r / "runs" / "tiny"
    assert run_cli("run", BASE, *TINY, "--reps", "1", "--jobs", "1", "--force", "--seed", "5", "--out", str(tiny)) == 0
    assert (tiny / "notes.txt").read_text() == "mine too"
    assert json.loads((tiny / "metadata.json").read_text())["seed"] == 5


def test_force_never_replaces_a_users_file_of_the_same_name(tmp_path: Path, capsys):
    out = tmp_path / "study"
    write(out / "report.md", "my own report")
    assert run_cli("study", *TINY, "--reps", "1", "--jobs", "1", "--force", "--out", str(out)) == 2
    assert "report.md" in capsys.readouterr().err
    assert (out / "report.md").read_text() == "my own report"
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]


def test_an_edited_file_becomes_the_users(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert run_cli("run", BASE, *TINY, "--reps", "1", "--jobs", "1", "--out", str(out)) == 0
    time.sleep(0.01)
    with (out / "summary.csv").open("a") as f:
        f.write("# my remark\n")
    assert run_cli("run", BASE, *TINY, "--reps", "1", "--jobs", "1", "--out", str(out)) == 2
    assert "summary.csv" in capsys.readouterr().err


def test_a_rerun_replaces_an_earlier_run_completely(tmp_path: Path):
    out = tmp_path / "run"
    assert run_cli("run", BASE, *TINY, "--reps", "1", "--jobs", "1", "--tables", "all", "--out", str(out)) == 0
    assert (out / "sessions.csv").exists()
    assert run_cli("run", BASE, *TINY, "--reps", "1", "--jobs", "1", "--out", str(out)) == 0
    assert not (out / "sessions.csv").exists()  # the old run's file went with it: it was the tool's
    assert foreign_entries(out) == [] and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_overrides_never_land_in_the_folder_of_the_plain_run(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_cli("run", BASE, *TINY, "--reps", "1", "--jobs", "1") == 0
    assert run_cli("run", BASE, *TINY, "--set", "matching.policy=fit", "--reps", "1", "--jobs", "1") == 0
    runs = sorted(p.name for p in (tmp_path / "results" / "runs").iterdir())
    assert len(runs) == 2 and "baseline" not in runs  # TINY is itself an override
    fit = [p for p in (tmp_path / "results" / "runs").iterdir() if "matching.policy=fit" in (p / "scenario.yaml").read_text()]
    assert len(fit) == 1
    assert f"name: {fit[0].name}" in (fit[0] / "scenario.yaml").read_text()
    assert "written to" in capsys.readouterr().out


def test_parquet_tables_and_sizes(tmp_path: Path, capsys):
    import pandas as pd

    out = tmp_path / "pq"
    assert run_cli("run", BASE, *TINY, "--reps", "1", "--jobs", "1", "--tables", "sessions,weekly", "--format",
                   "parquet", "--out", str(out)) == 0
    assert pd.read_parquet(out / "sessions.parquet")["attended"].sum() > 0
    assert not (out / "clients.csv").exists() and not (out / "clients.parquet").exists()
    assert " kB written to" in capsys.readouterr().out or " MB written to" in capsys.readouterr().out


def test_files_follow_the_umask(tmp_path: Path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        write_folder(out, lambda tmp: (tmp / "a.csv").write_text("x"))
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755
    assert (out / "a.csv").stat().st_mode & 0o777 == 0o644


def test_metadata_has_seed_replications_command_and_time_for_every_command(study_folder: Path, tmp_path: Path):
    run_meta = json.loads((study_folder / "runs" / "tiny" / "metadata.json").read_text())
    study_meta = json.loads((study_folder / "metadata.json").read_text())
    experiment = write(tmp_path / "exp.yaml", f"scenario: {SC}\nreps: 2\nseed: 9\nset: {json.dumps(TINY[1::2])}\n"
                                              "grid: {capacity.policy: [team_quota]}\n")
    assert run_cli("sweep", str(experiment), "--jobs", "1", "--out", str(tmp_path / "sw")) == 0
    sweep_meta = json.loads((tmp_path / "sw" / "metadata.json").read_text())
    for meta in (run_meta, study_meta, sweep_meta):
        assert isinstance(meta["seed"], int) and isinstance(meta["replications"], int), meta
        assert meta["wall_seconds"] > 0 and meta["command"] and meta["versions"]["simpy"]
    assert sweep_meta["seed"] == 9 and sweep_meta["replications"] == 2


def test_stale_temporary_folders_are_cleaned_and_an_old_run_put_back(tmp_path: Path):
    out = tmp_path / "run"
    write_folder(out, lambda tmp: (tmp / "a.csv").write_text("old"))
    partial = tmp_path / ".run.fm-tmp-dead"
    write(partial / ".fifty-minutes-partial", "")
    write(partial / "a.csv", "half")
    aside = tmp_path / ".run.fm-old-dead"
    out.rename(aside)  # a kill between the two renames of the fallback swap
    clean_stale(out)
    assert (out / "a.csv").read_text() == "old" and not partial.exists() and not aside.exists()


def test_fallback_swap_without_renameat2(tmp_path: Path, monkeypatch):
    from sim.runs import safe_output

    monkeypatch.setattr(safe_output, "_exchange", lambda a, b: False)
    out = tmp_path / "run"
    write_folder(out, lambda tmp: (tmp / "a.csv").write_text("old"))
    write_folder(out, lambda tmp: (tmp / "b.csv").write_text("new"))
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "b.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


# ---------------------------------------------------------------------------------------
# Real processes: SIGKILL while writing, Ctrl-C, workers of a killed parent

ENV = {"SIM_NO_PROGRESS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
MEDIUM = ["--set", "horizon.warmup_weeks=2", "--set", "horizon.measured_weeks=30", "--set", "therapists.count=40",
          "--set", "demand.arrivals_per_week=160"]


def complete(folder: Path) -> bool:
    """A run folder whose every listed file is present and unchanged, with metadata."""
    manifest = read_manifest(folder)
    return bool(manifest) and "metadata.json" in manifest and foreign_entries(folder) == []


@pytest.mark.slow
def test_sigkill_at_any_moment_leaves_the_old_run_or_the_new_one(tmp_path: Path):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "sim", "run", BASE, *MEDIUM, "--reps", "1", "--jobs", "1", "--tables", "all",
            "--out", str(out)]
    subprocess.run([*args, "--seed", "1"], env=ENV, cwd=ROOT, check=True, capture_output=True, timeout=300)
    old = tree(out)
    started = time.perf_counter()
    full = subprocess.run([*args, "--seed", "2"], env=ENV, cwd=ROOT, check=True, capture_output=True, timeout=300)
    duration = time.perf_counter() - started
    assert full.returncode == 0
    new = tree(out)
    assert new != old
    seen = set()
    for fraction in (0.5, 0.8, 0.9, 0.95, 0.98, 1.0):
        seed = "1" if len(seen) % 2 else "2"
        proc = subprocess.Popen([*args, "--seed", seed], env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert complete(out), fraction
        state = tree(out)
        assert state in (old, new) or json.loads((out / "metadata.json").read_text())["seed"] in (1, 2)
        seen.add(json.dumps(state, sort_keys=True))
        # the next run cleans what the killed one left
        subprocess.run([*args, "--seed", seed], env=ENV, cwd=ROOT, check=True, capture_output=True, timeout=300)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
        assert complete(out)


@pytest.mark.slow
def test_ctrl_c_is_one_line_exit_130_and_writes_nothing(tmp_path: Path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", BASE, *MEDIUM, "--reps", "100", "--jobs", "2",
                             "--out", str(out)], env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 30
    while time.time() < deadline and len(_children(proc.pid)) < 2:
        time.sleep(0.2)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["interrupted: nothing was written (any earlier results are as they were)"]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = next((line.split()[1] for line in text.splitlines() if line.startswith("PPid:")), None)
        if ppid == str(pid):
            found.append(int(status.parent.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_workers_exit_when_their_parent_is_killed(tmp_path: Path):
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", BASE, *MEDIUM, "--reps", "100", "--jobs", "2",
                             "--out", str(tmp_path / "run")], env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    workers: list[int] = []
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = _children(proc.pid)
    assert len(workers) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(Path(f"/proc/{w}").exists() and "State:\tZ" not in
                                         Path(f"/proc/{w}/status").read_text() for w in workers):
        time.sleep(0.2)
    alive = [w for w in workers if Path(f"/proc/{w}").exists() and "State:\tZ" not in Path(f"/proc/{w}/status").read_text()]
    assert alive == []


@pytest.mark.slow
def test_the_investor_pack_never_touches_a_users_file(tmp_path: Path, monkeypatch):
    from sim.views import brief

    monkeypatch.setenv("SIM_QUICK", "1")
    from sim.runs.cache import RunCache

    cache = RunCache(tmp_path / "cache")
    b = brief.build(reps=2, jobs=1, cache=cache)
    drawn = []
    render = brief._render
    monkeypatch.setattr(brief, "_render", lambda b: drawn.append(1) or render(b))
    pack = brief.drawn(b, cache)
    with zipfile.ZipFile(io.BytesIO(brief.pack_zip(b))) as z:
        zipped = {Path(name).name for name in z.namelist()}
    out = tmp_path / "pack"
    write(out / "my_slides.key", "mine")
    with pytest.raises(OutputError):
        brief.export_pack(b, out)  # a folder with a user's file: refused
    files = brief.export_pack(b, out, force=True)
    assert len(drawn) == 1  # the page, the download and the export share one drawing of the slides
    assert {p.name for p in files} == zipped
    notes = (out / "speaker_notes.md").read_text()
    assert [s.takeaway for s in pack.slides if s.takeaway] and all(s.takeaway in notes for s in pack.slides)
    disk = RunCache(tmp_path / "cache")  # a new page: the numbers and the drawn deck read from the disk cache
    assert brief.drawn(brief.build(reps=2, jobs=1, cache=disk), disk).files == pack.files
    assert len(drawn) == 1
    assert (out / "my_slides.key").read_text() == "mine"
    assert {p.suffix for p in files} == {".png", ".svg", ".pdf", ".csv", ".md"}
    svg = next(p for p in files if p.suffix == ".svg").read_text()
    assert "<text" in svg  # text stays editable in a slide tool (svg.fonttype none)


def test_the_dashboards_cache_and_test_screenshots_never_block_a_study(tmp_path: Path):
    """Folders the tool writes under results/ besides runs (the dashboards' cache, benchmark figures,
    screenshots) are recognised as its own: a study writing into results/ neither refuses nor touches them."""
    from sim.runs.cache import RunCache
    from sim.runs.safe_output import foreign_entries, write_folder

    results = tmp_path / "results"
    RunCache(results / "cache").put("k", {"a": 1})
    write_folder(results / "screenshots" / "explorer", lambda tmp: (tmp / "explorer.png").write_bytes(b"png"))
    write_folder(results / "bench" / "explorer", lambda tmp: (tmp / "explorer.json").write_text("{}"))
    assert foreign_entries(results) == []
    (results / "cache" / "notes.txt").write_text("mine")  # a user's file in the cache: the folder is theirs now
    assert foreign_entries(results) == ["cache/"]


@pytest.mark.slow
def test_the_brief_says_where_one_assumption_at_a_time_changes_the_lead_answer(tmp_path: Path, monkeypatch):
    """With the lead policy's one-at-a-time table (python -m sim sweep experiments/quality_first_sensitivity.yaml),
    its takeaways name the ends that reverse or blur them; without it they say nothing of the kind."""
    import pandas as pd

    from sim.runs.cache import RunCache
    from sim.views import brief

    monkeypatch.setenv("SIM_QUICK", "1")
    cache = RunCache(tmp_path / "cache")
    plain = brief.build(reps=2, jobs=1, cache=cache, sensitivity=None, robustness=None)  # (the sweep is the fallback)
    opposite = {"better": "worse", "worse": "better"}.get(brief.claim_row(plain, "burnout_share")["verdict"], "worse")
    table = tmp_path / "one_way_contrast.csv"
    pd.DataFrame({"parameter": ["(defaults)", "exhaustion.recovery_rate", "exhaustion.recovery_rate"],
                  "end": ["default", "low", "high"], "value": [None, 0.015, 0.04], "kpi": "burnout_share",
                  "verdict": ["better", opposite, "better"]}).to_csv(table, index=False)
    with_table = brief.build(reps=2, jobs=1, cache=cache, sensitivity=table, robustness=None)
    said = brief.takeaway(with_table, "therapists")
    assert "exhaustion.recovery_rate at 0.015" in said and "of 2 ends of the ranges" in said
    assert "one assumption at a time" not in brief.takeaway(plain, "therapists")
    assert brief._pack_key(with_table) != brief._pack_key(plain)  # a drawn deck is never shown with other verdicts
    # with the shipped plausible-world run (the default), the takeaways quote it and not the one-at-a-time sweep
    shipped = brief.build(reps=2, jobs=1, cache=cache, sensitivity=table)
    said = brief.takeaway(shipped, "therapists")
    assert "of plausible worlds" in said and "one assumption at a time" not in said
    assert "robustness run" in shipped.robustness_source and "plausible of 1000 worlds" in shipped.robustness_source
