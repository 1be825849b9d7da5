"""Revenue models: pure functions of what happened in the measured period.

>>> from sim.scenario import Money
>>> PerSession(Money(price_per_session=100)).revenue(Activity(sessions=10, subscription_months=3, improved=1))
1000.0
>>> ValueBased(Money(price_per_session=100, value_based_session_share=0.5, value_based_bonus=200)).revenue(
...     Activity(sessions=10, subscription_months=3, improved=2))
900.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sim.base.registry import register

if TYPE_CHECKING:
    from sim.scenario import Money


@dataclass(frozen=True)
class Activity:
    """What a revenue model can bill for in a period."""

    sessions: float  # attended sessions
    subscription_months: float  # subscription months started in the period (first session or sign-up to ending plus cancel lag)
    improved: float  # clients who ended reliably improved


class RevenueModel(Protocol):
    def revenue(self, a: Activity) -> float: ...


@register("revenue", "per_session")
class PerSession:
    """Fee for service: every attended session is billed."""

    def __init__(self, cfg: Money):
        self.price = cfg.price_per_session

    def revenue(self, a: Activity) -> float:
        return float(self.price * a.sessions)


@register("revenue", "subscription")
class Subscription:
    """A monthly fee for every started subscription month, whatever the number of sessions."""

    def __init__(self, cfg: Money):
        self.fee = cfg.subscription_per_month

    def revenue(self, a: Activity) -> float:
        return float(self.fee * a.subscription_months)


@register("revenue", "value_based")
class ValueBased:
    """Part of the session price up front plus a bonus per client who ends reliably improved."""

    def __init__(self, cfg: Money):
        self.per_session = cfg.price_per_session * cfg.value_based_session_share
        self.bonus = cfg.value_based_bonus

    def revenue(self, a: Activity) -> float:
        return float(self.per_session * a.sessions + self.bonus * a.improved)
