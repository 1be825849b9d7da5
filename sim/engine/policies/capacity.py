"""Capacity policies: how many new-client slots a week each therapist is booked to.

>>> from sim.scenario import Capacity
>>> TeamQuota(Capacity(quota_per_day=5)).weekly_slots(3.4)
25
>>> IndividualThreshold(Capacity(policy="individual")).weekly_slots(3.4)
17
>>> IndividualThreshold(Capacity(policy="individual")).weekly_slots(5.9)  # 29.5 sessions a week, to the nearest
30
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

from sim.base.registry import register
from sim.engine.entities import WEEKDAYS

if TYPE_CHECKING:
    from sim.scenario import Capacity


class CapacityPolicy(Protocol):
    def weekly_slots(self, sustainable_load: float) -> int: ...


@register("capacity", "team_quota")
class TeamQuota:
    """Everyone is booked to the same sessions per day, whatever their own load."""

    def __init__(self, cfg: Capacity):
        self.slots = round(cfg.quota_per_day * WEEKDAYS * (1 - cfg.admin_share))

    def weekly_slots(self, sustainable_load: float) -> int:
        return self.slots


@register("capacity", "individual")
class IndividualThreshold:
    """Each therapist is booked to their own weekly sustainable load (less a margin), to the nearest whole
    session, so total nominal capacity equals the team quota's when the quota is the mean load."""

    def __init__(self, cfg: Capacity):
        self.factor = WEEKDAYS * (1 - cfg.safety_margin) * (1 - cfg.admin_share)

    def weekly_slots(self, sustainable_load: float) -> int:
        return math.floor(sustainable_load * self.factor + 0.5)
