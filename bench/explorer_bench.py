"""Benchmark (not a test) of the dashboards at their default settings: ``python bench/explorer_bench.py``.

Measures, on this machine:
1. the explorer's opening view computed from nothing (``python -m sim explorer``: what the cache saves);
2. first paint in a real browser (Chromium through Voila, as ``python -m sim dashboard explorer`` serves it):
   from the page request to the opening comparison on screen, with the opening view cached;
3. a refresh after each of several policy changes from the opening view (the status quo reused from the cache):
   time from Run to the first look (4 replications) and to every replication's table, the slowest and median, and
   their ratio to one status-quo replication timed in the same run (the issue's target: at most 3);
4. a refresh after a platform change (status quo and policy both simulated);
5. the investor brief's first paint with its numbers cached.
Each run also times one fixed replication (the machine's speed at the time). Figures go to
results/bench/explorer.json; the latest are recorded in bench/README.md.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.runs.safe_output import write_folder  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
#: Policy changes a leader might make from the opening view (quality first), none of them a preset: each is simulated.
POLICY_CHANGES: dict[str, dict] = {
    "feedback on": {"performance.feedback.enabled": True},
    "no holds": {"matching.hold_weeks": 0.0},
    "track record": {"matching.information": "measured"},
    "margin 0.15": {"capacity.safety_margin": 0.15},
    "margin 0.1": {"capacity.safety_margin": 0.1},
    "earliest, margin 0.15": {"matching.policy": "earliest", "capacity.safety_margin": 0.15},
    "league table on": {"performance.ranking.enabled": True},
}


def machine_speed() -> float:
    """Seconds for one status-quo replication of the explorer's platform (best of three): this machine's speed
    drifts by a quarter within the hour, so each run records it beside its figures (lower is faster). A pure-Python
    loop does not show the drift (it stayed at 0.25 s while the same runs took 14 to 17 s)."""
    from sim.apps import explore
    from sim.runs.runner import run_replication

    sc = explore.policy_scenario(explore.default_values(), "reference")
    return min(timeit.repeat(lambda: run_replication((sc, 0, sc.seed, (), False)), number=1, repeat=3))


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def first_paint(notebook: str, ready_selector: str, screenshot: Path | None = None, show: str = "") -> float:
    """Seconds from the page request until ``ready_selector`` is on screen (Voila already listening), at the
    dashboard's real size; optionally a 1366 x 768 screenshot of what a visitor then sees."""
    from tests.test_dashboard import browser_page, served

    with tempfile.TemporaryDirectory() as tmp, served(notebook, Path(tmp), quick=False) as url, \
            browser_page() as (page, _):
        started = time.perf_counter()
        page.goto(url)
        page.locator(ready_selector).first.wait_for()
        seconds = time.perf_counter() - started
        if screenshot is not None:
            if show:
                page.locator(show).scroll_into_view_if_needed()
            time.sleep(1.0)  # let the images decode
            page.screenshot(path=str(screenshot))
        return seconds


def main() -> None:
    from sim.apps import explore
    from sim.apps.explorer_app import Explorer
    from sim.runs.cache import RunCache
    from sim.views import brief

    figures: dict[str, float] = {"machine speed at the start: one status-quo replication (s, lower is faster)": machine_speed()}
    with tempfile.TemporaryDirectory() as tmp:  # a cache holding only the presets: custom runs are really run
        fresh = RunCache(Path(tmp))
        figures["every preset and the opening view from nothing (s)"] = timed(lambda: explore.precompute(cache=fresh))
        app = Explorer(cache=fresh)
        app.open()
        app.apply_preset("fit only")
        figures["preset: Run to detail charts and download (s)"] = timed(app.refresh)
        figures["preset: Run to the trade-off and table on screen (s)"] = app.last_refresh_seconds
        changes, fulls = [], []
        for label, change in POLICY_CHANGES.items():  # each from the opening view, a setting no preset has
            app.apply_preset(explore.OPENING_PRESET)
            for path, value in change.items():
                app.controls[path].value = value
            figures[f"policy change, {label}: Run to detail charts and download (s)"] = timed(app.refresh)
            figures[f"policy change, {label}: Run to the trade-off and table on screen (s)"] = app.last_refresh_seconds
            figures[f"policy change, {label}: Run to every replication's trade-off and table (s)"] = \
                app.last_full_seconds
            changes.append(app.last_refresh_seconds)
            fulls.append(app.last_full_seconds)
        figures["policy changes: slowest Run to the trade-off and table (s)"] = max(changes)
        figures["policy changes: median Run to the trade-off and table (s)"] = statistics.median(changes)
        figures["policy changes: slowest Run to every replication's table (s)"] = max(fulls)
        speed = figures["machine speed at the start: one status-quo replication (s, lower is faster)"]
        figures["policy changes: slowest first look / one replication (the issue's ratio, target <= 3)"] = \
            max(changes) / speed
        figures["policy changes: median first look / one replication"] = statistics.median(changes) / speed
        figures["policy changes: slowest full table / one replication"] = max(fulls) / speed
        app.controls["therapists.count"].value = app.controls["therapists.count"].value + 1
        figures["refresh after a platform change (s)"] = timed(app.refresh)
        if app.pool is not None:
            app.pool.terminate()  # the page's workers, no longer needed
    figures["machine speed after the refreshes: one status-quo replication (s)"] = machine_speed()
    explore.precompute()  # the real cache, for the page
    brief.drawn(brief.build())  # the numbers and the drawn deck, cached for the page
    if Path(CHROMIUM).exists():
        os.environ.pop("SIM_QUICK", None)
        images = ROOT / "docs" / "images"  # the README's screenshots
        images.mkdir(parents=True, exist_ok=True)
        figures["explorer first paint, cached opening view (s)"] = first_paint(
            "01_policy_explorer.ipynb", ".fm-status:has-text('Done in')", images / "explorer.png")
        figures["investor brief first paint, cached numbers (s)"] = first_paint(
            "05_investor_brief.ipynb", "a.fm-pack-download", images / "investor_brief.png",
            show="img >> nth=1")  # the first question's slide, not the cover
    # results/bench/explorer/ (untracked), written through the tool's manifest: other commands leave it alone
    write_folder(ROOT / "results" / "bench" / "explorer",
                 lambda tmp: (tmp / "explorer.json").write_text(json.dumps(figures, indent=2)))
    for name, value in figures.items():
        print(f"{name:60s} {value:6.2f}")


if __name__ == "__main__":
    main()
