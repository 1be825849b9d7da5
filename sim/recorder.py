"""Recorded tables: columns appended during a run, turned into DataFrames at the end."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

SESSION_COLUMNS = ("client_id", "therapist_id", "day", "session_number", "attended", "status",
                   "severity_observed", "alliance_measured", "anxiety_observed")
WEEKLY_COLUMNS = ("week", "waiting", "active_clients", "sessions", "mean_exhaustion", "burnout_share",
                  "headcount", "hires", "leavers")
ENDINGS = ("planned", "dropout", "pretreatment_dropout", "session_cap", "therapist_left", "waiting_at_end",
           "in_treatment_at_end")
SESSION_STATUSES = ("attended", "no_show", "therapist_absent")


@dataclass
class Columns:
    """A table kept as one list per column (appends are cheap; no per-row objects)."""

    names: tuple[str, ...]
    data: dict[str, list] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = {n: [] for n in self.names}

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.data, columns=list(self.names))


@dataclass
class Tables:
    """The tables of one replication (each already keyed by scenario and replication)."""

    clients: pd.DataFrame
    sessions: pd.DataFrame
    therapists: pd.DataFrame
    weekly: pd.DataFrame
    meta: dict

    def keyed(self, scenario: str, replication: int) -> Tables:
        def key(df: pd.DataFrame) -> pd.DataFrame:
            df = df.copy()
            df.insert(0, "replication", replication)
            df.insert(0, "scenario", scenario)
            return df

        return Tables(key(self.clients), key(self.sessions), key(self.therapists), key(self.weekly), self.meta)
