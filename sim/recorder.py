"""Recorded tables: typed columns (``array.array``) appended during a run, DataFrames at the end.

Typed columns keep a 1,000-therapist run in a few hundred MiB: a float costs 8 bytes, not a
Python object. Clients are written into their row when they end (or at the horizon), so ended
clients can be released from memory.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.scenario import DOMAINS

ENDINGS = ("planned", "dropout", "pretreatment_dropout", "session_cap", "therapist_left", "waiting_at_end",
           "in_treatment_at_end", "matched_at_end")
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
    "responsiveness": "d", "has_preference": "b", "single_session_need": "b",
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
               "early_alliance", "true_fit", "rematched", "therapists_seen")

    def __init__(self) -> None:
        self.cols = typed_columns(CLIENT_COLUMNS)
        self.n = 0
        self._fixed = [self.cols[name] for name in self.FIXED]
        self._outcome = [self.cols[name] for name in self.OUTCOME]

    def __len__(self) -> int:
        return self.n

    def add(self, *fixed: float) -> None:
        """Append a client's row with the values of ``FIXED``, in that order."""
        n = self.n
        if n == len(self._fixed[0]):
            for col in self.cols.values():
                col.extend(array(col.typecode, [math.nan if col.typecode in "df" else 0]) * self.GROWTH)
        for col, value in zip(self._fixed, fixed, strict=True):
            col[n] = value
        self.n = n + 1

    def write(self, cid: int, *outcome: float) -> None:
        """Set client ``cid``'s outcome columns: the values of ``OUTCOME``, in that order."""
        for col, value in zip(self._outcome, outcome, strict=True):
            col[cid] = value

    def frame(self) -> pd.DataFrame:
        data = {name: to_numpy(col)[: self.n] for name, col in self.cols.items()}
        frame = {"client_id": np.arange(self.n, dtype=np.int64)}
        for name, values in data.items():
            if name == "domain":
                frame[name] = pd.Categorical.from_codes(values, categories=DOMAINS)
            elif name == "ending":
                frame[name] = pd.Categorical.from_codes(values, categories=ENDINGS)
            elif name in ("rematched", "has_preference", "single_session_need"):
                frame[name] = values.astype(bool)
            else:
                frame[name] = values
        df = pd.DataFrame(frame, copy=False)  # columns stay views of the typed arrays (no second copy)
        df.insert(2, "in_warmup", False)
        df.insert(df.columns.get_loc("first_session_day"), "wait_first_session_days",
                  df["first_session_day"] - df["arrival_day"])
        return df


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
    """The tables of one replication; ``keyed`` adds the scenario and replication columns."""

    clients: pd.DataFrame
    sessions: pd.DataFrame
    therapists: pd.DataFrame
    weekly: pd.DataFrame
    meta: dict

    def keyed(self, scenario: str, replication: int) -> Tables:
        """The same tables with ``scenario`` and ``replication`` columns first (the frames are modified)."""

        def key(df: pd.DataFrame) -> pd.DataFrame:
            df.insert(0, "replication", replication)
            df.insert(0, "scenario", scenario)
            return df

        return Tables(key(self.clients), key(self.sessions), key(self.therapists), key(self.weekly), self.meta)
