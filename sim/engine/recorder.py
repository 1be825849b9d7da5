"""Recorded tables: typed columns (``array.array``) appended during a run, DataFrames at the end.

Typed columns keep a 1,000-therapist run in a few hundred MiB: a float costs 8 bytes, not a
Python object. Clients are written into their row when they end (or at the horizon), so ended
clients can be released from memory.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.engine.rules import BUILT_IN_ENDINGS, endings
from sim.scenario import DOMAINS

if TYPE_CHECKING:
    from sim.scenario import Scenario

ENDINGS = BUILT_IN_ENDINGS  # (sim.engine.rules.endings() adds any registered extra ending)
SESSION_STATUSES = ("attended", "no_show", "therapist_absent")
WEEKLY_COLUMNS = ("week", "waiting", "matched", "active_clients", "sessions", "mean_exhaustion", "burnout_share",
                  "headcount", "hires", "leavers", "utilisation")

# name: array typecode ('q' int64, 'i' int32, 'b' int8, 'd' float64, 'f' float32: scores and alliance
# ratings need no more precision)
SESSION_COLUMNS = {"client_id": "i", "therapist_id": "i", "day": "i", "session_number": "i", "status": "b",
                   "severity_observed": "f", "alliance_measured": "f", "anxiety_observed": "f"}
CLIENT_COLUMNS = {
    "arrival_day": "d", "domain": "b", "complexity": "b", "severity_intake": "d", "severity_last": "d",
    "anxiety_intake": "d", "anxiety_last": "d", "therapist_id": "i", "first_session_day": "d",
    "last_session_day": "d", "sessions_attended": "i", "sessions_missed": "i", "ending": "b", "ending_day": "d",
    "early_alliance": "d", "true_fit": "d", "rematched": "b", "therapists_seen": "i", "engagement": "d",
    "responsiveness": "d", "has_preference": "b", "single_session_need": "b", "first_matched_day": "d",
    "sessions_kept": "i",
}
_NUMPY = {"q": np.int64, "i": np.int32, "b": np.int8, "d": np.float64, "f": np.float32}


def typed_columns(spec: dict[str, str]) -> dict[str, array]:
    return {name: array(code) for name, code in spec.items()}


def to_numpy(column: array) -> np.ndarray:
    """A numpy view of a typed column (no copy; the column must not grow afterwards)."""
    if not len(column):
        return np.empty(0, dtype=_NUMPY[column.typecode])
    return np.frombuffer(column, dtype=_NUMPY[column.typecode])


class ClientRows:
    """One row per client, by client id: attributes written on arrival, outcomes when the client ends.

    Columns grow in blocks of defaults (NaN or 0), so adding and writing a row are plain item
    assignments.
    """

    GROWTH = 4096
    FIXED = ("arrival_day", "domain", "complexity", "engagement", "responsiveness", "has_preference",
             "single_session_need")
    OUTCOME = ("severity_intake", "severity_last", "anxiety_intake", "anxiety_last", "therapist_id",
               "first_session_day", "last_session_day", "sessions_attended", "sessions_missed", "ending", "ending_day",
               "early_alliance", "true_fit", "rematched", "therapists_seen", "first_matched_day", "sessions_kept")

    def __init__(self) -> None:
        self.cols = typed_columns(CLIENT_COLUMNS)
        self.n = 0
        self._fixed = [self.cols[name] for name in self.FIXED]
        self._outcome = [self.cols[name] for name in self.OUTCOME]

    def __len__(self) -> int:
        return self.n

    def add(self, **fixed: float) -> None:
        """Append a client's row with the columns of ``FIXED``, by name (all of them, nothing else)."""
        if len(fixed) != len(self.FIXED) or set(fixed) != set(self.FIXED):
            raise KeyError(f"client row: expected the columns {self.FIXED}, got {tuple(fixed)}")
        self.add_values([fixed[name] for name in self.FIXED])

    def add_values(self, values: Sequence[float]) -> None:
        """Append a client's row: the columns of ``FIXED``, in that order (the model's hot path)."""
        n = self.n
        if n == len(self._fixed[0]):
            for col in self.cols.values():
                col.extend(array(col.typecode, [math.nan if col.typecode in "df" else 0]) * self.GROWTH)
        for col, value in zip(self._fixed, values, strict=True):
            col[n] = value
        self.n = n + 1

    def write(self, cid: int, **outcome: float) -> None:
        """Set client ``cid``'s outcome columns of ``OUTCOME``, by name (all of them, nothing else)."""
        if len(outcome) != len(self.OUTCOME) or set(outcome) != set(self.OUTCOME):
            raise KeyError(f"client outcome: expected the columns {self.OUTCOME}, got {tuple(outcome)}")
        self.write_values(cid, [outcome[name] for name in self.OUTCOME])

    def write_values(self, cid: int, values: Sequence[float]) -> None:
        """Set client ``cid``'s outcome columns: those of ``OUTCOME``, in that order (the model's hot path)."""
        for col, value in zip(self._outcome, values, strict=True):
            col[cid] = value

    def frame(self) -> pd.DataFrame:
        data = {name: to_numpy(col)[: self.n] for name, col in self.cols.items()}
        frame = {"client_id": np.arange(self.n, dtype=np.int64)}
        for name, values in data.items():
            if name == "domain":
                frame[name] = pd.Categorical.from_codes(values, categories=DOMAINS)
            elif name == "ending":
                frame[name] = pd.Categorical.from_codes(values, categories=endings())
            elif name in ("rematched", "has_preference", "single_session_need"):
                frame[name] = values.astype(bool)
            else:
                frame[name] = values
        df = pd.DataFrame(frame, copy=False)  # columns stay views of the typed arrays (no second copy)
        df.insert(2, "in_warmup", False)
        df.insert(df.columns.get_loc("first_session_day"), "wait_first_session_days",
                  df["first_session_day"] - df["arrival_day"])
        return df


#: Per-therapist counters of the measured period, copied as they are into the therapists table.
THERAPIST_COUNTERS = ("measured_over_days", "measured_weeks", "measured_over_weeks", "measured_weekdays",
                      "weekday_exhaustion_sum", "weekday_burnout", "weekday_burnout_low", "weekday_burnout_high")


def _per_day(num: Sequence[float], den: Sequence[float]) -> np.ndarray:
    n, d = np.asarray(num, float), np.asarray(den, float)
    return np.divide(n, d, out=np.full(len(n), np.nan), where=d > 0)


def therapists_frame(ts: Sequence[Any], sessions: pd.DataFrame) -> pd.DataFrame:
    """One row per therapist ever employed: attributes, sessions delivered and the measured-period counters."""
    attended = sessions["attended"].to_numpy()
    delivered = np.bincount(sessions["therapist_id"].to_numpy()[attended], minlength=len(ts))
    days = [t.days_employed for t in ts]
    working = [t.measured_working_days for t in ts]
    return pd.DataFrame({
        "therapist_id": [t.id for t in ts],
        "effectiveness": [t.general for t in ts],
        "sustainable_load": [t.load for t in ts],
        "booked_slots_per_week": [t.target_slots for t in ts],
        "hired_day": [t.hired_day for t in ts],
        "left_day": [t.left_day for t in ts],
        "sessions_delivered": delivered[: len(ts)],
        "mean_exhaustion": _per_day([t.exhaustion_sum for t in ts], days),
        "over_load_day_share": _per_day([t.measured_over_days for t in ts], working),
        "burnout_day_share": _per_day([t.burnout_days for t in ts], days),
        "measured_working_days": working,
        **{name: [getattr(t, name) for t in ts] for name in THERAPIST_COUNTERS},
        "measured_sessions": [t.measured_sessions for t in ts],
        "measured_days_employed": days,
        "sick_days": [t.sick_days for t in ts],
        "clients_taken": [t.clients for t in ts],
        "style": [t.style for t in ts],
    })


def weekly_frame(weekly: dict[str, list], sessions: pd.DataFrame) -> pd.DataFrame:
    """The weekly snapshots (columns ``WEEKLY_COLUMNS``), with each week's attended sessions counted in."""
    frame = pd.DataFrame(weekly, columns=list(WEEKLY_COLUMNS))
    attended = sessions["attended"].to_numpy()
    per_week = np.bincount(sessions["day"].to_numpy()[attended] // 7, minlength=len(frame) + 1)
    frame["sessions"] = per_week[: len(frame)]
    return frame


def sessions_frame(cols: dict[str, array]) -> pd.DataFrame:
    data = {name: to_numpy(col) for name, col in cols.items()}
    status = data.pop("status")
    frame = {k: data[k] for k in ("client_id", "therapist_id", "day", "session_number")}
    frame["attended"] = status == SESSION_STATUSES.index("attended")
    frame["status"] = pd.Categorical.from_codes(status, categories=SESSION_STATUSES)
    for k in ("severity_observed", "alliance_measured", "anxiety_observed"):
        frame[k] = data[k]
    return pd.DataFrame(frame, copy=False)  # columns stay views of the typed arrays (no second copy)


@dataclass
class Tables:
    """The tables of one replication (and, when known, the scenario that made them); ``keyed`` adds the
    scenario and replication columns. The one container of a replication's tables."""

    clients: pd.DataFrame
    sessions: pd.DataFrame
    therapists: pd.DataFrame
    weekly: pd.DataFrame
    meta: dict
    scenario: Scenario | None = None

    @property
    def made_by(self) -> Scenario:
        """The scenario that made these tables (an error when it was not recorded)."""
        if self.scenario is None:
            raise ValueError("these tables do not record their scenario")
        return self.scenario

    def keyed(self, scenario: str, replication: int, names: Sequence[str]) -> dict[str, pd.DataFrame]:
        """The tables ``names`` with ``scenario`` and ``replication`` columns first (the frames are modified)."""
        out = {}
        for name in names:
            df = getattr(self, name)
            df.insert(0, "replication", replication)
            df.insert(0, "scenario", scenario)
            out[name] = df
        return out
