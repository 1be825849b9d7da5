"""A view that moves: the platform week by week, the status quo beside a policy, from a run's recorded weekly
table (no second run). The explorer's Replay tab draws one week at a time (:func:`replay_frame`); a notebook or
an exported page shows the whole run as an animation with play controls (:func:`replay_animation`)."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from sim.runs.runner import StudyResult
from sim.views import charts

#: What the replay shows week by week: weekly column, title, axis label.
REPLAY_SERIES = (("waiting", "Waiting list", "clients waiting"),
                 ("utilisation", "Slots booked", "share of bookable slots"),
                 ("mean_exhaustion", "Mean therapist exhaustion", "exhaustion (0-1)"),
                 ("burnout_share", "Therapists burned out", "share of therapists"),
                 ("leavers", "Therapists leaving", "leavers that week"))


@dataclass
class Replay:
    """What a replay needs of a comparison: the weekly series, the policies in order, the warm-up."""

    series: pd.DataFrame  # replay_series
    names: list[str]  # the status quo first
    warmup: int

    @property
    def last_week(self) -> int:
        return int(self.series.index.get_level_values("week").max()) if len(self.series) else 0


def replay_series(result: StudyResult) -> pd.DataFrame:
    """Week by week, per policy and series: the mean over replications and the range of the replications, from the
    recorded weekly table (no new run)."""
    weekly = result.tables["weekly"]
    cols = [c for c, _, _ in REPLAY_SERIES]
    g = weekly.groupby(["scenario", "week"], sort=False)[cols]
    mean, low, high = g.mean(), g.min(), g.max()
    return pd.concat({"mean": mean, "low": low, "high": high}, axis=1)


def replay_of(result: StudyResult) -> Replay | None:
    """The replay of ``result`` (its first scenario the status quo), or None without a weekly table."""
    if "weekly" not in result.tables:
        return None
    return Replay(replay_series(result), [sc.name for sc in result.scenarios], result.scenarios[0].horizon.warmup_weeks)


def _shown(replay: Replay, policy: str | None) -> list[str]:
    return [replay.names[0], policy if policy in replay.names else replay.names[-1]]


def _draw(axes: np.ndarray, replay: Replay, week: int, shown: list[str]) -> None:
    """Each series up to ``week`` on its own axes, with the range of the replications as a band, the week marked;
    axes fixed over the whole run (so the picture moves, not the axes)."""
    series, col = replay.series, charts.colours(shown)
    for ax, (column, title, unit) in zip(axes, REPLAY_SERIES, strict=True):
        ax.clear()
        top = float(series[("high", column)].max()) if len(series) else 1.0
        for name in shown:
            s = series.xs(name, level="scenario")
            upto = s[s.index <= week]
            ax.fill_between(upto.index, upto[("low", column)], upto[("high", column)], color=col[name], alpha=0.2, lw=0)
            ax.plot(upto.index, upto[("mean", column)], color=col[name], lw=1.5, label=name)
            if len(upto):
                ax.plot([upto.index[-1]], [upto[("mean", column)].iloc[-1]], "o", color=col[name], ms=4)
        ax.axvspan(0, replay.warmup, color="grey", alpha=0.1, lw=0)
        ax.axvline(week, color="black", lw=0.8)
        ax.set_xlim(0, replay.last_week or 1)
        ax.set_ylim(0, top * 1.08 if top > 0 else 1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("week", fontsize=8)
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(frameon=False, fontsize=7, loc="upper left")


def _title(week: int) -> str:
    return f"Week {week}: mean over replications, band = their range (grey: warm-up, not measured)"


def replay_frame(replay: Replay, week: int, policy: str | None = None) -> Figure:
    """The platform up to ``week``: the status quo and one policy (default: the last) side by side."""
    fig, axes = plt.subplots(1, len(REPLAY_SERIES), figsize=(13, 3.0))
    _draw(axes, replay, week, _shown(replay, policy))
    fig.suptitle(_title(week), fontsize=9, color="dimgrey")
    fig.tight_layout()
    return fig


def replay_animation(replay: Replay, policy: str | None = None, every: int = 4, fps: int = 6, dpi: int = 60) -> str:
    """The whole run as an HTML animation with play, pause and a frame slider (matplotlib's ``to_jshtml``: works
    offline, in a notebook and in its exported HTML): one frame every ``every`` weeks, the last week always shown."""
    shown = _shown(replay, policy)
    weeks = [*range(0, replay.last_week, max(1, every)), replay.last_week]
    fig, axes = plt.subplots(1, len(REPLAY_SERIES), figsize=(13, 3.0), dpi=dpi)
    title = fig.suptitle(_title(0), fontsize=9, color="dimgrey")
    fig.tight_layout()

    def frame(week: int) -> list:
        _draw(axes, replay, week, shown)
        title.set_text(_title(week))
        return []

    animation = FuncAnimation(fig, frame, frames=weeks, interval=1000 // max(1, fps), repeat=False)
    try:
        return animation.to_jshtml(fps=fps, default_mode="once")
    finally:
        plt.close(fig)
