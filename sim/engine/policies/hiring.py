"""Hiring policies: how many new posts the platform opens at the weekly review (leavers are always replaced).

>>> from sim.scenario import Hiring
>>> ToDemand(Hiring(policy="to_demand", waitlist_per_hire=20, max_headcount=12)).posts_to_open(45, 10, 0)
2
>>> ToDemand(Hiring(policy="to_demand", waitlist_per_hire=20, max_headcount=11)).posts_to_open(45, 10, 0)
1
>>> ReplaceLeavers(Hiring()).posts_to_open(500, 10, 0)
0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sim.base.registry import register

if TYPE_CHECKING:
    from sim.scenario import Hiring


class HiringPolicy(Protocol):
    def posts_to_open(self, waiting: int, headcount: int, pending: int) -> int:
        """New posts to open this week, given the waiting list, the active headcount and posts being filled."""
        ...


@register("hiring", "replace")
class ReplaceLeavers:
    """Keep headcount fixed: a leaver's post is refilled, nothing more."""

    def __init__(self, cfg: Hiring):
        pass

    def posts_to_open(self, waiting: int, headcount: int, pending: int) -> int:
        return 0


@register("hiring", "to_demand")
class ToDemand:
    """Also grow with the waiting list: one post per ``waitlist_per_hire`` waiting clients, up to a ceiling."""

    def __init__(self, cfg: Hiring):
        self.per_hire = cfg.waitlist_per_hire
        self.ceiling = cfg.max_headcount

    def posts_to_open(self, waiting: int, headcount: int, pending: int) -> int:
        wanted = int(waiting // self.per_hire)
        return max(0, min(wanted - pending, self.ceiling - headcount - pending))
