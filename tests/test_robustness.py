"""Robustness: SALib through the project's wrapper on a known function, verdict and flip arithmetic on
hand-made worlds, the surrogate on a noisy known function, identical tables from every backend, resuming a killed
run, and refusing a store made by another experiment."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.base.errors import InputError
from sim.runs import robustness as rb
from tests.conftest import ROOT

SMOKE = ROOT / "experiments" / "robustness_smoke.yaml"
ENV = {"SIM_NO_PROGRESS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}


def test_sobol_indices_of_the_ishigami_function():
    from SALib.sample import sobol
    from SALib.test_functions import Ishigami

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    X = sobol.sample(problem, 2048, calc_second_order=False, seed=3)
    s = rb.sobol_indices(problem, Ishigami.evaluate(X)).set_index("parameter")
    # analytic values (a = 7, b = 0.1): S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    assert s["S1"].to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.05)
    assert s["ST"].to_numpy() == pytest.approx([0.558, 0.442, 0.244], abs=0.05)


def test_implausibility_and_plausible_worlds_by_hand():
    """Three worlds, two targets: the implausibility is |m - c| / sqrt((width / 4)^2 + noise^2), a world is
    plausible when every target is within the cut-off, and a statistic a world cannot compute rules nothing out."""
    from sim.analysis.plausibility import implausibility, judge_worlds, target_summary

    assert implausibility(0.40, (0.30, 0.50), 0.0) == 0.0
    assert implausibility(0.50, (0.30, 0.50), 0.0) == pytest.approx(2.0)  # a band edge: 2 sds of the observation
    assert implausibility(0.70, (0.30, 0.50), 0.0) == pytest.approx(6.0)
    assert implausibility(0.55, (0.30, 0.50), 0.05) == pytest.approx(0.15 / np.hypot(0.05, 0.05))
    assert implausibility(2.0, (1.0, 1.0), 0.0) == np.inf and implausibility(1.0, (1.0, 1.0), 0.0) == 0.0
    means = pd.DataFrame({"burnout": [0.40, 0.70, 0.52], "turnover": [0.30, 0.28, np.nan]})
    targets = {"burnout": (0.30, 0.50), "turnover": (0.20, 0.35)}
    judged = judge_worlds(means, targets, {"burnout": 0.0, "turnover": 0.0})
    assert judged["plausible"].tolist() == [True, False, True]
    assert judged["ruled_out_by"].tolist() == ["", "burnout", ""]
    assert judged.loc[1, "max_implausibility"] == pytest.approx(6.0)
    summary = target_summary(judged, targets, means).set_index("target")
    assert summary.loc["burnout", "ruled_out"] == 1 and summary.loc["burnout", "ruled_out_alone"] == 1
    assert summary.loc["turnover", "ruled_out"] == 0 and summary.loc["turnover", "judged"] == 2


def test_replication_noise_from_repeated_worlds_and_posterior_ranges_by_hand():
    from sim.analysis.plausibility import noise_from_repeats, posterior_ranges

    first = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}, index=[0, 1, 2, 3])
    second = pd.DataFrame({"x": [1.2, 1.8, 3.2]}, index=[0, 1, 2])  # world 3 was not repeated
    gaps = np.array([-0.2, 0.2, -0.2])
    assert float(noise_from_repeats(first, second)["x"]) == pytest.approx(gaps.std(ddof=1) / np.sqrt(2))
    X = np.column_stack([np.linspace(0, 1, 101), np.linspace(0, 10, 101)])
    plausible = X[:, 0] < 0.5  # the data rule out the upper half of the first parameter, nothing of the second
    post = posterior_ranges(X, ["a", "b"], [(0.0, 1.0), (0.0, 10.0)], plausible).set_index("parameter")
    assert post.loc["a", "plausible_p95"] == pytest.approx(np.percentile(X[plausible, 0], 95))
    assert post.loc["a", "share_of_prior"] == pytest.approx(np.percentile(X[plausible, 0], 95)
                                                             - np.percentile(X[plausible, 0], 5))
    assert list(post.index) == ["a", "b"]  # the parameter the data pin down comes first


def test_verdict_shares_and_their_standard_errors_by_hand():
    from sim.analysis.plausibility import verdict_shares

    d = [0.05] * 84 + [-0.05] * 6 + [0.0] * 10
    v = verdict_shares(d, "recovery_rate", noise_sd=0.01)  # threshold: max(2 points, 2 x 0.01)
    assert (v["share_better"], v["share_worse"], v["share_neither"]) == pytest.approx((0.84, 0.06, 0.10))
    assert v["se_better"] == pytest.approx(np.sqrt(0.84 * 0.16 / 100))
    assert v["words"] == "better in 84% of plausible worlds (±4), worse in 6% (±2)"
    noisy = verdict_shares(d, "recovery_rate", noise_sd=0.03)  # 5 points is within twice the noise: neither
    assert noisy["share_better"] == 0.0 and noisy["threshold"] == pytest.approx(0.06)
    waits = verdict_shares([2.0] * 10, "wait_first_session_days_mean")  # longer waits are worse
    assert waits["share_worse"] == 1.0 and (waits["median"], waits["p5"], waits["p95"]) == (2.0, 2.0, 2.0)
    assert verdict_shares([], "recovery_rate")["words"] == "no worlds to judge"


def test_the_surrogate_recovers_the_indices_of_a_noisy_ishigami_function_and_refuses_noise():
    """Gradient boosting on 1,000 Latin-hypercube points of Ishigami plus noise and seven dummy inputs: Sobol
    indices on the surrogate within 0.08 of the analytic ones; pure noise gives a poor R² and no indices."""
    from SALib.test_functions import Ishigami
    from scipy.stats import qmc

    from sim.analysis.surrogate import ADEQUATE_R2, surrogate_indices

    rng = np.random.default_rng(1)
    X = np.hstack([qmc.scale(qmc.LatinHypercube(d=3, seed=2).random(1000), [-np.pi] * 3, [np.pi] * 3),
                   rng.uniform(0, 1, (1000, 7))])
    y = Ishigami.evaluate(X[:, :3]) + rng.normal(0, 1.0, 1000)
    names = [f"x{i}" for i in range(10)]
    bounds = [(-np.pi, np.pi)] * 3 + [(0.0, 1.0)] * 7
    table, r2 = surrogate_indices(X, y, names, bounds, seed=3)
    assert r2 > 0.8
    s = table.set_index("parameter")
    assert s["S1"].iloc[:3].to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.08)
    assert s["ST"].iloc[:3].to_numpy() == pytest.approx([0.558, 0.442, 0.244], abs=0.08)
    assert (s["ST"].iloc[3:] < 0.02).all()
    noise_only, r2_noise = surrogate_indices(X, rng.normal(size=1000), names, bounds, seed=3)
    assert r2_noise < ADEQUATE_R2 and noise_only["ST"].isna().all()


def test_flip_point_by_hand():
    x = np.linspace(0, 1, 201)
    assert rb.flip_point(x, 0.5 - x) == pytest.approx(0.5, abs=0.03)
    assert np.isnan(rb.flip_point(x, x + 1.0))  # never crosses zero
    rng = np.random.default_rng(0)
    noisy = 2 * (x - 0.7) + rng.normal(0, 0.05, x.size)
    assert rb.flip_point(x, noisy) == pytest.approx(0.7, abs=0.06)


def test_correlations_name_the_parameter_a_difference_follows_and_where_it_changes_sign():
    """A difference made to follow one of three parameters (plus noise) is found to follow it, with its sign
    change where it was put, in the plausible worlds and in all; a difference that follows nothing is not
    attributed to the parameters with a large correlation."""
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 1, (400, 3))
    follows = 2 * (X[:, 1] - 0.4) + rng.normal(0, 0.1, 400)
    diffs = pd.DataFrame({"world": np.tile(np.arange(400), 2), "repeat": 0, "contrast": np.repeat(["a", "b"], 400),
                          "kpi": "k", "difference": np.concatenate([follows, rng.normal(size=400)])})
    plausible = X[:, 0] < 0.5  # a screen on another parameter
    table = rb.difference_correlations(X, ["p0", "p1", "p2"], diffs, plausible, np.ones(400, bool), kept=2)
    top = table[table["rank"] == 1].set_index(["contrast", "worlds_set"])
    assert top.loc[("a", "plausible"), "parameter"] == "p1" and top.loc[("a", "all"), "parameter"] == "p1"
    assert top.loc[("a", "plausible"), "worlds"] == plausible.sum()
    assert top.loc[("a", "plausible"), "spearman_rho"] > 0.9
    assert top.loc[("a", "plausible"), "flip_point"] == pytest.approx(0.4, abs=0.05)
    assert (table[table["contrast"] == "b"]["spearman_rho"].abs() < 0.25).all()  # chance alone: sd ~ 0.07
    assert len(table) == 2 * 2 * 2  # two answers x two sets of worlds x kept


def test_default_parameters_are_the_uncertain_ones():
    names = rb.uncertain_parameters()
    assert "matching.profile_validity" in names and "exhaustion.absolute_share" in names
    assert "capacity.quota_per_day" not in names and "matching.profile_clarity" not in names  # levers
    assert not any(p.startswith("horizon.") for p in names)
    spec = rb.load_experiment(ROOT / "experiments" / "robustness_sobol_cluster.yaml")
    fixed = rb.defining(spec, ROOT / "experiments")
    assert {"capacity.quota_per_day", "matching.policy", "performance.ranking.enabled"} <= fixed
    design = rb.make_design(rb.RobustnessExperiment(**{**spec.model_dump(), "n": 1}), ROOT / "experiments")
    assert not set(design.names) & fixed and len(design.names) > 40
    # the platform's size is the experiment's (50 therapists for 175 clients a week), never a 200-therapist idle one;
    # demand varies around the platform's value, scaled to its size
    assert "therapists.count" in spec.platform and "therapists.count" in names
    assert "therapists.count" not in design.names
    low, high = design.bounds[design.names.index("demand.arrivals_per_week")]
    assert low <= spec.platform["demand.arrivals_per_week"] <= high < 2 * spec.platform["demand.arrivals_per_week"]
    with pytest.raises(InputError, match=r"therapists\.count is set by the experiment's platform"):
        rb.make_design(rb.RobustnessExperiment(**{**spec.model_dump(), "n": 1, "parameters": ["therapists.count"]}),
                       ROOT / "experiments")


def run_cli(*args: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", "robustness", str(SMOKE), "--out", str(out), "--quiet", *args],
                          env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_serial_local_workers_and_a_dask_cluster_give_identical_tables(tmp_path: Path):
    outs = {}
    for name, args in (("serial", ["--jobs", "1"]), ("jobs2", ["--jobs", "2"]), ("dask", ["--dask", "local:2"])):
        res = run_cli(*args, out=tmp_path / name)
        assert res.returncode == 0, res.stderr[-2000:]
        outs[name] = tmp_path / name
    for table in ("draws.parquet", "differences.parquet"):
        base = pd.read_parquet(outs["serial"] / table)
        for name in ("jobs2", "dask"):
            pd.testing.assert_frame_equal(base, pd.read_parquet(outs[name] / table))
    for table in ("verdicts.csv", "plausibility.csv", "worlds.csv", "noise.csv", "status_quo.csv", "correlations.csv"):
        base = pd.read_csv(outs["serial"] / table)
        for name in ("jobs2", "dask"):
            pd.testing.assert_frame_equal(base, pd.read_csv(outs[name] / table))
    verdicts = pd.read_csv(outs["serial"] / "verdicts.csv")
    assert set(verdicts["contrast"]) >= {"fit vs earliest", "individual vs quota", "league table vs none"}
    assert set(verdicts["worlds_set"]) == {"plausible", "all"}
    assert (outs["serial"] / "drivers.csv").exists() and (outs["serial"] / "verdicts.png").exists()
    again = run_cli("--jobs", "2", out=outs["serial"])
    assert again.returncode == 0 and "(0 run now" in again.stdout  # a rerun does no new work

    # shipping a run made before status_quo.csv and correlations.csv computes them from its full tables, the same
    from sim.views.robustness_report import CONTEXT_FILES, ship

    if rb.model_is_current(json.loads((outs["serial"] / "metadata.json").read_text())):
        older = tmp_path / "older"
        older.mkdir()
        for path in outs["serial"].iterdir():
            if path.is_file() and path.name not in CONTEXT_FILES:
                (older / path.name).write_bytes(path.read_bytes())
        assert set(CONTEXT_FILES) <= set(ship(older, tmp_path / "docs"))
        for table in CONTEXT_FILES:
            pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "docs" / table), pd.read_csv(outs["serial"] / table))


@pytest.mark.slow
def test_a_killed_run_resumes_without_duplicates_and_gives_the_same_tables(tmp_path: Path):
    whole = tmp_path / "whole"
    assert run_cli("--jobs", "1", out=whole).returncode == 0
    part = tmp_path / "part"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "robustness", str(SMOKE), "--out", str(part), "--quiet",
                             "--jobs", "1"], env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((part / "store").glob("draw-*.parquet"))) < 4:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list((part / "store").glob("draw-*.parquet")))
    assert 4 <= done_before < 14
    res = run_cli("--jobs", "2", out=part)
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"({14 - done_before} run now" in res.stdout
    draws = pd.read_parquet(part / "draws.parquet")
    assert not draws.duplicated(["draw", "scenario", "replication"]).any()
    pd.testing.assert_frame_equal(draws, pd.read_parquet(whole / "draws.parquet"))


@pytest.mark.slow
def test_a_changed_experiment_is_refused_in_the_same_folder_and_force_starts_afresh(tmp_path: Path):
    out = tmp_path / "r"
    assert run_cli("--jobs", "1", out=out).returncode == 0
    changed = tmp_path / "changed.yaml"
    changed.write_text(SMOKE.read_text().replace("reps: 1", "reps: 1\nseed: 7").replace("../", f"{ROOT}/"))
    before = sorted(p.name for p in (out / "store").iterdir())
    refused = subprocess.run([sys.executable, "-m", "sim", "robustness", str(changed), "--out", str(out), "--quiet",
                              "--jobs", "1"], env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "different experiment or model code" in refused.stderr, refused.stderr
    assert sorted(p.name for p in (out / "store").iterdir()) == before
    fresh = subprocess.run([sys.executable, "-m", "sim", "robustness", str(changed), "--out", str(out), "--quiet",
                            "--jobs", "1", "--force"], env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert fresh.returncode == 0 and "(14 run now" in fresh.stdout, fresh.stderr[-2000:]
    assert json.loads((out / "metadata.json").read_text())["seed"] == 7


@pytest.mark.slow
def test_verify_reruns_stored_worlds_and_records_only_an_exact_match(tmp_path: Path):
    """`--verify N` reruns N stored worlds (spread over the waves and repeats); identical rows are recorded in the
    run's metadata as holding for this model, and a world whose stored numbers differ is named, nothing recorded."""
    out = tmp_path / "r"
    assert run_cli("--jobs", "1", out=out).returncode == 0
    res = run_cli("--verify", "4", "--jobs", "2", out=out)
    assert res.returncode == 0, res.stderr[-2000:]
    meta = json.loads((out / "metadata.json").read_text())
    assert [e["model"] for e in meta["verified"]] == [rb.model_fingerprint()]
    assert meta["verified"][0]["draws"] == [0, 4, 9, 13]  # draws 0-7 first wave, 8-9 repeats, 10-13 second wave
    target = rb.store_path(out, 9)
    stored = pd.read_parquet(target)
    stored.loc[0, "recovery_rate"] += 1e-12  # numbers this model does not give
    stored.to_parquet(target, index=False)
    refused = run_cli("--verify", "4", "--jobs", "1", out=out)
    assert refused.returncode == 2 and "1 of 4 worlds" in refused.stderr and "draws 9)" in refused.stderr, \
        refused.stderr[-2000:]
    assert json.loads((out / "metadata.json").read_text()) == meta


def test_a_verified_run_counts_as_the_current_models():
    """A run whose commit's model differs counts as this model's only when its metadata records this model's
    fingerprint as verified."""
    first = subprocess.run(["git", "-C", str(ROOT), "rev-list", "--max-parents=0", "HEAD"], capture_output=True,
                           text=True).stdout.split()
    if not first:
        pytest.skip("not a git checkout with history")
    meta = {"git_commit": first[0]}
    assert not rb.model_is_current(meta)
    assert not rb.model_is_current({**meta, "verified": [{"model": "0" * 16}]})
    assert rb.model_is_current({**meta, "verified": [{"model": "0" * 16}, {"model": rb.model_fingerprint()}]})


def test_ranges_can_be_given_in_an_experiment_file(tmp_path: Path):
    spec = rb.RobustnessExperiment(**{**rb.load_experiment(SMOKE).model_dump(),
                                      "ranges": {"matching.profile_validity": [0.1, 0.2]}})
    design = rb.make_design(spec, ROOT / "experiments")
    j = design.names.index("matching.profile_validity")
    assert design.bounds[j] == (0.1, 0.2) and 0.1 <= design.X[:, j].min() <= design.X[:, j].max() <= 0.2
    with pytest.raises(InputError, match=r"ranges\.x: expected \[low, high\]"):
        from sim.scenario.experiments import _validate

        _validate(rb.RobustnessExperiment, {**spec.model_dump(), "ranges": {"x": [2, 1]}}, "e.yaml", "experiment")


def test_the_shipped_summary_is_complete_and_the_plain_language_section_matches_it():
    """docs/robustness/ holds the finished default run's small files, made by the current experiment file, and
    docs/plain_language.md quotes exactly what they say (regenerated, never written by hand)."""
    from sim.views.robustness_report import END, PLAIN_LANGUAGE, START, SUMMARY_FILES, plain_block, shipped_context

    shipped = ROOT / "docs" / "robustness"
    assert all((shipped / name).is_file() for name in SUMMARY_FILES), sorted(p.name for p in shipped.iterdir())
    meta = json.loads((shipped / "metadata.json").read_text())
    spec = rb.load_experiment(ROOT / "experiments" / "robustness.yaml")
    assert meta["worlds"] == spec.n + spec.refocused and meta["first_wave"] == spec.n
    verdicts, note = rb.plausible_verdicts(shipped_only=True)
    assert verdicts is not None and set(verdicts["worlds_set"]) == {"plausible"}
    text = PLAIN_LANGUAGE.read_text()
    assert text[text.index(START):text.index(END) + len(END)] == plain_block(verdicts, note, shipped_context())


def test_the_plain_language_section_says_what_an_undecided_answer_follows_and_where_the_status_quo_sits():
    """With a run's correlations.csv and status_quo.csv, the generated section names the parameters an undecided
    answer follows (not those of an answer that holds, nor weak ones) and the status quo's levels across the
    plausible worlds; without them it says neither."""
    from sim.views.robustness_report import plain_block

    verdicts = pd.DataFrame({"contrast": ["individual vs quota", "league table vs none"],
                             "kpi": ["burnout_share", "burnout_share"], "worlds": [60, 60],
                             "share_better": [0.3, 0.0], "share_worse": [0.35, 0.9], "median": [0.0, 0.05],
                             "words": ["split", "worse"]})
    correlations = pd.DataFrame({"contrast": ["individual vs quota"] * 3 + ["league table vs none"],
                                 "kpi": "burnout_share", "worlds_set": "plausible", "rank": [1, 2, 3, 1],
                                 "parameter": ["exhaustion.absolute_share", "therapists.sustainable_load_mean",
                                               "weak.one", "performance.ranking.stress"],
                                 "spearman_rho": [0.61, -0.44, 0.12, 0.8], "flip_point": [0.42, np.nan, 1.0, 0.1]})
    spread = pd.DataFrame({"kpi": ["wait_first_session_days_mean"] * 2, "worlds_set": ["plausible", "all"],
                           "worlds": [60, 500], "p5": [1.0, 1.0], "p25": [4.0, 2.0], "median": [9.5, 3.0],
                           "p75": [20.0, 8.0], "p95": [40.0, 30.0]})
    text = plain_block(verdicts, "a test run", {"correlations.csv": correlations, "status_quo.csv": spread})
    undecided = next(line for line in text.splitlines() if line.startswith("- Individual thresholds"))
    assert "`exhaustion.absolute_share` (rank correlation +0.61, changes sign near 0.42)" in undecided
    assert "`therapists.sustainable_load_mean` (-0.44)" in undecided and "weak.one" not in text
    assert "performance.ranking.stress" not in text  # the league table's answer holds: no drivers named
    assert "- wait to first session: 9.5 days (4.0 days to 20.0 days)." in text
    plain = plain_block(verdicts, "a test run")
    assert "follows" not in plain and "status quo itself" not in plain


def test_a_run_made_with_an_earlier_model_is_named_as_such():
    """The note that goes with plausible-world verdicts says when the model code has changed since the run's commit
    (the study report, the brief and the explorer then say so); unknown commits tell nothing."""
    import subprocess

    from sim.base.paths import PACKAGE_DIR
    from sim.runs.robustness import MODEL_CODE, model_changed_since

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(PACKAGE_DIR), *args], capture_output=True, text=True).stdout.strip()

    first = git("rev-list", "--max-parents=0", "HEAD").split()
    if not first:
        pytest.skip("not a git checkout with history")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", *(str(PACKAGE_DIR / p) for p in MODEL_CODE))
    assert model_changed_since(first[0])  # the project's first commit: a different model altogether
    if not dirty:
        assert not model_changed_since("HEAD")
    assert not model_changed_since("0" * 40)


def test_shipping_copies_a_finished_run_of_this_model_and_refuses_others(tmp_path):
    """`python -m sim.views.robustness_report --ship RUN` copies the summary files of a finished run made with the
    checkout's model code; an unfinished run, or one made at a commit whose model differs, is refused and nothing
    is written."""
    from sim.views.robustness_report import SUMMARY_FILES, main

    shipped = ROOT / "docs" / "robustness"
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    first = subprocess.run(["git", "-C", str(ROOT), "rev-list", "--max-parents=0", "HEAD"], capture_output=True,
                           text=True).stdout.split()
    if not head or not first or rb.model_changed_since(head):
        pytest.skip("needs a git checkout whose model code is committed")
    run = tmp_path / "run"
    run.mkdir()
    for name in SUMMARY_FILES[:-1]:
        (run / name).write_bytes((shipped / name).read_bytes())
    before = {name: (shipped / name).read_bytes() for name in SUMMARY_FILES}
    with pytest.raises(SystemExit) as unfinished:  # no metadata.json yet
        main(["--ship", str(run)])
    assert unfinished.value.code == 2
    meta = json.loads((shipped / "metadata.json").read_text())
    (run / "metadata.json").write_text(json.dumps({**meta, "git_commit": first[0]}))
    with pytest.raises(SystemExit) as stale:
        main(["--ship", str(run)])
    assert stale.value.code == 2
    assert {name: (shipped / name).read_bytes() for name in SUMMARY_FILES} == before

    from sim.views.robustness_report import ship

    (run / "metadata.json").write_text(json.dumps({**meta, "git_commit": head + "+dirty"}))
    out = tmp_path / "docs"
    assert ship(run, out) == list(SUMMARY_FILES)
    assert all((out / name).read_bytes() == (run / name).read_bytes() for name in SUMMARY_FILES)


def test_a_reworded_source_or_docstring_is_no_change_of_the_model_but_a_value_is():
    """The model code is judged by what it computes (code_signature): the register's words and docstrings may be
    edited without making a robustness run stale; a default, a range or a line of code may not."""
    from sim.base.paths import PACKAGE_DIR
    from sim.runs.robustness import code_signature

    schema = (PACKAGE_DIR / "scenario" / "schema.py").read_text()
    reworded = schema.replace('source="lever"', 'source="a lever, reworded"').replace('"""', '"""Reworded. ', 1)
    assert reworded != schema and code_signature(reworded) == code_signature(schema)
    assert code_signature(schema.replace("ge=0, le=1, range=(0.0, 1.0)", "ge=0, le=1, range=(0.0, 0.9)", 1)) \
        != code_signature(schema)
    model = (PACKAGE_DIR / "engine" / "model.py").read_text()
    assert code_signature(model.replace("t.firsts *= 0.5", "t.firsts *= 0.6")) != code_signature(model)
