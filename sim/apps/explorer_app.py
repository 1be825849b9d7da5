"""The policy explorer's widgets (ipywidgets; shown by notebook 01 in JupyterLab or Voila).

Layout, top to bottom: presets and Run; the trade-off panel (chart and KPI table) beside the
controls; detail charts in tabs; downloads. All numbers come from :mod:`sim.apps.explore`.
"""

from __future__ import annotations

import asyncio
import base64
import html
import math
import time
from collections.abc import Callable
from typing import Any

from sim.apps import explore
from sim.apps.explore import BASELINE_NAME, MAX_POLICIES, PRESET_HELP, PRESETS, FieldSpec, RunCache
from sim.base.errors import InputError
from sim.runs import quick
from sim.runs.runner import worker_pool
from sim.views import charts
from sim.views.replay import replay_frame

CUSTOM = "custom"
#: Seconds a click on Run or Pin waits before it reads the controls. The browser sends a widget's newest value only
#: once the kernel has answered its previous one (ipywidgets sends one state message per widget at a time), while
#: a button click goes at once: a click straight after two quick changes of one control (two presets, a slider
#: drag) could otherwise reach the kernel before that control's last value and run the settings before it.
SETTLE_SECONDS = 0.1
STYLE = """<style>
.fm-stale { opacity: 0.35; }
.fm-help { font-size: 11px; color: #555; margin: -4px 0 4px 4px; max-width: 400px; }
.fm-error { color: #b2182b; font-weight: 600; }
.fm-size { font-size: 11px; color: #555; }
</style>"""


class Explorer:
    """Presets, controls from the schema, Run, the trade-off panel, detail tabs, pins and downloads."""

    def __init__(self, reps: int = explore.DEFAULT_REPS, jobs: int = 2, cache: RunCache | None = None):
        import ipywidgets as w

        self.w = w
        self.jobs = jobs
        self.pool = worker_pool(jobs) if jobs > 1 else None  # started once, while this process is still small
        self.cache = cache if cache is not None else RunCache()
        self.base = explore.explorer_base()
        self.specs = explore.field_specs(self.base)
        self.controls = {s.path: self._widget(s) for s in self.specs}
        self.help = {s.path: w.HTML(self._help_text(s, s.default)) for s in self.specs}
        for path, h in self.help.items():
            h.add_class("fm-help")
            h.add_class("fm-help-" + _css(path))
        self.pinned: dict[str, dict[str, Any]] = {}
        self.result: explore.View | None = None  # what the page shows
        self.runs = 0
        self.last_refresh_seconds = float("nan")  # from Run to the (first) trade-off and table on screen
        self.last_full_seconds = float("nan")  # from Run to the trade-off and table of every replication

        self.presets = w.ToggleButtons(options=[*PRESETS, CUSTOM], value=explore.OPENING_PRESET,
                                       tooltips=[*PRESET_HELP.values(), "Your own settings"],
                                       style={"button_width": "118px"})
        self.presets.add_class("fm-presets")
        self.reps_widget = w.IntSlider(value=max(5, reps), min=5, max=20, description="Replications",
                                       style={"description_width": "initial"}, layout=w.Layout(width="300px"))
        self.reps_widget.add_class("fm-reps")
        self.button = w.Button(description="Run", button_style="primary", tooltip="Simulate the settings shown")
        self.button.add_class("fm-run")
        self.pin_button = w.Button(description="Pin this policy", tooltip=f"Keep it on the page (up to {MAX_POLICIES})")
        self.pin_button.add_class("fm-pin")
        self.clear_button = w.Button(description="Clear pins")
        self.clear_button.add_class("fm-clear-pins")
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="200px"))
        self.upload = w.FileUpload(accept=".yaml,.yml", multiple=False, description="Load scenario",
                                   layout=w.Layout(width="150px"))
        self.upload.observe(self._on_upload, names="value")
        self.stage = w.HTML("")
        self.stage.add_class("fm-stage")
        self.status = w.HTML("")
        self.status.add_class("fm-status")
        self.size = w.HTML("")
        self.size.add_class("fm-size")
        self.tradeoff = w.HTML(layout=w.Layout(max_width="100%"))  # an inline SVG: answers on hover
        self.tradeoff.add_class("fm-chart")
        self.tradeoff.add_class("fm-tradeoff")
        self.table = w.HTML("")
        self.table.add_class("fm-kpi-table")
        self.detail_images = {name: w.Image(format="png", layout=w.Layout(max_width="100%"))
                              for name in explore.DETAIL_FIGURES}
        for image in self.detail_images.values():
            image.add_class("fm-chart")
        self.replay_image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.replay_image.add_class("fm-replay-chart")
        self.replay_play = w.Play(value=0, min=0, max=1, step=1, interval=350, description="Play")
        self.replay_play.add_class("fm-replay-play")
        self.replay_week = w.IntSlider(value=0, min=0, max=1, description="Week", continuous_update=False,
                                       layout=w.Layout(width="420px"))
        self.replay_week.add_class("fm-replay-week")
        w.jslink((self.replay_play, "value"), (self.replay_week, "value"))
        self.replay_week.observe(lambda change: self.draw_replay(change["new"]), names="value")
        self.replay: explore.Replay | None = None
        replay = w.VBox([w.HTML("<span class='fm-help'>The platform week by week, status quo beside the policy, from "
                                "the runs shown above (press play, or drag the week).</span>"),
                         w.HBox([self.replay_play, self.replay_week]), self.replay_image])
        self.tabs = w.Tab(children=[*self.detail_images.values(), replay])
        for i, name in enumerate([*self.detail_images, "Replay"]):
            self.tabs.set_title(i, name)
        self.tabs.observe(self._on_tab, names="selected_index")
        self.downloads = w.HTML("")
        self.downloads.add_class("fm-downloads")
        self.download_button = w.Button(description="Prepare the download", icon="download",
                                        tooltip="CSV tables and every chart as PNG and SVG, in one zip",
                                        layout=w.Layout(width="220px", display="none"))
        self.download_button.add_class("fm-prepare-download")
        self.download_button.on_click(lambda _b: self.prepare_download())
        self.pending: tuple[explore.View, Any, dict[str, Any]] | None = None  # a run whose tabs are drawn as opened
        self.results_box = w.VBox([self.size, self.tradeoff, self.table, self.tabs, self.download_button,
                                   self.downloads])
        self.results_box.add_class("fm-results")

        self._applying_preset = False
        self._last_change = -math.inf  # when the kernel last received a changed control (see after_settling)
        for widget in (self.presets, self.reps_widget, *self.controls.values()):
            widget.observe(self._changed, names="value")
        self.presets.observe(self._on_preset, names="value")
        for widget in self.controls.values():
            widget.observe(self._on_control, names="value")
        self.button.on_click(lambda _b: self.after_settling(self.refresh, self.button))
        self.pin_button.on_click(lambda _b: self.after_settling(self.pin, self.pin_button))
        self.clear_button.on_click(lambda _b: self.clear_pins())
        self.apply_preset(explore.OPENING_PRESET)

    def after_settling(self, action: Callable[[], None], button: Any) -> None:
        """Do a button's ``action`` once the control values already on their way have arrived: up to SETTLE_SECONDS
        after the last change the kernel received, on the kernel's event loop, which handles them meanwhile (at once
        when the last change is older, or outside a running event loop: scripts, tests). The button is disabled
        while it waits, so a double click acts once."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        wait = SETTLE_SECONDS - (time.monotonic() - self._last_change)  # nothing can be on its way after that
        if loop is None or wait <= 0:
            action()
            return
        if button.disabled:
            return
        button.disabled = True

        def act() -> None:
            button.disabled = False
            action()

        loop.call_later(wait, act)

    def _changed(self, _change: dict | None = None) -> None:
        self._last_change = time.monotonic()

    # -- controls --------------------------------------------------------------------
    def _widget(self, s: FieldSpec) -> Any:
        w = self.w
        common = {"description": s.label, "tooltip": f"{s.help} ({s.unit})" if s.unit else s.help,
                  "style": {"description_width": "170px"}, "layout": w.Layout(width="430px")}
        if s.kind == "choice":
            widget = w.Dropdown(options=s.options, value=s.default, **common)
        elif s.kind == "bool":
            widget = w.Checkbox(value=s.default, indent=False, **common)
        elif s.kind == "int":
            widget = w.IntSlider(value=s.default, min=int(s.low or 0), max=int(s.high or 100), step=1, **common)
        else:
            decimals = max(0, len(f"{s.step:g}".split(".")[1]) if "." in f"{s.step:g}" else 0)
            widget = w.FloatSlider(value=s.default, min=s.low, max=s.high, step=s.step,
                                   readout_format=f".{decimals}f", **common)
        widget.add_class("fm-" + _css(s.path))
        return widget

    def _help_text(self, s: FieldSpec, value: Any) -> str:
        text = s.help + (f" ({s.unit})" if s.unit and s.kind != "choice" else "")
        if s.kind == "choice":
            text = f"<b>{html.escape(str(value))}</b>: {html.escape(explore.option_help(s.path, value))}"
            return text
        return html.escape(text)

    def values(self) -> dict[str, Any]:
        return {path: widget.value for path, widget in self.controls.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        for path, value in values.items():
            if path in self.controls:
                self.controls[path].value = value
        self._update_relevance()

    def apply_preset(self, preset: str) -> None:
        self._applying_preset = True
        try:
            shared = {k: v for k, v in self.values().items() if k in explore.SHARED}
            self.set_values({**explore.preset_values(preset, self.base), **shared})
            if self.presets.value != preset:
                self.presets.value = preset
        finally:
            self._applying_preset = False

    def _on_upload(self, change: dict) -> None:
        """A scenario file chosen in the browser: its settings go into the controls (press Run to see it)."""
        files = change["new"]
        if not files:
            return
        item = files[0] if isinstance(files, list | tuple) else next(iter(files.values()))
        name = str(item.get("name", "scenario.yaml"))
        try:
            values, ignored = explore.settings_from_file(bytes(item["content"]).decode("utf-8"), name)
        except (InputError, UnicodeDecodeError) as exc:
            self.status.value = f"<span class='fm-error'>Could not load {html.escape(name)}: {html.escape(str(exc))}</span>"
            return
        self._applying_preset = True
        try:
            self.set_values(values)
            self.presets.value = CUSTOM
        finally:
            self._applying_preset = False
        note = f" (not shown here, so not applied: {', '.join(ignored[:6])})" if ignored else ""
        self._mark_stale(f"Loaded {html.escape(name)}{html.escape(note)}: press Run.")

    def _on_preset(self, change: dict) -> None:
        if change["new"] != CUSTOM and not self._applying_preset:
            self.apply_preset(change["new"])
            self._mark_stale("Preset chosen: press Run.")

    def _on_control(self, change: dict) -> None:
        if _same(change["old"], change["new"]):  # a browser's float rounding of the same value: not a change
            return
        self._update_relevance()
        path = next((p for p, widget in self.controls.items() if widget is change.get("owner")), None)
        if not self._applying_preset:
            if self.presets.value != CUSTOM and path not in explore.SHARED:  # (a platform setting keeps the policy)
                self._applying_preset = True
                self.presets.value = CUSTOM
                self._applying_preset = False
            self._mark_stale("Settings changed: press Run.")

    def _update_relevance(self) -> None:
        values = self.values()
        for s in self.specs:
            active = explore.relevant(s.path, values)
            self.controls[s.path].disabled = not active
            help_text = self._help_text(s, values[s.path])
            if not active:
                controlling = explore.ACTIVE_WHEN[s.path][0]
                help_text += f" <i>(not used with this {self._label(controlling).lower()} setting)</i>"
            self.help[s.path].value = help_text

    def _label(self, path: str) -> str:
        return next(s.label for s in self.specs if s.path == path)

    def _mark_stale(self, message: str) -> None:
        if self.result is not None:
            self.results_box.add_class("fm-stale")
        self.status.value = message

    # -- pins --------------------------------------------------------------------------
    def _policy_name(self) -> str:
        preset = self.presets.value
        return "your policy" if preset in (CUSTOM, BASELINE_NAME) else preset

    def pin(self) -> None:
        name = self._policy_name()
        base, i = name, 2
        while name in self.pinned:
            name, i = f"{base} ({i})", i + 1
        if len(self.pinned) >= MAX_POLICIES - 1:
            self.status.value = f"At most {MAX_POLICIES} policies side by side: clear the pins first."
            return
        self.pinned[name] = self.values()
        self.status.value = f"Pinned '{html.escape(name)}'. Choose another policy and press Run to compare."

    def clear_pins(self) -> None:
        self.pinned.clear()
        self._mark_stale("Pins cleared: press Run.")

    def policies(self) -> dict[str, dict[str, Any]]:
        """What Run compares with the status quo: the pinned policies, then the current settings."""
        current = self.values()
        shared = {k: v for k, v in current.items() if k in explore.SHARED}
        out = {name: {**values, **shared} for name, values in self.pinned.items()}
        name = self._policy_name()
        if name in out and out[name] != current:
            name = "your policy"
        out[name] = current
        return out

    # -- running -----------------------------------------------------------------------
    def compares_nothing(self) -> bool:
        """The status quo's own settings and nothing pinned: a comparison of the status quo with itself."""
        status_quo = explore.preset_values(BASELINE_NAME, self.base)
        current = self.values()
        return not self.pinned and all(_same(current[k], v) for k, v in status_quo.items()
                                       if k in current and k not in explore.SHARED)

    def refresh(self) -> None:
        if self.compares_nothing():
            self.status.value = ("The status quo is what every policy is compared with: choose another preset or "
                                 "change a policy setting, then Run.")
            return
        self.button.disabled = True
        self._drop_pending()
        self.progress.max, self.progress.value = 1, 0
        self.stage.value = "Checking the settings..."
        self._mark_stale("Running... (the results shown are from the previous run until this one finishes)")
        started = time.perf_counter()

        def on_progress(done: int, total: int) -> None:
            self.progress.max, self.progress.value = total, done
            self.stage.value = f"Simulating: {done} of {total} replications"

        try:
            policies = self.policies()
            reps = quick.reps(self.reps_widget.value)  # (what quick mode runs)
            self.stage.value = "Simulating (runs already done are reused)..."
            # a first look at fewer replications, then all of them (one step when the runs are cached); a bad value
            # stops the run before anything runs, naming the field
            looks = 0
            for result in explore.run_policies_in_steps(policies, reps=reps, jobs=self.jobs, cache=self.cache,
                                                        on_progress=on_progress, pool=self.pool):
                self.stage.value = "Drawing the trade-off..."
                view, figs = explore.render(result, details=False)  # the headline first; the detail tabs follow
                for image in self.detail_images.values():
                    image.value = b""
                self.show(view)
                looks += 1
                if looks == 1:
                    self.last_refresh_seconds = time.perf_counter() - started
                shown = int(result.replications.groupby("scenario").size().min())
                if shown < reps:
                    explore.close(figs)
                    self.status.value = (f"First look in {self.last_refresh_seconds:.1f} s at {shown} of "
                                         f"{reps} replications: "
                                         f"{html.escape(explore.caption(view.policies))}. Simulating the rest to "
                                         "sharpen the intervals...")
            self.progress.max = self.progress.value = 1
            self.runs += 1
            self.last_full_seconds = time.perf_counter() - started
            first = (f"first look in {self.last_refresh_seconds:.1f} s, " if looks > 1 else "")
            self.status.value = (f"Done in {self.last_full_seconds:.1f} s ({first}run {self.runs}): "
                                 f"{html.escape(explore.caption(view.policies))}.{explore.unclear_hint(view.claims)}")
            # only the open tab is drawn now; the others when opened, the download when asked for
            self.pending = (view, result, figs)
            self._draw_open_tab()
            self.downloads.value = ""
            self.download_button.layout.display = None
            self.stage.value = ""
        except InputError as exc:
            self.results_box.add_class("fm-stale")
            self.stage.value = ""
            self.status.value = f"<span class='fm-error'>Not run: {html.escape(str(exc))}</span>"
        except Exception as exc:  # shown to the user, not swallowed
            self.stage.value = ""
            self.status.value = f"<span class='fm-error'>Could not run: {html.escape(str(exc))}</span>"
            raise
        finally:
            self.button.disabled = False

    def show(self, view: explore.View) -> None:
        """Put a drawn comparison on the page: size line, trade-off chart, table, detail tabs, download."""
        self.size.value = "Run size: " + html.escape(view.size)
        self.table.value = (f"<p class='fm-caption'>{html.escape(explore.caption(view.policies))}</p>"
                            + view.table_html + explore.plausible_html(view.policies))
        self.tradeoff.value = view.tradeoff_html
        for name, image in self.detail_images.items():
            if name in view.images:
                image.value = view.images[name]
        self.downloads.value = ""
        self.download_button.layout.display = "none"
        self.result = view
        self.replay = view.replay
        if self.tabs.selected_index == len(self.detail_images):
            self.start_replay()
        self.results_box.remove_class("fm-stale")
        if view.archive is not None:
            self.offer_download(view.archive)

    # -- tabs drawn when opened, the download when asked for ----------------------------
    def _drop_pending(self) -> None:
        if self.pending is not None:
            explore.close(self.pending[2])
            self.pending = None

    def _draw_open_tab(self) -> None:
        index = self.tabs.selected_index
        names = list(self.detail_images)
        if self.pending is None or index is None or index >= len(names):
            return
        view, result, figs = self.pending
        self.stage.value = f"Drawing {names[index].lower()}..."
        explore.add_detail(view, result, figs, names[index])
        self.detail_images[names[index]].value = view.images[names[index]]
        self.stage.value = ""

    def prepare_download(self) -> None:
        """Draw what is not drawn yet and offer the results as one zip (CSV tables, PNG and SVG charts)."""
        if self.pending is None:
            return
        view, result, figs = self.pending
        self.download_button.disabled = True
        self.stage.value = "Preparing the download..."
        explore.finish(view, result, figs)
        for name, image in self.detail_images.items():
            image.value = view.images[name]
        self.pending = None
        self.download_button.disabled = False
        self.download_button.layout.display = "none"
        self.offer_download(view.archive or b"")
        self.stage.value = ""

    # -- replay ------------------------------------------------------------------------
    def _on_tab(self, change: dict) -> None:
        if change["new"] == len(self.detail_images):  # the replay tab: drawn only when opened
            self.start_replay()
        else:
            self._draw_open_tab()

    def start_replay(self) -> None:
        """Set the week slider to the shown comparison's weeks and draw the last week."""
        if self.replay is None:
            self.replay_image.value = b""
            return
        weeks = int(self.replay.series.index.get_level_values("week").max())
        self.replay_play.max = self.replay_week.max = weeks
        if self.replay_week.value == weeks:
            self.draw_replay(weeks)
        else:
            self.replay_week.value = weeks

    def draw_replay(self, week: int) -> None:
        if self.replay is None:
            return
        fig = replay_frame(self.replay, week, policy=self._policy_name())
        self.replay_image.value = charts.png_bytes(fig)

    def offer_download(self, archive: bytes) -> None:
        """The current results as a browser download: CSV tables and PNG and SVG charts in one zip."""
        encoded = base64.b64encode(archive).decode()
        self.downloads.value = (
            f"<a class='fm-download' download='fifty_minutes_explorer.zip' "
            f"href='data:application/zip;base64,{encoded}'>Download these results (zip: CSV tables, PNG and SVG "
            f"charts)</a>")

    def open(self) -> None:
        """Show the opening view: drawn earlier and cached (instant), else computed and drawn now."""
        started = time.perf_counter()
        if self.presets.value != explore.OPENING_PRESET or self.reps_widget.value != explore.DEFAULT_REPS:
            self.refresh()
            return
        self.status.value = "Loading the opening comparison..."
        view = explore.opening_view(reps=self.reps_widget.value, jobs=self.jobs, cache=self.cache)
        self.show(view)
        self.runs += 1
        self.status.value = (f"Done in {time.perf_counter() - started:.1f} s (run {self.runs}; the opening comparison "
                             f"is computed once and cached): {html.escape(explore.caption(view.policies))}."
                             f"{explore.unclear_hint(view.claims)}")

    def display(self) -> None:
        from IPython.display import display

        w = self.w
        policy = [w.HTML("<b>Policy</b>")]
        for path, _ in explore.POLICY_CONTROLS:
            policy += [self.controls[path], self.help[path]]
        platform = [w.HTML("<b>Platform and run</b> (shared by the status quo and every policy)")]
        for path, _ in explore.PLATFORM_CONTROLS:
            platform += [self.controls[path], self.help[path]]
        settings = w.Accordion(children=[w.VBox(policy), w.VBox([*platform, self.reps_widget])])
        settings.set_title(0, "Policy settings")
        settings.set_title(1, "Platform and run")
        settings.selected_index = 0
        settings.layout = w.Layout(width="470px")
        header = w.VBox([
            w.HTML(STYLE + "<b>Presets</b> (each against the status quo, on the same simulated clients)"),
            self.presets,
            w.HBox([self.button, self.pin_button, self.clear_button, self.upload, self.progress, self.stage]),
            self.status,
        ])
        display(w.VBox([header, w.HBox([self.results_box, settings])]))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a))
    return bool(a == b)


def _css(path: str) -> str:
    return path.replace(".", "-").replace("_", "-")
