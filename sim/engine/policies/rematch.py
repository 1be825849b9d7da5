"""Rematch policies: whether a client is offered (and takes) a new therapist after an early session.

>>> from sim.scenario import Rematch
>>> rule = AfterPoorAlliance(Rematch(enabled=True, after_sessions=2, alliance_threshold=4.5, accept_prob=0.6))
>>> rule.wants(2, False, 4.0, 0.5), rule.wants(2, False, 4.0, 0.7), rule.wants(3, False, 4.0, 0.1)
(True, False, False)
>>> NoRematch(Rematch()).wants(2, False, 1.0, 0.0)
False
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sim.base.registry import register

if TYPE_CHECKING:
    from sim.scenario import Rematch


class RematchPolicy(Protocol):
    def wants(self, course_sessions: int, rematched_before: bool, measured_alliance: float, u: float) -> bool:
        """After an attended session: does the client move to a new therapist (``u`` uniform)?"""
        ...


@register("rematch", "none")
class NoRematch:
    """Clients stay with the therapist they were matched to."""

    def __init__(self, cfg: Rematch):
        pass

    def wants(self, course_sessions: int, rematched_before: bool, measured_alliance: float, u: float) -> bool:
        return False


@register("rematch", "after_poor_alliance")
class AfterPoorAlliance:
    """One offer of a new therapist when the measured alliance after session ``after_sessions`` is below
    ``alliance_threshold``; accepted with ``accept_prob``."""

    def __init__(self, cfg: Rematch):
        self.after, self.threshold, self.accept = cfg.after_sessions, cfg.alliance_threshold, cfg.accept_prob

    def wants(self, course_sessions: int, rematched_before: bool, measured_alliance: float, u: float) -> bool:
        return (course_sessions == self.after and not rematched_before and measured_alliance < self.threshold
                and u < self.accept)
