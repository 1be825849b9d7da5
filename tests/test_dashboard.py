"""Real-browser tests: Voila serves the dashboards on 127.0.0.1; Playwright drives Debian's Chromium.

The explorer: opens on 'quality first' against the status quo, with the trade-off panel and
verdicts; a preset click and Run change the comparison; pinning compares two policies; a Run with
nothing changed leaves every number as it was (the controls represent the defaults exactly);
controls a policy ignores are greyed out; the download arrives as a zip of CSV and editable SVG;
no request leaves 127.0.0.1. The investor brief renders its takeaways and its download arrives.
Screenshots go to results/screenshots/. Skips (loudly) only when Chromium is not installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sim.apps.dashboard_server import voila_arguments
from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
HARD_TIMEOUT = 600  # seconds for a whole test
SHOTS = ROOT / "results" / "screenshots"
ENV = {**os.environ, "SIM_QUICK": "1", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT), "SIM_NO_PROGRESS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, deadline: float) -> None:
    """Until the server accepts connections (requesting a page would start a kernel)."""
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"Voila did not listen on 127.0.0.1:{port}")


@pytest.fixture
def hard_timeout():
    def on_alarm(signum, frame):
        raise TimeoutError(f"browser test exceeded {HARD_TIMEOUT} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(HARD_TIMEOUT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def save(shots: dict[str, bytes], name: str) -> None:
    """Screenshots into results/screenshots/NAME/ through the tool's manifest (so other commands leave them be)."""
    from sim.runs.safe_output import write_folder

    def fill(tmp: Path) -> None:
        for file, data in shots.items():
            (tmp / file).write_bytes(data)

    write_folder(SHOTS / name, fill)


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = f"CHROMIUM NOT INSTALLED at {CHROMIUM}: the real-browser dashboard test did NOT run"
        print("\n" + "!" * 80 + "\n" + message + "\n" + "!" * 80, file=sys.stderr)
        warnings.warn(message, stacklevel=2)
        pytest.skip(message)


@contextmanager
def served(notebook: str, tmp_path: Path, quick: bool = True) -> Iterator[str]:
    """Voila serving a copy of ``notebook`` (autosave must never rewrite the repo's file); yields the URL.
    ``quick``: in quick mode (small platform, as CI runs it)."""
    copy = tmp_path / notebook
    shutil.copy(ROOT / "notebooks" / notebook, copy)
    port = free_port()
    env = {**ENV, "JUPYTER_PATH": str(ROOT / "share" / "jupyter")}  # as `python -m sim dashboard` serves it
    if not quick:
        env.pop("SIM_QUICK")
    voila = subprocess.Popen([sys.executable, "-m", "sim.apps.dashboard_server", *voila_arguments(str(copy), port)],
                             cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_for(port, time.time() + 120)
        yield f"http://127.0.0.1:{port}/"
    finally:
        voila.terminate()
        try:
            voila.wait(timeout=20)
        except subprocess.TimeoutExpired:
            voila.kill()


@contextmanager
def browser_page(width: int = 1366, height: int = 768) -> Iterator[tuple[object, list[str]]]:
    """A Chromium page that refuses every request leaving 127.0.0.1; yields it and the refused URLs."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def guard(route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        context.route("**/*", guard)
        page = context.new_page()
        page.set_default_timeout(240_000)
        try:
            yield page, outside
        finally:
            browser.close()


def downloaded(page, link: str, path: Path) -> Path:
    """Click ``link`` and save the file the browser receives at ``path``."""
    with page.expect_download() as info:
        page.locator(link).click()
    info.value.save_as(path)
    return path


def done(page, after: str = "") -> None:
    """Wait for a finished run (status 'Done in ...'), different from ``after`` when given."""
    page.wait_for_function(
        "prev => { const s = document.querySelector('.fm-status'); return s && s.innerText.startsWith('Done in')"
        " && s.innerText !== prev; }", arg=after)


@pytest.mark.slow
def test_explorer_in_a_real_browser(tmp_path: Path, hard_timeout):
    need_chromium()
    subprocess.run([sys.executable, "-m", "sim", "explorer"], cwd=ROOT, env=ENV, check=True, timeout=300)
    with served("01_policy_explorer.ipynb", tmp_path) as url, browser_page() as (page, outside):
        page.goto(url)
        done(page)
        status = page.locator(".fm-status")
        # opening view: quality first against the status quo, trade-off chart and verdicts in words
        assert page.locator(".fm-presets button.mod-active").inner_text().strip() == "quality first"
        table = page.locator(".fm-kpi-table table")
        first_table = table.inner_text()
        assert "quality first" in first_table and "status quo" in first_table
        assert "no clear difference" in first_table or "negligible" in first_table
        tradeoff = page.locator(".fm-tradeoff svg")  # an inline SVG whose markers answer on hover
        assert tradeoff.count() == 1 and tradeoff.bounding_box()["width"] > 600
        assert "quality first · Recovery:" in tradeoff.locator("g > title").all_text_contents()[1]
        assert "replications per policy" in page.locator(".fm-size").inner_text()
        shots = {"explorer.png": page.screenshot()}  # what a leader sees first, at 1366 x 768

        # a run with nothing changed reproduces every number: the controls show the defaults exactly
        before = status.inner_text()
        page.locator("button.fm-run").click()
        done(page, before)
        assert table.inner_text() == first_table

        # a control the policy ignores is greyed out; its help says so
        margin = page.locator(".fm-capacity-quota-per-day input, .fm-capacity-quota-per-day .slider-container")
        assert margin.count() >= 1
        assert page.locator(".fm-help-capacity-quota-per-day").inner_text().find("not used") >= 0
        assert "Each therapist is booked to their own" in page.locator(".fm-help-capacity-policy").inner_text()

        # pin quality first, then the league table preset: both against the status quo
        page.locator("button.fm-pin").click()
        status.filter(has_text="Pinned").wait_for()
        page.locator(".fm-presets button", has_text="league table").click()
        status.filter(has_text="Preset chosen").wait_for()
        before = status.inner_text()
        page.locator("button.fm-run").click()
        done(page, before)
        both = table.inner_text()
        assert "league table" in both and "quality first" in both
        assert "league table" in status.inner_text()

        # four policies side by side still fit the column at 1366 px: no verdict cut, no table past its box
        for preset in ("productivity push", "fit only"):  # each step waits until the kernel has it: a widget's
            page.locator("button.fm-pin").click()  # value change can be overtaken by a later button click
            status.filter(has_text="Pinned").wait_for()
            page.locator(".fm-presets button", has_text=preset).click()
            status.filter(has_text="Preset chosen").wait_for()
        before = status.inner_text()
        page.locator("button.fm-run").click()
        done(page, before)
        fit = page.evaluate("""() => {
            const t = document.querySelector('.fm-kpi-table table');
            const box = t.parentElement.getBoundingClientRect();
            const cut = [...t.querySelectorAll('td, th')].filter(c => c.scrollWidth > c.clientWidth + 1)
                .map(c => c.innerText.slice(0, 40));
            return {columns: t.rows[0].cells.length, right: t.getBoundingClientRect().right, box: box.right,
                    viewport: window.innerWidth, cut: cut};
        }""")
        assert fit["columns"] == 6, fit  # the measure, the status quo and four policies
        assert not fit["cut"] and fit["right"] <= min(fit["box"], fit["viewport"]) + 1, fit
        assert "no clear difference" in table.inner_text() or "negligible" in table.inner_text()
        shots["explorer_four_policies.png"] = page.screenshot()

        # the replay tab plays the recorded weeks: press play, the week moves and the picture with it
        page.locator(".lm-TabBar-tab, .p-TabBar-tab", has_text="Replay").click()
        chart = page.locator(".fm-replay-chart img, img.fm-replay-chart")
        chart.wait_for()
        page.wait_for_function("() => { const i = document.querySelector('.fm-replay-chart img, img.fm-replay-chart');"
                               " return i && i.src && i.src.length > 0 && i.naturalWidth > 100; }")  # (a blob: URL)
        page.locator(".fm-replay-week input, .fm-replay-week .slider").first.wait_for(state="attached")
        page.evaluate("() => document.querySelector('.fm-replay-play button').click()")  # play: from week 0
        page.wait_for_timeout(4000)
        first = chart.get_attribute("src")
        page.wait_for_timeout(2000)
        assert chart.get_attribute("src") != first, "the replay did not move"
        shots["explorer_replay.png"] = page.screenshot()

        # only the open tab was drawn after the run; the download is made when asked for, then arrives as a file:
        # CSV tables and charts as PNG and SVG with editable text
        assert page.locator("a.fm-download").count() == 0
        page.locator("button.fm-prepare-download").click()
        page.locator("a.fm-download").wait_for()
        with zipfile.ZipFile(downloaded(page, "a.fm-download", tmp_path / "download.zip")) as z:
            listed = set(z.namelist())
            assert {"kpi_table.csv", "differences.csv", "replications.csv"} <= listed
            assert "charts/trade_off.svg" in listed and "charts/trade_off.png" in listed
            svg = z.read("charts/trade_off.svg").decode()
            assert "<text" in svg and "Recovery" in svg
            assert "league table" in z.read("kpi_table.csv").decode()
        shots["explorer_full.png"] = page.screenshot(full_page=True)
    assert not outside, f"the page asked the network for {outside[:5]}"
    assert len(shots["explorer.png"]) > 10_000
    save(shots, "explorer")


@pytest.mark.slow
def test_investor_brief_in_a_real_browser(tmp_path: Path, hard_timeout):
    need_chromium()
    with served("05_investor_brief.ipynb", tmp_path) as url, browser_page(1366, 900) as (page, outside):
        page.goto(url)
        page.locator("a.fm-pack-download").wait_for()
        text = page.locator("body").inner_text()
        # the generated takeaways, hedged by the numbers, for the lead policy and the alternative
        assert "Quality first:" in text and "Productivity push:" in text
        assert any(w in text for w in ("no clear difference", "negligible", ": better", ": worse"))
        assert page.locator("img").count() >= 6  # cover, three questions, payment, method
        with zipfile.ZipFile(downloaded(page, "a.fm-pack-download", tmp_path / "pack.zip")) as z:
            listed = set(z.namelist())
        assert "investor_pack/investor_brief.pdf" in listed and "investor_pack/differences.csv" in listed
        assert {n for n in listed if n.endswith(".svg")} and {n for n in listed if n.endswith(".png")}
        save({"investor_brief.png": page.screenshot()}, "brief")
    assert not outside, f"the page asked the network for {outside[:5]}"


def kernel_processes() -> list[int]:
    """Kernels (and the worker processes they started) on this machine."""
    import psutil

    return [p.pid for p in psutil.process_iter(["cmdline"]) if "ipykernel_launcher" in " ".join(p.info["cmdline"] or [])]


@pytest.mark.slow
def test_reloads_leave_one_kernel_and_a_foreign_host_is_refused(tmp_path, hard_timeout):
    """Ten reloads of the explorer: each page's kernel is shut down when the page goes (the _xsrf cookie lets
    its shutdown beacon through), so one page's kernel and its workers remain. A DNS-rebinding Host is refused."""
    import urllib.error
    import urllib.request

    need_chromium()
    before = set(kernel_processes())
    with served("01_policy_explorer.ipynb", tmp_path) as url, browser_page() as (page, _):
        request = urllib.request.Request(url, headers={"Host": "attacker.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403
        counts = []
        for _ in range(10):
            page.goto(url, wait_until="load")
            page.wait_for_selector(".fm-status")
            counts.append(len(set(kernel_processes()) - before))
        deadline = time.time() + 60
        while time.time() < deadline and len(set(kernel_processes()) - before) > counts[0]:
            time.sleep(1)
        assert len(set(kernel_processes()) - before) == counts[0], counts  # one page's kernel and its workers
        assert max(counts) <= 2 * counts[0], counts  # never more than the old and the new page's for a moment


@pytest.mark.slow
def test_a_killed_dashboard_command_leaves_nothing_serving(tmp_path, hard_timeout):
    import psutil

    port = free_port()
    env = {**ENV, "JUPYTER_PATH": str(ROOT / "share" / "jupyter")}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "dashboard", "explorer", "--no-browser", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, time.time() + 300)
        import urllib.request

        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=120).read()  # a page: a kernel starts
        family = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert len(family) > 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.time() + 60
        while time.time() < deadline and any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                                             for p in family):
            time.sleep(1)
        alive = [p for p in family if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
        assert not alive, alive
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
