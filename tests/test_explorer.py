"""The policy explorer's logic without a browser: presets, controls, relevance, validation, cache, downloads."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.apps import explore
from sim.apps.explore import ACTIVE_WHEN, PRESETS, RunCache
from sim.base.errors import InputError
from sim.runs.cache import code_fingerprint
from sim.runs.runner import run_scenarios
from sim.views.replay import replay_animation, replay_frame


@pytest.fixture(scope="module")
def app():
    pytest.importorskip("ipywidgets")
    from sim.apps.explorer_app import Explorer

    return Explorer(cache=RunCache(None))


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_survives_a_round_trip_through_the_controls(app, preset):
    app.apply_preset(preset)
    shown = app.values()
    wanted = explore.preset_values(preset)
    assert shown == wanted
    assert (explore.policy_scenario(shown, "x").model_dump() == explore.policy_scenario(wanted, "x").model_dump())


def test_every_slider_can_show_its_default_and_every_preset_exactly():
    specs = explore.field_specs(explore.explorer_base())
    values = [explore.preset_values(p) for p in PRESETS]
    for s in specs:
        if s.kind not in ("int", "float"):
            continue
        for v in {vals[s.path] for vals in values}:
            assert s.low <= v <= s.high, (s.path, v)
            steps = (v - s.low) / s.step
            assert abs(steps - round(steps)) < 1e-6, (s.path, v, s.step)  # a browser slider snaps to the step


def test_controls_a_policy_ignores_are_greyed_out(app):
    app.apply_preset("status quo")
    assert app.controls["capacity.safety_margin"].disabled
    assert not app.controls["capacity.quota_per_day"].disabled
    assert "not used" in app.help["capacity.safety_margin"].value
    app.apply_preset("quality first")
    assert not app.controls["capacity.safety_margin"].disabled
    assert app.controls["capacity.quota_per_day"].disabled
    for path, (controlling, allowed) in ACTIVE_WHEN.items():
        assert explore.relevant(path, {controlling: allowed[0]})
        assert not explore.relevant(path, {controlling: "something else"})


def test_every_choice_and_every_option_has_help():
    for s in explore.field_specs(explore.explorer_base()):
        assert len(s.help) > 10, s.path
        for option in s.options or []:
            text = explore.option_help(s.path, option)
            assert len(text) > 15 and text != option, (s.path, option)


def test_a_bad_setting_names_the_field():
    values = explore.default_values()
    with pytest.raises(InputError, match=r"demand\.arrivals_per_week"):
        explore.policy_scenario({**values, "demand.arrivals_per_week": -5.0}, "x")
    with pytest.raises(InputError, match=r"matching\.policy.*allowed: earliest, fit, hybrid"):
        explore.policy_scenario({**values, "matching.policy": "best"}, "x")


def test_a_bad_setting_in_the_app_marks_old_results_stale(app, monkeypatch):
    app.result = object()  # as if results were on the page
    monkeypatch.setattr(app, "policies", lambda: {"bad": {"therapists.count": -3}})
    app.refresh()
    assert "therapists.count" in app.status.value and "Not run" in app.status.value
    assert "fm-stale" in app.results_box._dom_classes


def test_cached_runs_are_reused_and_equal_a_joint_run(monkeypatch):
    monkeypatch.setenv("SIM_QUICK", "1")
    cache = RunCache(None)
    policies = {"quality first": explore.preset_values("quality first")}
    calls = []
    first = explore.run_policies(policies, reps=2, cache=cache, on_progress=lambda d, t: calls.append(d))
    assert calls  # simulated
    calls.clear()
    again = explore.run_policies({"fit": explore.preset_values("quality first")}, reps=2, cache=cache,
                                 on_progress=lambda d, t: calls.append(d))
    assert not calls  # the status quo and the same policy under another name: nothing simulated
    assert list(again.replications["scenario"].unique()) == ["status quo", "fit"]
    pd.testing.assert_series_equal(first.replications["recovery_rate"], again.replications["recovery_rate"])
    sq = explore.policy_scenario(explore.status_quo_values(policies["quality first"]), "status quo")
    qf = explore.policy_scenario(policies["quality first"], "quality first")
    joint = run_scenarios([sq, qf], reps=2, progress=False)
    cols = ["scenario", "replication", "recovery_rate", "wait_first_session_days_mean", "burnout_share"]
    pd.testing.assert_frame_equal(first.replications[cols], joint.replications[cols])


def test_a_refresh_in_two_steps_ends_where_one_step_would(monkeypatch):
    """A first look at 2 of 3 replications, then all 3 with only the third run: the first look is the first two
    replications of the full run, and the last result equals a one-step run (replications and tables), since
    replication r's numbers do not depend on how many run. Cached runs then come back in one step."""
    monkeypatch.delenv("SIM_QUICK", raising=False)
    values = {**explore.preset_values("quality first"), "therapists.count": 20, "demand.arrivals_per_week": 70.0,
              "horizon.measured_weeks": 13}
    policies = {"quality first": values}
    calls: list[tuple[int, int]] = []
    steps = list(explore.run_policies_in_steps(policies, reps=3, jobs=1, cache=RunCache(None), first_look=2,
                                               on_progress=lambda d, t: calls.append((d, t))))
    assert len(steps) == 2 and [d for d, _ in calls] == list(range(1, 7)) and {t for _, t in calls} == {6}
    look, full = steps
    one_step = explore.run_policies(policies, reps=3, jobs=1, cache=RunCache(None))
    drop = ["wall_seconds"]
    pd.testing.assert_frame_equal(full.replications.drop(columns=drop), one_step.replications.drop(columns=drop))
    for name in ("clients", "weekly"):
        pd.testing.assert_frame_equal(full.tables[name], one_step.tables[name])
    assert look.replications.groupby("scenario").size().tolist() == [2, 2]
    pd.testing.assert_frame_equal(look.replications.drop(columns=drop).reset_index(drop=True),
                                  one_step.replications[one_step.replications["replication"] < 2]
                                  .drop(columns=drop).reset_index(drop=True))
    cache = RunCache(None)
    explore.run_policies(policies, reps=3, jobs=1, cache=cache)
    assert len(list(explore.run_policies_in_steps(policies, reps=3, jobs=1, cache=cache, first_look=2))) == 1


def test_a_run_draws_only_the_open_tab_and_the_download_when_asked(app, monkeypatch):
    """After Run: the trade-off, the table and the open tab; another tab is drawn when opened; the zip (and every
    chart not yet drawn) only when asked for."""
    monkeypatch.setenv("SIM_QUICK", "1")
    app.tabs.selected_index = 0
    app.apply_preset("fit only")
    app.refresh()
    names = list(app.detail_images)
    drawn = {name: bool(image.value) for name, image in app.detail_images.items()}
    assert drawn == {name: i == 0 for i, name in enumerate(names)}, drawn
    assert "fm-download" not in app.downloads.value and app.download_button.layout.display != "none"
    app.tabs.selected_index = 2
    assert app.detail_images[names[2]].value and not app.detail_images[names[1]].value
    app.prepare_download()
    assert all(image.value for image in app.detail_images.values())
    assert "fm-download" in app.downloads.value and app.download_button.layout.display == "none"


def test_downloads_hold_tables_and_editable_charts(monkeypatch):
    monkeypatch.setenv("SIM_QUICK", "1")
    result = explore.run_policies({"league table": explore.preset_values("league table")}, reps=2,
                                  cache=RunCache(None))
    with zipfile.ZipFile(io.BytesIO(explore.download_zip(result))) as z:
        names = set(z.namelist())
        table = pd.read_csv(z.open("kpi_table.csv"))
        svg = z.read("charts/trade_off.svg").decode()
        run = z.read("run.txt").decode()
        policy_file = z.read("scenarios/league_table.yaml").decode()
    assert {"kpi_table.csv", "differences.csv", "replications.csv", "run.txt", "scenarios/status_quo.yaml"} <= names
    # the policy's settings come back as a scenario file the command line accepts, with the same settings
    from sim.scenario import load_scenario

    saved = Path(tempfile.mkdtemp()) / "league_table.yaml"
    saved.write_text(policy_file)
    again = load_scenario(saved)
    league = next(sc for sc in result.scenarios if sc.name == "league table")
    assert again.model_dump(exclude={"name", "description"}) == league.model_dump(exclude={"name", "description"})
    sc = result.scenarios[0]
    assert f"{sc.therapists.count} therapists" in run and f"seed {sc.seed}" in run  # what was run, and by what code
    assert f"model code {code_fingerprint()[:8]}" in run
    assert {f"charts/{n}.{f}" for n in ("trade_off", "waits", "client_return") for f in ("png", "svg")} <= names
    assert list(table.columns) == ["KPI", "status quo", "league table"]
    assert "<text" in svg and "Recovery" in svg  # text stays text in a slide tool
    html = explore.kpi_table_html(result)
    verdicts = explore.verdicts(result)
    assert html.count("fm-better") - 1 == int(verdicts["verdict"].str.startswith("better").sum())  # 1 in the style
    assert html.count("fm-worse") - 1 == int(verdicts["verdict"].str.startswith("worse").sum())


def test_the_opening_view_is_drawn_once_and_then_read_from_the_cache(monkeypatch):
    monkeypatch.setenv("SIM_QUICK", "1")
    cache = RunCache(None)
    first = explore.opening_view(reps=2, cache=cache)
    assert set(first.images) == set(explore.DETAIL_FIGURES) and first.archive
    assert first.tradeoff_html.startswith("<svg") and "<title>quality first" in first.tradeoff_html
    with zipfile.ZipFile(io.BytesIO(first.archive)) as z:  # the download keeps the trade-off for slides
        assert {"charts/trade_off.png", "charts/trade_off.svg"} <= set(z.namelist())
    assert first.policies == [explore.OPENING_PRESET]
    monkeypatch.setattr(explore, "run_policies", lambda *a, **k: pytest.fail("simulated again"))
    assert explore.opening_view(reps=2, cache=cache) is first


def test_the_disk_cache_keeps_its_newest_files_within_its_limit(tmp_path):
    import time

    cache = RunCache(tmp_path / "cache", max_bytes=2_500)
    for i in range(5):
        cache.put(f"k{i}", b"x" * 1_000)  # about 1 kB a file
        time.sleep(0.02)
    kept = sorted(p.name for p in (tmp_path / "cache").glob("run-*.pkl"))
    assert kept == ["run-k3.pkl", "run-k4.pkl"]
    assert (tmp_path / "cache" / ".fifty-minutes-cache").is_file()  # the marker stays
    assert RunCache(tmp_path / "cache").get("k4") == b"x" * 1_000


def test_the_cache_keeps_only_its_most_recently_used_results_in_memory(tmp_path):
    """A long dashboard session does not grow without bound: the oldest results leave memory (not the disk)."""
    cache = RunCache(tmp_path / "cache", memory_entries=3)
    for i in range(4):
        cache.put(f"k{i}", i)
    assert cache.get("k1") == 1  # used again: now the most recent
    cache.put("k4", 4)
    assert list(cache.memory) == ["k3", "k1", "k4"]
    assert cache.get("k0") == 0 and "k0" in cache.memory  # read back from disk


def test_the_cache_never_reads_replaces_or_removes_a_file_it_did_not_write(tmp_path):
    folder = tmp_path / "cache"
    cache = RunCache(folder, max_bytes=1_500)
    cache.put("k0", b"x" * 1_000)
    mine = folder / "run-k1.pkl"  # a user's file under a name the cache could use
    mine.write_bytes(b"a user's notes, not a pickle " * 40)
    theirs = folder / "run-zz.pkl"
    theirs.write_bytes(b"also theirs " * 200)
    for i in range(2, 5):
        cache.put(f"k{i}", b"x" * 1_000)  # past the limit: the cache's own oldest files go
    cache.put("k1", b"y")  # would overwrite the user's file
    assert mine.read_bytes().startswith(b"a user's notes") and theirs.is_file()
    assert RunCache(folder).get("k1") is None  # and it is never unpickled
    assert not (folder / "run-k0.pkl").exists() and (folder / "run-k4.pkl").is_file()


def test_a_scenario_file_loads_into_the_explorer(monkeypatch):
    """A policy downloaded from the explorer (or any full scenario file) comes back into the controls; what the
    explorer has no control for is named, not silently dropped; a bad file gets a message, not a traceback."""
    from sim.apps.explorer_app import Explorer

    values = explore.preset_values("league table")
    text = explore.scenario_yaml(explore.policy_scenario(values, "league table"))
    loaded, ignored = explore.settings_from_file(text, "league_table.yaml")
    assert loaded == {path: values[path] for path in loaded} and "therapy.no_show_prob" not in ignored
    edited = text.replace("no_show_prob: 0.08", "no_show_prob: 0.2")
    assert edited != text
    assert "therapy.no_show_prob" in explore.settings_from_file(edited, "x.yaml")[1]
    with pytest.raises(InputError, match="extends another"):
        explore.settings_from_file("extends: baseline.yaml\n", "x.yaml")
    app = Explorer(cache=RunCache(None))
    app._on_upload({"new": ({"name": "league_table.yaml", "content": memoryview(text.encode())},)})
    assert app.values() == {**app.values(), **loaded} and app.presets.value == "custom"
    assert "Loaded league_table.yaml" in app.status.value
    app._on_upload({"new": ({"name": "bad.yaml", "content": memoryview(b"matching: {policy: telepathy}\n")},)})
    assert "Could not load bad.yaml" in app.status.value and "telepathy" in app.status.value


def test_the_replay_moves_over_simulated_time_from_the_recorded_weeks(monkeypatch):
    """The replay tab draws the recorded weekly table week by week (no new run): the axes stay fixed while the
    week moves, the lines stop at the chosen week, and the widget draws only when its tab is opened."""
    monkeypatch.setenv("SIM_QUICK", "1")
    from sim.apps.explorer_app import Explorer

    result = explore.run_policies({"quality first": explore.preset_values("quality first")}, reps=2,
                                  cache=RunCache(None))
    replay = explore.replay_of(result)
    assert replay is not None and replay.names == ["status quo", "quality first"]
    early, late = replay_frame(replay, 5), replay_frame(replay, 30)
    for a, b in zip(early.axes, late.axes, strict=True):
        assert a.get_xlim() == b.get_xlim() and a.get_ylim() == b.get_ylim()
        assert max(len(line.get_xdata()) for line in a.lines[:1]) == 6  # weeks 0-5 drawn, nothing after
    weekly = result.tables["weekly"]
    expected = weekly[weekly["scenario"] == "quality first"].groupby("week")["waiting"].mean()
    assert list(late.axes[0].lines[2].get_ydata()) == list(expected[expected.index <= 30])
    # the same run as an animation for a notebook or an exported page: one frame every 4 weeks and the last
    html_page = replay_animation(replay, every=4)
    last = int(weekly["week"].max())
    assert html_page.count("data:image/png;base64") == len(range(0, last, 4)) + 1 and "Play" in html_page
    app = Explorer(cache=RunCache(None))
    view, _ = explore.render(result, details=False)
    app.show(view)
    assert app.replay_image.value == b""  # not drawn until its tab is opened
    app.tabs.selected_index = len(app.detail_images)
    assert app.replay_image.value and app.replay_week.max == int(weekly["week"].max())
    first = app.replay_image.value
    app.replay_week.value = 3
    assert app.replay_image.value != first


def test_the_status_quo_is_not_compared_with_itself_and_a_platform_change_keeps_the_policy_name():
    from sim.apps.explorer_app import Explorer

    app = Explorer(cache=RunCache(None))
    app.apply_preset("status quo")
    app.refresh()
    assert app.runs == 0 and "what every policy is compared with" in app.status.value
    app.apply_preset("quality first")
    app.controls["therapists.count"].value = app.controls["therapists.count"].value + 10  # a platform setting
    assert app.presets.value == "quality first" and app._policy_name() == "quality first"
    app.controls["matching.policy"].value = "hybrid"  # a policy setting: now it is the user's own
    assert app.presets.value == "custom" and app._policy_name() == "your policy"


def test_the_verdict_table_quotes_the_plausible_world_verdicts_of_the_presets_shown():
    from sim.apps.explore import plausible_html

    v = pd.DataFrame({"contrast": ["quality first vs baseline", "quality first vs baseline", "fit vs earliest"],
                      "kpi": ["burnout_share", "no_show_rate", "recovery_rate"],
                      "words": ["better in 19% of plausible worlds (±8), worse in 35% (±9)", "x", "better in 12%"]})
    note = plausible_html(["quality first", "your policy"], v, "a run")
    assert "<details" in note and "quality first" in note and "therapists burned out: better in 19%" in note
    assert "your policy" not in note and "no-shows" not in note  # a changed policy is not covered; headline only
    assert plausible_html(["your policy"], v, "a run") == ""


def test_the_wait_and_client_return_charts_carry_bands_and_the_wait_axis_stays_put(monkeypatch):
    """The detail charts show the spread over replications, and the wait chart's days axis is fixed at six weeks
    while waits stay short (so it does not rescale from one run to the next)."""
    import matplotlib.pyplot as plt

    from sim.apps.explore import WAIT_AXIS_DAYS, wait_curves
    from sim.views.charts import paired_band

    clients = pd.DataFrame({"scenario": ["a"] * 4 + ["b"] * 4, "replication": [0, 0, 1, 1] * 2,
                            "wait_first_session_days": [1.0, 3.0, 2.0, 2.0, 5.0, 5.0, 1.0, 9.0]})
    curves = wait_curves(clients, np.array([0, 2, 5]))
    a0 = curves[(curves["scenario"] == "a") & (curves["replication"] == 0)].set_index("day")["share"]
    assert a0.to_dict() == {0: 0.0, 2: 0.5, 5: 1.0}  # waits 1 and 3: half within 2 days, all within 5
    band = paired_band(curves, "a", "b", "day").set_index("day")
    assert band.loc[5, "mean"] == pytest.approx(((1.0 - 1.0) + (0.5 - 1.0)) / 2)  # paired by replication
    assert band.loc[5, "low"] < band.loc[5, "mean"] < band.loc[5, "high"]
    monkeypatch.setenv("SIM_QUICK", "1")
    result = explore.run_policies({"quality first": explore.preset_values("quality first")}, reps=2,
                                  cache=RunCache(None))
    for fig in (explore.wait_figure(result), explore.retention_figure(result)):
        assert any(ax.collections for ax in fig.axes), "no band drawn"
        plt.close(fig)
    fig = explore.wait_figure(result)
    assert fig.axes[0].get_xlim() == (0.0, float(WAIT_AXIS_DAYS))
    plt.close(fig)


def test_run_reads_the_controls_after_values_still_on_their_way(monkeypatch):
    """In the browser a click can reach the kernel before the last value of a control changed just before it (one
    state message per widget at a time): a click within SETTLE_SECONDS of the last change waits out the rest on the
    event loop, so a value arriving in that time is the one that runs; a double click runs once; a click long after
    the last change, or outside an event loop, runs at once."""
    import asyncio

    from sim.apps import explorer_app
    from sim.apps.explorer_app import Explorer

    app = Explorer(jobs=1, cache=RunCache(None))
    seen: list[str] = []
    monkeypatch.setattr(app, "refresh", lambda: seen.append(app.presets.value))

    async def click_then_change() -> None:
        app.presets.value = "fit only"  # a first change, whose successor is still on its way
        app.button.click()
        app.button.click()  # a double click
        await asyncio.sleep(explorer_app.SETTLE_SECONDS / 4)
        app.presets.value = "league table"  # the value that was still on its way
        await asyncio.sleep(explorer_app.SETTLE_SECONDS * 3)

    async def click_long_after_a_change() -> None:
        await asyncio.sleep(explorer_app.SETTLE_SECONDS * 1.5)
        app.button.click()  # nothing can still be on its way: at once
        assert seen[-1] == "individual only"

    asyncio.run(click_then_change())
    assert seen == ["league table"] and not app.button.disabled
    app.presets.value = "individual only"
    asyncio.run(click_long_after_a_change())
    app.presets.value = "fit only"
    app.button.click()  # no event loop: at once
    assert seen == ["league table", "individual only", "fit only"]


def test_the_trade_off_svg_draws_every_verdict_in_the_policys_colour_and_answers_on_hover():
    """One marker per (policy, measure) with a difference, at the difference in units of the smallest that matters
    (right is better), filled only when clear, in the colour every other chart gives the policy; its hover text
    carries the difference, interval and verdict in the measure's own units."""
    import re

    from sim.base.kpis import KPI
    from sim.views.charts import colour_of
    from sim.views.tradeoff_svg import LABELS, LEGEND, WIDTH, tradeoff_svg

    claims = pd.DataFrame({
        "scenario": ["quality first", "quality first", "league table", "league table"],
        "kpi": ["return_after_first_rate", "wait_first_session_days_mean"] * 2,
        "difference": [0.03, 2.0, -0.01, float("nan")], "ci_low": [0.01, -1.0, -0.04, float("nan")],
        "ci_high": [0.05, 5.0, 0.02, float("nan")], "smallest_that_matters": [0.02, 1.0, 0.02, 1.0],
        "verdict": ["better", "no clear difference", "no clear difference", "n/a"]})
    assert {"return_after_first_rate", "wait_first_session_days_mean"} <= set(KPI)
    svg = tradeoff_svg(claims)
    marks = re.findall(r'<g><title>([^<]*)</title><line x1="([-\d.]+)" x2="([-\d.]+)"[^>]*/><circle cx="([-\d.]+)"'
                       r'[^>]*stroke="([^"]+)"[^>]*fill="([^"]+)"', svg)
    assert len(marks) == 3  # the missing difference is not drawn
    by_tip = {tip.split(" · ")[0] + "/" + tip.split(" · ")[1].split(":")[0]: m for tip, *m in marks}
    qf_return = by_tip[f"quality first/{KPI['return_after_first_rate'].label}"]
    qf_wait = by_tip[f"quality first/{KPI['wait_first_session_days_mean'].label}"]
    assert qf_return[3] == qf_return[4] == colour_of("quality first")  # clear: filled in its colour
    assert qf_wait[4] == "white" and by_tip[f"league table/{KPI['return_after_first_rate'].label}"][3] == colour_of(
        "league table")
    x = {k: float(m[2]) for k, m in by_tip.items()}
    ret, wait = KPI["return_after_first_rate"].label, KPI["wait_first_session_days_mean"].label
    left, right = LABELS, WIDTH - LEGEND
    # a longer wait is drawn left (worse); a higher return right (better)
    assert left < x[f"quality first/{wait}"] < x[f"league table/{ret}"] < x[f"quality first/{ret}"] < right
    assert "+3.0 points (better)" in svg and "interval [+1.0, +5.0]" not in svg
    assert re.search(r"quality first · [^:]+: \+2\.0 days \(no clear difference\), interval \[-1\.0 days, \+5\.0 days\]",
                     svg)
