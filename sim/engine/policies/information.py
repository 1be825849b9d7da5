"""Information models: what the matcher can see of a therapist's effectiveness per domain.

>>> class T: domain_true=[0.5, -0.2]; declared=[0.0, 1.0]; legible=True; track_sum=[0.0, 0.0]; track_n=[0, 0]
>>> Oracle().estimate(T(), 0), Declared().estimate(T(), 1)
(0.5, 1.0)
>>> m = Measured(prior_cases=1.0)
>>> m.observe(T(), 0, 1.0); m.estimate(T(), 0)
True
0.5
"""

from __future__ import annotations

from typing import Protocol

from sim.base.registry import register
from sim.engine.entities import Therapist


class Information(Protocol):
    def estimate(self, t: Therapist, domain: int) -> float: ...

    def observe(self, t: Therapist, domain: int, signal: float) -> bool: ...


@register("information", "declared")
class Declared:
    """The profile: 1 for a declared specialty (if the profile is legible), else 0."""

    def __init__(self, prior_cases: float = 0.0):
        pass

    def estimate(self, t: Therapist, domain: int) -> float:
        return t.declared[domain] if t.legible else 0.0

    def observe(self, t: Therapist, domain: int, signal: float) -> bool:
        return False


@register("information", "measured")
class Measured:
    """Track record: mean outcome signal per domain, shrunk toward zero by ``prior_cases``."""

    def __init__(self, prior_cases: float = 5.0):
        self.prior = prior_cases

    def estimate(self, t: Therapist, domain: int) -> float:
        return t.track_sum[domain] / (t.track_n[domain] + self.prior) if t.track_n[domain] else 0.0

    def observe(self, t: Therapist, domain: int, signal: float) -> bool:
        t.track_sum[domain] += signal
        t.track_n[domain] += 1
        return True


@register("information", "oracle")
class Oracle:
    """True domain effectiveness: the upper bound of what matching could know."""

    def __init__(self, prior_cases: float = 0.0):
        pass

    def estimate(self, t: Therapist, domain: int) -> float:
        return t.domain_true[domain]

    def observe(self, t: Therapist, domain: int, signal: float) -> bool:
        return False
