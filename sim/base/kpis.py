"""The one KPI registry: name, label, unit, direction, format, group and the smallest difference
that matters. Every table, chart, report and notebook reads it; :func:`format_value` and
:func:`format_difference` are the only number formatters for KPIs.

>>> format_value("recovery_rate", 0.4567), format_difference("recovery_rate", 0.027)
('45.7%', '+2.7 points')
>>> format_value("revenue", 26_081_234.0, "USD"), format_difference("wait_first_session_days_mean", -1.94)
('USD 26.08M', '-1.9 days')
>>> KPI["burnout_share"].better(-0.05), KPI["revenue"].better(-1.0)
(True, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

#: Formats: share (0-1, shown as %, differences in points), days, money, count, number (plain, 2-3 digits).
FORMATS = ("share", "days", "money", "count", "number")


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str  # plain words, for people
    unit: str
    direction: int  # +1 higher is better, -1 lower is better, 0 neither
    format: str  # one of FORMATS
    group: str  # access, clients, therapists, money, volume
    minimal: float  # smallest difference that matters, in the KPI's own units (0: none declared)
    minimal_relative: float = 0.0  # or as a share of the baseline value (for totals such as revenue)
    basis: str = ""  # why that difference matters (an assumption unless a source is named)
    extra: bool = False  # outside the main KPI table (MODEL.md section 5 and its extensions)

    @property
    def headline(self) -> bool:
        """One of the declared headline KPIs (:data:`HEADLINE`)."""
        return self.name in HEADLINE

    def better(self, difference: float) -> bool | None:
        """Whether a difference is an improvement (None when the KPI has no direction)."""
        if self.direction == 0 or difference == 0 or math.isnan(difference):
            return None
        return (difference > 0) == (self.direction > 0)

    @property
    def bounds(self) -> tuple[float, float]:
        """The values the KPI can take (intervals are shown clipped to them)."""
        if (self.format == "share" and self.name != "margin") or self.name == "mean_exhaustion":
            return (0.0, 1.0)
        if self.format in ("days", "count") or self.name in ("sessions_per_client_mean",
                                                              "therapist_sessions_per_day_mean"):
            return (0.0, math.inf)
        return (-math.inf, math.inf)

    @property
    def difference_bounds(self) -> tuple[float, float]:
        """The values a difference of two of this KPI's values can take (+-100 points between two shares)."""
        low, high = self.bounds
        span = high - low
        return (-span, span)

    def smallest_that_matters(self, baseline: float = math.nan) -> float:
        if self.minimal_relative and not math.isnan(baseline):
            return abs(baseline) * self.minimal_relative
        return self.minimal


_SHARE_BASIS = "assumption: 2 percentage points, about one client in fifty, is the smallest change a platform would act on"
_REGISTRY = [
    Kpi("clients_arrived", "New clients", "clients", 0, "count", "volume", 0, 0.01, "1% of arrivals"),
    Kpi("clients_started", "Clients who started therapy", "clients", +1, "count", "access", 0, 0.01,
        "assumption: 1% of starters"),
    Kpi("pretreatment_dropout_rate", "Left before a first session", "share of arrivals", -1, "share", "access", 0.01,
        basis="assumption: 1 point of arrivals"),
    Kpi("wait_first_session_days_mean", "Wait to first session", "days", -1, "days", "access", 1.0,
        basis="assumption: a day's difference in waiting is noticeable to a client"),
    Kpi("wait_first_session_days_p90", "Wait to first session, 90th percentile", "days", -1, "days", "access", 2.0,
        basis="assumption: two days at the long tail"),
    Kpi("return_after_first_rate", "Clients returning after session 1", "share of starters", +1, "share", "clients",
        0.02, basis=_SHARE_BASIS),
    Kpi("dropout_rate", "Dropout", "share of starters who ended", -1, "share", "clients", 0.02, basis=_SHARE_BASIS,
        ),
    Kpi("sessions_per_client_mean", "Sessions per client", "sessions", 0, "number", "clients", 0.25,
        basis="assumption: a quarter of a session per course"),
    Kpi("single_session_share", "Single-session clients", "share of starters who ended", 0, "share", "clients", 0.02,
        basis=_SHARE_BASIS),
    Kpi("recovery_rate", "Recovery", "share of cases", +1, "share", "clients", 0.02, basis=_SHARE_BASIS),
    Kpi("reliable_improvement_rate", "Reliable improvement", "share of cases", +1, "share", "clients", 0.02,
        basis=_SHARE_BASIS),
    Kpi("reliable_deterioration_rate", "Reliable deterioration", "share of cases", -1, "share", "clients", 0.01,
        basis="assumption: 1 point (harm weighs more)"),
    Kpi("therapist_sessions_per_day_mean", "Sessions per therapist working day", "sessions/day", 0, "number",
        "therapists", 0.1, basis="assumption: a tenth of a session a day (half a session a week)"),
    Kpi("therapist_over_threshold_day_share", "Days a whole session above own load", "share of working days", -1,
        "share", "therapists", 0.02, basis=_SHARE_BASIS),
    Kpi("burnout_share", "Therapists burned out", "share of therapist working days", -1, "share", "therapists", 0.02,
        basis=_SHARE_BASIS),
    Kpi("therapist_turnover_per_year", "Therapist turnover", "leavers per therapist-year", -1, "share", "therapists",
        0.02, basis="assumption: 2 leavers a year per 100 therapists"),
    Kpi("revenue", "Revenue", "currency, measured period", +1, "money", "money", 0, 0.01,
        "assumption: 1% of revenue"),
    Kpi("margin", "Operating margin", "share of revenue", +1, "share", "money", 0.01,
        basis="assumption: 1 point of margin"),
    Kpi("mean_exhaustion", "Mean therapist exhaustion", "0-1 scale, end of working days", -1, "number", "therapists",
        0.02, basis="assumption: 0.02 on the 0-1 scale (a tenth of its sd across therapists)"),
    Kpi("therapist_over_threshold_week_share", "Weeks a whole session above own weekly load", "share of weeks", -1,
        "share", "therapists", 0.02, basis=_SHARE_BASIS),
    # extras
    Kpi("no_show_rate", "No-shows", "share of booked sessions", -1, "share", "clients", 0.01, extra=True),
    Kpi("profit", "Profit", "currency, measured period", +1, "money", "money", 0, 0.01, "assumption: 1% of profit", extra=True),
    Kpi("client_lifetime_value", "Revenue per arriving client", "currency", +1, "money", "money", 0, 0.01,
        "assumption: 1%", extra=True),
    Kpi("revenue_per_started_client", "Revenue per client who started", "currency", 0, "money", "money", 0, 0.01,
        "assumption: 1%", extra=True),
    Kpi("therapist_cost_of_turnover", "Cost of therapist turnover", "currency, measured period", -1, "money", "money",
        0, 0.05, "assumption: 5%", extra=True),
    Kpi("mean_true_fit", "True client-therapist fit", "sd units", +1, "number", "clients", 0.05,
        basis="assumption: a twentieth of a standard deviation", extra=True),
    Kpi("waiting_mean", "Clients on the waiting list", "clients", -1, "count", "access", 0, 0.05, "assumption: 5%", extra=True),
    Kpi("paired_recovery_rate", "Recovery on both scales", "share of cases", +1, "share", "clients", 0.02,
        basis=_SHARE_BASIS, extra=True),
    Kpi("paired_reliable_improvement_rate", "Reliable improvement, either scale", "share of cases", +1, "share",
        "clients", 0.02, basis=_SHARE_BASIS, extra=True),
    Kpi("paired_reliable_deterioration_rate", "Reliable deterioration, either scale", "share of cases", -1, "share",
        "clients", 0.01, extra=True),
    Kpi("burnout_share_cutoff_low", "Therapists burned out (cut-off 0.1 lower)", "share of working days", -1, "share",
        "therapists", 0.02, basis=_SHARE_BASIS, extra=True),
    Kpi("burnout_share_cutoff_high", "Therapists burned out (cut-off 0.1 higher)", "share of working days", -1,
        "share", "therapists", 0.02, basis=_SHARE_BASIS, extra=True),
    Kpi("wait_to_match_days_mean", "Wait for a therapist (queueing)", "days", -1, "days", "access", 1.0,
        basis="assumption: as the wait to a first session", extra=True),
    Kpi("match_to_first_session_days_mean", "Match to first session (next free weekday)", "days", -1, "days",
        "access", 1.0, basis="assumption: as the wait to a first session", extra=True),
    Kpi("kept_session_share", "Sessions kept past a planned ending (gaming)", "share of attended sessions", -1,
        "share", "clients", 0.005, basis="assumption: half a point of sessions, a cost to clients (and revenue "
        "the platform should not count as a gain)", extra=True),
    Kpi("utilisation", "Slots booked", "share of bookable slots, weekly", 0, "share", "access", 0.01,
        basis="assumption: 1 point", extra=True),
]
KPI: dict[str, Kpi] = {k.name: k for k in _REGISTRY}
#: The main KPI table of every run (MODEL.md section 5, then its extensions), in this order.
MAIN = tuple(k.name for k in _REGISTRY if not k.extra)
#: Further KPIs every replication also computes.
EXTRA = tuple(k.name for k in _REGISTRY if k.extra)
#: The declared headline KPIs: the only ones the reports turn into sentences (Holm-adjusted within a comparison).
HEADLINE = ("return_after_first_rate", "recovery_rate", "dropout_rate", "wait_first_session_days_mean",
            "mean_exhaustion", "burnout_share", "therapist_turnover_per_year", "revenue", "margin")
#: KPIs in study tables (headline first, then the context a reader needs).
TABLE = (*HEADLINE, "clients_started", "sessions_per_client_mean", "reliable_improvement_rate",
         "pretreatment_dropout_rate", "therapist_over_threshold_week_share", "burnout_share_cutoff_low",
         "burnout_share_cutoff_high", "wait_to_match_days_mean", "match_to_first_session_days_mean",
         "kept_session_share")


def label(name: str, with_unit: bool = False) -> str:
    kpi = KPI.get(name)
    if kpi is None:
        return name
    return f"{kpi.label} ({kpi.unit})" if with_unit else kpi.label


def _money(v: float, currency: str) -> str:
    size = abs(v)
    text = (f"{v / 1e6:,.2f}M" if size >= 1e6 else f"{v / 1e3:,.1f}k" if size >= 1e4 else f"{v:,.0f}")
    return f"{currency} {text}".strip()


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(name: str, value: float, currency: str, points: bool) -> str:
    """``value`` in the KPI's format (shares as % or, for differences, as points)."""
    fmt = KPI[name].format if name in KPI else "number"
    if fmt == "share":
        return f"{100 * value:.1f}" + (" points" if points else "%")
    if fmt == "days":
        return f"{value:.1f} days"
    if fmt == "money":
        return _money(value, currency)
    if fmt == "count":
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"


def format_value(name: str, value: float, currency: str = "") -> str:
    """A KPI value for people: shares as %, days with one decimal, money with a unit and separators."""
    return "n/a" if _missing(value) else _number(name, value, currency, points=False)


def format_interval(name: str, low: float, high: float, currency: str = "") -> str:
    """``[low, high]`` of a KPI's value, clipped to what the KPI can take (a share is never below 0%).

    >>> format_interval("burnout_share", -0.64, 1.37)
    '[0.0%, 100.0%]'
    """
    lo, hi = KPI[name].bounds if name in KPI else (-math.inf, math.inf)
    if not math.isnan(low):
        low = min(max(low, lo), hi)
    if not math.isnan(high):
        high = min(max(high, lo), hi)
    return f"[{format_value(name, low, currency)}, {format_value(name, high, currency)}]"


def clip_differences(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table of differences (columns kpi, ci_low, ci_high) with each interval clipped to what a
    difference of its KPI can be, so no chart or table shows a share moving by more than 100 points.

    >>> t = pd.DataFrame({"kpi": ["burnout_share", "revenue"], "ci_low": [-1.3, -5e9], "ci_high": [0.2, 5e9]})
    >>> clip_differences(t)[["ci_low", "ci_high"]].values.tolist()
    [[-1.0, 0.2], [-5000000000.0, 5000000000.0]]
    """
    out = table.copy()
    bounds = [KPI[k].difference_bounds if k in KPI else (-math.inf, math.inf) for k in out["kpi"]]
    low, high = (pd.Series([b[i] for b in bounds], index=out.index, dtype=float) for i in (0, 1))
    out["ci_low"] = out["ci_low"].clip(lower=low, upper=high)
    out["ci_high"] = out["ci_high"].clip(lower=low, upper=high)
    return out


def format_difference(name: str, difference: float, currency: str = "") -> str:
    """A paired difference for people: percentage points for shares, days, signed money."""
    if _missing(difference):
        return "n/a"
    return ("+" if difference >= 0 else "-") + _number(name, abs(difference), currency, points=True)
