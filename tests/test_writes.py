"""Every file the tool writes goes through one safe path: temporary files created exclusively (never through a
link planted in an output folder), renamed into place, never over a file the tool did not write; only folders
proven the tool's are deleted; one run at a time writes into a folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.runs import calibration_search
from sim.runs.cache import RunCache
from sim.runs.robustness import save_draw, store_path
from sim.runs.safe_output import MANIFEST, TRASH_TAG, atomic_write, lock, unlock, write_folder
from tests.conftest import ROOT
from tests.test_safety import BASE, TINY, run_cli, tree, write


def plant_link(at: Path, victim: Path) -> None:
    at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(victim)


def test_atomic_write_never_writes_through_a_link_and_leaves_no_temporary_file(tmp_path):
    victim = write(tmp_path / "victim.txt", "precious")
    folder = tmp_path / "out"
    plant_link(folder / "result.csv", victim)
    atomic_write(folder / "result.csv", b"new")
    assert victim.read_text() == "precious" and not (folder / "result.csv").is_symlink()
    assert (folder / "result.csv").read_text() == "new"

    def failing(path: Path) -> None:
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(folder / "other.csv", failing)
    assert sorted(p.name for p in folder.iterdir()) == ["result.csv"]


def test_links_planted_at_the_old_temporary_names_are_never_written_through(tmp_path):
    victim = write(tmp_path / "victim.txt", "precious")
    out = tmp_path / "out"
    write_folder(out, lambda tmp: (tmp / "a.csv").write_text("1\n"))
    plant_link(out / (MANIFEST + ".tmp"), victim)
    draw = pd.DataFrame({"draw": [0], "x": [1.0]})
    plant_link(store_path(tmp_path / "rb", 0).with_suffix(".parquet.tmp"), victim)
    save_draw(tmp_path / "rb", draw)
    write_folder(out, lambda tmp: (tmp / "a.csv").write_text("2\n"), force=True)
    assert victim.read_text() == "precious"
    assert pd.read_parquet(store_path(tmp_path / "rb", 0)).equals(draw)


def test_the_cache_never_replaces_a_link_or_a_file_it_did_not_write(tmp_path):
    victim = write(tmp_path / "victim.txt", "precious")
    cache = RunCache(tmp_path / "cache")
    cache.put("k1", {"x": 1})
    path = cache._path("k2")
    assert path is not None
    plant_link(path, victim)
    cache.put("k2", {"x": 2})
    user = cache._path("k3")
    write(user, "mine")
    cache.put("k3", {"x": 3})
    assert victim.read_text() == "precious" and user.read_text() == "mine"
    assert RunCache(tmp_path / "cache").get("k1") == {"x": 1}


def test_a_trash_named_folder_is_deleted_only_when_it_is_the_tools(tmp_path):
    out = tmp_path / "out"
    users = write(tmp_path / f".out{TRASH_TAG}keep" / "thesis.tex", "years of work")
    write_folder(out, lambda tmp: (tmp / "a.csv").write_text("1\n"))
    write_folder(out, lambda tmp: (tmp / "a.csv").write_text("2\n"))
    assert users.read_text() == "years of work"


def fake_search(monkeypatch, evaluations: list[int]):
    """The search's arithmetic without running the model (what is tested here is where its log goes)."""
    table = pd.DataFrame({"target": ["t"], "mean": [0.5], "band_low": [0.4], "band_high": [0.6], "inside": [True]})
    monkeypatch.setattr(calibration_search, "calibration_runs", lambda *a, **k: [])

    def evaluate(*a, **k):
        evaluations.append(1)
        return table

    monkeypatch.setattr(calibration_search, "evaluate", evaluate)


def spec(tmp_path: Path) -> Path:
    return write(tmp_path / "sp.yaml", f"setting: us_platform\nscenario: {BASE}\nreps: 1\n"
                                       "params: {therapy.no_show_prob: [0.1, 0.12]}\n")


def test_the_search_log_never_replaces_a_users_file(tmp_path, monkeypatch):
    """The reproducer of the review: a user's sp_log.csv beside the spec is never touched; the log goes to --out."""
    fake_search(monkeypatch, [])
    notes = write(tmp_path / "sp_log.csv", "notes")
    out = tmp_path / "search"
    assert run_cli("calibrate", "--search", str(spec(tmp_path)), "--out", str(out)) == 0
    assert notes.read_text() == "notes"
    log = pd.read_csv(out / "log.csv")
    assert list(log["evaluation"]) == [0, 1] and '"finished": true' in (out / "metadata.json").read_text()


def test_a_rerun_of_a_search_refuses_to_replace_an_earlier_log_without_force(tmp_path, monkeypatch, capsys):
    fake_search(monkeypatch, [])
    out = tmp_path / "search"
    assert run_cli("calibrate", "--search", str(spec(tmp_path)), "--out", str(out)) == 0
    before = tree(out)
    assert run_cli("calibrate", "--search", str(spec(tmp_path)), "--out", str(out)) == 2
    assert "earlier search" in capsys.readouterr().err and tree(out) == before
    users = tmp_path / "users"
    write(users / "log.csv", "mine")
    assert run_cli("calibrate", "--search", str(spec(tmp_path)), "--out", str(users), "--force") == 2
    assert (users / "log.csv").read_text() == "mine"


def test_an_interrupted_search_says_what_it_kept(tmp_path, monkeypatch, capsys):
    calls: list[int] = []
    fake_search(monkeypatch, calls)
    real = calibration_search.evaluate

    def interrupt_second(*a, **k):
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(calibration_search, "evaluate", interrupt_second)
    out = tmp_path / "search"
    assert run_cli("calibrate", "--search", str(spec(tmp_path)), "--out", str(out)) == 130
    assert "interrupted after 1 evaluations: logged in" in capsys.readouterr().err
    assert len(pd.read_csv(out / "log.csv")) == 1 and '"finished": false' in (out / "metadata.json").read_text()


def test_a_second_run_into_the_same_folder_is_told_it_is_in_use(tmp_path):
    out = tmp_path / "out"
    lock(out)
    try:
        proc = subprocess.run([sys.executable, "-m", "sim", "run", BASE, *TINY, "--reps", "1", "--quiet", "--out",
                               str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    finally:
        unlock(out)
    assert proc.returncode == 2 and "in use by another run" in proc.stderr, proc.stderr
    assert not out.exists()
    assert run_cli("run", BASE, *TINY, "--reps", "1", "--jobs", "1", "--out", str(out)) == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # the lock file went with the run


@pytest.mark.parametrize("args, message", [
    (["run", BASE, "--out", "/"], "root folder"),
    (["compare", BASE], "at least two scenario files"),
])
def test_more_inputs_that_exit_2(args, message, capsys):
    assert run_cli(*args, "--reps", "1", "--jobs", "1") == 2
    assert message in capsys.readouterr().err


def tiny_robustness(tmp_path: Path) -> Path:
    return write(tmp_path / "rb.yaml", f"contrasts: [{{policy: {ROOT / 'scenarios' / 'fit_quota.yaml'}, reference: {BASE}}}]\n"
                 "sampler: lhs\nn: 2\nreps: 1\nparameters: [therapy.no_show_prob]\n"
                 "platform: {therapists.count: 4, demand.arrivals_per_week: 12.0, horizon.warmup_weeks: 1, "
                 "horizon.measured_weeks: 3, horizon.follow_up_weeks: 1}\n")


def test_a_robustness_run_too_small_to_estimate_an_index_still_finishes(tmp_path):
    out = tmp_path / "r"
    assert run_cli("robustness", str(tiny_robustness(tmp_path)), "--out", str(out), "--jobs", "1", "--quiet") == 0
    assert (out / "verdicts.csv").exists() and (out / "verdicts.png").exists() and not (out / "drivers.png").exists()


@pytest.mark.slow
def test_an_unreachable_dask_scheduler_exits_2_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "r"
    assert run_cli("robustness", str(tiny_robustness(tmp_path)), "--out", str(out), "--dask", "tcp://127.0.0.1:9",
                   "--quiet") == 2
    assert "no Dask scheduler answers" in capsys.readouterr().err and not out.exists()


SLOW_MERGE = """
import os, sys, time
from pathlib import Path
from sim.runs.safe_output import write_folder
real = os.replace
def slow(a, b):
    time.sleep(0.05)
    real(a, b)
os.replace = slow
out, tag = Path(sys.argv[1]), sys.argv[2]
print("ready", flush=True)
write_folder(out, lambda tmp: [(tmp / f"f{i:02d}.csv").write_text(tag) for i in range(20)], force=True)
"""


def file_set(out: Path) -> set[str]:
    return {p.read_text() for p in out.glob("f*.csv")}


@pytest.mark.slow
def test_a_killed_merge_leaves_the_old_set_or_the_new_one(tmp_path):
    """Merge mode (a folder with a user's file in it, written with --force): renames slowed to 50 ms each and the
    writer killed at moments across the whole move. After the kill the next run of the tool finds every file of
    the set from the old write or every file from the new one, never a mix, and the user's file untouched."""
    from sim.runs.safe_output import clean_stale, foreign_entries

    out = tmp_path / "results"
    write(out / "my_notes.md", "mine")
    write_folder(out, lambda tmp: [(tmp / f"f{i:02d}.csv").write_text("v0") for i in range(20)], force=True)
    mixed_before_recovery = 0
    for trial, delay in enumerate((0.2, 0.45, 0.7, 0.95, 1.2, 1.5)):
        tag = f"v{trial + 1}"
        before = file_set(out)
        proc = subprocess.Popen([sys.executable, "-c", SLOW_MERGE, str(out), tag], cwd=ROOT, stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        import time

        time.sleep(delay)
        proc.kill()
        proc.wait()
        mixed_before_recovery += len(file_set(out)) > 1
        clean_stale(out)  # what every later write into the folder does first
        after = file_set(out)
        assert len(after) == 1 and after <= before | {tag}, (delay, after)
        assert (out / "my_notes.md").read_text() == "mine" and foreign_entries(out) == ["my_notes.md"]
        assert len(list(out.glob("f*.csv"))) == 20
    assert mixed_before_recovery, "no kill landed inside the move: the test did not exercise the journal"


def test_a_grid_search_tries_every_combination_and_keeps_the_best(tmp_path, monkeypatch):
    """method: grid: parameters that only help together (each alone worsens the loss) are found together."""
    seen: list[tuple[float, float]] = []

    def evaluate(setting, sc, *a, **k):
        x, y = sc.therapy.no_show_prob, sc.therapy.plateau_end_prob
        seen.append((x, y))
        value = 0.5 if (x, y) == (0.14, 0.08) else 0.55 + abs(x - 0.12) + abs(y - 0.12)  # each alone: worse
        return pd.DataFrame({"target": ["t"], "mean": [value], "band_low": [0.4], "band_high": [0.6],
                             "inside": [True]})

    monkeypatch.setattr(calibration_search, "calibration_runs", lambda sc, *a, **k: sc)
    monkeypatch.setattr(calibration_search, "evaluate", evaluate)
    grid = write(tmp_path / "grid.yaml", f"setting: us_platform\nscenario: {BASE}\nreps: 1\nmethod: grid\n"
                                         "params: {therapy.no_show_prob: [0.12, 0.14], therapy.plateau_end_prob: "
                                         "[0.12, 0.1, 0.08]}\n")
    assert calibration_search.search(grid, tmp_path / "g")["best"] == {"therapy.no_show_prob": 0.14,
                                                                       "therapy.plateau_end_prob": 0.08}
    assert len(seen) == 6 == len(set(seen))
    seen.clear()
    coordinate = write(tmp_path / "c.yaml", grid.read_text().replace("method: grid\n", ""))
    assert calibration_search.search(coordinate, tmp_path / "c")["best"] == {"therapy.no_show_prob": 0.12,
                                                                            "therapy.plateau_end_prob": 0.12}
    bad = write(tmp_path / "bad.yaml", grid.read_text().replace("method: grid\n", "method: grid\npasses: 2\n"))
    assert run_cli("calibrate", "--search", str(bad), "--out", str(tmp_path / "b")) == 2
